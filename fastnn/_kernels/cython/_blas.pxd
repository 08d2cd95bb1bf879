# Row-major BLAS for the kernels: the column-major routines of
# scipy.linalg.cython_blas see a row-major matrix as its transpose, so each
# wrapper swaps operands (or the transpose flag) instead of copying.

from scipy.linalg.cython_blas cimport dgemm, dgemv, sgemm, sgemv

from ._math cimport floating


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
                      const floating* a, int lda, const floating* b, int ldb,
                      floating beta, floating* c, int ldc) noexcept nogil:
    """C = alpha op(A) op(B) + beta C with C row-major m x n and op(X) = X or X^T.
    Column-major BLAS computes C^T = op(B)^T op(A)^T: B comes first and both
    keep their flags, because a stored row-major X already reads as X^T."""
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*>b, &ldb, <float*>a, &lda,
              &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*>b, &ldb, <double*>a, &lda,
              &beta, c, &ldc)


cdef inline void gemv(bint trans_a, int m, int n, floating alpha, const floating* a, int lda,
                      const floating* x, floating beta, floating* y) noexcept nogil:
    """y = alpha op(A) x + beta y with A row-major m x n: BLAS sees A^T
    (n x m), so the transpose flag flips."""
    cdef char t = b'N' if trans_a else b'T'
    cdef int one = 1
    if floating is float:
        sgemv(&t, &n, &m, &alpha, <float*>a, &lda, <float*>x, &one, &beta, y, &one)
    else:
        dgemv(&t, &n, &m, &alpha, <double*>a, &lda, <double*>x, &one, &beta, y, &one)
