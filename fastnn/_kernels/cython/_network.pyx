"""Whole networks: forward (the notes' Algorithm 5), loss_and_grad (Algorithms
5 and 6) and train_epoch, the fast path that runs a whole epoch of mini-batch
gradient descent in one call without the GIL.

The entry points turn the values of ``values.py`` into C structs (Net here,
Opt in _optim.pyx) and the work buffer into the pointers of its regions
(``layout.regions``); the nogil code reads the layout's offsets from Net.
Layers are indexed k = 0..L-1.
"""
from libc.math cimport isfinite
from libc.stdint cimport int64_t
from libc.string cimport memcpy

from ._blas cimport gemm
from ._codes cimport HP_BETA1, HP_LR, HP_WEIGHT_DECAY, OPT_SGD
from ._layers cimport (cy_dense_backward, cy_dense_forward, cy_input_grad, cy_layer_delta,
                      cy_loss_grad)
from ._math cimport floating
from ._optim cimport Opt, cy_optimizer_step, state_struct

from ._stochastic import stochastic_epoch

from ..epoch import n_steps
from ..layout import regions


cdef struct Net:
    const int64_t* sizes
    const int64_t* acts       # every layer's, the output layer's linear
    const int64_t* param_at   # layout.param_offsets
    const int64_t* unit_at    # layout.unit_offsets
    Py_ssize_t n_layers
    double alpha
    int loss


cdef struct Work:             # layout.regions, as floating* in the buffer's dtype
    void* x
    void* y
    void* wb                  # the batch's sample weights
    void* A
    void* H
    void* D
    void* scratch


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
    return &region[0] if region.shape[0] > 0 else NULL


cdef Work work_struct(net, work, floating* like):
    """Pointers to the regions of the work buffer (layout.regions)."""
    cdef floating[::1] x, y, wb, A, H, D, scratch
    x, y, wb, A, H, D, scratch = regions(net, work)
    cdef Work c
    c.x, c.y, c.wb, c.A, c.H, c.D, c.scratch = (start(x), start(y), start(wb), start(A),
                                                start(H), start(D), start(scratch))
    return c


cdef inline floating* block(floating* region, const Net* net, Py_ssize_t k,
                            Py_ssize_t B) noexcept nogil:
    """Layer k's B x n_{k+1} block of region A, H or D (layout.block)."""
    return region + B * net.unit_at[k]


cdef void cy_forward(const Net* net, const floating* X, Py_ssize_t B, const floating* params,
                     const Work* w) noexcept nogil:
    """Algorithm 5: a_k = b_k + W_k h_{k-1}, h_k = g(a_k), for the B rows of X
    into the work buffer's A and H."""
    cdef Py_ssize_t k, n_in, n_out
    cdef const floating* h = X
    cdef const floating* W
    cdef floating* Hk
    for k in range(net.n_layers):
        n_in, n_out = net.sizes[k], net.sizes[k + 1]
        W = params + net.param_at[k]
        Hk = block(<floating*>w.H, net, k, B)
        cy_dense_forward(h, W, W + n_out * n_in, B, n_in, n_out, net.acts[k],
                         <floating>net.alpha, block(<floating*>w.A, net, k, B), Hk)
        h = Hk


cdef double cy_loss(const Net* net, const floating* Y, const floating* sw, Py_ssize_t B,
                    const Work* w) noexcept nogil:
    """The loss of the logits in A against Y, weighted by the rows' sample
    weights sw (NULL: unweighted); dL/da_L into D."""
    cdef Py_ssize_t L = net.n_layers
    return cy_loss_grad(net.loss, block(<floating*>w.A, net, L - 1, B), Y, sw,
                        block(<floating*>w.D, net, L - 1, B), B, net.sizes[L])


cdef void cy_backward(const Net* net, const floating* X, Py_ssize_t B, const floating* params,
                      const Work* w, floating* grads) noexcept nogil:
    """Algorithm 6 from dL/da_L (in D) down to layer 0, writing dL/dtheta into grads."""
    cdef Py_ssize_t k, n_in, n_out, off
    cdef floating* dZ
    for k in range(net.n_layers - 1, -1, -1):
        n_in, n_out, off = net.sizes[k], net.sizes[k + 1], net.param_at[k]
        dZ = block(<floating*>w.D, net, k, B)
        cy_dense_backward(X if k == 0 else block(<floating*>w.H, net, k - 1, B), params + off,
                          block(<floating*>w.A, net, k, B), block(<floating*>w.H, net, k, B), dZ,
                          B, n_in, n_out, net.acts[k], <floating>net.alpha, dZ, grads + off,
                          grads + off + n_out * n_in,
                          block(<floating*>w.D, net, k - 1, B) if k > 0 else NULL)


cdef void sgd_backward_step(const Net* net, const floating* X, Py_ssize_t B, floating* params,
                            const Work* w, floating lr) noexcept nogil:
    """Algorithm 6 fused with the SGD update (no weight decay) from dL/da_L
    (in D): for each layer from the top, dZ_k and db_k (db in the scratch
    region), dL/dh_{k-1} = dZ_k W_k with the old W_k, then
    W_k -= eta dZ_k^T h_{k-1} and b_k -= eta db_k in place. The weight
    gradient is never stored: BLAS adds -eta dZ^T h into W (beta = 1)."""
    cdef Py_ssize_t k, j, n_in, n_out
    cdef floating* W
    cdef floating* dZ
    cdef floating* db = <floating*>w.scratch
    cdef const floating* h_prev
    for k in range(net.n_layers - 1, -1, -1):
        n_in, n_out = net.sizes[k], net.sizes[k + 1]
        W = params + net.param_at[k]
        dZ = block(<floating*>w.D, net, k, B)
        h_prev = X if k == 0 else block(<floating*>w.H, net, k - 1, B)
        cy_layer_delta(block(<floating*>w.A, net, k, B), block(<floating*>w.H, net, k, B), dZ, B,
                       n_out, net.acts[k], <floating>net.alpha, dZ, db)
        if k > 0:
            cy_input_grad(dZ, W, B, n_in, n_out, block(<floating*>w.D, net, k - 1, B))
        gemm(True, False, n_out, n_in, B, -lr, dZ, n_out, h_prev, n_in, 1, W, n_in)
        for j in range(n_out):
            W[n_out * n_in + j] -= lr * db[j]


cdef bint consecutive(const int64_t* rows, Py_ssize_t n) noexcept nogil:
    """True when rows = r, r+1, ..., r+n-1: the batch is a block of X already."""
    cdef Py_ssize_t i
    for i in range(1, n):
        if rows[i] != rows[0] + i:
            return False
    return True


cdef const floating* batch_block(const floating* X, Py_ssize_t width, const int64_t* rows,
                                 Py_ssize_t n, floating* buf) noexcept nogil:
    """The rows X[rows] as one n x width block: a view into X when the rows
    are consecutive, else a copy gathered into buf."""
    cdef Py_ssize_t i
    if consecutive(rows, n):
        return X + rows[0] * width
    for i in range(n):
        memcpy(buf + i * width, X + rows[i] * width, width * sizeof(floating))
    return buf


def forward(const floating[:, ::1] X, net, const floating[::1] params, floating[:, ::1] out,
            work):
    """Logits a_L of the network for the rows of X, written into ``out``."""
    cdef Net c = net_struct(net)
    cdef Work w = work_struct(net, work, &out[0, 0])
    cdef Py_ssize_t B = X.shape[0]
    with nogil:
        cy_forward(&c, &X[0, 0], B, &params[0], &w)
        memcpy(&out[0, 0], block(<floating*>w.A, &c, c.n_layers - 1, B),
               B * out.shape[1] * sizeof(floating))
    return out.base


def loss_and_grad(const floating[:, ::1] X, const floating[:, ::1] Y, const floating[::1] sw,
                  net, const floating[::1] params, floating[::1] grads_out, work):
    """Forward (Algorithm 5), the loss of the logits (weighted by ``sw``; empty:
    unweighted), backward (Algorithm 6); writes dL/dtheta into ``grads_out``
    (params' layout); returns the loss."""
    cdef Net c = net_struct(net)
    cdef Work w = work_struct(net, work, &grads_out[0])
    cdef Py_ssize_t B = X.shape[0]
    cdef const floating* weights = &sw[0] if sw.shape[0] > 0 else NULL
    cdef double value
    with nogil:
        cy_forward(&c, &X[0, 0], B, &params[0], &w)
        value = cy_loss(&c, &Y[0, 0], weights, B, &w)
        cy_backward(&c, &X[0, 0], B, &params[0], &w, &grads_out[0])
    return value


def train_epoch(const floating[:, ::1] X, const floating[:, ::1] Y, const floating[::1] sw,
                const int64_t[::1] order, Py_ssize_t batch_size, net, floating[::1] params,
                floating[::1] grads, opt,
                const double[::1] lrs, const double[::1] betas, double[::1] losses_out, work):
    """One epoch of mini-batch gradient descent in one call (see
    epoch.step_epoch for what a step does); returns the number of updates.

    Batches (and their sample weights ``sw``, when not empty) are taken in
    place when their rows are consecutive, else gathered into the work buffer. SGD without weight decay fuses its update into the
    backward pass (sgd_backward_step) on every step but the last, so that
    ``grads`` still ends holding the last gradient, as in the reference.
    Batch size 1 is _stochastic.stochastic_epoch."""
    if batch_size == 1:
        return stochastic_epoch(X, Y, sw, order, net, params, grads, opt, lrs, betas,
                                losses_out, work)
    cdef Net c = net_struct(net)
    cdef Work w = work_struct(net, work, &params[0])
    cdef Opt o = state_struct(opt, &params[0])
    cdef Py_ssize_t N = order.shape[0], steps = n_steps(N, batch_size)
    cdef Py_ssize_t n0 = X.shape[1], nL = Y.shape[1], s, Bs, done = steps
    cdef bint plain_sgd = o.code == OPT_SGD and <floating>o.hp[HP_WEIGHT_DECAY] == 0
    cdef bint fused
    cdef const int64_t* rows
    cdef const floating* x
    cdef const floating* y
    cdef const floating* weights = NULL
    cdef double value
    with nogil:
        for s in range(steps):
            rows, Bs = &order[0] + s * batch_size, min(batch_size, N - s * batch_size)
            x = batch_block(&X[0, 0], n0, rows, Bs, <floating*>w.x)
            y = batch_block(&Y[0, 0], nL, rows, Bs, <floating*>w.y)
            if sw.shape[0] > 0:
                weights = batch_block(&sw[0], 1, rows, Bs, <floating*>w.wb)
            cy_forward(&c, x, Bs, &params[0], &w)
            value = cy_loss(&c, y, weights, Bs, &w)
            losses_out[s] = value
            fused = plain_sgd and s + 1 < steps and isfinite(value)
            if not fused:
                cy_backward(&c, x, Bs, &params[0], &w, &grads[0])
            if not isfinite(value):
                done = s
                break
            o.hp[HP_LR] = lrs[s]
            if betas.shape[0] > 0:
                o.hp[HP_BETA1] = betas[s]
            if fused:
                sgd_backward_step(&c, x, Bs, &params[0], &w, <floating>lrs[s])
                o.t[0] += 1
            else:
                cy_optimizer_step(o, &params[0], &grads[0], params.shape[0])
    return done
