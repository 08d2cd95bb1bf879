"""Net, the C view of a values.Network that the whole-network kernels read
(_network.pyx, _sparse.pyx), and the first entry of a work-buffer region."""
from libc.stdint cimport int64_t

from ._layers cimport cy_dense_backward, cy_dense_forward
from ._math cimport floating


cdef Net net_struct(net):
    """The C view of a values.Network (its arrays stay owned by ``net``)."""
    cdef const int64_t[::1] sizes = net.sizes
    cdef const int64_t[::1] acts = net.acts
    cdef const int64_t[::1] param_at = net.param_at
    cdef const int64_t[::1] unit_at = net.unit_at
    cdef Net c
    c.sizes, c.acts, c.param_at, c.unit_at = &sizes[0], &acts[0], &param_at[0], &unit_at[0]
    c.n_layers, c.alpha, c.loss = sizes.shape[0] - 1, net.alpha, net.loss
    return c


cdef floating* start(floating[::1] region) noexcept:
    """&region[0], or NULL for an empty region."""
    return &region[0] if region.shape[0] > 0 else NULL


cdef void forward_layers(const Net* net, Py_ssize_t first, const floating* h, Py_ssize_t B,
                         const floating* params, floating* A, floating* H) noexcept nogil:
    """Algorithm 5 from layer ``first`` up: a_k = b_k + W_k h_{k-1},
    h_k = g(a_k) for k = first..L-1, h_{first-1} = h (B rows), into the
    layers' blocks of regions A and H."""
    cdef Py_ssize_t k, n_in, n_out
    cdef const floating* W
    for k in range(first, net.n_layers):
        n_in, n_out = net.sizes[k], net.sizes[k + 1]
        W = params + net.param_at[k]
        cy_dense_forward(h, W, W + n_out * n_in, B, n_in, n_out, net.acts[k],
                         <floating>net.alpha, block(A, net, k, B), block(H, net, k, B))
        h = block(H, net, k, B)


cdef void backward_layers(const Net* net, Py_ssize_t last, const floating* X, Py_ssize_t B,
                          const floating* params, floating* A, floating* H, floating* D,
                          floating* grads) noexcept nogil:
    """Algorithm 6 from dL/da_L (in D) down to layer ``last``: dL/dtheta of
    layers L-1..last into grads, dL/dh_{k-1} into D for k > 0; layer 0's
    input is X (the rows the forward pass read)."""
    cdef Py_ssize_t k, n_in, n_out, off
    cdef floating* dZ
    for k in range(net.n_layers - 1, last - 1, -1):
        n_in, n_out, off = net.sizes[k], net.sizes[k + 1], net.param_at[k]
        dZ = block(D, net, k, B)
        cy_dense_backward(X if k == 0 else block(H, net, k - 1, B), params + off,
                          block(A, net, k, B), block(H, net, k, B), dZ, B, n_in, n_out,
                          net.acts[k], <floating>net.alpha, dZ, grads + off,
                          grads + off + n_out * n_in,
                          block(D, net, k - 1, B) if k > 0 else NULL)
