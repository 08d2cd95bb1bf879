"""Layer kernels: activations, the dense layer forward and backward (GEMM
through BLAS), softmax and the losses from logits.

Every public function has the signature of its twin in ``reference.py``; the
``cy_*`` pointer versions do the work without the GIL and are shared with
``_network.pyx`` through ``_layers.pxd``.
"""
from libc.math cimport NAN, log
from libc.string cimport memcpy

from ._blas cimport gemm, gemv
from ._codes cimport (ACT_LEAKY_RELU, ACT_LINEAR, ACT_RELU, ACT_SIGMOID, ACT_STEP, ACT_TANH,
                      LOSS_BCE, LOSS_POISSON, LOSS_SOFTMAX_CE, LOSS_SQUARED)
from ._math cimport (f_exp, f_tanh, floating, leaky_relu, log1pexp, relu, shifted_exp, sigmoid,
                     step)
from ._vmath cimport (FN_CHUNK, FN_SMALL_WIDTH, fn_padded_copy, fn_small_gram,
                      fn_small_product)


# --------------------------------------------------------------------------
# Activations: h = g(a) and dL/da = dL/dh * g'(a), elementwise over n values
# --------------------------------------------------------------------------

cdef void cy_activation_forward(const floating* Z, floating* H, Py_ssize_t n, int act,
                                floating alpha) noexcept nogil:
    """h = g(a): linear, sigmoid, tanh, relu, leaky relu, step. H may be Z."""
    cdef Py_ssize_t i
    if act == ACT_LINEAR:
        for i in range(n):
            H[i] = Z[i]
    elif act == ACT_SIGMOID:
        for i in range(n):
            H[i] = sigmoid(Z[i])
    elif act == ACT_TANH:
        for i in range(n):
            H[i] = f_tanh(Z[i])
    elif act == ACT_RELU:
        for i in range(n):
            H[i] = relu(Z[i])
    elif act == ACT_LEAKY_RELU:
        for i in range(n):
            H[i] = leaky_relu(Z[i], alpha)
    elif act == ACT_STEP:
        for i in range(n):
            H[i] = step(Z[i])


cdef void cy_activation_backward(const floating* Z, const floating* H, const floating* dH,
                                 floating* dZ, Py_ssize_t n, int act,
                                 floating alpha) noexcept nogil:
    """dL/da = dL/dh * g'(a): sigmoid h(1-h), tanh 1-h^2, relu [a > 0], leaky
    relu 1 or alpha, linear 1, step 0. dZ may be dH."""
    cdef Py_ssize_t i
    if act == ACT_LINEAR:
        for i in range(n):
            dZ[i] = dH[i]
    elif act == ACT_SIGMOID:
        for i in range(n):
            dZ[i] = dH[i] * (H[i] * (<floating>1 - H[i]))
    elif act == ACT_TANH:
        for i in range(n):
            dZ[i] = dH[i] * (<floating>1 - H[i] * H[i])
    elif act == ACT_RELU:
        for i in range(n):
            dZ[i] = dH[i] if Z[i] > 0 else 0
    elif act == ACT_LEAKY_RELU:
        for i in range(n):
            dZ[i] = dH[i] if Z[i] > 0 else alpha * dH[i]
    elif act == ACT_STEP:
        for i in range(n):
            dZ[i] = 0


# --------------------------------------------------------------------------
# Dense layer: A = X W^T + b, H = g(A), and its backward pass
# --------------------------------------------------------------------------

cdef enum:
    # Rows per block of the forward pass's elementwise work (and of a small
    # layer's product): 16 KiB at width 32, in L1; 64 KiB at width 128, in L2.
    ROW_BLOCK = 128


cdef inline bint small_layer(Py_ssize_t B, Py_ssize_t n_in, Py_ssize_t n_out) noexcept nogil:
    """True when a float32 layer's products run as _vmath.h's register-blocked
    loops instead of BLAS: where they were measured faster (fit's full batch
    of 10000 rows, forward + backward: 4x32 -21%, 64x10 -17%, 10x64 -20%,
    32x16 -5%), that is B >= 1024, n_out >= 8 and n_in n_out <= 1024. Equal or
    slower elsewhere: B <= 256 (BLAS's fixed cost is small next to the memory
    passes), n_out < 8 (16x4 +30%, the chunks mostly padding), 48x48 and
    64x64 (+6-12%)."""
    return (B >= 1024 and n_out >= 8 and n_in * n_out <= 1024
            and n_in <= FN_SMALL_WIDTH and n_out <= FN_SMALL_WIDTH)


cdef bint small_weight_grad(const float* dZ, const float* X, Py_ssize_t B, Py_ssize_t n_in,
                            Py_ssize_t n_out, float* dW) noexcept nogil:
    """dW = dZ^T X (n_out x n_in) by fn_small_gram, the wider side (when a
    multiple of FN_CHUNK) vectorised: dW^T = X^T dZ, transposed back, when
    that is dZ. False, nothing done, when neither width is a multiple."""
    cdef float dWt[FN_SMALL_WIDTH * FN_SMALL_WIDTH]
    cdef Py_ssize_t i, j
    if n_in % FN_CHUNK == 0 and (n_in >= n_out or n_out % FN_CHUNK != 0):
        fn_small_gram(dZ, X, B, n_out, n_in, dW)
        return True
    if n_out % FN_CHUNK != 0:
        return False
    fn_small_gram(X, dZ, B, n_in, n_out, dWt)
    for i in range(n_in):
        for j in range(n_out):
            dW[j * n_in + i] = dWt[i * n_out + j]
    return True

cdef void cy_dense_forward(const floating* X, const floating* W, const floating* b,
                           Py_ssize_t B, Py_ssize_t n_in, Py_ssize_t n_out, int act,
                           floating alpha, floating* Z, floating* H) noexcept nogil:
    """A = X W^T + b (B x n_out), then H = g(A). A small float32 layer goes in
    blocks of ROW_BLOCK rows, each block's bias and activation while it is in L1."""
    cdef Py_ssize_t blk, r0, rows
    cdef float Wt[FN_SMALL_WIDTH * FN_SMALL_WIDTH]
    if floating is float and small_layer(B, n_in, n_out):
        fn_padded_copy(W, n_out, n_in, True, Wt)
        for blk in range((B + ROW_BLOCK - 1) // ROW_BLOCK):
            r0 = blk * ROW_BLOCK
            rows = min(<Py_ssize_t>ROW_BLOCK, B - r0)
            fn_small_product(X + r0 * n_in, Wt, rows, n_in, n_out, Z + r0 * n_out)
            bias_activation(b, rows, n_out, act, alpha, Z + r0 * n_out, H + r0 * n_out)
        return
    if B == 1:
        gemv(False, n_out, n_in, 1, W, n_in, X, 0, Z)
    else:
        gemm(False, True, B, n_out, n_in, 1, X, n_in, W, n_in, 0, Z, n_out)
    bias_activation(b, B, n_out, act, alpha, Z, H)


cdef void bias_activation(const floating* b, Py_ssize_t B, Py_ssize_t n, int act,
                          floating alpha, floating* Z, floating* H) noexcept nogil:
    """Z += b on each of the B rows (B x n), then H = g(Z), ROW_BLOCK rows at a
    time while they are in cache."""
    cdef Py_ssize_t blk, r0, rows, r, j
    for blk in range((B + ROW_BLOCK - 1) // ROW_BLOCK):
        r0 = blk * ROW_BLOCK
        rows = min(<Py_ssize_t>ROW_BLOCK, B - r0)
        for r in range(r0, r0 + rows):
            for j in range(n):
                Z[r * n + j] += b[j]
        cy_activation_forward(Z + r0 * n, H + r0 * n, rows * n, act, alpha)


cdef void cy_dense_backward(const floating* X, const floating* W, const floating* Z,
                            const floating* H, const floating* dH, Py_ssize_t B,
                            Py_ssize_t n_in, Py_ssize_t n_out, int act, floating alpha,
                            floating* dZ, floating* dW, floating* db,
                            floating* dX) noexcept nogil:
    """dZ = dH * g'(A) and db = sum over rows of dZ; dW = dZ^T X; dX = dZ W
    unless dX is NULL. dZ may be dH."""
    cy_layer_delta(Z, H, dH, B, n_out, act, alpha, dZ, db)
    if B == 1:
        outer(dZ, X, n_out, n_in, dW)
    elif not (floating is float and small_layer(B, n_in, n_out)
              and small_weight_grad(dZ, X, B, n_in, n_out, dW)):
        gemm(True, False, n_out, n_in, B, 1, dZ, n_out, X, n_in, 0, dW, n_in)
    if dX != NULL:
        cy_input_grad(dZ, W, B, n_in, n_out, dX)


cdef void cy_layer_delta(const floating* Z, const floating* H, const floating* dH, Py_ssize_t B,
                         Py_ssize_t n_out, int act, floating alpha, floating* dZ,
                         floating* db) noexcept nogil:
    """dZ = dH * g'(A) and db = sum over the B rows of dZ (rows added in
    order), fused ROW_BLOCK rows at a time while they are in cache. dZ may be dH."""
    cdef Py_ssize_t blk, off, rows, r, j
    for blk in range((B + ROW_BLOCK - 1) // ROW_BLOCK):
        off = blk * ROW_BLOCK * n_out
        rows = min(<Py_ssize_t>ROW_BLOCK, B - blk * ROW_BLOCK)
        cy_activation_backward(Z + off, H + off, dH + off, dZ + off, rows * n_out, act, alpha)
        if blk == 0:
            memcpy(db, dZ, n_out * sizeof(floating))
        for r in range(1 if blk == 0 else 0, rows):
            for j in range(n_out):
                db[j] += dZ[off + r * n_out + j]


cdef void cy_input_grad(const floating* dZ, const floating* W, Py_ssize_t B, Py_ssize_t n_in,
                        Py_ssize_t n_out, floating* dX) noexcept nogil:
    """dL/dh_{k-1} = dZ W (B x n_in)."""
    cdef float Wp[FN_SMALL_WIDTH * FN_SMALL_WIDTH]
    if floating is float and small_layer(B, n_in, n_out):
        fn_padded_copy(W, n_out, n_in, False, Wp)
        fn_small_product(dZ, Wp, B, n_out, n_in, dX)
    elif B == 1:
        gemv(True, n_out, n_in, 1, W, n_in, dZ, 0, dX)
    else:
        gemm(False, False, B, n_in, n_out, 1, dZ, n_out, W, n_in, 0, dX, n_in)


cdef inline void outer(const floating* u, const floating* v, Py_ssize_t m, Py_ssize_t n,
                       floating* out) noexcept nogil:
    """out = u v^T (m x n), one write pass: dW at batch size 1 (BLAS ger would
    need a zeroing pass first, since it accumulates)."""
    cdef Py_ssize_t i, j
    for i in range(m):
        for j in range(n):
            out[i * n + j] = u[i] * v[j]


# --------------------------------------------------------------------------
# Softmax and the losses from logits (mean over the B rows)
# --------------------------------------------------------------------------

cdef void cy_softmax(const floating* Z, floating* P, Py_ssize_t B, Py_ssize_t k) noexcept nogil:
    """y_hat_j = e^{a_j - m} / sum_i e^{a_i - m} per row. P may be Z."""
    cdef Py_ssize_t r, j
    cdef floating m, s
    for r in range(B):
        s = <floating>shifted_exp(Z + r * k, P + r * k, k, &m)
        for j in range(k):
            P[r * k + j] /= s


cdef inline double row_weight(const floating* w, Py_ssize_t r) noexcept nogil:
    """w_r in double, 1 when unweighted (w NULL)."""
    return 1.0 if w == NULL else <double>w[r]


cdef inline floating row_scale(const floating* w, Py_ssize_t r, double total) noexcept nogil:
    """c_r = w_r / sum_i w_i: 1/B unweighted, 0 when the weights sum to 0."""
    return <floating>(row_weight(w, r) / total) if total > 0 else 0


cdef double squared_error(const floating* Z, const floating* Y, const floating* w, floating* dZ,
                          Py_ssize_t B, Py_ssize_t k, double total) noexcept nogil:
    """sum_i w_i sum_j (a_ij - y_ij)^2 (double); dL/da = 2 c_i (a - y)."""
    cdef Py_ssize_t r, i
    cdef floating diff, two_c
    cdef double u, acc = 0
    for r in range(B):
        u, two_c = row_weight(w, r), <floating>2 * row_scale(w, r, total)
        for i in range(r * k, (r + 1) * k):
            diff = Z[i] - Y[i]
            dZ[i] = two_c * diff
            if u != 0:
                acc += u * (<double>diff * <double>diff)
    return acc


cdef double binary_cross_entropy(const floating* Z, const floating* Y, const floating* w,
                                 floating* dZ, Py_ssize_t B, Py_ssize_t k,
                                 double total) noexcept nogil:
    """sum_i w_i sum_j softplus(a) - y a (double); dL/da = c_i (sigma(a) - y)."""
    cdef Py_ssize_t r, i
    cdef floating c
    cdef double u, acc = 0
    for r in range(B):
        u, c = row_weight(w, r), row_scale(w, r, total)
        for i in range(r * k, (r + 1) * k):
            dZ[i] = (sigmoid(Z[i]) - Y[i]) * c
            if u != 0:
                acc += u * (log1pexp(Z[i]) - <double>Y[i] * <double>Z[i])
    return acc


cdef double softmax_cross_entropy(const floating* Z, const floating* Y, const floating* w,
                                  floating* dZ, Py_ssize_t B, Py_ssize_t k,
                                  double total) noexcept nogil:
    """sum_i w_i sum_{j: y_ij != 0} y_ij (lse_i - a_ij) (double), lse_i = m + log sum e^{a_ij - m};
    dL/da_ij = c_i (y_hat_ij sum_j y_ij - y_ij)."""
    cdef Py_ssize_t r, j
    cdef const floating* z
    cdef const floating* y
    cdef floating* dz
    cdef floating m, s, y_sum, c
    cdef double u, acc = 0, lse, sum_exp
    for r in range(B):
        z, y, dz = Z + r * k, Y + r * k, dZ + r * k
        u, c = row_weight(w, r), row_scale(w, r, total)
        sum_exp = shifted_exp(z, dz, k, &m)
        lse = m + log(sum_exp)
        s = <floating>sum_exp
        y_sum = 0
        for j in range(k):
            y_sum += y[j]
            if y[j] != 0 and u != 0:
                acc += u * (y[j] * (lse - z[j]))
        for j in range(k):
            dz[j] = ((dz[j] / s) * y_sum - y[j]) * c
    return acc


cdef double poisson_deviance(const floating* Z, const floating* Y, const floating* w,
                             floating* dZ, Py_ssize_t B, Py_ssize_t k,
                             double total) noexcept nogil:
    """sum_i w_i sum_j 2 (y log y - y a - y + e^a) (double; y log y = 0 at y = 0,
    log mu = a never computed, so mu underflowing to 0 is exact);
    dL/da = 2 c_i (e^a - y)."""
    cdef Py_ssize_t r, i
    cdef floating mu, two_c
    cdef double u, y, ylogy, acc = 0
    for r in range(B):
        u, two_c = row_weight(w, r), <floating>2 * row_scale(w, r, total)
        for i in range(r * k, (r + 1) * k):
            mu = f_exp(Z[i])
            dZ[i] = two_c * (mu - Y[i])
            if u != 0:
                y = Y[i]
                ylogy = y * log(y) if y > 0 else 0
                acc += u * (2 * (ylogy - y * <double>Z[i] - y + <double>mu))
    return acc


cdef double cy_loss_grad(int loss, const floating* Z, const floating* Y, const floating* w,
                         floating* dZ, Py_ssize_t B, Py_ssize_t k) noexcept nogil:
    """Loss over the B rows of logits Z against Y, the mean weighted by the
    rows' weights w (NULL: unweighted), sum_i w_i L_i / sum_i w_i (0 when the
    weights sum to 0); dL/dZ into dZ (NaN, dZ untouched, for an unknown code)."""
    cdef Py_ssize_t r
    cdef double acc, total = B
    if w != NULL:
        total = 0
        for r in range(B):
            total += w[r]
    if loss == LOSS_SQUARED:
        acc = squared_error(Z, Y, w, dZ, B, k, total)
    elif loss == LOSS_BCE:
        acc = binary_cross_entropy(Z, Y, w, dZ, B, k, total)
    elif loss == LOSS_SOFTMAX_CE:
        acc = softmax_cross_entropy(Z, Y, w, dZ, B, k, total)
    elif loss == LOSS_POISSON:
        acc = poisson_deviance(Z, Y, w, dZ, B, k, total)
    else:
        return NAN
    return acc / total if total > 0 else 0


# --------------------------------------------------------------------------
# Python entry points (the reference's signatures)
# --------------------------------------------------------------------------

def activation_forward(Z, act, alpha, H_out):
    """h = g(a) elementwise (see reference.activation_forward); any shape."""
    _activation_forward(Z.reshape(-1), act, alpha, H_out.reshape(-1))
    return H_out


def _activation_forward(const floating[::1] Z, int act, floating alpha, floating[::1] H):
    with nogil:
        cy_activation_forward(&Z[0], &H[0], Z.shape[0], act, alpha)


def activation_backward(Z, H, dH, act, alpha, dZ_out):
    """dL/da = dL/dh * g'(a) elementwise (see reference.activation_backward); any shape."""
    _activation_backward(Z.reshape(-1), H.reshape(-1), dH.reshape(-1), act, alpha,
                         dZ_out.reshape(-1))
    return dZ_out


def _activation_backward(const floating[::1] Z, const floating[::1] H, const floating[::1] dH,
                         int act, floating alpha, floating[::1] dZ):
    with nogil:
        cy_activation_backward(&Z[0], &H[0], &dH[0], &dZ[0], Z.shape[0], act, alpha)


def dense_forward(const floating[:, ::1] X, const floating[:, ::1] W, const floating[::1] b,
                  int act, floating alpha, floating[:, ::1] Z_out, floating[:, ::1] H_out):
    """A = X W^T + b, H = g(A) (see reference.dense_forward). Returns H_out."""
    with nogil:
        cy_dense_forward(&X[0, 0], &W[0, 0], &b[0], X.shape[0], X.shape[1], W.shape[0], act,
                         alpha, &Z_out[0, 0], &H_out[0, 0])
    return H_out.base


def dense_backward(const floating[:, ::1] X, const floating[:, ::1] W,
                   const floating[:, ::1] Z, const floating[:, ::1] H,
                   const floating[:, ::1] dH, int act, floating alpha,
                   floating[:, ::1] dZ_out, floating[:, ::1] dW_out, floating[::1] db_out,
                   floating[:, ::1] dX_out, bint need_dX):
    """dZ, dW, db and (when ``need_dX``) dX of one layer (see
    reference.dense_backward). ``dZ_out`` may be ``dH``; ``dX_out`` may be
    None when ``need_dX`` is false."""
    cdef floating* dX = &dX_out[0, 0] if need_dX else NULL
    with nogil:
        cy_dense_backward(&X[0, 0], &W[0, 0], &Z[0, 0], &H[0, 0], &dH[0, 0], X.shape[0],
                          X.shape[1], W.shape[0], act, alpha, &dZ_out[0, 0], &dW_out[0, 0],
                          &db_out[0], dX)


def softmax(const floating[:, ::1] Z, floating[:, ::1] P_out):
    """Row-wise softmax with the row maximum subtracted (see reference.softmax).
    ``P_out`` may be ``Z``. Returns P_out."""
    with nogil:
        cy_softmax(&Z[0, 0], &P_out[0, 0], Z.shape[0], Z.shape[1])
    return P_out.base


def loss_grad(int loss, const floating[:, ::1] Z, const floating[:, ::1] Y,
              const floating[::1] w, floating[:, ::1] dZ_out):
    """Loss of logits Z against Y, the mean weighted by ``w`` (empty:
    unweighted); dL/dZ into ``dZ_out`` (see reference.loss_grad)."""
    cdef double value
    cdef const floating* weights = &w[0] if w.shape[0] > 0 else NULL
    with nogil:
        value = cy_loss_grad(loss, &Z[0, 0], &Y[0, 0], weights, &dZ_out[0, 0], Z.shape[0],
                             Z.shape[1])
    return value
