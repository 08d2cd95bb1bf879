"""Output functions and losses from logits, the mean over the batch weighted
by the rows' sample weights (an empty weights array: the plain mean); losses
are accumulated in float64, gradients written in the logits' dtype."""
import numpy as np

from ..codes import LOSS_BCE, LOSS_POISSON, LOSS_SOFTMAX_CE, LOSS_SQUARED
from ._jit import kernel, scalar
from .vmath import exp, sigmoid


@kernel
def softmax_row(z, p):
    """p_j = e^{a_j - m} / sum_i e^{a_i - m} with m = max_i a_i, so that no
    exponential overflows (entries of -inf give 0). Returns log sum_i e^{a_i}."""
    m = z.max()
    total = scalar(0, z)
    for j in range(z.size):
        p[j] = exp(z[j] - m)
    for j in range(z.size):
        total += p[j]
    for j in range(z.size):
        p[j] /= total
    return m + np.log(total)


@kernel
def softmax(Z, P_out):
    """y_hat_j = e^{a_j} / sum_i e^{a_i} on every row (max subtracted first)."""
    for r in range(Z.shape[0]):
        softmax_row(Z[r], P_out[r])
    return P_out


@kernel
def weight_sum(w, B):
    """sum_i w_i over the batch's B rows in float64; B when ``w`` is empty (unweighted)."""
    if w.size == 0:
        return np.float64(B)
    total = 0.0
    for r in range(B):
        total += np.float64(w[r])
    return total


@kernel
def row_weight(w, r):
    """w_r in float64, 1 when unweighted."""
    return 1.0 if w.size == 0 else np.float64(w[r])


@kernel
def row_scale(w, r, total, like):
    """c_r = w_r / sum_i w_i in ``like``'s dtype: 1/B unweighted, 0 when the weights sum to 0."""
    return scalar(row_weight(w, r) / total if total > 0 else 0.0, like)


@kernel
def weighted_mean(acc, total):
    """sum_i w_i L_i / sum_i w_i from the weighted sum ``acc``; 0 when the weights sum to 0."""
    return acc / total if total > 0 else 0.0


@kernel
def pointwise_term(loss, a, y):
    """(g, L) of one output, dL/da = 2 c_i g: squared error g = a - y, L = (a - y)^2;
    Poisson deviance with mean mu = e^a, g = mu - y, L = 2 (y log y - y a - y + mu)
    (y log y = 0 at y = 0; log mu = a is never computed, so mu underflowing to 0
    is exact). L in float64."""
    if loss == LOSS_SQUARED:
        diff = a - y
        return diff, np.float64(diff) * np.float64(diff)
    mu = exp(a)
    wide = np.float64(y)
    ylogy = wide * np.log(wide) if wide > 0 else 0.0
    return mu - y, 2.0 * (ylogy - wide * np.float64(a) - wide + np.float64(mu))


@kernel
def pointwise_loss(loss, Z, Y, w, dZ_out):
    """Weighted mean of L_i = sum_j L(a_ij, y_ij) for the squared error or the
    Poisson deviance (pointwise_term), dL/da = 2 c_i g(a, y)."""
    B = Z.shape[0]
    total = weight_sum(w, B)
    acc = 0.0
    for r in range(B):
        u, two_c = row_weight(w, r), scalar(2, Z) * row_scale(w, r, total, Z)
        for j in range(Z.shape[1]):
            g, term = pointwise_term(loss, Z[r, j], Y[r, j])
            dZ_out[r, j] = two_c * g
            acc += u * term if u != 0 else 0.0
    return weighted_mean(acc, total)


@kernel
def binary_cross_entropy(Z, Y, w, dZ_out):
    """L_ij = softplus(a) - y a with softplus(a) = max(a, 0) + log1p(e^{-|a|})
    (= -[y log sigma(a) + (1-y) log(1 - sigma(a))]), dL/da = c_i (sigma(a) - y)."""
    B = Z.shape[0]
    total = weight_sum(w, B)
    zero = scalar(0, Z)
    acc = 0.0
    for r in range(B):
        u, c = row_weight(w, r), row_scale(w, r, total, Z)
        for j in range(Z.shape[1]):
            a, y = Z[r, j], Y[r, j]
            softplus = np.maximum(a, zero) + np.log1p(np.exp(-abs(a)))
            dZ_out[r, j] = (sigmoid(a) - y) * c
            acc += u * np.float64(softplus - y * a) if u != 0 else 0.0
    return weighted_mean(acc, total)


@kernel
def softmax_cross_entropy(Z, Y, w, dZ_out):
    """L_i = sum_j y_ij (lse_i - a_ij), lse_i = log sum_j e^{a_ij}, skipping
    y_ij = 0 (so -inf logits of other classes are exact);
    dL/da_ij = c_i (y_hat_ij sum_j y_ij - y_ij)."""
    B = Z.shape[0]
    total = weight_sum(w, B)
    acc = 0.0
    for r in range(B):
        u, c = row_weight(w, r), row_scale(w, r, total, Z)
        z, y, dz = Z[r], Y[r], dZ_out[r]
        lse = softmax_row(z, dz)
        y_sum = y.sum()
        for j in range(z.size):
            if y[j] != 0 and u != 0:
                acc += u * np.float64(y[j] * (lse - z[j]))
            dz[j] = (dz[j] * y_sum - y[j]) * c
    return weighted_mean(acc, total)


@kernel
def loss_grad(loss, Z, Y, w, dZ_out):
    """Loss of logits ``Z`` against targets ``Y`` (B x k), the mean over the
    rows weighted by ``w`` (B weights; empty: unweighted), returned as a float;
    writes dL/dZ into ``dZ_out`` (see reference.loss_grad). Codes as in codes.LOSS_*."""
    if loss == LOSS_SQUARED or loss == LOSS_POISSON:
        return pointwise_loss(loss, Z, Y, w, dZ_out)
    if loss == LOSS_BCE:
        return binary_cross_entropy(Z, Y, w, dZ_out)
    if loss == LOSS_SOFTMAX_CE:
        return softmax_cross_entropy(Z, Y, w, dZ_out)
    return np.nan
