"""The perceptron learning loop (the notes' Algorithms 1 and 2), Cython backend:
the same loop as ``reference_perceptron.perceptron_train``, compiled."""
from cython cimport floating
from libc.stdint cimport int64_t


cdef inline floating _dot(floating[::1] w, const floating[:, ::1] X, int64_t i) noexcept nogil:
    """w . X[i], added left to right in the arrays' dtype (as the reference)."""
    cdef floating s = w[0] * X[i, 0]
    cdef Py_ssize_t j
    for j in range(1, w.shape[0]):
        s = s + w[j] * X[i, j]
    return s


def perceptron_train(const floating[:, ::1] X, const int64_t[::1] y,
                     const int64_t[:, ::1] order, floating[::1] w):
    """Perceptron learning on rows x = [1, x_1, ..., x_n] of ``X`` with labels
    ``y`` (1 for P, 0 for N), ``w`` updated in place, epoch e visiting
    ``order[e]``: x in P and w . x < 0 -> w = w + x; x in N and w . x >= 0 ->
    w = w - x. Converged at the first epoch without a correction.
    Returns (converged, k corrections, epochs run)."""
    cdef Py_ssize_t e, r, j, epochs = order.shape[0]
    cdef int64_t i, k = 0, corrections
    cdef floating s
    cdef bint converged = False
    with nogil:
        for e in range(order.shape[0]):
            corrections = 0
            for r in range(order.shape[1]):
                i = order[e, r]
                s = _dot(w, X, i)
                if y[i] == 1 and s < 0:
                    for j in range(w.shape[0]):
                        w[j] = w[j] + X[i, j]
                    corrections += 1
                elif y[i] == 0 and s >= 0:
                    for j in range(w.shape[0]):
                        w[j] = w[j] - X[i, j]
                    corrections += 1
            k += corrections
            if corrections == 0:
                converged, epochs = True, e + 1
                break
    return converged, k, epochs
