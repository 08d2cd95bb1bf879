# The fused float32 kernel for narrow networks, called by _network.pyx's blocked path.

from libc.stdint cimport int64_t

from ._net cimport Net

cdef double narrow_grad(const Net* net, const float* X, const float* Y, const float* sw,
                        const int64_t* rows, Py_ssize_t lo, Py_ssize_t hi, const float* params,
                        float* grads, double total, float* scratch, Py_ssize_t M) noexcept nogil
