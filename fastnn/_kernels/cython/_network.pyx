"""Whole networks: forward (the notes' Algorithm 5), loss_and_grad (Algorithms
5 and 6) and train_epoch, the fast path that runs a whole epoch of mini-batch
gradient descent in one call without the GIL.

A network is ``sizes`` ([n_0, ..., n_L]), ``acts`` (codes of the L-1 hidden
layers; the output layer is linear, its output function belongs to the loss)
and the flat ``params`` buffer holding W_k (n_k x n_{k-1}) then b_k for each
layer (reference.layer_views). Layers are indexed k = 0..L-1 below.
"""
import numpy as np

from libc.stdint cimport int64_t
from libc.math cimport isfinite
from libc.string cimport memcpy

from ._blas cimport gemm
from ._codes cimport ACT_LINEAR, HP_BETA1, HP_LR, HP_WEIGHT_DECAY, OPT_SGD
from ._fpu cimport flush_to_zero, restore_fpu
from ._layers cimport (cy_dense_backward, cy_dense_forward, cy_input_grad, cy_layer_delta,
                      cy_loss_grad)
from ._math cimport floating
from ._optim cimport cy_optimizer_step

from ._layers import check_loss
from ._optim import check_optimizer


cdef struct Net:
    const int64_t* sizes
    const int64_t* acts
    Py_ssize_t n_layers
    double alpha


cdef Net describe(const int64_t[::1] sizes, const int64_t[::1] acts, double alpha):
    """The network's shape as raw pointers, for the nogil code."""
    cdef Net net
    net.sizes, net.acts, net.n_layers, net.alpha = &sizes[0], &acts[0], sizes.shape[0] - 1, alpha
    return net


cdef inline int layer_act(Net net, Py_ssize_t k) noexcept nogil:
    return net.acts[k] if k < net.n_layers - 1 else ACT_LINEAR


cdef inline Py_ssize_t param_offset(Net net, Py_ssize_t k) noexcept nogil:
    """Start of W_k in the flat buffer; b_k follows W_k."""
    cdef Py_ssize_t i, off = 0
    for i in range(k):
        off += net.sizes[i + 1] * (net.sizes[i] + 1)
    return off


cdef inline Py_ssize_t cache_offset(Net net, Py_ssize_t k, Py_ssize_t B) noexcept nogil:
    """Start of A_k (B x n_{k+1}) in the forward cache; H_k follows A_k."""
    cdef Py_ssize_t i, off = 0
    for i in range(k):
        off += 2 * B * net.sizes[i + 1]
    return off


cdef Py_ssize_t cache_size(Net net, Py_ssize_t B) noexcept nogil:
    return cache_offset(net, net.n_layers, B)


cdef Py_ssize_t max_width(Net net) noexcept nogil:
    """The widest of n_1..n_L: the size of a row of dL/dh (never taken for the input)."""
    cdef Py_ssize_t k, width = 0
    for k in range(1, net.n_layers + 1):
        width = max(width, net.sizes[k])
    return width


cdef void cy_forward(Net net, const floating* X, Py_ssize_t B, const floating* params,
                     floating* cache) noexcept nogil:
    """Algorithm 5: a_k = b_k + W_k h_{k-1}, h_k = g(a_k), for the B rows of X;
    the logits are A_{L-1} at cache_offset(L-1)."""
    cdef Py_ssize_t k, n_in, n_out
    cdef const floating* h = X
    cdef const floating* W
    cdef floating* A
    for k in range(net.n_layers):
        n_in, n_out = net.sizes[k], net.sizes[k + 1]
        W = params + param_offset(net, k)
        A = cache + cache_offset(net, k, B)
        cy_dense_forward(h, W, W + n_out * n_in, B, n_in, n_out, layer_act(net, k),
                         <floating>net.alpha, A, A + B * n_out)
        h = A + B * n_out


cdef void cy_backward(Net net, const floating* X, Py_ssize_t B, const floating* params,
                      const floating* cache, floating* dA, floating* spare,
                      floating* grads) noexcept nogil:
    """Algorithm 6 from dL/da_L (in dA) down to layer 0, writing dL/dtheta
    into grads; dA and spare (B x max width each) alternate as dL/dh."""
    cdef Py_ssize_t k, n_in, n_out, off
    cdef const floating* A
    cdef const floating* h_prev
    for k in range(net.n_layers - 1, -1, -1):
        n_in, n_out = net.sizes[k], net.sizes[k + 1]
        off = param_offset(net, k)
        A = cache + cache_offset(net, k, B)
        h_prev = X if k == 0 else A - B * n_in
        cy_dense_backward(h_prev, params + off, A, A + B * n_out, dA, B, n_in, n_out,
                          layer_act(net, k), <floating>net.alpha, dA, grads + off,
                          grads + off + n_out * n_in, spare if k > 0 else NULL)
        dA, spare = spare, dA


cdef void sgd_backward_step(Net net, const floating* X, Py_ssize_t B, floating* params,
                            const floating* cache, floating* dA, floating* spare, floating* db,
                            floating lr) noexcept nogil:
    """Algorithm 6 fused with the SGD update (no weight decay) from dL/da_L
    (in dA): for each layer from the top, dZ_k and db_k (db: scratch of the
    largest width), dL/dh_{k-1} = dZ_k W_k with the old W_k, then
    W_k -= eta dZ_k^T h_{k-1} and b_k -= eta db_k in place. The weight
    gradient is never stored: BLAS adds -eta dZ^T h into W (beta = 1); at
    B = 1 only the rows with dz_j != 0 change (the reference's w -= eta * 0
    leaves the others as they are), so inactive ReLU units cost nothing."""
    cdef Py_ssize_t k, j, n_in, n_out
    cdef floating* W
    cdef const floating* A
    cdef const floating* h_prev
    for k in range(net.n_layers - 1, -1, -1):
        n_in, n_out = net.sizes[k], net.sizes[k + 1]
        W = params + param_offset(net, k)
        A = cache + cache_offset(net, k, B)
        h_prev = X if k == 0 else A - B * n_in
        cy_layer_delta(A, A + B * n_out, dA, B, n_out, layer_act(net, k), <floating>net.alpha,
                       dA, db)
        if k > 0:
            cy_input_grad(dA, W, B, n_in, n_out, spare)
        if B == 1:
            sparse_rank_one_update(W, dA, h_prev, n_out, n_in, lr)
        else:
            gemm(True, False, n_out, n_in, B, -lr, dA, n_out, h_prev, n_in, 1, W, n_in)
        for j in range(n_out):
            W[n_out * n_in + j] -= lr * db[j]
        dA, spare = spare, dA


cdef void sparse_rank_one_update(floating* W, const floating* dz, const floating* h,
                                 Py_ssize_t n_out, Py_ssize_t n_in, floating lr) noexcept nogil:
    """W -= eta dz h^T row by row, skipping the rows where dz_j = 0; the same
    arithmetic as the reference's w -= eta (dz_j h_i)."""
    cdef Py_ssize_t i, j
    cdef floating* row
    for j in range(n_out):
        if dz[j] != 0:
            row = W + j * n_in
            for i in range(n_in):
                row[i] -= lr * (dz[j] * h[i])


cdef bint consecutive(const int64_t* rows, Py_ssize_t n) noexcept nogil:
    """True when rows = r, r+1, ..., r+n-1: the batch is a block of X already."""
    cdef Py_ssize_t i
    for i in range(1, n):
        if rows[i] != rows[0] + i:
            return False
    return True


cdef bint is_whole(const int64_t[::1] rows, Py_ssize_t n):
    """True when rows holds each of 0..n-1 exactly once."""
    cdef unsigned char[::1] seen = np.zeros(n, dtype=np.uint8)
    cdef Py_ssize_t i
    if rows.shape[0] != n:
        return False
    for i in range(n):
        if seen[rows[i]]:
            return False
        seen[rows[i]] = 1
    return True


cdef void gather(const floating* X, Py_ssize_t width, const int64_t* rows, Py_ssize_t n,
                 floating* out) noexcept nogil:
    """out = X[rows] (n x width)."""
    cdef Py_ssize_t i
    for i in range(n):
        memcpy(out + i * width, X + rows[i] * width, width * sizeof(floating))


cdef const floating* batch_block(const floating* X, Py_ssize_t width, const int64_t* rows,
                                 Py_ssize_t n, bint whole, floating* buf) noexcept nogil:
    """The rows X[rows] as one n x width block: X itself when the batch is
    every row of X once (only the summation order changes), a view into X
    when the rows are consecutive, else a copy gathered into buf."""
    if whole:
        return X
    if consecutive(rows, n):
        return X + rows[0] * width
    gather(X, width, rows, n, buf)
    return buf


cdef floating[::1] workspace(const floating* like, Py_ssize_t size):
    """An uninitialised work buffer of ``size`` elements of ``like``'s dtype."""
    return np.empty(size, dtype=np.float32 if floating is float else np.float64)


def forward(const floating[:, ::1] X, const int64_t[::1] sizes, const int64_t[::1] acts,
            double alpha, const floating[::1] params, floating[:, ::1] out):
    """Logits a_L of the network for the rows of X, written into ``out``."""
    cdef Net net = describe(sizes, acts, alpha)
    cdef Py_ssize_t B = X.shape[0]
    cdef floating[::1] cache = workspace(&params[0], cache_size(net, B))
    cdef floating* logits = &cache[0] + cache_offset(net, net.n_layers - 1, B)
    with nogil:
        cy_forward(net, &X[0, 0], B, &params[0], &cache[0])
        memcpy(&out[0, 0], logits, B * out.shape[1] * sizeof(floating))
    return out.base


def loss_and_grad(const floating[:, ::1] X, const floating[:, ::1] Y, const int64_t[::1] sizes,
                  const int64_t[::1] acts, double alpha, int loss, const floating[::1] params,
                  floating[::1] grads_out):
    """Forward (Algorithm 5), the loss of the logits, backward (Algorithm 6);
    writes dL/dtheta into ``grads_out`` (params' layout); returns the loss."""
    check_loss(loss)
    cdef Net net = describe(sizes, acts, alpha)
    cdef Py_ssize_t B = X.shape[0], width = B * max_width(net)
    cdef floating[::1] work = workspace(&params[0], cache_size(net, B) + 2 * width)
    cdef floating* cache = &work[0]
    cdef floating* dA = cache + cache_size(net, B)
    cdef double value
    with nogil:
        cy_forward(net, &X[0, 0], B, &params[0], cache)
        value = cy_loss_grad(loss, cache + cache_offset(net, net.n_layers - 1, B), &Y[0, 0], dA,
                             B, Y.shape[1])
        cy_backward(net, &X[0, 0], B, &params[0], cache, dA, dA + width, &grads_out[0])
    return value


def n_steps(n_samples, batch_size):
    """Steps in one epoch: ceil(N / B) (the last partial batch is a step)."""
    return -(-n_samples // batch_size)


def train_epoch(const floating[:, ::1] X, const floating[:, ::1] Y, const int64_t[::1] order,
                Py_ssize_t batch_size, const int64_t[::1] sizes, const int64_t[::1] acts,
                double alpha, int loss, floating[::1] params, floating[::1] grads, int opt,
                floating[::1] s1, floating[::1] s2, double[::1] hp, const double[::1] lrs,
                const double[::1] betas, long t0, double[::1] losses_out):
    """One epoch of mini-batch gradient descent in one call (see
    reference.train_epoch): batch s is the rows order[s*B:(s+1)*B] of (X, Y);
    loss, gradient, then the optimizer's update with eta = lrs[s] (beta =
    betas[s] if given) at t = t0 + s + 1. Stops before the update of the first
    step whose loss is not finite; returns the number of updates applied.

    The work buffers are allocated once per call; batches are taken in place
    when they can be (batch_block); subnormal results flush to zero (_fpu.pxd).
    SGD without weight decay fuses its update into the backward pass
    (sgd_backward_step) on every step but the last, so that ``grads`` still
    ends holding the last gradient, as in the reference."""
    check_loss(loss)
    check_optimizer(opt)
    cdef Net net = describe(sizes, acts, alpha)
    cdef Py_ssize_t N = order.shape[0], steps = n_steps(N, batch_size)
    cdef Py_ssize_t B = min(batch_size, N), width = B * max_width(net)
    cdef Py_ssize_t n0 = X.shape[1], nL = Y.shape[1], s, Bs, done = steps
    cdef floating[::1] work = workspace(&params[0], B * (n0 + nL) + cache_size(net, B)
                                        + 2 * width + max_width(net))
    cdef floating* xb = &work[0]
    cdef floating* yb = xb + B * n0
    cdef floating* cache = yb + B * nL
    cdef floating* dA = cache + cache_size(net, B)
    cdef bint whole = steps == 1 and is_whole(order, X.shape[0])
    cdef bint plain_sgd = opt == OPT_SGD and <floating>hp[HP_WEIGHT_DECAY] == 0
    cdef bint fused
    cdef const int64_t* rows
    cdef const floating* x
    cdef const floating* y
    cdef double value
    cdef unsigned int fpu
    with nogil:
        fpu = flush_to_zero()
        for s in range(steps):
            rows, Bs = &order[0] + s * batch_size, min(batch_size, N - s * batch_size)
            x = batch_block(&X[0, 0], n0, rows, Bs, whole, xb)
            y = batch_block(&Y[0, 0], nL, rows, Bs, whole, yb)
            cy_forward(net, x, Bs, &params[0], cache)
            value = cy_loss_grad(loss, cache + cache_offset(net, net.n_layers - 1, Bs), y, dA,
                                 Bs, nL)
            losses_out[s] = value
            fused = plain_sgd and s + 1 < steps and isfinite(value)
            if not fused:
                cy_backward(net, x, Bs, &params[0], cache, dA, dA + width, &grads[0])
            if not isfinite(value):
                done = s
                break
            hp[HP_LR] = lrs[s]
            if betas.shape[0] > 0:
                hp[HP_BETA1] = betas[s]
            if fused:
                sgd_backward_step(net, x, Bs, &params[0], cache, dA, dA + width,
                                  dA + 2 * width, <floating>lrs[s])
            else:
                cy_optimizer_step(opt, &params[0], &grads[0], &s1[0], &s2[0], params.shape[0],
                                  &hp[0], t0 + s + 1)
        restore_fpu(fpu)
    return done
