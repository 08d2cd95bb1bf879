# The branch-free float32 exp, tanh and logistic function of _vmath.h (see
# its accuracy note); inline C, so loops that call them vectorise.

cdef extern from "_vmath.h" nogil:
    float fn_expf(float x)
    float fn_tanhf(float x)
    float fn_sigmoidf(float x)
