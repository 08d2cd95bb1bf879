"""The column split: one step (forward, loss, backward, and SGD's fused update)
of a batch too small for row partitions, with each layer's products cut
along columns (``layout.columns``, ``layout.column_bounds``) and the parts
run on OpenMP's threads (BLAS held at one thread by the caller).

With c a part's columns of a width, layer k's products are (W_k rows are
its outputs, so W_k[c, :] is contiguous):

- forward, parts of n_{k+1}: a_k[:, c] = b_k[c] + h_{k-1} W_k[c, :]^T, h_k[:, c] = g(a_k[:, c]);
- backward, parts of n_k: dL/dh_{k-1}[:, c] = dZ_k W_k[:, c], then layer k-1's
  dZ_{k-1}[:, c] = dL/dh_{k-1}[:, c] * g'(a_{k-1}[:, c]) and db_{k-1}[c] (rows
  added in order), so one barrier per layer;
- dL/dW_k = dZ_k^T h_{k-1}: rows c (dZ_k[:, c]^T h_{k-1}, right after
  dZ_k[:, c]) when n_{k+1} is split and W_k is not read afterwards (k = 0 or
  no fused update), else columns c of n_k (dZ_k^T h_{k-1}[:, c]).

The fused SGD update (no weight decay) writes W_k -= eta dZ_k^T h_{k-1} by
BLAS (beta = 1) on the same parts after dL/dh_{k-1} has read the old W_k, and
b_k -= eta db_k. Every sum runs over all B rows in one part, so no reduction
is needed; the parts and their bounds depend only on the shapes, and one
thread runs the same parts in turn: any number of threads gives the same bits.
"""
from cython.parallel cimport prange
from libc.math cimport isfinite
from libc.stdint cimport int64_t
from libc.string cimport memcpy

from ._blas cimport gemm
from ._layers cimport bias_activation, cy_activation_backward, cy_loss_grad
from ._net cimport block

from ..layout import COLUMN_PARTS


cdef enum:
    PARTS = 2                 # layout.COLUMN_PARTS

if COLUMN_PARTS != PARTS:
    raise ImportError(f"layout.COLUMN_PARTS = {COLUMN_PARTS} differs from _columns.pyx's PARTS")


cdef struct Step:             # one step's pointers, floating* in the parameters' dtype
    const Net* net
    const int64_t* bounds     # layout.column_bounds: width i's part j at i (P + 1) + j
    const void* X
    const void* Y
    const void* sw            # the rows' sample weights, NULL: unweighted
    Py_ssize_t B
    void* A
    void* H
    void* D
    void* grads               # dL/dtheta (params' layout), when not fused
    void* db                  # M entries: db of the fused update
    double lr
    double loss
    bint fused


cdef inline bint split(const Step* s, Py_ssize_t i) noexcept nogil:
    """True when width n_i has more than one part."""
    return s.bounds[i * (PARTS + 1) + 1] < s.net.sizes[i]


cdef inline bint by_output(const Step* s, Py_ssize_t k) noexcept nogil:
    """True when dL/dW_k is cut along its rows (n_{k+1}), else along n_k."""
    return split(s, k + 1) and (k == 0 or not s.fused)


cdef inline const floating* layer_input(const Step* s, const floating* like,
                                        Py_ssize_t k) noexcept nogil:
    """h_{k-1}, X for k = 0 (like: a pointer of the dtype)."""
    if k == 0:
        return <const floating*>s.X
    return block(<floating*>s.H, s.net, k - 1, s.B)


cdef void forward_part(const Step* s, floating* params, Py_ssize_t k, Py_ssize_t lo,
                       Py_ssize_t hi) noexcept nogil:
    """a_k[:, lo:hi] = b_k[lo:hi] + h_{k-1} W_k[lo:hi, :]^T, h_k[:, lo:hi] = g(a_k[:, lo:hi]).
    BLAS forms the transpose W_k[lo:hi, :] h_{k-1}^T (faster at these shapes:
    the long side first) in layer k's block of D, free until the backward pass."""
    cdef Py_ssize_t r, j, n_in = s.net.sizes[k], n_out = s.net.sizes[k + 1]
    cdef floating* W = params + s.net.param_at[k]
    cdef floating* Z = block(<floating*>s.A, s.net, k, s.B)
    cdef floating* H = block(<floating*>s.H, s.net, k, s.B)
    cdef floating* Zt = block(<floating*>s.D, s.net, k, s.B) + lo * s.B
    gemm(False, True, hi - lo, s.B, n_in, 1, W + lo * n_in, n_in, layer_input(s, params, k),
         n_in, 0, Zt, s.B)
    for r in range(s.B):
        for j in range(hi - lo):
            Z[r * n_out + lo + j] = Zt[j * s.B + r]
    for r in range(s.B):
        bias_activation(W + n_out * n_in + lo, 1, hi - lo, s.net.acts[k], <floating>s.net.alpha,
                        Z + r * n_out + lo, H + r * n_out + lo)


cdef void input_side(const Step* s, floating* params, Py_ssize_t k, Py_ssize_t lo,
                     Py_ssize_t hi) noexcept nogil:
    """Layer k's products along columns lo..hi-1 of n_k: dL/dh_{k-1}[:, lo:hi]
    (k > 0), then dL/dW_k[:, lo:hi] (or its fused update) unless cut by rows."""
    cdef Py_ssize_t n_in = s.net.sizes[k], n_out = s.net.sizes[k + 1], off = s.net.param_at[k]
    cdef floating* dZ = block(<floating*>s.D, s.net, k, s.B)
    cdef const floating* h_prev = layer_input(s, params, k)
    if k > 0:
        gemm(False, False, s.B, hi - lo, n_out, 1, dZ, n_out, params + off + lo, n_in, 0,
             block(<floating*>s.D, s.net, k - 1, s.B) + lo, n_in)
    if by_output(s, k):
        return
    if s.fused:
        gemm(True, False, n_out, hi - lo, s.B, <floating>-s.lr, dZ, n_out, h_prev + lo, n_in, 1,
             params + off + lo, n_in)
    else:
        gemm(True, False, n_out, hi - lo, s.B, 1, dZ, n_out, h_prev + lo, n_in, 0,
             <floating*>s.grads + off + lo, n_in)


cdef void output_side(const Step* s, floating* params, Py_ssize_t k, Py_ssize_t lo,
                      Py_ssize_t hi) noexcept nogil:
    """Layer k's outputs lo..hi-1 from dL/dh_k (in D): dZ_k[:, lo:hi] in place,
    db_k[lo:hi] (or b_k -= eta db_k), then dL/dW_k[lo:hi, :] (or its fused
    update) when cut by rows."""
    cdef Py_ssize_t r, j, n_in = s.net.sizes[k], n = s.net.sizes[k + 1], off = s.net.param_at[k]
    cdef floating* dZ = block(<floating*>s.D, s.net, k, s.B)
    cdef const floating* Z = block(<floating*>s.A, s.net, k, s.B)
    cdef const floating* H = block(<floating*>s.H, s.net, k, s.B)
    cdef floating* db = <floating*>s.db if s.fused else <floating*>s.grads + off + n * n_in
    cdef floating* b = params + off + n * n_in
    cdef floating lr = <floating>s.lr
    for r in range(s.B):
        cy_activation_backward(Z + r * n + lo, H + r * n + lo, dZ + r * n + lo, dZ + r * n + lo,
                               hi - lo, s.net.acts[k], <floating>s.net.alpha)
    memcpy(db + lo, dZ + lo, (hi - lo) * sizeof(floating))
    for r in range(1, s.B):
        for j in range(lo, hi):
            db[j] += dZ[r * n + j]
    if s.fused:
        for j in range(lo, hi):
            b[j] -= lr * db[j]
    if not by_output(s, k):
        return
    if s.fused:
        gemm(True, False, hi - lo, n_in, s.B, -lr, dZ + lo, n, layer_input(s, params, k), n_in,
             1, params + off + lo * n_in, n_in)
    else:
        gemm(True, False, hi - lo, n_in, s.B, 1, dZ + lo, n, layer_input(s, params, k), n_in,
             0, <floating*>s.grads + off + lo * n_in, n_in)


cdef void backward_part(const Step* s, floating* params, Py_ssize_t i, Py_ssize_t lo,
                        Py_ssize_t hi) noexcept nogil:
    """The backward work on columns lo..hi-1 of width n_i: layer i's input side
    (i < L), then layer i-1's output side (i > 0)."""
    if i < s.net.n_layers:
        input_side(s, params, i, lo, hi)
    if i > 0:
        output_side(s, params, i - 1, lo, hi)


cdef enum:
    FORWARD = 0               # stage i: layer i's forward, parts of n_{i+1}
    BACKWARD = 1              # stage i: backward_part, parts of n_i


cdef void part(const Step* s, floating* params, int kind, Py_ssize_t i,
               Py_ssize_t j) noexcept nogil:
    """Part j of stage (kind, i); nothing for an empty part."""
    cdef Py_ssize_t width = i + 1 if kind == FORWARD else i
    cdef Py_ssize_t lo = s.bounds[width * (PARTS + 1) + j]
    cdef Py_ssize_t hi = s.bounds[width * (PARTS + 1) + j + 1]
    if lo == hi:
        return
    if kind == FORWARD:
        forward_part(s, params, i, lo, hi)
    else:
        backward_part(s, params, i, lo, hi)


cdef void stage(const Step* s, floating* params, int kind, Py_ssize_t i,
                int threads) noexcept nogil:
    """Every part of stage (kind, i), on up to ``threads`` threads."""
    cdef Py_ssize_t j
    for j in prange(PARTS, num_threads=threads, schedule="static"):
        part(s, params, kind, i, j)


cdef void top(Step* s, floating* params) noexcept nogil:
    """The loss of a_L against Y into s.loss, dL/da_L into D; a non-finite loss
    turns the fused update off. An unsplit n_L also takes the output layer's
    forward before and its backward part after."""
    cdef Py_ssize_t L = s.net.n_layers, n_L = s.net.sizes[L]
    if not split(s, L):
        forward_part(s, params, L - 1, 0, n_L)
    s.loss = cy_loss_grad(s.net.loss, block(<floating*>s.A, s.net, L - 1, s.B),
                          <const floating*>s.Y, <const floating*>s.sw,
                          block(<floating*>s.D, s.net, L - 1, s.B), s.B, n_L)
    s.fused = s.fused and isfinite(s.loss)
    if not split(s, L):
        backward_part(s, params, L, 0, n_L)


cdef double column_step(const Net* net, const int64_t* bounds, const floating* X,
                        const floating* Y, const floating* sw, Py_ssize_t B, floating* params,
                        void* A, void* H, void* D, void* scratch, floating* grads, floating lr,
                        bint* fused, int threads) noexcept nogil:
    """Forward, loss and backward of the B rows of X (Y, weights sw or NULL)
    by columns, activations in the work regions A, H, D. With ``fused[0]`` and
    a finite loss, SGD's update with rate lr is applied in place (db in the
    M entries of scratch); else dL/dtheta goes to grads and fused[0] is set
    False. Returns the loss."""
    cdef Step s
    cdef Py_ssize_t k, i, L = net.n_layers
    s.net, s.bounds, s.X, s.Y, s.sw, s.B = net, bounds, X, Y, sw, B
    s.A, s.H, s.D, s.grads, s.db, s.lr, s.fused = A, H, D, grads, scratch, lr, fused[0]
    for k in range(L if split(&s, L) else L - 1):
        stage(&s, params, FORWARD, k, threads)
    top(&s, params)
    if split(&s, L):
        stage(&s, params, BACKWARD, L, threads)
    for i in range(L - 1, -1, -1):
        if i > 0 or not by_output(&s, 0):
            stage(&s, params, BACKWARD, i, threads)
    fused[0] = s.fused
    return s.loss
