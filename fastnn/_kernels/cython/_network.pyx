"""Whole networks: forward (the notes' Algorithm 5), loss_and_grad (Algorithms
5 and 6) and train_epoch, the fast path that runs a whole epoch of mini-batch
gradient descent in one call without the GIL.

The entry points turn the values of ``values.py`` into C structs (Net here,
Opt in _optim.pyx) and the work buffer into the pointers of its regions
(``layout.regions``); the nogil code reads the layout's offsets from Net
(_net.pxd).
Layers are indexed k = 0..L-1.

Batches larger than one block (``layout.block_rows``) or with more than one
partition (``layout.partitions``) take the blocked path: each partition's rows
are worked through block by block (forward, loss and backward of a block
while its activations are in cache, dW and db accumulated), the partitions
run on OpenMP's threads with single-threaded BLAS, and their gradients are
added in partition order, so any number of threads gives the same bits.
A narrow float32 network (every width at most 64) works through a
partition's rows in _narrow.pyx's fused kernel instead (rows_grad).
"""
from cython.parallel cimport parallel, prange
from libc.math cimport isfinite
from libc.stdint cimport int64_t
from libc.string cimport memcpy

from ._blas cimport gemm
from ._codes cimport HP_BETA1, HP_LR, HP_SIZE, HP_WEIGHT_DECAY, OPT_SGD
from ._layers cimport cy_input_grad, cy_layer_delta, cy_loss_grad
from ._math cimport floating
from ._narrow cimport is_narrow, narrow_grad
from ._net cimport Net, backward_layers, block, forward_layers, net_struct, start
from ._optim cimport Opt, cy_optimizer_step, state_struct

from ._stochastic import stochastic_epoch

from ..epoch import n_steps
from ..layout import PARTS_MAX, block_rows, partials, partitions, regions


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


cdef struct Work:             # layout.regions, as floating* in the buffer's dtype
    void* x
    void* y
    void* wb                  # the batch's sample weights
    void* A
    void* H
    void* D
    void* scratch
    void* partial_grads       # layout.partials: partitions 1..P-1's gradients
    void* partial_db          # and every partition's db scratch
    Py_ssize_t n_params       # T = param_at[L]
    Py_ssize_t widest         # M


cdef Work work_struct(net, work, floating* like):
    """Pointers to the regions of the work buffer (layout.regions)."""
    cdef floating[::1] x, y, wb, A, H, D, scratch
    x, y, wb, A, H, D, scratch = regions(net, work)
    cdef floating[::1] partial_grads, partial_db
    partial_grads, partial_db = partials(net, work)
    cdef Work c
    c.x, c.y, c.wb, c.A, c.H, c.D, c.scratch = (start(x), start(y), start(wb), start(A),
                                                start(H), start(D), start(scratch))
    c.partial_grads, c.partial_db = start(partial_grads), start(partial_db)
    c.n_params, c.widest = net.param_at[len(net.sizes) - 1], scratch.shape[0]
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
                       const int64_t* rows, Py_ssize_t first, Py_ssize_t n,
                       const floating* params, const Work* w, floating* grads, floating* db,
                       double total, bint accumulate) noexcept nogil:
    """Forward, loss and backward of the n rows first..first+n-1 of a batch
    (rows[first:first+n] of X, Y, sw; X[first:first+n] when rows is NULL),
    with their A, H, D at row ``first`` of the regions. dL/da_L is scaled
    from the block's normalisation to the batch's, c_i = w_i / total, and
    dL/dtheta is added into grads (written when not ``accumulate``); db is
    the partition's scratch. Returns sum_i w_i L_i over the block."""
    cdef Py_ssize_t n0 = net.sizes[0], nL = net.sizes[net.n_layers], S = net.unit_at[net.n_layers]
    cdef Py_ssize_t i
    cdef const floating* x
    cdef const floating* y
    cdef const floating* weights = NULL
    cdef double part = n, value
    cdef floating scale
    cdef floating* dZ
    cdef Work bw = w[0]
    bw.A, bw.H, bw.D = (<floating*>w.A + first * S, <floating*>w.H + first * S,
                        <floating*>w.D + first * S)
    if rows == NULL:
        x, y = X + first * n0, Y + first * nL
        if sw != NULL:
            weights = sw + first
    else:
        x = batch_block(X, n0, rows + first, n, <floating*>w.x + first * n0)
        y = batch_block(Y, nL, rows + first, n, <floating*>w.y + first * nL)
        if sw != NULL:
            weights = batch_block(sw, 1, rows + first, n, <floating*>w.wb + first)
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
    returns their sum_i w_i L_i."""
    cdef Py_ssize_t j, first, n = (hi - lo + block_size - 1) // block_size
    cdef double acc = 0
    for j in range(n):
        first = lo + j * (hi - lo) // n
        acc += block_step(net, X, Y, sw, rows, first, lo + (j + 1) * (hi - lo) // n - first,
                          params, w, grads, db, total, j > 0)
    return acc


cdef double rows_grad(const Net* net, const floating* X, const floating* Y, const floating* sw,
                      const int64_t* rows, Py_ssize_t lo, Py_ssize_t hi, const floating* params,
                      const Work* w, floating* grads, floating* db, double total,
                      Py_ssize_t block_size) noexcept nogil:
    """partition_grad, or for a narrow float32 network _narrow.pyx's fused kernel."""
    if floating is float:
        if is_narrow(net):
            return narrow_grad(net, X, Y, sw, rows, lo, hi, params, grads, total)
    return partition_grad(net, X, Y, sw, rows, lo, hi, params, w, grads, db, total, block_size)


cdef double blocked_loss_grad(const Net* net, const floating* X, const floating* Y,
                              const floating* sw, const int64_t* rows, Py_ssize_t B,
                              const floating* params, const Work* w, floating* grads,
                              Py_ssize_t parts, Py_ssize_t block_size, int threads) noexcept nogil:
    """Loss and gradient of a batch (rows of X, Y, sw as in block_step) over
    ``parts`` partitions, partition p the rows p B / P .. (p + 1) B / P - 1,
    on up to ``threads`` threads (taken dynamically: a thread slowed by
    another process takes fewer); partition p >= 1's gradient goes to its
    buffer of layout.partials, then grads += g_1 + ... + g_{P-1} in that order
    for every entry (the reduction split over the threads by entries)."""
    cdef double part_loss[MAX_PARTS]
    cdef double total = B, acc = 0
    cdef Py_ssize_t p, i, c, q, lo, hi, T = w.n_params
    cdef Py_ssize_t chunks = (T + REDUCE_CHUNK - 1) // REDUCE_CHUNK
    cdef floating* g
    cdef floating* partial = <floating*>w.partial_grads
    if sw != NULL:
        total = 0
        for i in range(B):
            total += sw[i] if rows == NULL else sw[rows[i]]
    if parts == 1:
        acc = rows_grad(net, X, Y, sw, rows, 0, B, params, w, grads, <floating*>w.partial_db,
                        total, block_size)
    else:
        with parallel(num_threads=min(threads, parts)):
            for p in prange(parts, schedule="dynamic", chunksize=1):
                g = grads if p == 0 else partial + (p - 1) * T
                part_loss[p] = rows_grad(net, X, Y, sw, rows, p * B // parts,
                                         (p + 1) * B // parts, params, w, g,
                                         <floating*>w.partial_db + p * w.widest, total,
                                         block_size)
            for c in prange(chunks, schedule="static"):
                lo, hi = c * REDUCE_CHUNK, min(T, (c + 1) * REDUCE_CHUNK)
                for q in range(parts - 1):
                    for i in range(lo, hi):
                        grads[i] += partial[q * T + i]
        for p in range(parts):
            acc += part_loss[p]
    return acc / total if total > 0 else 0


cdef void split_optimizer_step(Opt o, floating* params, const floating* grads, Py_ssize_t n,
                               int threads) noexcept nogil:
    """cy_optimizer_step over n parameters, split into contiguous chunks run on
    up to ``threads`` threads: the rules are elementwise (their per-step
    coefficients come from t and hp alone), so every entry gets the same bits
    as in one call. Each chunk advances its own copies of t and hp; the
    first chunk's are kept. Only after a blocked step: between BLAS's own
    threaded calls, OpenMP's threads would compete with BLAS's spinning ones."""
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
        if o.s1 != NULL:
            oc.s1 = <floating*>o.s1 + lo
        if o.s2 != NULL:
            oc.s2 = <floating*>o.s2 + lo
        cy_optimizer_step(oc, params + lo, grads + lo, (c + 1) * n // chunks - lo)
    o.t[0] = t[0]
    memcpy(o.hp, &hp[0][0], HP_SIZE * sizeof(double))


class _Plan:
    """How train_epoch and loss_and_grad split a batch of B rows: ``parts``
    partitions (layout.partitions), blocks of ``block`` rows
    (layout.block_rows); ``blocked`` unless it is one block of one partition."""
    def __init__(self, net, B):
        self.parts, self.block = partitions(net, B), block_rows(net)
        self.blocked = self.parts > 1 or B > self.block


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


_openblas_pools = None


class _OneBlasThread:
    """OpenBLAS on one thread (restored on exit) when ``blocked``: the blocked
    path's threads are OpenMP's (BLAS's own would oversubscribe the cores),
    and its results must not depend on how many BLAS uses."""
    def __init__(self, blocked):
        global _openblas_pools
        self.saved = []
        if blocked:
            if _openblas_pools is None:
                from threadpoolctl import ThreadpoolController
                _openblas_pools = ThreadpoolController().select(
                    internal_api="openblas").lib_controllers
            self.saved = [(pool, pool.get_num_threads()) for pool in _openblas_pools]

    def __enter__(self):
        for pool, n in self.saved:
            if n != 1:
                pool.set_num_threads(1)

    def __exit__(self, *exc):
        for pool, n in self.saved:
            if n != 1:
                pool.set_num_threads(n)


def loss_and_grad(const floating[:, ::1] X, const floating[:, ::1] Y, const floating[::1] sw,
                  net, const floating[::1] params, floating[::1] grads_out, work):
    """Forward (Algorithm 5), the loss of the logits (weighted by ``sw``; empty:
    unweighted), backward (Algorithm 6); writes dL/dtheta into ``grads_out``
    (params' layout); returns the loss. Large batches take the blocked path."""
    cdef Net c = net_struct(net)
    cdef Work w = work_struct(net, work, &grads_out[0])
    cdef Py_ssize_t B = X.shape[0]
    cdef const floating* weights = &sw[0] if sw.shape[0] > 0 else NULL
    cdef double value
    plan = _Plan(net, B)
    cdef Py_ssize_t parts = plan.parts, block_size = plan.block
    cdef int threads = max_threads()
    if plan.blocked:
        with _OneBlasThread(True), nogil:
            value = blocked_loss_grad(&c, &X[0, 0], &Y[0, 0], weights, NULL, B, &params[0], &w,
                                      &grads_out[0], parts, block_size, threads)
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
    gradient, as in the reference. Batch size 1 is _stochastic.stochastic_epoch."""
    if batch_size == 1:
        return stochastic_epoch(X, Y, sw, order, net, params, grads, opt, lrs, betas,
                                losses_out, work)
    cdef Net c = net_struct(net)
    cdef Work w = work_struct(net, work, &params[0])
    cdef Opt o = state_struct(opt, &params[0])
    cdef Py_ssize_t N = order.shape[0], steps = n_steps(N, batch_size)
    cdef Py_ssize_t n0 = X.shape[1], nL = Y.shape[1], s, Bs, done = steps
    cdef bint plain_sgd = o.code == OPT_SGD and <floating>o.hp[HP_WEIGHT_DECAY] == 0
    cdef bint fused, blocked
    cdef const int64_t* rows
    cdef const floating* x
    cdef const floating* y
    cdef const floating* weights = NULL
    cdef const floating* all_weights = &sw[0] if sw.shape[0] > 0 else NULL
    cdef double value
    full, last = _Plan(net, batch_size), _Plan(net, N - (steps - 1) * batch_size)
    cdef Py_ssize_t parts_full = full.parts, parts_last = last.parts, block_size = full.block
    cdef bint blocked_full = full.blocked, blocked_last = last.blocked
    cdef int threads = max_threads()
    with _OneBlasThread(blocked_full or blocked_last), nogil:
        for s in range(steps):
            rows, Bs = &order[0] + s * batch_size, min(batch_size, N - s * batch_size)
            blocked = blocked_full if s + 1 < steps else blocked_last
            if blocked:
                value = blocked_loss_grad(&c, &X[0, 0], &Y[0, 0], all_weights, rows, Bs,
                                          &params[0], &w, &grads[0],
                                          parts_full if s + 1 < steps else parts_last,
                                          block_size, threads)
            else:
                x = batch_block(&X[0, 0], n0, rows, Bs, <floating*>w.x)
                y = batch_block(&Y[0, 0], nL, rows, Bs, <floating*>w.y)
                if all_weights != NULL:
                    weights = batch_block(all_weights, 1, rows, Bs, <floating*>w.wb)
                cy_forward(&c, x, Bs, &params[0], &w)
                value = cy_loss(&c, y, weights, Bs, &w)
            losses_out[s] = value
            fused = plain_sgd and not blocked and s + 1 < steps and isfinite(value)
            if not fused and not blocked:
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
                split_optimizer_step(o, &params[0], &grads[0], params.shape[0],
                                     threads if blocked else 1)
    return done
