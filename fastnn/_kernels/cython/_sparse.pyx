"""Sparse input (``fastnn/_kernels/sparse.py``: X as CSR arrays, the work
buffer without an X region): forward_sparse, loss_and_grad_sparse and
train_epoch_sparse, the epoch in one call without the GIL.

Layer 1 forward, z_ri = sum_p x_p W_1[i, j_p] over row r's stored values
(j_p their columns), and its weight gradient, dW_1[i, j_p] += dz_ri x_p,
loop over W_1's rows outermost, four at a time, for blocks of batch rows: a
row of W_1 (or dW_1) is contiguous and stays in cache while the block's
stored values stream past it. dW_1 is 0 outside the batch's columns: the
epoch zeroes it once per call and, after each update, sets back to 0 the
columns the batch touched (all of dW_1 when that is fewer writes); plain SGD
without weight decay updates only those columns of W_1 when the batch stores
fewer values than W_1 has columns. The other layers are _layers.pyx's dense
kernels. Batch rows are row_at(order, lo, r): the epoch's index order, or
(order NULL) all rows in turn.
"""
from libc.math cimport isfinite
from libc.stdint cimport int64_t
from libc.string cimport memcpy, memset

from ._codes cimport HP_BETA1, HP_LR, HP_WEIGHT_DECAY, OPT_SGD
from ._layers cimport bias_activation, cy_layer_delta, cy_loss_grad
from ._math cimport floating
from ._net cimport Net, backward_layers, block, forward_layers, net_struct, start
from ._optim cimport Opt, cy_optimizer_step, state_struct

from ..epoch import n_steps
from ..sparse import sparse_regions

# Batch rows per block of the layer-1 loops: their stored values stay in L1
# while four rows of W_1 pass (64 rows ran 2x slower, 5000 x 64 float32,
# about 46 values per row).
cdef enum:
    ROW_BLOCK = 16


cdef struct Work:             # sparse.sparse_regions, as floating* (no X region)
    void* y
    void* wb
    void* A
    void* H
    void* D


cdef Work work_struct(net, work, floating* like):
    cdef floating[::1] x, y, wb, A, H, D, scratch
    x, y, wb, A, H, D, scratch = sparse_regions(net, work)
    cdef Work c
    c.y, c.wb, c.A, c.H, c.D = start(y), start(wb), start(A), start(H), start(D)
    return c


cdef inline Py_ssize_t row_at(const int64_t* order, Py_ssize_t lo, Py_ssize_t r) noexcept nogil:
    return order[lo + r] if order != NULL else lo + r


cdef void product_four(const floating* data, const int64_t* indices, const int64_t* indptr,
                       const int64_t* order, Py_ssize_t lo, Py_ssize_t r0, Py_ssize_t r1,
                       const floating* W, Py_ssize_t n_in, Py_ssize_t n_out, Py_ssize_t i,
                       floating* Z) noexcept nogil:
    """Z[r, i..i+3] = X_r W[i..i+3]^T for batch rows r0..r1-1: four rows of W
    share each stored value's load, four independent sums."""
    cdef const floating* w0 = W + i * n_in
    cdef const floating* w1 = w0 + n_in
    cdef const floating* w2 = w1 + n_in
    cdef const floating* w3 = w2 + n_in
    cdef Py_ssize_t r, p, j, row
    cdef floating x, a0, a1, a2, a3
    for r in range(r0, r1):
        row = row_at(order, lo, r)
        a0 = a1 = a2 = a3 = 0
        for p in range(indptr[row], indptr[row + 1]):
            j, x = indices[p], data[p]
            a0 += x * w0[j]
            a1 += x * w1[j]
            a2 += x * w2[j]
            a3 += x * w3[j]
        Z[r * n_out + i], Z[r * n_out + i + 1] = a0, a1
        Z[r * n_out + i + 2], Z[r * n_out + i + 3] = a2, a3


cdef void product_one(const floating* data, const int64_t* indices, const int64_t* indptr,
                      const int64_t* order, Py_ssize_t lo, Py_ssize_t r0, Py_ssize_t r1,
                      const floating* W, Py_ssize_t n_in, Py_ssize_t n_out, Py_ssize_t i,
                      floating* Z) noexcept nogil:
    """Z[r, i] = X_r W[i]^T for batch rows r0..r1-1."""
    cdef const floating* w = W + i * n_in
    cdef Py_ssize_t r, p, row
    cdef floating acc
    for r in range(r0, r1):
        row = row_at(order, lo, r)
        acc = 0
        for p in range(indptr[row], indptr[row + 1]):
            acc += data[p] * w[indices[p]]
        Z[r * n_out + i] = acc


cdef void sparse_product(const floating* data, const int64_t* indices, const int64_t* indptr,
                         const int64_t* order, Py_ssize_t lo, Py_ssize_t B, const floating* W,
                         Py_ssize_t n_in, Py_ssize_t n_out, floating* Z) noexcept nogil:
    """Z = X_batch W^T: z_ri = sum_p data[p] W[i, indices[p]] over the stored
    values p of batch row r, summed in their order."""
    cdef Py_ssize_t blk, r0, r1, i, four = n_out - n_out % 4
    for blk in range((B + ROW_BLOCK - 1) // ROW_BLOCK):
        r0 = blk * ROW_BLOCK
        r1 = min(r0 + ROW_BLOCK, B)
        for i in range(0, four, 4):
            product_four(data, indices, indptr, order, lo, r0, r1, W, n_in, n_out, i, Z)
        for i in range(four, n_out):
            product_one(data, indices, indptr, order, lo, r0, r1, W, n_in, n_out, i, Z)


cdef void gradient_four(const floating* data, const int64_t* indices, const int64_t* indptr,
                        const int64_t* order, Py_ssize_t lo, Py_ssize_t r0, Py_ssize_t r1,
                        const floating* dZ, Py_ssize_t n_in, Py_ssize_t n_out, Py_ssize_t i,
                        floating* dW) noexcept nogil:
    """dW[i..i+3, indices[p]] += dZ[r, i..i+3] data[p] for batch rows r0..r1-1
    (rows whose four deltas are 0 add nothing and are skipped)."""
    cdef floating* g0 = dW + i * n_in
    cdef floating* g1 = g0 + n_in
    cdef floating* g2 = g1 + n_in
    cdef floating* g3 = g2 + n_in
    cdef Py_ssize_t r, p, j, row
    cdef floating x, d0, d1, d2, d3
    for r in range(r0, r1):
        d0, d1 = dZ[r * n_out + i], dZ[r * n_out + i + 1]
        d2, d3 = dZ[r * n_out + i + 2], dZ[r * n_out + i + 3]
        if d0 == 0 and d1 == 0 and d2 == 0 and d3 == 0:
            continue
        row = row_at(order, lo, r)
        for p in range(indptr[row], indptr[row + 1]):
            j, x = indices[p], data[p]
            g0[j] += d0 * x
            g1[j] += d1 * x
            g2[j] += d2 * x
            g3[j] += d3 * x


cdef void gradient_one(const floating* data, const int64_t* indices, const int64_t* indptr,
                       const int64_t* order, Py_ssize_t lo, Py_ssize_t r0, Py_ssize_t r1,
                       const floating* dZ, Py_ssize_t n_in, Py_ssize_t n_out, Py_ssize_t i,
                       floating* dW) noexcept nogil:
    """dW[i, indices[p]] += dZ[r, i] data[p] for batch rows r0..r1-1."""
    cdef floating* g = dW + i * n_in
    cdef Py_ssize_t r, p, row
    cdef floating d
    for r in range(r0, r1):
        d = dZ[r * n_out + i]
        if d == 0:
            continue
        row = row_at(order, lo, r)
        for p in range(indptr[row], indptr[row + 1]):
            g[indices[p]] += d * data[p]


cdef void sparse_gradient(const floating* data, const int64_t* indices, const int64_t* indptr,
                          const int64_t* order, Py_ssize_t lo, Py_ssize_t B, const floating* dZ,
                          Py_ssize_t n_in, Py_ssize_t n_out, floating* dW) noexcept nogil:
    """dW += dZ^T X_batch on the batch's columns only: dW[i, indices[p]] +=
    dZ[r, i] data[p], batch rows in order."""
    cdef Py_ssize_t blk, r0, r1, i, four = n_out - n_out % 4
    for blk in range((B + ROW_BLOCK - 1) // ROW_BLOCK):
        r0 = blk * ROW_BLOCK
        r1 = min(r0 + ROW_BLOCK, B)
        for i in range(0, four, 4):
            gradient_four(data, indices, indptr, order, lo, r0, r1, dZ, n_in, n_out, i, dW)
        for i in range(four, n_out):
            gradient_one(data, indices, indptr, order, lo, r0, r1, dZ, n_in, n_out, i, dW)


cdef Py_ssize_t stored_values(const int64_t* indptr, const int64_t* order, Py_ssize_t lo,
                              Py_ssize_t B) noexcept nogil:
    """How many values the batch's rows store."""
    cdef Py_ssize_t r, row, count = 0
    for r in range(B):
        row = row_at(order, lo, r)
        count += indptr[row + 1] - indptr[row]
    return count


cdef void clear_columns(const int64_t* indices, const int64_t* indptr, const int64_t* order,
                        Py_ssize_t lo, Py_ssize_t B, Py_ssize_t n_in, Py_ssize_t n_out,
                        floating* dW) noexcept nogil:
    """dW[:, j] = 0 for the columns j stored in the batch's rows: column by
    column when the batch stores fewer values than dW has columns, else the
    whole of dW in one pass (fewer writes)."""
    cdef Py_ssize_t r, i, p, row
    cdef floating* g
    if stored_values(indptr, order, lo, B) >= n_in:
        memset(dW, 0, n_out * n_in * sizeof(floating))
        return
    for i in range(n_out):
        g = dW + i * n_in
        for r in range(B):
            row = row_at(order, lo, r)
            for p in range(indptr[row], indptr[row + 1]):
                g[indices[p]] = 0


cdef void sgd_columns(const int64_t* indices, const int64_t* indptr, const int64_t* order,
                      Py_ssize_t lo, Py_ssize_t B, Py_ssize_t n_in, Py_ssize_t n_out, floating lr,
                      floating* W, floating* dW) noexcept nogil:
    """Plain SGD on the batch's columns of W: w -= eta g, then g = 0, so that
    a column stored in several rows steps once and dW is 0 again afterwards."""
    cdef Py_ssize_t r, i, p, row, j
    cdef floating* w
    cdef floating* g
    for i in range(n_out):
        w, g = W + i * n_in, dW + i * n_in
        for r in range(B):
            row = row_at(order, lo, r)
            for p in range(indptr[row], indptr[row + 1]):
                j = indices[p]
                w[j] -= lr * g[j]
                g[j] = 0


cdef void forward_rows(const Net* net, const floating* data, const int64_t* indices,
                       const int64_t* indptr, const int64_t* order, Py_ssize_t lo, Py_ssize_t B,
                       const floating* params, const Work* w) noexcept nogil:
    """Algorithm 5 for the B batch rows: layer 1 by sparse_product, the
    others dense, into the work buffer's A and H."""
    cdef Py_ssize_t n_in = net.sizes[0], n_out = net.sizes[1]
    cdef const floating* W = params
    cdef floating* A = <floating*>w.A
    cdef floating* H = <floating*>w.H
    cdef floating alpha = <floating>net.alpha
    sparse_product(data, indices, indptr, order, lo, B, W, n_in, n_out, block(A, net, 0, B))
    bias_activation(W + n_out * n_in, B, n_out, net.acts[0], alpha, block(A, net, 0, B),
                    block(H, net, 0, B))
    forward_layers(net, 1, block(H, net, 0, B), B, params, A, H)


cdef double backward_rows(const Net* net, const floating* Y, const floating* sw, Py_ssize_t B,
                          const floating* params, const Work* w, floating* grads) noexcept nogil:
    """The loss of the logits in A against Y (weighted by sw; NULL:
    unweighted), Algorithm 6 for layers L..2, then layer 1's dL/da_1 (in D)
    and db_1; dW_1 is the caller's (sparse_gradient). Returns the loss."""
    cdef Py_ssize_t L = net.n_layers
    cdef floating* A = <floating*>w.A
    cdef floating* H = <floating*>w.H
    cdef floating* D = <floating*>w.D
    cdef floating alpha = <floating>net.alpha
    cdef double value = cy_loss_grad(net.loss, block(A, net, L - 1, B), Y, sw,
                                     block(D, net, L - 1, B), B, net.sizes[L])
    backward_layers(net, 1, NULL, B, params, A, H, D, grads)
    cy_layer_delta(block(A, net, 0, B), block(H, net, 0, B), block(D, net, 0, B), B,
                   net.sizes[1], net.acts[0], alpha, block(D, net, 0, B),
                   grads + net.sizes[1] * net.sizes[0])
    return value


cdef const floating* gather(const floating* X, Py_ssize_t width, const int64_t* rows,
                            Py_ssize_t n, floating* buf) noexcept nogil:
    """The rows X[rows] copied into buf (n x width)."""
    cdef Py_ssize_t i
    for i in range(n):
        memcpy(buf + i * width, X + rows[i] * width, width * sizeof(floating))
    return buf


cdef const floating* values(const floating[::1] data) noexcept:
    return &data[0] if data.shape[0] > 0 else NULL


cdef const int64_t* positions(const int64_t[::1] indices) noexcept:
    return &indices[0] if indices.shape[0] > 0 else NULL


def forward_sparse(const floating[::1] data, const int64_t[::1] indices,
                   const int64_t[::1] indptr, net, const floating[::1] params,
                   floating[:, ::1] out, work):
    """Logits a_L of the network for the rows of the CSR matrix, into ``out``."""
    cdef Net c = net_struct(net)
    cdef Work w = work_struct(net, work, &out[0, 0])
    cdef Py_ssize_t B = indptr.shape[0] - 1
    cdef const floating* x = values(data)
    cdef const int64_t* j = positions(indices)
    with nogil:
        forward_rows(&c, x, j, &indptr[0], NULL, 0, B, &params[0], &w)
        memcpy(&out[0, 0], block(<floating*>w.A, &c, c.n_layers - 1, B),
               B * out.shape[1] * sizeof(floating))
    return out.base


def loss_and_grad_sparse(const floating[::1] data, const int64_t[::1] indices,
                         const int64_t[::1] indptr, const floating[:, ::1] Y,
                         const floating[::1] sw, net, const floating[::1] params,
                         floating[::1] grads_out, work):
    """loss_and_grad for the rows of the CSR matrix; dW_1 is 0 in the columns
    that no row stores."""
    cdef Net c = net_struct(net)
    cdef Work w = work_struct(net, work, &grads_out[0])
    cdef Py_ssize_t B = indptr.shape[0] - 1, n0 = c.sizes[0], n1 = c.sizes[1]
    cdef const floating* weights = &sw[0] if sw.shape[0] > 0 else NULL
    cdef const floating* x = values(data)
    cdef const int64_t* j = positions(indices)
    cdef double value
    with nogil:
        forward_rows(&c, x, j, &indptr[0], NULL, 0, B, &params[0], &w)
        value = backward_rows(&c, &Y[0, 0], weights, B, &params[0], &w, &grads_out[0])
        memset(&grads_out[0], 0, n1 * n0 * sizeof(floating))
        sparse_gradient(x, j, &indptr[0], NULL, 0, B, block(<floating*>w.D, &c, 0, B), n0, n1,
                        &grads_out[0])
    return value


def train_epoch_sparse(const floating[::1] data, const int64_t[::1] indices,
                       const int64_t[::1] indptr, const floating[:, ::1] Y,
                       const floating[::1] sw, const int64_t[::1] order, Py_ssize_t batch_size,
                       net, floating[::1] params, floating[::1] grads, opt,
                       const double[::1] lrs, const double[::1] betas, double[::1] losses_out,
                       work):
    """train_epoch over CSR rows in one call (see sparse.sparse_step_epoch for
    what a step does); returns the number of updates. Plain SGD without
    weight decay, on a batch that stores fewer values than W_1 has columns,
    updates W_1 on the batch's columns only (sgd_columns) and the rest of the
    parameters (b_1 onwards) by the optimizer; a batch storing more takes the
    whole optimizer step (one vectorised pass is then cheaper, and the other
    columns get w -= eta * 0, unchanged), and so does the last step, so that
    ``grads`` ends holding the last gradient, as in the reference."""
    cdef Net c = net_struct(net)
    cdef Work w = work_struct(net, work, &params[0])
    cdef Opt o = state_struct(opt, &params[0])
    cdef Py_ssize_t N = order.shape[0], steps = n_steps(N, batch_size)
    cdef Py_ssize_t n0 = c.sizes[0], n1 = c.sizes[1], nL = Y.shape[1], rest = n1 * n0
    cdef Py_ssize_t s, lo, Bs, done = steps
    cdef bint plain_sgd = o.code == OPT_SGD and <floating>o.hp[HP_WEIGHT_DECAY] == 0
    cdef bint last
    cdef const floating* x = values(data)
    cdef const int64_t* j = positions(indices)
    cdef const floating* y
    cdef const floating* weights = NULL
    cdef double value
    with nogil:
        memset(&grads[0], 0, rest * sizeof(floating))
        for s in range(steps):
            lo, Bs = s * batch_size, min(batch_size, N - s * batch_size)
            y = gather(&Y[0, 0], nL, &order[lo], Bs, <floating*>w.y)
            if sw.shape[0] > 0:
                weights = gather(&sw[0], 1, &order[lo], Bs, <floating*>w.wb)
            forward_rows(&c, x, j, &indptr[0], &order[0], lo, Bs, &params[0], &w)
            value = backward_rows(&c, y, weights, Bs, &params[0], &w, &grads[0])
            sparse_gradient(x, j, &indptr[0], &order[0], lo, Bs,
                            block(<floating*>w.D, &c, 0, Bs), n0, n1, &grads[0])
            losses_out[s] = value
            if not isfinite(value):
                done = s
                break
            o.hp[HP_LR] = lrs[s]
            if betas.shape[0] > 0:
                o.hp[HP_BETA1] = betas[s]
            last = s + 1 == steps
            if plain_sgd and not last and stored_values(&indptr[0], &order[0], lo, Bs) < n0:
                sgd_columns(j, &indptr[0], &order[0], lo, Bs, n0, n1, <floating>lrs[s],
                            &params[0], &grads[0])
                cy_optimizer_step(o, &params[rest], &grads[rest], params.shape[0] - rest)
            else:
                cy_optimizer_step(o, &params[0], &grads[0], params.shape[0])
                if not last:
                    clear_columns(j, &indptr[0], &order[0], lo, Bs, n0, n1, &grads[0])
    return done
