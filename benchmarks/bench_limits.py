"""The limit: the five GEMMs of a training step at the workload's shapes,
and a copy of the model-size buffer (the B=1 memory floor per SGD step)."""
import numpy as np
import pytest

from conftest import ROUNDS
from fastnn import bench


@pytest.mark.parametrize("batch", [32, 256, None], ids=["B=32", "B=256", "full"])
def test_gemm_epoch(benchmark, batch, data):
    """GEMMs of one epoch: N / B steps of five GEMMs each (full batch: one step)."""
    batch = batch or len(data.X)
    steps = len(data.X) // batch
    benchmark.group = "GEMM floor per epoch"
    benchmark.extra_info["gflop"] = bench.flops_per_sample() * steps * batch / 1e9
    benchmark.pedantic(bench.gemm_steps(data.X, batch, steps), rounds=ROUNDS, warmup_rounds=1)


def test_model_copy(benchmark):
    src = bench.initial_params()
    dst = np.empty_like(src)
    benchmark.group = "memory"
    benchmark.extra_info["bytes"] = 2 * src.nbytes
    benchmark(np.copyto, dst, src)
