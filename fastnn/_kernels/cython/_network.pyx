"""Whole networks: forward (the notes' Algorithm 5), loss_and_grad (Algorithms
5 and 6) and train_epoch, the fast path that runs a whole epoch of mini-batch
gradient descent in one call without the GIL.

The entry points turn the values of ``values.py`` into C structs (Net here,
Opt in _optim.pyx) and the work buffer into the pointers of its regions
(``layout.buffers``); the nogil code reads the layout's offsets from Net
(_net.pxd). Layers are indexed k = 0..L-1.

Batches larger than one block (``layout.block_rows``) or with more than one
partition (``layout.partitions``) take the blocked path: each partition's rows
are worked through block by block (forward, loss and backward of a block
while its activations are in cache, dW and db accumulated), the partitions
run on OpenMP's threads, and their gradients are added in partition order,
so any number of threads gives the same bits. In train_epoch the optimizer's
update of each chunk of entries follows that chunk's sum while it is in
cache, in the same parallel region. forward takes the same partitions and
blocks. BLAS runs on one thread (the backend's registry wraps these entry
points, ``blas_threads.py``): its own threads would oversubscribe the cores,
and its results depend on how many it runs. Smaller batches of wide enough
layers (``layout.columns``) are split by columns instead (_columns.pyx).
A narrow float32 network (every width at most layout.NARROW_WIDTH) works
through a partition's rows in _narrow.pyx's fused kernel instead (rows_grad),
in the partition's narrow scratch.
"""
from cython.parallel cimport parallel, prange
from libc.math cimport isfinite
from libc.stdint cimport int64_t
from libc.string cimport memcpy

from ._blas cimport gemm
from ._columns cimport column_step
from ._codes cimport HP_BETA1, HP_LR, HP_SIZE, HP_WEIGHT_DECAY, OPT_SGD
from ._layers cimport cy_input_grad, cy_layer_delta, cy_loss_grad
from ._math cimport floating
from ._narrow cimport narrow_grad
from ._net cimport Net, backward_layers, block, forward_layers, net_struct, start
from ._optim cimport Coef, Opt, cy_coefficients, cy_optimizer_step, cy_update, state_struct

from ._stochastic import stochastic_epoch

from ..epoch import n_steps
from ..layout import (PARTS_MAX, block_rows, buffers, column_bounds, columns, narrow_size,
                      partitions)


cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int fastnn_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int fastnn_max_threads(void) { return 1; }
    #endif
    """
    int max_threads "fastnn_max_threads"() noexcept nogil  # OpenMP's, 1 without OpenMP


cdef struct Work:             # layout.buffers, as floating* in the buffer's dtype
    void* x
    void* y
    void* wb                  # the batch's sample weights
    void* A
    void* H
    void* D
    void* scratch
    void* partial_grads       # layout.partials: partitions 1..P-1's gradients
    void* partial_db          # and every partition's db scratch
    void* narrow              # and narrow scratch
    Py_ssize_t n_params       # T = param_at[L]
    Py_ssize_t widest         # M
    Py_ssize_t narrow_size    # N, 0 unless the network is narrow


cdef Work work_struct(net, work, floating* like):
    """Pointers to the regions of the work buffer (layout.buffers)."""
    cdef floating[::1] x, y, wb, A, H, D, scratch, partial_grads, partial_db, narrow
    x, y, wb, A, H, D, scratch, partial_grads, partial_db, narrow = buffers(net, work)
    cdef Work c
    c.x, c.y, c.wb, c.A, c.H, c.D, c.scratch = (start(x), start(y), start(wb), start(A),
                                                start(H), start(D), start(scratch))
    c.partial_grads, c.partial_db, c.narrow = start(partial_grads), start(partial_db), start(narrow)
    c.n_params, c.widest = net.param_at[len(net.sizes) - 1], scratch.shape[0]
    c.narrow_size = narrow_size(net)
    return c


cdef void cy_forward(const Net* net, const floating* X, Py_ssize_t B, const floating* params,
                     const Work* w) noexcept nogil:
    """Algorithm 5 for the B rows of X into the work buffer's A and H."""
    forward_layers(net, 0, X, B, params, <floating*>w.A, <floating*>w.H)


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
    backward_layers(net, 0, X, B, params, <floating*>w.A, <floating*>w.H, <floating*>w.D, grads)


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



cdef enum:
    MAX_PARTS = 8             # at least layout.PARTS_MAX; also the most threads of an update
    REDUCE_CHUNK = 16384      # entries of the gradient per chunk of the reduction
    SPLIT_UPDATE = 32768      # parameters from which an update is split between threads

if PARTS_MAX > MAX_PARTS:
    raise ImportError(f"layout.PARTS_MAX = {PARTS_MAX} exceeds _network.pyx's MAX_PARTS")


cdef double block_step(const Net* net, const floating* X, const floating* Y, const floating* sw,
                       const int64_t* rows, Py_ssize_t first, Py_ssize_t n, Py_ssize_t at,
                       const floating* params, const Work* w, floating* grads, floating* db,
                       double total, bint accumulate) noexcept nogil:
    """Forward, loss and backward of the n rows first..first+n-1 of a batch
    (rows[first:first+n] of X, Y, sw; X[first:first+n] when rows is NULL),
    with their A, H, D (and gathered rows) at row ``at`` of the regions.
    dL/da_L is scaled from the block's normalisation to the batch's, c_i =
    w_i / total, and dL/dtheta is added into grads (written when not
    ``accumulate``); db is the partition's scratch. Returns sum_i w_i L_i
    over the block."""
    cdef Py_ssize_t n0 = net.sizes[0], nL = net.sizes[net.n_layers], S = net.unit_at[net.n_layers]
    cdef Py_ssize_t i
    cdef const floating* x
    cdef const floating* y
    cdef const floating* weights = NULL
    cdef double part = n, value
    cdef floating scale
    cdef floating* dZ
    cdef Work bw = w[0]
    bw.A, bw.H, bw.D = <floating*>w.A + at * S, <floating*>w.H + at * S, <floating*>w.D + at * S
    if rows == NULL:
        x, y = X + first * n0, Y + first * nL
        if sw != NULL:
            weights = sw + first
    else:
        x = batch_block(X, n0, rows + first, n, <floating*>w.x + at * n0)
        y = batch_block(Y, nL, rows + first, n, <floating*>w.y + at * nL)
        if sw != NULL:
            weights = batch_block(sw, 1, rows + first, n, <floating*>w.wb + at)
    if weights != NULL:
        part = 0
        for i in range(n):
            part += weights[i]
    cy_forward(net, x, n, params, &bw)
    value = cy_loss(net, y, weights, n, &bw)
    if part != total:
        scale = <floating>(part / total)
        dZ = block(<floating*>bw.D, net, net.n_layers - 1, n)
        for i in range(n * nL):
            dZ[i] *= scale
    block_backward(net, x, n, params, &bw, grads, db, accumulate)
    return value * part


cdef void block_backward(const Net* net, const floating* X, Py_ssize_t B, const floating* params,
                         const Work* w, floating* grads, floating* db,
                         bint accumulate) noexcept nogil:
    """Algorithm 6 from dL/da_L (in D) down to layer 0 for the B rows of a
    block: dL/dtheta written into grads, or added to it when ``accumulate``
    (BLAS with beta = 1); db is a scratch of M entries."""
    cdef Py_ssize_t k, j, n_in, n_out, off
    cdef floating* dZ
    cdef floating* grad_b
    for k in range(net.n_layers - 1, -1, -1):
        n_in, n_out, off = net.sizes[k], net.sizes[k + 1], net.param_at[k]
        dZ = block(<floating*>w.D, net, k, B)
        cy_layer_delta(block(<floating*>w.A, net, k, B), block(<floating*>w.H, net, k, B), dZ, B,
                       n_out, net.acts[k], <floating>net.alpha, dZ, db)
        gemm(True, False, n_out, n_in, B, 1, dZ, n_out,
             X if k == 0 else block(<floating*>w.H, net, k - 1, B), n_in,
             1 if accumulate else 0, grads + off, n_in)
        grad_b = grads + off + n_out * n_in
        if accumulate:
            for j in range(n_out):
                grad_b[j] += db[j]
        else:
            memcpy(grad_b, db, n_out * sizeof(floating))
        if k > 0:
            cy_input_grad(dZ, params + off, B, n_in, n_out, block(<floating*>w.D, net, k - 1, B))


cdef double partition_grad(const Net* net, const floating* X, const floating* Y,
                           const floating* sw, const int64_t* rows, Py_ssize_t lo, Py_ssize_t hi,
                           const floating* params, const Work* w, floating* grads, floating* db,
                           double total, Py_ssize_t block_size) noexcept nogil:
    """The gradient of rows lo..hi-1 of a batch into grads, in n = ceil((hi -
    lo) / block_size) blocks of equal size (within a row), block j the rows
    lo + j (hi - lo) / n .. lo + (j + 1) (hi - lo) / n - 1 (block_step);
    returns their sum_i w_i L_i. Every block works in the partition's first
    rows of the regions (its own, and in cache), never in fresh memory."""
    cdef Py_ssize_t j, first, n = (hi - lo + block_size - 1) // block_size
    cdef double acc = 0
    for j in range(n):
        first = lo + j * (hi - lo) // n
        acc += block_step(net, X, Y, sw, rows, first, lo + (j + 1) * (hi - lo) // n - first,
                          lo, params, w, grads, db, total, j > 0)
    return acc


cdef double batch_loss(const double* part_loss, Py_ssize_t parts, double total) noexcept nogil:
    """sum_p part_loss[p] / total, the partitions added in order (0 when total is 0)."""
    cdef double acc = 0
    cdef Py_ssize_t p
    for p in range(parts):
        acc += part_loss[p]
    return acc / total if total > 0 else 0


cdef inline floating* shifted(void* state, Py_ssize_t lo, floating* like) noexcept nogil:
    """An optimizer state from entry lo on (NULL for an unused state)."""
    return <floating*>state + lo if state != NULL else NULL


cdef double rows_grad(const Net* net, const floating* X, const floating* Y, const floating* sw,
                      const int64_t* rows, Py_ssize_t lo, Py_ssize_t hi, const floating* params,
                      const Work* w, floating* grads, floating* db, floating* narrow,
                      double total, Py_ssize_t block_size) noexcept nogil:
    """partition_grad, or for a narrow float32 network _narrow.pyx's fused kernel
    in the partition's narrow scratch."""
    if floating is float:
        if w.narrow_size > 0:
            return narrow_grad(net, X, Y, sw, rows, lo, hi, params, grads, total, narrow,
                               w.widest)
    return partition_grad(net, X, Y, sw, rows, lo, hi, params, w, grads, db, total, block_size)


cdef double blocked_loss_grad(const Net* net, const floating* X, const floating* Y,
                              const floating* sw, const int64_t* rows, Py_ssize_t B,
                              floating* params, const Work* w, floating* grads,
                              Py_ssize_t parts, Py_ssize_t block_size, int threads,
                              const Coef* coef, const Opt* o) noexcept nogil:
    """Loss and gradient of a batch (rows of X, Y, sw as in block_step) over
    ``parts`` partitions, partition p the rows p B / P .. (p + 1) B / P - 1,
    on up to ``threads`` threads (taken dynamically: a thread slowed by
    another process takes fewer); partition p >= 1's gradient goes to its
    buffer of layout.partials, then grads += g_1 + ... + g_{P-1} in that order
    for every entry, chunk by chunk. Unless ``coef`` is NULL (or the loss is
    not finite), each chunk's update by o's rule with ``coef`` (the step's
    coefficients, cy_coefficients) follows its sum."""
    cdef double part_loss[MAX_PARTS]
    cdef double total = B
    cdef Py_ssize_t p, i, c, q, lo, hi, T = w.n_params
    cdef Py_ssize_t chunks = (T + REDUCE_CHUNK - 1) // REDUCE_CHUNK
    cdef bint update
    cdef floating* g
    cdef floating* partial = <floating*>w.partial_grads
    if sw != NULL:
        total = 0
        for i in range(B):
            total += sw[i] if rows == NULL else sw[rows[i]]
    if parts == 1:
        part_loss[0] = rows_grad(net, X, Y, sw, rows, 0, B, params, w, grads,
                                 <floating*>w.partial_db, <floating*>w.narrow, total, block_size)
        return batch_loss(part_loss, 1, total)
    with parallel(num_threads=min(threads, parts)):
        for p in prange(parts, schedule="dynamic", chunksize=1):
            g = grads if p == 0 else partial + (p - 1) * T
            part_loss[p] = rows_grad(net, X, Y, sw, rows, p * B // parts,
                                     (p + 1) * B // parts, params, w, g,
                                     <floating*>w.partial_db + p * w.widest,
                                     <floating*>w.narrow + p * w.narrow_size, total, block_size)
        update = coef != NULL and isfinite(batch_loss(part_loss, parts, total))
        for c in prange(chunks, schedule="dynamic", chunksize=1):
            lo, hi = c * REDUCE_CHUNK, min(T, (c + 1) * REDUCE_CHUNK)
            for q in range(parts - 1):
                for i in range(lo, hi):
                    grads[i] += partial[q * T + i]
            if update:
                cy_update(coef, params + lo, grads + lo, 1, shifted(o.s1, lo, params),
                          shifted(o.s2, lo, params), hi - lo)
    return batch_loss(part_loss, parts, total)


cdef bint next_coefficients(Opt o, double lr, const double* beta, Coef* c, int64_t* t,
                            double* hp) noexcept nogil:
    """The coefficients of o's next step with eta = lr (and beta1 = beta[0]
    unless beta is NULL), advancing copies of o's t and hp in ``t`` and
    ``hp``, not o's own: the caller keeps them once the step's loss is finite.
    False for an unknown rule."""
    t[0] = o.t[0]
    memcpy(hp, o.hp, HP_SIZE * sizeof(double))
    hp[HP_LR] = lr
    if beta != NULL:
        hp[HP_BETA1] = beta[0]
    o.t, o.hp = t, hp
    return cy_coefficients(o, c)


cdef void split_optimizer_step(Opt o, floating* params, const floating* grads, Py_ssize_t n,
                               int threads) noexcept nogil:
    """cy_optimizer_step over n parameters, split into contiguous chunks run on
    up to ``threads`` threads: the rules are elementwise (their per-step
    coefficients come from t and hp alone), so every entry gets the same bits
    as in one call. Each chunk advances its own copies of t and hp; the
    first chunk's are kept."""
    cdef double hp[MAX_PARTS][HP_SIZE]
    cdef int64_t t[MAX_PARTS]
    cdef Py_ssize_t c, j, lo, chunks = min(threads, MAX_PARTS)
    cdef Opt oc
    if chunks < 2 or n < SPLIT_UPDATE:
        cy_optimizer_step(o, params, grads, n)
        return
    for c in range(chunks):
        t[c] = o.t[0]
        memcpy(&hp[c][0], o.hp, HP_SIZE * sizeof(double))
    for c in prange(chunks, num_threads=chunks, schedule="static", chunksize=1):
        lo = c * n // chunks
        oc = o
        oc.t, oc.hp = &t[c], &hp[c][0]
        oc.s1, oc.s2 = shifted(o.s1, lo, params), shifted(o.s2, lo, params)
        cy_optimizer_step(oc, params + lo, grads + lo, (c + 1) * n // chunks - lo)
    o.t[0] = t[0]
    memcpy(o.hp, &hp[0][0], HP_SIZE * sizeof(double))


class _Plan:
    """How train_epoch and loss_and_grad split a batch of B rows: ``parts``
    partitions (layout.partitions), blocks of ``block`` rows
    (layout.block_rows); ``blocked`` unless it is one block of one partition;
    else split by ``columns`` (layout.columns)."""
    def __init__(self, net, B):
        self.parts, self.block = partitions(net, B), block_rows(net)
        self.blocked = self.parts > 1 or B > self.block
        self.columns = columns(net, B)


cdef void forward_part(const Net* net, const floating* X, Py_ssize_t lo, Py_ssize_t hi,
                       const floating* params, const Work* w, floating* out,
                       Py_ssize_t block_size) noexcept nogil:
    """Algorithm 5 for rows lo..hi-1 of X, in the blocks of partition_grad,
    each block's A and H at row lo of the regions; the logits into out's rows
    lo..hi-1."""
    cdef Py_ssize_t j, first, rows, n = (hi - lo + block_size - 1) // block_size
    cdef Py_ssize_t n0 = net.sizes[0], nL = net.sizes[net.n_layers], S = net.unit_at[net.n_layers]
    cdef floating* A = <floating*>w.A + lo * S
    for j in range(n):
        first = lo + j * (hi - lo) // n
        rows = lo + (j + 1) * (hi - lo) // n - first
        forward_layers(net, 0, X + first * n0, rows, params, A, <floating*>w.H + lo * S)
        memcpy(out + first * nL, block(A, net, net.n_layers - 1, rows),
               rows * nL * sizeof(floating))


def forward(const floating[:, ::1] X, net, const floating[::1] params, floating[:, ::1] out,
            work):
    """Logits a_L of the network for the rows of X, written into ``out``: the
    partitions and blocks of loss_and_grad (rows are independent, so they
    only keep the work in cache and use the threads)."""
    cdef Net c = net_struct(net)
    cdef Work w = work_struct(net, work, &out[0, 0])
    cdef Py_ssize_t p, B = X.shape[0]
    plan = _Plan(net, B)
    cdef Py_ssize_t parts = plan.parts, block_size = plan.block
    cdef int threads = min(max_threads(), parts)
    with nogil:
        if parts == 1:
            forward_part(&c, &X[0, 0], 0, B, &params[0], &w, &out[0, 0], block_size)
        else:
            for p in prange(parts, num_threads=threads, schedule="dynamic", chunksize=1):
                forward_part(&c, &X[0, 0], p * B // parts, (p + 1) * B // parts, &params[0], &w,
                             &out[0, 0], block_size)
    return out.base


def loss_and_grad(const floating[:, ::1] X, const floating[:, ::1] Y, const floating[::1] sw,
                  net, const floating[::1] params, floating[::1] grads_out, work):
    """Forward (Algorithm 5), the loss of the logits (weighted by ``sw``; empty:
    unweighted), backward (Algorithm 6); writes dL/dtheta into ``grads_out``
    (params' layout); returns the loss. Large batches take the blocked path,
    small ones of wide layers the column split."""
    cdef Net c = net_struct(net)
    cdef Work w = work_struct(net, work, &grads_out[0])
    cdef Py_ssize_t B = X.shape[0]
    cdef const floating* weights = &sw[0] if sw.shape[0] > 0 else NULL
    cdef double value
    plan = _Plan(net, B)
    cdef Py_ssize_t parts = plan.parts, block_size = plan.block
    cdef int threads = max_threads()
    cdef const int64_t[::1] bounds = column_bounds(net).reshape(-1)
    cdef bint fused = False
    if plan.columns:
        with nogil:
            value = column_step(&c, &bounds[0], &X[0, 0], &Y[0, 0], weights, B, &params[0],
                                w.A, w.H, w.D, w.scratch, &grads_out[0], 0, &fused, threads)
        return value
    if plan.blocked:
        with nogil:
            value = blocked_loss_grad(&c, &X[0, 0], &Y[0, 0], weights, NULL, B,
                                      <floating*>&params[0], &w, &grads_out[0], parts,
                                      block_size, threads, NULL, NULL)
        return value
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
    place when their rows are consecutive, else gathered into the work buffer
    (block by block on the blocked path). On one-block batches, SGD without
    weight decay fuses its update into the backward pass (sgd_backward_step)
    on every step but the last, so that ``grads`` still ends holding the last
    gradient, as in the reference (the column split fuses it too); on batches of several partitions, the
    update runs in the reduction (blocked_loss_grad). Batch size 1 is
    _stochastic.stochastic_epoch."""
    if batch_size == 1:
        return stochastic_epoch(X, Y, sw, order, net, params, grads, opt, lrs, betas,
                                losses_out, work)
    cdef Net c = net_struct(net)
    cdef Work w = work_struct(net, work, &params[0])
    cdef Opt o = state_struct(opt, &params[0])
    cdef Py_ssize_t N = order.shape[0], steps = n_steps(N, batch_size)
    cdef Py_ssize_t n0 = X.shape[1], nL = Y.shape[1], s, Bs, done = steps
    cdef bint plain_sgd = o.code == OPT_SGD and <floating>o.hp[HP_WEIGHT_DECAY] == 0
    cdef bint fused, blocked, cols, in_reduction
    cdef Py_ssize_t parts
    cdef Coef coef
    cdef int64_t t_next
    cdef double hp_next[HP_SIZE]
    cdef const int64_t* rows
    cdef const floating* x
    cdef const floating* y
    cdef const floating* weights = NULL
    cdef const floating* all_weights = &sw[0] if sw.shape[0] > 0 else NULL
    cdef double value
    full, last = _Plan(net, batch_size), _Plan(net, N - (steps - 1) * batch_size)
    cdef Py_ssize_t parts_full = full.parts, parts_last = last.parts, block_size = full.block
    cdef bint blocked_full = full.blocked, blocked_last = last.blocked
    cdef bint cols_full = full.columns, cols_last = last.columns
    cdef const int64_t[::1] bounds = column_bounds(net).reshape(-1)
    cdef int threads = max_threads()
    with nogil:
        for s in range(steps):
            rows, Bs = &order[0] + s * batch_size, min(batch_size, N - s * batch_size)
            blocked = blocked_full if s + 1 < steps else blocked_last
            cols = cols_full if s + 1 < steps else cols_last
            parts = parts_full if s + 1 < steps else parts_last
            in_reduction = blocked and parts > 1 and next_coefficients(
                o, lrs[s], &betas[s] if betas.shape[0] > 0 else NULL, &coef, &t_next, hp_next)
            if blocked:
                value = blocked_loss_grad(&c, &X[0, 0], &Y[0, 0], all_weights, rows, Bs,
                                          &params[0], &w, &grads[0], parts, block_size,
                                          threads, &coef if in_reduction else NULL, &o)
            else:
                x = batch_block(&X[0, 0], n0, rows, Bs, <floating*>w.x)
                y = batch_block(&Y[0, 0], nL, rows, Bs, <floating*>w.y)
                if all_weights != NULL:
                    weights = batch_block(all_weights, 1, rows, Bs, <floating*>w.wb)
                if cols:
                    fused = plain_sgd and s + 1 < steps
                    value = column_step(&c, &bounds[0], x, y, weights, Bs, &params[0], w.A, w.H,
                                        w.D, w.scratch, &grads[0], <floating>lrs[s], &fused,
                                        threads)
                else:
                    cy_forward(&c, x, Bs, &params[0], &w)
                    value = cy_loss(&c, y, weights, Bs, &w)
            losses_out[s] = value
            if not cols:
                fused = plain_sgd and not blocked and s + 1 < steps and isfinite(value)
            if not fused and not blocked and not cols:
                cy_backward(&c, x, Bs, &params[0], &w, &grads[0])
            if not isfinite(value):
                done = s
                break
            if in_reduction:
                o.t[0] = t_next
                memcpy(o.hp, hp_next, HP_SIZE * sizeof(double))
                continue
            o.hp[HP_LR] = lrs[s]
            if betas.shape[0] > 0:
                o.hp[HP_BETA1] = betas[s]
            if fused:
                if not cols:
                    sgd_backward_step(&c, x, Bs, &params[0], &w, <floating>lrs[s])
                o.t[0] += 1
            else:
                split_optimizer_step(o, &params[0], &grads[0], params.shape[0], threads)
    return done
