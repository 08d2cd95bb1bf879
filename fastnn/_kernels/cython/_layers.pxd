# Pointer-level layer kernels shared with _network.pyx and _sparse.pyx (row-major, batch-major).

from ._math cimport floating

cdef void cy_activation_forward(const floating* Z, floating* H, Py_ssize_t n, int act,
                                floating alpha) noexcept nogil
cdef void cy_activation_backward(const floating* Z, const floating* H, const floating* dH,
                                 floating* dZ, Py_ssize_t n, int act,
                                 floating alpha) noexcept nogil
cdef void cy_dense_forward(const floating* X, const floating* W, const floating* b,
                           Py_ssize_t B, Py_ssize_t n_in, Py_ssize_t n_out, int act,
                           floating alpha, floating* Z, floating* H) noexcept nogil
cdef void bias_activation(const floating* b, Py_ssize_t B, Py_ssize_t n, int act,
                          floating alpha, floating* Z, floating* H) noexcept nogil
cdef void cy_dense_backward(const floating* X, const floating* W, const floating* Z,
                            const floating* H, const floating* dH, Py_ssize_t B,
                            Py_ssize_t n_in, Py_ssize_t n_out, int act, floating alpha,
                            floating* dZ, floating* dW, floating* db,
                            floating* dX) noexcept nogil
cdef void cy_layer_delta(const floating* Z, const floating* H, const floating* dH, Py_ssize_t B,
                         Py_ssize_t n_out, int act, floating alpha, floating* dZ,
                         floating* db) noexcept nogil
cdef void cy_input_grad(const floating* dZ, const floating* W, Py_ssize_t B, Py_ssize_t n_in,
                        Py_ssize_t n_out, floating* dX) noexcept nogil
cdef double cy_loss_grad(int loss, const floating* Z, const floating* Y, const floating* w,
                         floating* dZ, Py_ssize_t B, Py_ssize_t k) noexcept nogil
