"""Output functions and losses from logits, mean over the batch; losses are
accumulated in float64, gradients written in the logits' dtype."""
import numpy as np

from ..codes import LOSS_BCE, LOSS_SOFTMAX_CE, LOSS_SQUARED
from ._jit import kernel, scalar
from .activations import sigmoid


@kernel
def softmax_row(z, p):
    """p_j = e^{a_j - m} / sum_i e^{a_i - m} with m = max_i a_i, so that no
    exponential overflows (entries of -inf give 0). Returns log sum_i e^{a_i}."""
    m = z.max()
    total = scalar(0, z)
    for j in range(z.size):
        p[j] = np.exp(z[j] - m)
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
def squared_error(Z, Y, dZ_out):
    """L = (1/B) sum_i sum_j (a_ij - y_ij)^2, dL/da = 2 (a - y) / B."""
    B = Z.shape[0]
    two_inv_b = scalar(2, Z) * scalar(1.0 / B, Z)
    total = 0.0
    for r in range(B):
        for j in range(Z.shape[1]):
            diff = Z[r, j] - Y[r, j]
            dZ_out[r, j] = two_inv_b * diff
            wide = np.float64(diff)
            total += wide * wide
    return total / B


@kernel
def binary_cross_entropy(Z, Y, dZ_out):
    """L_ij = softplus(a) - y a with softplus(a) = max(a, 0) + log1p(e^{-|a|})
    (= -[y log sigma(a) + (1-y) log(1 - sigma(a))]), dL/da = (sigma(a) - y) / B."""
    B = Z.shape[0]
    inv_b, zero = scalar(1.0 / B, Z), scalar(0, Z)
    total = 0.0
    for r in range(B):
        for j in range(Z.shape[1]):
            a, y = Z[r, j], Y[r, j]
            softplus = np.maximum(a, zero) + np.log1p(np.exp(-abs(a)))
            dZ_out[r, j] = (sigmoid(a) - y) * inv_b
            total += np.float64(softplus - y * a)
    return total / B


@kernel
def softmax_cross_entropy(Z, Y, dZ_out):
    """L_i = sum_j y_ij (lse_i - a_ij), lse_i = log sum_j e^{a_ij}, skipping
    y_ij = 0 (so -inf logits of other classes are exact);
    dL/da_ij = (y_hat_ij sum_j y_ij - y_ij) / B."""
    B = Z.shape[0]
    inv_b = scalar(1.0 / B, Z)
    total = 0.0
    for r in range(B):
        z, y, dz = Z[r], Y[r], dZ_out[r]
        lse = softmax_row(z, dz)
        y_sum = y.sum()
        for j in range(z.size):
            if y[j] != 0:
                total += np.float64(y[j] * (lse - z[j]))
            dz[j] = (dz[j] * y_sum - y[j]) * inv_b
    return total / B


@kernel
def loss_grad(loss, Z, Y, dZ_out):
    """Loss of logits ``Z`` against targets ``Y`` (B x k), mean over the rows,
    returned as a float; writes dL/dZ into ``dZ_out``. Codes as in codes.LOSS_*."""
    if loss == LOSS_SQUARED:
        return squared_error(Z, Y, dZ_out)
    if loss == LOSS_BCE:
        return binary_cross_entropy(Z, Y, dZ_out)
    if loss == LOSS_SOFTMAX_CE:
        return softmax_cross_entropy(Z, Y, dZ_out)
    return np.nan
