# The C view of a values.Network, shared by _network.pyx and _sparse.pyx.

from libc.stdint cimport int64_t

from ._math cimport floating


cdef struct Net:
    const int64_t* sizes
    const int64_t* acts       # every layer's, the output layer's linear
    const int64_t* param_at   # layout.param_offsets
    const int64_t* unit_at    # layout.unit_offsets
    Py_ssize_t n_layers
    double alpha
    int loss


cdef Net net_struct(net)
cdef floating* start(floating[::1] region) noexcept


cdef inline floating* block(floating* region, const Net* net, Py_ssize_t k,
                            Py_ssize_t B) noexcept nogil:
    """Layer k's B x n_{k+1} block of region A, H or D (layout.block)."""
    return region + B * net.unit_at[k]


cdef void forward_layers(const Net* net, Py_ssize_t first, const floating* h, Py_ssize_t B,
                         const floating* params, floating* A, floating* H) noexcept nogil
cdef void backward_layers(const Net* net, Py_ssize_t last, const floating* X, Py_ssize_t B,
                          const floating* params, floating* A, floating* H, floating* D,
                          floating* grads) noexcept nogil
