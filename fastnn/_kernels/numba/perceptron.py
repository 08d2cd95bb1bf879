"""The perceptron learning loop (the notes' Algorithms 1 and 2), Numba backend:
the same loop as ``reference_perceptron.perceptron_train``, compiled."""
from ._jit import kernel


@kernel
def _dot(w, X, i):
    """w . X[i], added left to right in the arrays' dtype (as the reference)."""
    s = w[0] * X[i, 0]
    for j in range(1, w.shape[0]):
        s += w[j] * X[i, j]
    return s


@kernel
def _correct(w, X, i, sign):
    """w = w + x (sign 1) or w = w - x (sign -1) for x = X[i]."""
    if sign > 0:
        for j in range(w.shape[0]):
            w[j] += X[i, j]
    else:
        for j in range(w.shape[0]):
            w[j] -= X[i, j]


@kernel
def perceptron_train(X, y, order, w):
    """Perceptron learning on rows x = [1, x_1, ..., x_n] of ``X`` with labels
    ``y`` (1 for P, 0 for N), ``w`` updated in place, epoch e visiting
    ``order[e]``: x in P and w . x < 0 -> w = w + x; x in N and w . x >= 0 ->
    w = w - x. Converged at the first epoch without a correction.
    Returns (converged, k corrections, epochs run)."""
    k = 0
    for e in range(order.shape[0]):
        corrections = 0
        for r in range(order.shape[1]):
            i = order[e, r]
            s = _dot(w, X, i)
            if y[i] == 1 and s < 0:
                _correct(w, X, i, 1)
                corrections += 1
            elif y[i] == 0 and s >= 0:
                _correct(w, X, i, -1)
                corrections += 1
        k += corrections
        if corrections == 0:
            return True, k, e + 1
    return False, k, order.shape[0]
