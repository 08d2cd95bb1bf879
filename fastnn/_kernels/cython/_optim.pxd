# The fused optimizer update, shared with _network.pyx's train_epoch.

from ._math cimport floating

cdef void cy_optimizer_step(int opt, floating* w, const floating* g, floating* s1, floating* s2,
                            Py_ssize_t n, double* hp, long t) noexcept nogil
