# Row-major BLAS for the kernels: the column-major routines of _blas.pyx see a
# row-major matrix as its transpose, so each wrapper swaps operands (or the
# transpose flag) instead of copying.

from ._math cimport floating


cdef void sgemm_cm(char* ta, char* tb, int m, int n, int k, float alpha, const float* a,
                   int lda, const float* b, int ldb, float beta, float* c,
                   int ldc) noexcept nogil
cdef void dgemm_cm(char* ta, char* tb, int m, int n, int k, double alpha, const double* a,
                   int lda, const double* b, int ldb, double beta, double* c,
                   int ldc) noexcept nogil
cdef void sgemv_cm(char* t, int m, int n, float alpha, const float* a, int lda, const float* x,
                   float beta, float* y) noexcept nogil
cdef void dgemv_cm(char* t, int m, int n, double alpha, const double* a, int lda,
                   const double* x, double beta, double* y) noexcept nogil


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
                      const floating* a, int lda, const floating* b, int ldb,
                      floating beta, floating* c, int ldc) noexcept nogil:
    """C = alpha op(A) op(B) + beta C with C row-major m x n and op(X) = X or X^T.
    Column-major BLAS computes C^T = op(B)^T op(A)^T: B comes first and both
    keep their flags, because a stored row-major X already reads as X^T."""
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if floating is float:
        sgemm_cm(&tb, &ta, n, m, k, alpha, <float*>b, ldb, <float*>a, lda, beta, c, ldc)
    else:
        dgemm_cm(&tb, &ta, n, m, k, alpha, <double*>b, ldb, <double*>a, lda, beta, c, ldc)


cdef inline void gemv(bint trans_a, int m, int n, floating alpha, const floating* a, int lda,
                      const floating* x, floating beta, floating* y) noexcept nogil:
    """y = alpha op(A) x + beta y with A row-major m x n: BLAS sees A^T
    (n x m), so the transpose flag flips."""
    cdef char t = b'N' if trans_a else b'T'
    if floating is float:
        sgemv_cm(&t, n, m, alpha, <float*>a, lda, <float*>x, beta, y)
    else:
        dgemv_cm(&t, n, m, alpha, <double*>a, lda, <double*>x, beta, y)
