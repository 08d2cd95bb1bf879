# Helpers shared by every Cython kernel (all inline, all nogil): the fused
# float type, libm for double and _vmath.h's vectorisable functions for float
# (exp <= 1 ulp, tanh and sigmoid <= 2 ulp from libm), the numerically delicate functions (stable
# sigmoid, log1pexp, the max-subtracted exponentials of softmax) and the
# elementwise activations g(a). Only these take exp or log of a logit.

from libc.math cimport exp, fabs, fabsf, log1p, sqrt, sqrtf, tanh

from ._vmath cimport fn_expf, fn_sigmoidf, fn_tanhf

ctypedef fused floating:
    float
    double


cdef inline floating f_exp(floating x) noexcept nogil:
    if floating is float:
        return fn_expf(x)
    else:
        return exp(x)


cdef inline floating f_abs(floating x) noexcept nogil:
    if floating is float:
        return fabsf(x)
    else:
        return fabs(x)


cdef inline floating f_sqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline floating f_tanh(floating x) noexcept nogil:
    if floating is float:
        return fn_tanhf(x)
    else:
        return tanh(x)


cdef inline floating sigmoid(floating z) noexcept nogil:
    """sigma(z) = 1 / (1 + e^{-z}), as e^{z} / (1 + e^{z}) for z < 0:
    e = e^{-|z|} <= 1, so exp never overflows on either side."""
    if floating is float:
        return fn_sigmoidf(z)
    cdef floating e = f_exp(-f_abs(z))
    if z >= 0:
        return <floating>1 / (1 + e)
    return e / (<floating>1 + e)


cdef inline double log1pexp(double x) noexcept nogil:
    """softplus(x) = log(1 + e^x) to double precision, never overflowing."""
    if x <= -37:
        # e^x < 8.6e-17: log1p(e^x) = e^x - e^{2x}/2 equals e^x to double precision.
        return exp(x)
    if x <= 18:
        # e^x <= 6.6e7 is finite and log1p keeps full accuracy for small e^x.
        return log1p(exp(x))
    if x <= 33.3:
        # log(1 + e^x) = x + log1p(e^{-x}), and log1p(e^{-x}) = e^{-x} to
        # double precision once e^{-x} < 1.6e-8; this avoids e^x overflowing.
        return x + exp(-x)
    # e^{-x} < 3.4e-15 is below half an ulp of x >= 33.3: the sum rounds to x.
    return x


cdef inline double shifted_exp(const floating* z, floating* e, Py_ssize_t k,
                               floating* m) noexcept nogil:
    """e_j = e^{a_j - m} with m = max_j a_j, so no exponential overflows;
    returns sum_j e_j accumulated in double and stores m."""
    cdef Py_ssize_t j
    cdef double s = 0
    m[0] = z[0]
    for j in range(1, k):
        if z[j] > m[0]:
            m[0] = z[j]
    for j in range(k):
        e[j] = f_exp(z[j] - m[0])
    for j in range(k):
        s += e[j]
    return s


cdef inline floating relu(floating z) noexcept nogil:
    """max(0, a); a NaN gives 0 like the reference's where(a > 0, a, 0)."""
    return z if z > 0 else 0


cdef inline floating leaky_relu(floating z, floating alpha) noexcept nogil:
    """a if a > 0 else alpha a."""
    return z if z > 0 else alpha * z


cdef inline floating step(floating z) noexcept nogil:
    """The threshold unit: 1 if a >= 0 else 0."""
    return 1 if z >= 0 else 0
