"""The float32 functions of _vmath.h over arrays, for tests: out_i = f(x_i)
for f = e^x (``"exp"``), tanh x (``"tanh"``), 1 / (1 + e^{-x}) (``"sigmoid"``).
(Called through a pointer here; the kernels inline them.)"""
from ._vmath cimport fn_expf, fn_sigmoidf, fn_tanhf

ctypedef float (*unary)(float) noexcept nogil


def apply(str name, const float[::1] x, float[::1] out):
    """out = f(x) elementwise for the function called ``name``; returns out."""
    cdef unary f
    if name == "exp":
        f = fn_expf
    elif name == "tanh":
        f = fn_tanhf
    elif name == "sigmoid":
        f = fn_sigmoidf
    else:
        raise ValueError(f"name must be 'exp', 'tanh' or 'sigmoid', not {name!r}")
    cdef Py_ssize_t i
    with nogil:
        for i in range(x.shape[0]):
            out[i] = f(x[i])
    return out.base
