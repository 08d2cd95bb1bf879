"""train_epoch at batch size 1 (stochastic gradient descent): one sample per
step, the update fused with the gradient's outer product, the first layer's
rows split between the threads when the rule keeps a state.

At B = 1 a step is memory traffic over the first layer's W_0 and its
optimizer states: read for a_0 = W_0 x + b_0, then read and written by the
update with g = dz_0 x^T. The pass over W_0 is one per step: block by block,
the update of step s - 1 (g_ji = dz_j x_i formed inside the rule: no
gradient buffer), then, while the block is in cache, its rows of
a_0 = W_0 x + b_0 for step s (gemv). Between two barriers, thread 0 alone
runs the rest of the step, which is small: the upper layers forward, the
loss, every dz_k, the update of layers 1..L-1.

With a stateful rule on a large W_0 (Adam: w, m, v are 1.2 MB at 784 x 128,
more than one core's L2), W_0's rows are m blocks of equal size (within a
row) and thread t owns the blocks [m t / T, m (t+1) / T), with their b_0 and
states, for the whole epoch, so that its share stays in its own L2. The gemv
calls are the same for any T and each row's arithmetic too: 1 and 2 threads
give the same bits. Plain SGD without weight decay runs on one thread with W_0 as one
block and skips the rows with dz_j = 0 (their update is w -= eta 0 when the
row's input is finite).

grads ends holding the last step's gradient, written densely at that step.
"""
from cython.parallel cimport parallel
from libc.math cimport isfinite
from libc.stdint cimport int64_t

from ._codes cimport HP_BETA1, HP_LR, HP_WEIGHT_DECAY, OPT_SGD
from ._layers cimport cy_dense_forward, cy_input_grad, cy_layer_delta, cy_loss_grad
from ._math cimport floating
from ._optim cimport Coef, Opt, cy_coefficients, cy_update, state_struct

from ..layout import regions


cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int fastnn_max_threads(void) { return omp_get_max_threads(); }
    static int fastnn_thread(void) { return omp_get_thread_num(); }
    static int fastnn_threads(void) { return omp_get_num_threads(); }
    static void fastnn_barrier(void) {
        #pragma omp barrier
    }
    static double fastnn_seconds(void) { return omp_get_wtime(); }
    #else
    static int fastnn_max_threads(void) { return 1; }
    static int fastnn_thread(void) { return 0; }
    static int fastnn_threads(void) { return 1; }
    static void fastnn_barrier(void) {}
    static double fastnn_seconds(void) { return 0; }
    #endif
    """
    int max_threads "fastnn_max_threads"() noexcept nogil
    int thread_num "fastnn_thread"() noexcept nogil
    int num_threads "fastnn_threads"() noexcept nogil
    void barrier "fastnn_barrier"() noexcept nogil
    double seconds "fastnn_seconds"() noexcept nogil


# Threads split W_0 only when it has this many entries and the rule keeps a
# state: a barrier costs 1.3 to 6.6 us on the 2-vCPU machine measured, two per
# step, as much as a whole step of plain SGD (about 7 us at 784 x 128, half of
# it the gemv) but a fraction of Adam's (about 80 us on one thread).
DEF MIN_SPLIT = 16384
# W_0's blocks when split: at most BLOCK_ROWS rows and BLOCK_ENTRIES entries (the
# block in L2 for its gemv, which follows its update), their number a multiple
# of BLOCK_MULTIPLE, so that 2 or 4 threads get equal shares. 32 rows rather
# than 8 (fewer gemv calls): 784-128-10 Adam 3% faster on 1 thread, 7% on 2.
DEF BLOCK_ROWS = 32
DEF BLOCK_ENTRIES = 32768
DEF BLOCK_MULTIPLE = 4
# Steps per parallel region, how often the slower team size is tried again,
# and the steps of such a trial (and of the first two chunks).
DEF CHUNK = 64
DEF PROBE = 8
DEF TRIAL = 16


cdef struct Epoch:
    const int64_t* sizes
    const int64_t* acts
    const int64_t* param_at
    const int64_t* unit_at
    Py_ssize_t n_layers
    double alpha
    int loss
    const void* X             # floating*, every array in the parameters' dtype
    const void* Y
    const void* sw            # NULL: unweighted
    const int64_t* order
    Py_ssize_t steps
    void* grads
    Opt opt
    Coef coef                 # the step's coefficients (known: a known rule)
    bint known
    bint sparse               # plain SGD without weight decay
    Py_ssize_t blocks         # W_0's rows in m blocks: i n_1 / m .. (i + 1) n_1 / m - 1
    const double* lrs
    const double* betas       # NULL: no momentum schedule
    double* losses
    void* A
    void* H
    void* D
    void* scratch
    const void* x_done        # the sample whose W_0 update is pending (NULL: none)
    bint dense_done           # update every row of W_0 for it (x_done not finite)
    Py_ssize_t done           # updates applied
    bint stop
    double start              # when the chunk's team was up (seconds)
    double limit              # leave the chunk once a step takes longer on average (0: never)
    Py_ssize_t end            # where the chunk stops (earlier when left)


cdef inline floating* at(void* buffer, Py_ssize_t offset, floating* like) noexcept nogil:
    """buffer + offset as a floating*, NULL for an absent buffer (an unused state)."""
    return <floating*>buffer + offset if buffer != NULL else NULL


cdef inline floating* unit(void* region, const Epoch* e, Py_ssize_t k,
                           floating* like) noexcept nogil:
    """Layer k's vector in region A, H or D (a batch of one row)."""
    return <floating*>region + e.unit_at[k]


cdef bint all_finite(const floating* v, Py_ssize_t n) noexcept nogil:
    """Whether every v_i is finite: v_i - v_i is 0, else NaN (no early exit,
    so that the loop vectorises)."""
    cdef Py_ssize_t i
    cdef int bad = 0
    for i in range(n):
        bad |= (v[i] - v[i]) != 0
    return bad == 0


cdef void update_rows(Epoch* e, Py_ssize_t k, Py_ssize_t j0, Py_ssize_t j1, const floating* h,
                      bint dense, floating* params) noexcept nogil:
    """Rows j0..j1-1 of W_k and b_k take the step's rule with g = dz_k h^T
    (dz_k in D), g_ji = dz_j h_i formed in the rule; with e.sparse, rows with
    dz_j = 0 are skipped unless ``dense``."""
    cdef Py_ssize_t j, n_in = e.sizes[k], n_out = e.sizes[k + 1], off = e.param_at[k]
    cdef Py_ssize_t bias = off + n_out * n_in
    cdef floating* dz = unit(e.D, e, k, params)
    cdef floating* s1 = <floating*>e.opt.s1
    cdef floating* s2 = <floating*>e.opt.s2
    if not e.known:
        return
    cy_update(&e.coef, params + bias + j0, dz + j0, <floating>1, at(s1, bias + j0, params),
              at(s2, bias + j0, params), j1 - j0)
    for j in range(j0, j1):
        if e.sparse and dz[j] == 0 and not dense:
            continue
        cy_update(&e.coef, params + off + j * n_in, h, dz[j], at(s1, off + j * n_in, params),
                  at(s2, off + j * n_in, params), n_in)


cdef void first_layer(Epoch* e, Py_ssize_t i0, Py_ssize_t i1, const floating* x,
                      floating* params) noexcept nogil:
    """A thread's blocks i0..i1-1 of layer 0's rows, one by one while the block
    is in cache: the pending update (for sample e.x_done), then, when x is not
    NULL, a_0 = W_0 x + b_0 and h_0 = g(a_0) on the block."""
    cdef Py_ssize_t n_in = e.sizes[0], n_out = e.sizes[1], i, j, je
    cdef floating* W = params
    cdef floating* b = params + n_out * n_in
    cdef const floating* x_done = <const floating*>e.x_done
    for i in range(i0, i1):
        j, je = i * n_out // e.blocks, (i + 1) * n_out // e.blocks
        if x_done != NULL:
            update_rows(e, 0, j, je, x_done, e.dense_done, params)
        if x != NULL:
            cy_dense_forward(x, W + j * n_in, b + j, 1, n_in, je - j, e.acts[0],
                             <floating>e.alpha, unit(e.A, e, 0, params) + j,
                             unit(e.H, e, 0, params) + j)


cdef void outer(const floating* u, const floating* v, Py_ssize_t m, Py_ssize_t n,
                floating* out) noexcept nogil:
    """out = u v^T (m x n)."""
    cdef Py_ssize_t i, j
    for i in range(m):
        for j in range(n):
            out[i * n + j] = u[i] * v[j]


cdef void write_gradient(Epoch* e, const floating* x, floating* params) noexcept nogil:
    """grads = dL/dtheta of the step: dW_k = dz_k h_{k-1}^T, db_k = dz_k."""
    cdef Py_ssize_t k, j, n_in, n_out
    cdef floating* g
    cdef floating* dz
    cdef const floating* h = x
    for k in range(e.n_layers):
        n_in, n_out = e.sizes[k], e.sizes[k + 1]
        g, dz = <floating*>e.grads + e.param_at[k], unit(e.D, e, k, params)
        outer(dz, h, n_out, n_in, g)
        for j in range(n_out):
            g[n_out * n_in + j] = dz[j]
        h = unit(e.H, e, k, params)


cdef void rest_of_step(Epoch* e, Py_ssize_t s, const floating* x, floating* params) noexcept nogil:
    """Step s after a_0, h_0 (thread 0 alone): layers 1..L-1 forward, the loss
    into losses[s], dz_k of every layer, the gradient into grads on the last
    step; then, if the loss is finite, the step's coefficients and the
    update of layers 1..L-1, leaving layer 0's pending (e.x_done); else stop."""
    cdef Py_ssize_t k, n_in, n_out, L = e.n_layers, r = e.order[s]
    cdef floating* W
    cdef const floating* w = <const floating*>e.sw + r if e.sw != NULL else NULL
    cdef double value
    for k in range(1, L):
        n_in, n_out = e.sizes[k], e.sizes[k + 1]
        W = params + e.param_at[k]
        cy_dense_forward(unit(e.H, e, k - 1, params), W, W + n_out * n_in, 1, n_in, n_out,
                         e.acts[k], <floating>e.alpha, unit(e.A, e, k, params),
                         unit(e.H, e, k, params))
    value = cy_loss_grad(e.loss, unit(e.A, e, L - 1, params),
                         <const floating*>e.Y + r * e.sizes[L], w, unit(e.D, e, L - 1, params),
                         1, e.sizes[L])
    e.losses[s] = value
    for k in range(L - 1, -1, -1):
        n_in, n_out = e.sizes[k], e.sizes[k + 1]
        cy_layer_delta(unit(e.A, e, k, params), unit(e.H, e, k, params),
                       unit(e.D, e, k, params), 1, n_out, e.acts[k], <floating>e.alpha,
                       unit(e.D, e, k, params), <floating*>e.scratch)
        if k > 0:
            cy_input_grad(unit(e.D, e, k, params), params + e.param_at[k], 1, n_in, n_out,
                          unit(e.D, e, k - 1, params))
    if s + 1 == e.steps or not isfinite(value):
        write_gradient(e, x, params)
    if not isfinite(value):
        e.done, e.stop, e.x_done = s, True, NULL
        return
    e.opt.hp[HP_LR] = e.lrs[s]
    if e.betas != NULL:
        e.opt.hp[HP_BETA1] = e.betas[s]
    e.known = cy_coefficients(e.opt, &e.coef)
    for k in range(1, L):
        update_rows(e, k, 0, e.sizes[k + 1], unit(e.H, e, k - 1, params),
                    e.sparse and not all_finite(unit(e.H, e, k - 1, params), e.sizes[k]),
                    params)
    e.x_done = x
    e.dense_done = e.sparse and not all_finite(x, e.sizes[0])


cdef void run(Epoch* e, Py_ssize_t first, floating* params) noexcept nogil:
    """Steps first..e.end-1 on each thread of the team (see the module's
    notes), ending with the last pending update of W_0; thread 0 ends the
    chunk early (e.end) once its steps took longer than e.limit each."""
    cdef int t = thread_num(), T = num_threads()
    cdef Py_ssize_t s, i0 = e.blocks * t // T, i1 = e.blocks * (t + 1) // T
    cdef const floating* x
    barrier()
    if t == 0:
        e.start = seconds()
    s = first
    while s < e.end:
        x = <const floating*>e.X + e.order[s] * e.sizes[0]
        first_layer(e, i0, i1, x, params)
        barrier()
        if t == 0:
            rest_of_step(e, s, x, params)
            if e.limit > 0 and seconds() - e.start > e.limit * (s + 1 - first):
                e.end = s + 1
        barrier()
        if e.stop:
            return
        s += 1
    first_layer(e, i0, i1, NULL, params)


cdef Py_ssize_t block_count(Py_ssize_t n_in, Py_ssize_t n_out) noexcept nogil:
    """Blocks of W_0's n_out rows: enough for BLOCK_ROWS rows and BLOCK_ENTRIES
    entries each, rounded up to a multiple of BLOCK_MULTIPLE, at most n_out."""
    cdef Py_ssize_t rows = max(1, min(BLOCK_ROWS, BLOCK_ENTRIES // n_in))
    cdef Py_ssize_t m = (n_out + rows - 1) // rows
    return min(n_out, (m + BLOCK_MULTIPLE - 1) // BLOCK_MULTIPLE * BLOCK_MULTIPLE)


def stochastic_epoch(const floating[:, ::1] X, const floating[:, ::1] Y, const floating[::1] sw,
                     const int64_t[::1] order, net, floating[::1] params, floating[::1] grads,
                     opt, const double[::1] lrs, const double[::1] betas,
                     double[::1] losses_out, work):
    """train_epoch for batch size 1 (same arguments without batch_size, same
    contract); returns the number of updates."""
    if order.shape[0] == 0:
        return 0
    cdef const int64_t[::1] sizes = net.sizes
    cdef const int64_t[::1] acts = net.acts
    cdef const int64_t[::1] param_at = net.param_at
    cdef const int64_t[::1] unit_at = net.unit_at
    cdef floating[::1] A, H, D, scratch
    _, _, _, A, H, D, scratch = regions(net, work)
    cdef Epoch e
    e.sizes, e.acts, e.param_at, e.unit_at = &sizes[0], &acts[0], &param_at[0], &unit_at[0]
    e.n_layers, e.alpha, e.loss = sizes.shape[0] - 1, net.alpha, net.loss
    e.X, e.Y, e.order, e.steps = &X[0, 0], &Y[0, 0], &order[0], order.shape[0]
    e.sw = &sw[0] if sw.shape[0] > 0 else NULL
    e.grads, e.opt = &grads[0], state_struct(opt, &params[0])
    e.known = True
    e.sparse = e.opt.code == OPT_SGD and <floating>e.opt.hp[HP_WEIGHT_DECAY] == 0
    e.lrs, e.betas, e.losses = &lrs[0], &betas[0] if betas.shape[0] > 0 else NULL, &losses_out[0]
    e.A, e.H, e.D, e.scratch = &A[0], &H[0], &D[0], &scratch[0]
    e.x_done, e.dense_done, e.done, e.stop = NULL, False, e.steps, False
    cdef bint split = not e.sparse and sizes[0] * sizes[1] >= MIN_SPLIT
    e.blocks = block_count(sizes[0], sizes[1]) if split else 1
    cdef int threads = min(max_threads(), e.blocks)
    with nogil:
        chunks(&e, threads, &params[0])
    return e.done


cdef void chunks(Epoch* e, int threads, floating* params) noexcept nogil:
    """The epoch in chunks of CHUNK steps, each on ``threads`` threads or one.
    The results do not depend on the choice (see the module's notes), so it
    follows the time per step measured: chunk 0 runs on one thread, chunk 1
    on the team, then each on the faster, the other tried again every PROBE
    chunks; those trials (and chunks 0 and 1) are TRIAL steps long. A chunk
    is timed from when its whole team is in the parallel region: starting the
    threads can take milliseconds, which would make the team look slower than
    one thread on the first chunk that tries it. On a loaded machine a
    barrier can wait for a time slice (milliseconds): a chunk on the team is
    left as soon as its steps take longer than on one thread."""
    cdef Py_ssize_t first = 0, c = 0
    cdef double per_step[2]
    cdef int team
    per_step[0] = per_step[1] = 0
    while first < e.steps and not e.stop:
        e.end = min(first + (TRIAL if c < 2 or c % PROBE == 0 else CHUNK), e.steps)
        team = 1 if c == 0 else threads if c == 1 else (
            threads if (per_step[1] <= per_step[0]) != (c % PROBE == 0) else 1)
        e.limit = per_step[0] if team > 1 else 0
        with parallel(num_threads=team):
            run(e, first, params)
        per_step[team > 1] = (seconds() - e.start) / (e.end - first)
        e.x_done = NULL
        first, c = e.end, c + 1
