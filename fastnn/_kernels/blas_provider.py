"""Which BLAS the Cython kernels call: SciPy's ``cython_blas``, or NumPy's
OpenBLAS when it is the newer of the two.

NumPy's wheels bundle an OpenBLAS of their own, built with 64-bit integer
arguments (ILP64: its symbols end in ``64_``), often a newer release than the
one SciPy's ``cython_blas`` calls. Where both are OpenBLAS and NumPy's has the
higher version, the kernels call NumPy's. Measured on a 2-core Zen 3
(OpenBLAS's Haswell kernels, one thread), NumPy 2.4's OpenBLAS 0.3.31 against
SciPy 1.17's 0.3.30 took 0.71-0.89x the time on 784-128-10's GEMMs at
B = 32 and 128 and 0.87-0.98x on 784-1024-1024-10's at B = 128.

``FASTNN_BLAS=scipy`` keeps SciPy's, ``FASTNN_BLAS=numpy`` takes NumPy's
whatever its version (``auto``, the default, decides as above). The choice
depends only on the installed libraries; every OpenBLAS in the process runs on
one thread inside the kernels (blas_threads.py), so results never depend on the
thread count.
"""
import ctypes
import os
import re

from threadpoolctl import ThreadpoolController

ROUTINES = ("sgemm", "dgemm", "sgemv", "dgemv")
CHOICES = ("auto", "scipy", "numpy")
SCIPY = "scipy.linalg.cython_blas"


def version_key(version):
    """(0, 3, 31, 188, 0) for '0.3.31.188.0'; () when unknown."""
    return tuple(int(part) for part in re.findall(r"\d+", version or ""))


def ilp64_routines(path):
    """Addresses of ROUTINES in the ILP64 OpenBLAS at ``path`` (symbols
    ``[scipy_]sgemm_64_``...), or None when it is not one."""
    lib = ctypes.CDLL(path)
    for prefix in ("scipy_", ""):
        try:
            return tuple(ctypes.cast(getattr(lib, f"{prefix}{name}_64_"), ctypes.c_void_p).value
                         for name in ROUTINES)
        except AttributeError:
            continue
    return None


def newest_ilp64(libraries, newer=True):
    """The routines of the ILP64 library with the highest version, if (when
    ``newer``) it is higher than every LP64 library's (SciPy's), of which
    there must then be one; None otherwise. ``libraries``: (version key,
    routines or None for an LP64 library) pairs."""
    lp64 = [key for key, routines in libraries if routines is None]
    ilp64 = [(key, routines) for key, routines in libraries if routines is not None]
    if not ilp64 or (newer and not lp64):
        return None
    key, routines = max(ilp64, key=lambda pair: pair[0])
    return routines if not newer or key > max(lp64) else None


def choose():
    """The Cython kernels' BLAS by FASTNN_BLAS: (description, routines),
    routines None for SciPy's cython_blas, else the addresses of NumPy's
    ILP64 ROUTINES."""
    choice = os.environ.get("FASTNN_BLAS", "auto")
    if choice not in CHOICES:
        raise ValueError(f"FASTNN_BLAS must be one of {CHOICES}, got {choice!r}")
    if choice == "scipy":
        return SCIPY, None
    import numpy  # noqa: F401  (both libraries loaded)
    import scipy.linalg.cython_blas  # noqa: F401
    pools = ThreadpoolController().select(internal_api="openblas").lib_controllers
    found = [(version_key(pool.version), ilp64_routines(pool.filepath), pool) for pool in pools]
    routines = newest_ilp64([(key, routines) for key, routines, _ in found], choice == "auto")
    if routines is None:
        if choice == "numpy":
            raise ValueError("FASTNN_BLAS=numpy, but no ILP64 OpenBLAS (NumPy's) is loaded")
        return SCIPY, None
    pool = next(pool for _, r, pool in found if r == routines)
    return f"OpenBLAS {pool.version} (ILP64, {os.path.basename(pool.filepath)})", routines
