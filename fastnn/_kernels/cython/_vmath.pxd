# The branch-free float32 exp, tanh and logistic function of _vmath.h (see
# its accuracy note); inline C, so loops that call them vectorise.

cdef extern from "_vmath.h" nogil:
    float fn_expf(float x)
    float fn_tanhf(float x)
    float fn_sigmoidf(float x)

    # Small dense products in float32 (widths up to FN_SMALL_WIDTH)
    enum: FN_SMALL_WIDTH
    enum: FN_CHUNK
    void fn_padded_copy(const float* A, Py_ssize_t m, Py_ssize_t n, bint transposed, float* P)
    void fn_small_product(const float* U, const float* V, Py_ssize_t B, Py_ssize_t m,
                          Py_ssize_t n, float* Out)
    void fn_small_gram(const float* P, const float* Q, Py_ssize_t B, Py_ssize_t p,
                       Py_ssize_t q, float* R)
