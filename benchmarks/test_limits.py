"""The limit of each case: its step's GEMMs at its shapes through BLAS, and a
copy of an in-cache buffer (the bandwidth its optimizer's update needs), the
parts of ``fastnn bench``'s floor. Optimizer updates: see bench_optim.py."""
import numpy as np

from fastnn.bench import machine, workloads


def test_gemm_step(benchmark, case):
    """The GEMMs of one training step of ``case`` (the BLAS sgemm calls)."""
    calls = [machine.gemm_calls(*shape)[1] for shape in workloads.gemm_shapes(case)]

    def step():
        for call in calls:
            call()
    benchmark.group = "GEMMs of one step"
    benchmark.extra_info["gflop"] = workloads.flops_per_step(case) / 1e9
    benchmark(step)


def test_model_copy(benchmark, case):
    n = max(workloads.n_params(case), 2 ** 16)
    src, dst = np.ones(n, dtype=np.float32), np.empty(n, dtype=np.float32)
    benchmark.group = "copy of the model's buffer"
    benchmark.extra_info["bytes_moved"] = 8 * n
    benchmark(np.copyto, dst, src)
