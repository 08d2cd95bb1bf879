"""The network kernels run with OpenBLAS on one thread.

OpenBLAS's results depend on how many threads it runs: sgemm differs in the
last bits between one and two threads for most of fastnn's shapes (dgemm for
some), so a GEMM on BLAS's own threads would make training depend on the
thread count. Every backend's network kernels (``forward``, ``loss_and_grad``,
``train_epoch`` and their sparse twins) therefore run with every OpenBLAS
pool in the process held to one thread (restored on return); the Cython
backend's own OpenMP threads use the cores, over a split of the work that
depends only on the shapes. The Numba backend has no threads of its own.
"""
import functools

from threadpoolctl import ThreadpoolController

_pools = None


def _openblas_pools():
    """Every OpenBLAS in the process: NumPy's, and SciPy's, which the Cython
    kernels and Numba's np.dot call (imported here, as Numba loads it lazily)."""
    global _pools
    if _pools is None:
        import scipy.linalg.cython_blas  # noqa: F401
        _pools = ThreadpoolController().select(internal_api="openblas").lib_controllers
    return _pools


def on_one_blas_thread(kernel):
    """``kernel`` wrapped to run with OpenBLAS on one thread."""
    @functools.wraps(kernel)
    def run(*args):
        saved = [(pool, pool.get_num_threads()) for pool in _openblas_pools()]
        for pool, n in saved:
            if n != 1:
                pool.set_num_threads(1)
        try:
            return kernel(*args)
        finally:
            for pool, n in saved:
                if n != 1:
                    pool.set_num_threads(n)
    return run
