"""``@shared``: a plain Python function that Numba-compiled kernels may also
call (numba.extending.register_jitable compiles it inline into them), so the
layout and the epoch's bookkeeping are written once for every backend."""
try:
    from numba.extending import register_jitable as shared
except ImportError:  # no Numba: the functions stay plain Python
    def shared(function):
        return function
