# The column split of a step (_columns.pyx), called by _network.pyx's loss_and_grad and train_epoch.

from libc.stdint cimport int64_t

from ._math cimport floating
from ._net cimport Net


cdef double column_step(const Net* net, const int64_t* bounds, const floating* X,
                        const floating* Y, const floating* sw, Py_ssize_t B, floating* params,
                        void* A, void* H, void* D, void* scratch, floating* grads, floating lr,
                        bint* fused, int threads) noexcept nogil
