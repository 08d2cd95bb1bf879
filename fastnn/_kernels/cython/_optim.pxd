# The optimizer state as a C struct (filled from values.OptimizerState by
# state_struct), one step's coefficients, the dispatcher and the rules on a
# range of entries, shared with _network.pyx and _stochastic.pyx.

from libc.stdint cimport int64_t

from ._math cimport floating


cdef struct Opt:
    int code
    void* s1        # floating*, the parameters' dtype
    void* s2
    double* hp
    int64_t* t


cdef struct Coef:   # one step's coefficients in float64 (cast where they meet elements)
    int code
    double lr, wd, eps, b1, b2
    double step     # eta / c1 (Adam, AdaMax)
    double inv_c2   # 1 / c2 (Adam, NAdam)
    double cg, cm   # NAdam's coefficients of g and m
    bint torch


cdef Opt state_struct(opt, floating* like)
cdef bint cy_coefficients(Opt opt, Coef* c) noexcept nogil
cdef void cy_update(const Coef* c, floating* w, const floating* g, floating s, floating* s1,
                    floating* s2, Py_ssize_t n) noexcept nogil
cdef void cy_optimizer_step(Opt opt, floating* w, const floating* g,
                            Py_ssize_t n) noexcept nogil
