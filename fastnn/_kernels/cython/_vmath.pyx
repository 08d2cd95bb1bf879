"""The float32 functions of _vmath.h over arrays, for tests and measurements:
out_i = f(x_i) for f = e^x, tanh x, 1 / (1 + e^{-x})."""
from ._vmath cimport fn_expf, fn_sigmoidf, fn_tanhf


def exp(const float[::1] x, float[::1] out):
    """out = e^x elementwise."""
    cdef Py_ssize_t i
    with nogil:
        for i in range(x.shape[0]):
            out[i] = fn_expf(x[i])
    return out.base


def tanh(const float[::1] x, float[::1] out):
    """out = tanh x elementwise."""
    cdef Py_ssize_t i
    with nogil:
        for i in range(x.shape[0]):
            out[i] = fn_tanhf(x[i])
    return out.base


def sigmoid(const float[::1] x, float[::1] out):
    """out = 1 / (1 + e^{-x}) elementwise."""
    cdef Py_ssize_t i
    with nogil:
        for i in range(x.shape[0]):
            out[i] = fn_sigmoidf(x[i])
    return out.base
