"""The Numba flags every kernel of this backend is compiled with, and the
dtype-preserving scalar cast the kernels use for constants."""
from functools import partial

from numba import njit, types
from numba.extending import overload

# error_model="numpy": no zero-division checks, which would stop LLVM from
# vectorising the loops. No fastmath: results stay within
# rounding of the reference and reproducible.
kernel = partial(njit, cache=True, error_model="numpy")


def scalar(value, like):
    """``value`` as a number of ``like``'s float type (``like`` an array or a
    scalar), so that float32 loops never see a float64 constant."""
    return type(like)(value)


@overload(scalar)
def _scalar(value, like):
    kind = like.dtype if isinstance(like, types.Array) else like
    return lambda value, like: kind(value)
