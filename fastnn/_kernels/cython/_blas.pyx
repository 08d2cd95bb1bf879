"""Column-major GEMM and GEMV for the kernels (_blas.pxd's row-major wrappers):
SciPy's scipy.linalg.cython_blas, or the ILP64 routines (64-bit integer
arguments) of NumPy's newer OpenBLAS when blas_provider.choose() picks them."""
from libc.stdint cimport int64_t, uintptr_t
from scipy.linalg.cython_blas cimport dgemm, dgemv, sgemm, sgemv

from ..blas_provider import choose

ctypedef void (*sgemm64_t)(char*, char*, int64_t*, int64_t*, int64_t*, float*, const float*,
                           int64_t*, const float*, int64_t*, float*, float*,
                           int64_t*) noexcept nogil
ctypedef void (*dgemm64_t)(char*, char*, int64_t*, int64_t*, int64_t*, double*, const double*,
                           int64_t*, const double*, int64_t*, double*, double*,
                           int64_t*) noexcept nogil
ctypedef void (*sgemv64_t)(char*, int64_t*, int64_t*, float*, const float*, int64_t*,
                           const float*, int64_t*, float*, float*, int64_t*) noexcept nogil
ctypedef void (*dgemv64_t)(char*, int64_t*, int64_t*, double*, const double*, int64_t*,
                           const double*, int64_t*, double*, double*, int64_t*) noexcept nogil

cdef sgemm64_t sgemm64 = NULL
cdef dgemm64_t dgemm64 = NULL
cdef sgemv64_t sgemv64 = NULL
cdef dgemv64_t dgemv64 = NULL


def _use(routines):
    """Call the ILP64 routines at these addresses (sgemm, dgemm, sgemv, dgemv),
    or SciPy's when ``routines`` is None."""
    global sgemm64, dgemm64, sgemv64, dgemv64
    s_mm, d_mm, s_mv, d_mv = routines if routines is not None else (0, 0, 0, 0)
    sgemm64, dgemm64 = <sgemm64_t><uintptr_t>s_mm, <dgemm64_t><uintptr_t>d_mm
    sgemv64, dgemv64 = <sgemv64_t><uintptr_t>s_mv, <dgemv64_t><uintptr_t>d_mv


PROVIDER, _routines = choose()
_use(_routines)


cdef void sgemm_cm(char* ta, char* tb, int m, int n, int k, float alpha, const float* a,
                   int lda, const float* b, int ldb, float beta, float* c,
                   int ldc) noexcept nogil:
    """C = alpha op(A) op(B) + beta C, column-major (BLAS sgemm)."""
    cdef int64_t m8 = m, n8 = n, k8 = k, lda8 = lda, ldb8 = ldb, ldc8 = ldc
    if sgemm64 != NULL:
        sgemm64(ta, tb, &m8, &n8, &k8, &alpha, a, &lda8, b, &ldb8, &beta, c, &ldc8)
    else:
        sgemm(ta, tb, &m, &n, &k, &alpha, <float*>a, &lda, <float*>b, &ldb, &beta, c, &ldc)


cdef void dgemm_cm(char* ta, char* tb, int m, int n, int k, double alpha, const double* a,
                   int lda, const double* b, int ldb, double beta, double* c,
                   int ldc) noexcept nogil:
    """C = alpha op(A) op(B) + beta C, column-major (BLAS dgemm)."""
    cdef int64_t m8 = m, n8 = n, k8 = k, lda8 = lda, ldb8 = ldb, ldc8 = ldc
    if dgemm64 != NULL:
        dgemm64(ta, tb, &m8, &n8, &k8, &alpha, a, &lda8, b, &ldb8, &beta, c, &ldc8)
    else:
        dgemm(ta, tb, &m, &n, &k, &alpha, <double*>a, &lda, <double*>b, &ldb, &beta, c, &ldc)


cdef void sgemv_cm(char* t, int m, int n, float alpha, const float* a, int lda, const float* x,
                   float beta, float* y) noexcept nogil:
    """y = alpha op(A) x + beta y, column-major (BLAS sgemv)."""
    cdef int one = 1
    cdef int64_t m8 = m, n8 = n, lda8 = lda, one8 = 1
    if sgemv64 != NULL:
        sgemv64(t, &m8, &n8, &alpha, a, &lda8, x, &one8, &beta, y, &one8)
    else:
        sgemv(t, &m, &n, &alpha, <float*>a, &lda, <float*>x, &one, &beta, y, &one)


cdef void dgemv_cm(char* t, int m, int n, double alpha, const double* a, int lda,
                   const double* x, double beta, double* y) noexcept nogil:
    """y = alpha op(A) x + beta y, column-major (BLAS dgemv)."""
    cdef int one = 1
    cdef int64_t m8 = m, n8 = n, lda8 = lda, one8 = 1
    if dgemv64 != NULL:
        dgemv64(t, &m8, &n8, &alpha, a, &lda8, x, &one8, &beta, y, &one8)
    else:
        dgemv(t, &m, &n, &alpha, <double*>a, &lda, <double*>x, &one, &beta, y, &one)
