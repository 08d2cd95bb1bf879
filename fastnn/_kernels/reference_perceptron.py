"""The perceptron learning loop (the notes' Algorithms 1 and 2), NumPy reference.

One kernel serves both algorithms: Algorithm 2 is Algorithm 1 run on the single
set P' (negated N, normalised) with every label 1, because then the only
mistake left is w . p < 0 and the only correction w = w + p.
"""
import numpy as np


def _dot(w, x):
    """w . x summed left to right in the arrays' dtype (np.cumsum is sequential),
    so that the compiled backends, which add in the same order, give the same bits."""
    return np.cumsum(w * x)[-1]


def perceptron_train(X, y, order, w):
    """Run the perceptron learning algorithm on the rows of ``X`` (each
    x = [1, x_1, ..., x_n], so w_0 is the bias) with labels ``y`` (int64,
    1 for P, 0 for N), updating ``w`` in place.

    Epoch e visits the rows ``order[e]`` (int64, a permutation of the rows per
    epoch, drawn by the caller from its seed). For the picked x:
    x in P and w . x < 0  ->  w = w + x;   x in N and w . x >= 0  ->  w = w - x.
    The algorithm has converged at the end of the first epoch without a
    correction: every input was then checked against the same w and found
    classified correctly.

    Returns (converged, k, epochs): whether it converged within
    ``order.shape[0]`` epochs, the number k of corrections, the epochs run.
    """
    k = 0
    for e in range(order.shape[0]):
        corrections = 0
        for i in order[e]:
            s = _dot(w, X[i])
            if y[i] == 1 and s < 0:
                w += X[i]
                corrections += 1
            elif y[i] == 0 and s >= 0:
                w -= X[i]
                corrections += 1
        k += corrections
        if corrections == 0:
            return True, k, e + 1
    return False, k, order.shape[0]
