"""The limit: the five GEMMs of an epoch's training steps at the workload's
shapes, and a copy of the model-size buffer (the B=1 memory floor of an SGD
step). Optimizer updates: see bench_optim.py."""
import numpy as np
import pytest

from fastnn import bench


@pytest.mark.parametrize("batch", [32, 256, None], ids=["B=32", "B=256", "full"])
def test_gemm_epoch(benchmark, batch, data, plan):
    """N / B steps of five GEMMs each (full batch: one step on all rows)."""
    batch = batch or len(data.X)
    steps = len(data.X) // batch
    benchmark.group = "GEMM floor per epoch"
    benchmark.extra_info["gflop"] = bench.flops_per_sample() * steps * batch / 1e9
    benchmark.pedantic(bench.gemm_steps(data.X, batch, steps), rounds=plan.rounds,
                       warmup_rounds=1)


def test_model_copy(benchmark):
    src = bench.initial_params()
    dst = np.empty_like(src)
    benchmark.group = "memory"
    benchmark.extra_info["bytes_moved"] = 2 * src.nbytes
    benchmark(np.copyto, dst, src)
