"""The fused kernel for narrow float32 networks (every width n_0..n_L at most
layout.NARROW_WIDTH): the gradient of a partition's rows without BLAS and without
a pass over a whole partition. Each block of FN_NARROW_ROWS rows is stored
feature-major (_narrow.h) and goes forward through every layer (Algorithm 5,
a_k = b_k + W_k h_{k-1}, h_k = g(a_k)), through the loss, and backward
through every layer (Algorithm 6, delta_k = dL/dh_k * g'(a_k), dL/dh_{k-1} =
W_k^T delta_k) while it is in cache (L2); dW_k = sum_rows delta_k h_{k-1}^T and db_k
are accumulated lane by lane into vectors and summed once per partition.
The blocks are the partition's rows in runs of FN_NARROW_ROWS (the last one
padded with zero rows, whose delta is 0), so the bits depend on the
partition alone, never on the thread count."""
from libc.stdint cimport int64_t, uintptr_t
from libc.string cimport memset

from ._layers cimport cy_activation_backward, cy_activation_forward, cy_loss_grad
from ._net cimport Net


cdef extern from "_narrow.h" nogil:
    enum: FN_NARROW_ROWS
    enum: FN_VL
    ctypedef struct fn_vec:
        pass
    void fn_fm_product(const float* Mt, const float* b, Py_ssize_t m, Py_ssize_t n,
                       const float* In, float* Out)
    void fn_fm_gram(const float* D, const float* In, Py_ssize_t m, Py_ssize_t n, fn_vec* G,
                    fn_vec* Gb)
    void fn_lane_sums(const fn_vec* G, Py_ssize_t n, float* out)


cdef enum:
    R = FN_NARROW_ROWS

ROWS, LANES = FN_NARROW_ROWS, FN_VL    # layout.NARROW_ROWS, at most layout.NARROW_LANES


cdef struct Blocks:           # one partition's scratch, feature-major blocks of R rows
    fn_vec* G                 # dL/dtheta lane by lane: T vectors in params' layout
    float* Wt                 # W_k^T (n_k x n_{k+1}) at param_at[k]
    float* x                  # the block's inputs, n_0 x R
    float* A                  # a_k at R unit_at[k], S x R
    float* H                  # h_k likewise
    float* D                  # dL/dh_k, M x R
    float* d_next             # then dL/dh_{k-1}, M x R
    float* rows_a             # the block's logits, rows x n_L (the loss's layout)
    float* rows_d             # and dL/da_L
    float* rows_y             # gathered targets and sample weights
    float* rows_w


cdef Blocks blocks_of(const Net* net, Py_ssize_t M, float* scratch) noexcept nogil:
    """The regions of a partition's narrow scratch (layout.narrow_size entries),
    its vectors from the first 64-byte boundary on; M = max(n_1, ..., n_L)."""
    cdef Py_ssize_t L = net.n_layers, T = net.param_at[L], S = net.unit_at[L]
    cdef float* at = <float*>((<uintptr_t>scratch + 63) & ~(<uintptr_t>63))
    cdef Blocks b
    b.G = <fn_vec*>at
    b.Wt = at + T * FN_VL
    b.x = b.Wt + T
    b.A = b.x + R * net.sizes[0]
    b.H = b.A + R * S
    b.D = b.H + R * S
    b.d_next = b.D + R * M
    b.rows_a = b.d_next + R * M
    b.rows_d = b.rows_a + R * net.sizes[L]
    b.rows_y = b.rows_d + R * net.sizes[L]
    b.rows_w = b.rows_y + R * net.sizes[L]
    return b


cdef void transposed_weights(const Net* net, const float* params, float* Wt) noexcept nogil:
    """Wt_k = W_k^T, the layout in which fn_fm_product takes W_k for a_k =
    b_k + W_k h_{k-1} (and W_k itself is W_k^T's, for dL/dh_{k-1} = W_k^T delta_k)."""
    cdef Py_ssize_t k, i, j, n_in, n_out
    cdef const float* W
    for k in range(net.n_layers):
        n_in, n_out, W = net.sizes[k], net.sizes[k + 1], params + net.param_at[k]
        for j in range(n_out):
            for i in range(n_in):
                Wt[net.param_at[k] + i * n_out + j] = W[j * n_in + i]


cdef inline Py_ssize_t row_of(const int64_t* rows, Py_ssize_t r) noexcept nogil:
    """Row r of the batch in X: rows[r], or r when rows is NULL."""
    return r if rows == NULL else rows[r]


cdef void load_inputs(const float* X, Py_ssize_t n0, const int64_t* rows, Py_ssize_t first,
                      Py_ssize_t n, float* x) noexcept nogil:
    """x = the n rows first.. of the batch, transposed (n0 x R), zero beyond n."""
    cdef Py_ssize_t r, i
    cdef const float* row
    for r in range(n):
        row = X + row_of(rows, first + r) * n0
        for i in range(n0):
            x[i * R + r] = row[i]
    for i in range(n0):
        for r in range(n, R):
            x[i * R + r] = 0


cdef void forward(const Net* net, const float* params, Blocks* b) noexcept nogil:
    """a_k = b_k + W_k h_{k-1}, h_k = g(a_k) for k = 0..L-1, h_{-1} = x."""
    cdef Py_ssize_t k, n_in, n_out
    cdef const float* W
    cdef const float* h = b.x
    for k in range(net.n_layers):
        n_in, n_out, W = net.sizes[k], net.sizes[k + 1], params + net.param_at[k]
        fn_fm_product(b.Wt + net.param_at[k], W + n_out * n_in, n_out, n_in, h,
                      b.A + R * net.unit_at[k])
        cy_activation_forward(b.A + R * net.unit_at[k], b.H + R * net.unit_at[k], R * n_out,
                              net.acts[k], <float>net.alpha)
        h = b.H + R * net.unit_at[k]


cdef double loss(const Net* net, const float* Y, const float* sw, const int64_t* rows,
                 Py_ssize_t first, Py_ssize_t n, double total, Blocks* b) noexcept nogil:
    """The loss of the block's n rows (cy_loss_grad on them, in rows): D =
    dL/da_L transposed, scaled from the block's normalisation to the batch's,
    c_i = w_i / total, zero beyond n. Returns sum_i w_i L_i over the block."""
    cdef Py_ssize_t L = net.n_layers, nL = net.sizes[L], r, j
    cdef const float* a_L = b.A + R * net.unit_at[L - 1]
    cdef const float* y = Y + first * nL
    cdef const float* w = NULL
    cdef double part = n, value
    for r in range(n):
        for j in range(nL):
            b.rows_a[r * nL + j] = a_L[j * R + r]
    if rows != NULL:
        for r in range(n):
            for j in range(nL):  # a few floats: a loop, not a memcpy call per row
                b.rows_y[r * nL + j] = Y[rows[first + r] * nL + j]
        y = b.rows_y
    if sw != NULL:
        part = 0
        for r in range(n):
            b.rows_w[r] = sw[row_of(rows, first + r)]
            part += b.rows_w[r]
        w = b.rows_w
    value = cy_loss_grad(net.loss, b.rows_a, y, w, b.rows_d, n, nL)
    cdef float scale = <float>(part / total)
    for j in range(nL):
        for r in range(n):
            b.D[j * R + r] = b.rows_d[r * nL + j] * scale
        for r in range(n, R):
            b.D[j * R + r] = 0
    return value * part


cdef void backward(const Net* net, const float* params, Blocks* b) noexcept nogil:
    """From dL/dh_{L-1} = dL/da_L (in D) down: delta_k = dL/dh_k * g'(a_k),
    G_k += delta_k h_{k-1}^T lane by lane (and db_k), dL/dh_{k-1} = W_k^T
    delta_k into D's other buffer, for k = L-1..0."""
    cdef Py_ssize_t k, n_in, n_out
    cdef float* d = b.D
    cdef float* d_next = b.d_next
    cdef const float* h
    for k in range(net.n_layers - 1, -1, -1):
        n_in, n_out = net.sizes[k], net.sizes[k + 1]
        cy_activation_backward(b.A + R * net.unit_at[k], b.H + R * net.unit_at[k], d, d,
                               R * n_out, net.acts[k], <float>net.alpha)
        h = b.x if k == 0 else b.H + R * net.unit_at[k - 1]
        fn_fm_gram(d, h, n_out, n_in, b.G + net.param_at[k], b.G + net.param_at[k] + n_out * n_in)
        if k > 0:
            fn_fm_product(params + net.param_at[k], NULL, n_in, n_out, d, d_next)
            d, d_next = d_next, d


cdef double narrow_grad(const Net* net, const float* X, const float* Y, const float* sw,
                        const int64_t* rows, Py_ssize_t lo, Py_ssize_t hi, const float* params,
                        float* grads, double total, float* scratch, Py_ssize_t M) noexcept nogil:
    """The gradient of rows lo..hi-1 of a batch (rows[lo:hi] of X, Y, sw; X[lo:hi]
    when rows is NULL), dL/da_L normalised by the batch's total weight, written
    into grads, working in the partition's narrow scratch (M = max(n_1, ...,
    n_L)); returns their sum_i w_i L_i."""
    cdef Blocks b = blocks_of(net, M, scratch)
    cdef Py_ssize_t j, first, n, T = net.param_at[net.n_layers]
    cdef double acc = 0
    memset(b.G, 0, T * sizeof(fn_vec))
    transposed_weights(net, params, b.Wt)
    for j in range((hi - lo + R - 1) // R):
        first = lo + j * R
        n = min(<Py_ssize_t>R, hi - first)
        load_inputs(X, net.sizes[0], rows, first, n, b.x)
        forward(net, params, &b)
        acc += loss(net, Y, sw, rows, first, n, total, &b)
        backward(net, params, &b)
    fn_lane_sums(b.G, T, grads)
    return acc
