# The optimizer state as a C struct (filled from values.OptimizerState by
# state_struct) and the dispatcher, shared with _network.pyx's train_epoch.

from libc.stdint cimport int64_t

from ._math cimport floating


cdef struct Opt:
    int code
    void* s1        # floating*, the parameters' dtype
    void* s2
    double* hp
    int64_t* t


cdef Opt state_struct(opt, floating* like)
cdef void cy_optimizer_step(Opt opt, floating* w, const floating* g,
                            Py_ssize_t n) noexcept nogil
