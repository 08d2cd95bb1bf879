"""The machine: its CPU, the environment of the worker processes (threads,
BLAS kernel) and the limit a case cannot beat, measured in the same run.

The floor of a case is an estimate of the least time its run can take here:
the GEMMs of its steps at its shapes, timed through BLAS on the worker's
threads or on one, whichever is faster (less the cost of the call itself),
plus its optimizer's memory traffic (:data:`workloads.UPDATE_BYTES` per
parameter per step) at the measured copy bandwidth of an in-cache buffer.
Everything else a training step does (bias, activation, loss, Python) is
above the floor.
"""
import importlib.metadata
import os
import platform
import time
from pathlib import Path

import numpy as np

from .workloads import UPDATE_BYTES, flops_per_step, gemm_shapes, n_params

PROBE = "probe"     # the worker that measures the machine, not a contender
# Forced OpenBLAS kernels (PERFORMANCE.md): unset for the benchmark's workers only.
BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def worker_env(threads):
    """The environment of a worker process on ``threads`` threads: every
    thread pool told so, the forced BLAS kernel unset."""
    env = {k: v for k, v in os.environ.items() if k not in BLAS_OVERRIDES}
    env.update({var: str(threads) for var in THREAD_VARS})
    return env


def limit_threads(threads):
    """In a worker: keep the process (and so XLA's thread pool, which is sized
    by the affinity mask) on ``threads`` cores, and cap the BLAS/OpenMP pools."""
    from threadpoolctl import threadpool_limits
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, cpus[:threads])
    threadpool_limits(threads)


def thread_pools():
    """The thread pools loaded in this process, as threadpoolctl reports them."""
    from threadpoolctl import threadpool_info
    return [{k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads",
                                   "prefix")} for p in threadpool_info()]


def cpu():
    """{"model", "isa" (the SIMD flags that matter), "cores"}."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return {"model": platform.processor() or platform.machine(), "isa": [],
                "cores": os.cpu_count()}
    field = next((ln.split(":", 1)[1] for ln in lines if ln.startswith("flags")), "").split()
    model = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")),
                 platform.machine())
    isa = [f for f in ("sse4_2", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni")
           if f in field]
    return {"model": model, "isa": isa, "cores": os.cpu_count()}


def versions():
    """Installed versions, from package metadata (nothing imported)."""
    found = {"python": platform.python_version()}
    for name in ("numpy", "scipy", "numba", "Cython", "scikit-learn", "torch", "jax", "jaxlib",
                 "optax", "threadpoolctl", "fastnn"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "source tree" if name == "fastnn" else "not installed"
    return found


def cython_blas():
    """The BLAS that fastnn's Cython kernels call, or None without them."""
    try:
        from .._kernels.cython import _blas
    except ImportError:
        return None
    return _blas.PROVIDER


def best_seconds(fn, min_time=0.005, repeats=3):
    """The least mean seconds per call of ``fn`` over ``repeats`` batches of
    calls lasting >= min_time each (the least is the floor's estimate)."""
    fn()
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - start >= min_time:
            break
        number *= 2
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def gemm_calls(m, k, n):
    """The two ways to call one float32 GEMM: numpy.matmul on C-ordered and
    BLAS sgemm on Fortran-ordered operands (NumPy skips BLAS when k = 1)."""
    from scipy.linalg.blas import sgemm
    rng = np.random.default_rng(0)
    a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
    out = np.empty((m, n), dtype=np.float32)
    af, bf, outf = np.asfortranarray(a), np.asfortranarray(b), np.asfortranarray(out)
    return [lambda: np.matmul(a, b, out=out), lambda: sgemm(1.0, af, bf, c=outf, overwrite_c=1)]


_GEMM_CACHE = {}


def gemm_seconds(m, k, n, peak):
    """Seconds of one m x k x n GEMM, what BLAS needs for it: the fastest of
    the two calls, on the worker's threads or on one (whichever is faster at
    this shape: OpenBLAS on 2 threads takes up to 50x as long, by the run, at
    B = 32), minus that call's cost on 1 x 1 x 1 (Python and dispatch); never
    less than at the ``peak`` rate (FLOP/s)."""
    from threadpoolctl import threadpool_limits
    if (m, k, n) not in _GEMM_CACHE:
        seconds = []
        for limit in (None, 1):
            with threadpool_limits(limits=limit, user_api="blas"):
                overhead = [best_seconds(call, repeats=5) for call in gemm_calls(1, 1, 1)]
                seconds += [best_seconds(call, repeats=5) - o
                            for call, o in zip(gemm_calls(m, k, n), overhead)]
        _GEMM_CACHE[m, k, n] = min(seconds)
    return max(_GEMM_CACHE[m, k, n], 2 * m * k * n / peak)


def copy_bytes_per_s(n_floats):
    """Bandwidth of a copy of ``n_floats`` float32 (read + write: 8 bytes
    each; at least 64 Ki floats, so that the call's own cost is negligible)."""
    n = max(n_floats, 2 ** 16)
    src = np.ones(n, dtype=np.float32)
    dst = np.empty_like(src)
    return 8 * n / best_seconds(lambda: np.copyto(dst, src))


def peak_gemm_flops(n=2048):
    """float32 FLOP/s of one n x n x n GEMM (the machine's best case)."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    out = np.empty_like(a)
    return 2 * n ** 3 / best_seconds(lambda: np.matmul(a, a, out=out), min_time=0.1)


def floor(case, peak):
    """{"gemm_flops_per_s", "copy_bytes_per_s", "gemm_s", "update_s", "floor_s"}
    of one run of ``case``; ``peak``: the 2048^3 GEMM rate of this process."""
    gemm = sum(gemm_seconds(*shape, peak) for shape in gemm_shapes(case))
    bandwidth = copy_bytes_per_s(n_params(case))
    update = UPDATE_BYTES[case.optimizer] * n_params(case) / bandwidth
    return {"gemm_flops_per_s": flops_per_step(case) / gemm, "copy_bytes_per_s": bandwidth,
            "gemm_s": case.steps * gemm, "update_s": case.steps * update,
            "floor_s": case.steps * (gemm + update)}
