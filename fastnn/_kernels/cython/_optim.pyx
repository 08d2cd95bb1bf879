"""Optimizer updates: one fused in-place loop per rule over a range of entries,
with the arithmetic and order of operations of the reference's ``*_update``
functions (so results are bit for bit the reference's); each state is flushed
to zero below tiny / eps before it is used (the contract in
``fastnn/_kernels/__init__.py``). Nothing is allocated; nothing is checked:
the Python layer validates at the door.
"""
from libc.float cimport DBL_EPSILON, DBL_MIN, FLT_EPSILON, FLT_MIN
from libc.math cimport pow
from libc.stdint cimport int64_t

from ._codes cimport (HP_BETA1, HP_BETA2, HP_EPS, HP_LR, HP_MOMENTUM_DECAY, HP_MU_PRODUCT,
                      HP_TORCH, HP_WEIGHT_DECAY, OPT_ADADELTA, OPT_ADAGRAD, OPT_ADAM,
                      OPT_ADAMAX, OPT_MAXPROP, OPT_MOMENTUM, OPT_NADAM, OPT_NAG, OPT_RMSPROP,
                      OPT_SGD)
from ._math cimport f_abs, f_sqrt, floating


cdef inline floating decayed(floating g, floating w, floating wd) noexcept nogil:
    """g + lambda w (L2 weight decay), or g when lambda = 0."""
    return g + wd * w if wd != 0 else g


cdef inline floating flushed(floating x) noexcept nogil:
    """x, or 0 when |x| is below the flush level tiny / eps (coefficients.flush_level; NaN stays)."""
    cdef floating tiny = FLT_MIN / FLT_EPSILON if floating is float else DBL_MIN / DBL_EPSILON
    return 0 if f_abs(x) < tiny else x


cdef inline floating larger(floating a, floating b) noexcept nogil:
    """max(a, b) (b when they are equal)."""
    return a if a > b else b


cdef inline double c1(const double* hp, long t) noexcept nogil:
    """1 - beta1^t."""
    return 1.0 - pow(hp[HP_BETA1], <double>t)


cdef inline double c2(const double* hp, long t) noexcept nogil:
    """1 - beta2^t."""
    return 1.0 - pow(hp[HP_BETA2], <double>t)


# Every rule below updates n entries with the gradient g_i = s g[i] (s = 1 for
# a gradient buffer; s = dz_j and g = h for row j of an outer product
# dz h^T, so that batch size 1 never stores its gradient); s g[i] is the
# reference's product dz_j h_i, and 1 g[i] is g[i] exactly.

cdef inline void sgd(floating* w, const floating* g, floating s, floating* s1, floating* s2,
                     Py_ssize_t n, const Coef* c) noexcept nogil:
    """w -= eta g."""
    cdef floating lr = <floating>c.lr, wd = <floating>c.wd
    cdef Py_ssize_t i
    for i in range(n):
        w[i] -= lr * decayed(s * g[i], w[i], wd)


cdef inline void momentum(floating* w, const floating* g, floating s, floating* u, floating* s2,
                          Py_ssize_t n, const Coef* c) noexcept nogil:
    """u = beta u + g; w -= eta u."""
    cdef floating lr = <floating>c.lr, wd = <floating>c.wd, beta = <floating>c.b1, ui
    cdef Py_ssize_t i
    for i in range(n):
        ui = flushed(beta * u[i] + decayed(s * g[i], w[i], wd))
        u[i] = ui
        w[i] -= lr * ui


cdef inline void nag(floating* w, const floating* g, floating s, floating* u, floating* s2,
                     Py_ssize_t n, const Coef* c) noexcept nogil:
    """u = beta u + g; w -= eta (beta u + g)."""
    cdef floating lr = <floating>c.lr, wd = <floating>c.wd, beta = <floating>c.b1, gi, ui
    cdef Py_ssize_t i
    for i in range(n):
        gi = decayed(s * g[i], w[i], wd)
        ui = flushed(beta * u[i] + gi)
        u[i] = ui
        w[i] -= lr * (beta * ui + gi)


cdef inline floating root(floating v, floating eps, bint torch) noexcept nogil:
    """sqrt(v + eps) (the notes), or sqrt(v) + eps (PyTorch)."""
    return f_sqrt(v) + eps if torch else f_sqrt(v + eps)


cdef inline void adagrad(floating* w, const floating* g, floating s, floating* v, floating* s2,
                         Py_ssize_t n, const Coef* c) noexcept nogil:
    """v += g^2; w -= eta g / sqrt(v + eps)."""
    cdef floating lr = <floating>c.lr, wd = <floating>c.wd, eps = <floating>c.eps, gi, vi
    cdef Py_ssize_t i
    for i in range(n):
        gi = decayed(s * g[i], w[i], wd)
        vi = flushed(v[i] + gi * gi)
        v[i] = vi
        w[i] -= lr * gi / root(vi, eps, c.torch)


cdef inline void rmsprop(floating* w, const floating* g, floating s, floating* v, floating* s2,
                         Py_ssize_t n, const Coef* c) noexcept nogil:
    """v = beta v + (1-beta) g^2; w -= eta g / sqrt(v + eps)."""
    cdef floating lr = <floating>c.lr, wd = <floating>c.wd, eps = <floating>c.eps
    cdef floating beta = <floating>c.b1, gi, vi
    cdef floating rho = <floating>1 - beta
    cdef Py_ssize_t i
    for i in range(n):
        gi = decayed(s * g[i], w[i], wd)
        vi = flushed(beta * v[i] + rho * (gi * gi))
        v[i] = vi
        w[i] -= lr * gi / root(vi, eps, c.torch)


cdef inline void adadelta(floating* w, const floating* g, floating s, floating* v, floating* u,
                          Py_ssize_t n, const Coef* c) noexcept nogil:
    """v = beta v + (1-beta) g^2; d = -sqrt(u + eps) / sqrt(v + eps) g; w += eta d;
    u = beta u + (1-beta) d^2."""
    cdef floating lr = <floating>c.lr, wd = <floating>c.wd, eps = <floating>c.eps
    cdef floating beta = <floating>c.b1, gi, vi, d
    cdef floating rho = <floating>1 - beta
    cdef Py_ssize_t i
    for i in range(n):
        gi = decayed(s * g[i], w[i], wd)
        vi = flushed(beta * v[i] + rho * (gi * gi))
        v[i] = vi
        d = -f_sqrt(u[i] + eps) / f_sqrt(vi + eps) * gi
        w[i] += lr * d
        u[i] = flushed(beta * u[i] + rho * (d * d))


cdef inline void adam(floating* w, const floating* g, floating s, floating* m, floating* v,
                      Py_ssize_t n, const Coef* c) noexcept nogil:
    """m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2 (both flushed);
    w -= eta m_hat / (sqrt(v_hat) + eps) = (eta / c1) m / (sqrt(v (1 / c2)) + eps)."""
    cdef floating b1 = <floating>c.b1, b2 = <floating>c.b2, eps = <floating>c.eps
    cdef floating wd = <floating>c.wd, step = <floating>c.step, inv_c2 = <floating>c.inv_c2
    cdef floating ob1 = <floating>1 - b1, ob2 = <floating>1 - b2, gi, mi, vi
    cdef Py_ssize_t i
    for i in range(n):
        gi = decayed(s * g[i], w[i], wd)
        mi = flushed(b1 * m[i] + ob1 * gi)
        vi = flushed(b2 * v[i] + ob2 * (gi * gi))
        m[i], v[i] = mi, vi
        w[i] -= step * mi / (f_sqrt(vi * inv_c2) + eps)


cdef inline void nadam(floating* w, const floating* g, floating s, floating* m, floating* v,
                       Py_ssize_t n, const Coef* c) noexcept nogil:
    """m, v as Adam; w -= (cg g + cm m) / (sqrt(v_hat) + eps) (see reference.nadam_update)."""
    cdef floating b1 = <floating>c.b1, b2 = <floating>c.b2, eps = <floating>c.eps
    cdef floating wd = <floating>c.wd, inv_c2 = <floating>c.inv_c2
    cdef floating cg = <floating>c.cg, cm = <floating>c.cm
    cdef floating ob1 = <floating>1 - b1, ob2 = <floating>1 - b2, gi, mi, vi
    cdef Py_ssize_t i
    for i in range(n):
        gi = decayed(s * g[i], w[i], wd)
        mi = flushed(b1 * m[i] + ob1 * gi)
        vi = flushed(b2 * v[i] + ob2 * (gi * gi))
        m[i], v[i] = mi, vi
        w[i] -= (cg * gi + cm * mi) / (f_sqrt(vi * inv_c2) + eps)


cdef inline void adamax(floating* w, const floating* g, floating s, floating* m, floating* u,
                        Py_ssize_t n, const Coef* c) noexcept nogil:
    """m as Adam; u = max(b2 u, |g|); w -= eta m_hat / (u + eps)
    (PyTorch: u = max(b2 u, |g| + eps); w -= eta m_hat / u); eta m_hat = (eta / c1) m.
    One loop per variant, so that each vectorises."""
    cdef floating b1 = <floating>c.b1, b2 = <floating>c.b2, eps = <floating>c.eps
    cdef floating wd = <floating>c.wd, step = <floating>c.step, ob1 = <floating>1 - b1
    cdef floating gi, mi, ui
    cdef Py_ssize_t i
    if c.torch:
        for i in range(n):
            gi = decayed(s * g[i], w[i], wd)
            mi = flushed(b1 * m[i] + ob1 * gi)
            ui = flushed(larger(b2 * u[i], f_abs(gi) + eps))
            m[i], u[i] = mi, ui
            w[i] -= step * mi / ui
    else:
        for i in range(n):
            gi = decayed(s * g[i], w[i], wd)
            mi = flushed(b1 * m[i] + ob1 * gi)
            ui = flushed(larger(b2 * u[i], f_abs(gi)))
            m[i], u[i] = mi, ui
            w[i] -= step * mi / (ui + eps)


cdef inline void maxprop(floating* w, const floating* g, floating s, floating* u, floating* s2,
                         Py_ssize_t n, const Coef* c) noexcept nogil:
    """u = max(beta u, |g|); w -= eta g / (u + eps)."""
    cdef floating lr = <floating>c.lr, wd = <floating>c.wd, eps = <floating>c.eps
    cdef floating beta = <floating>c.b1, gi, ui
    cdef Py_ssize_t i
    for i in range(n):
        gi = decayed(s * g[i], w[i], wd)
        ui = flushed(larger(beta * u[i], f_abs(gi)))
        u[i] = ui
        w[i] -= lr * gi / (ui + eps)


cdef void nadam_coefficients(double* hp, long t, Coef* c) noexcept nogil:
    """coefficients.nadam_coefficients in C: c.cg and c.cm (PyTorch's variant
    advances hp[HP_MU_PRODUCT])."""
    cdef double lr = hp[HP_LR], b1 = hp[HP_BETA1], psi = hp[HP_MOMENTUM_DECAY]
    cdef double mu, mu_next, prod
    if hp[HP_TORCH] == 0:
        c.cg, c.cm = lr * (1.0 - b1) / c1(hp, t), lr * b1 / c1(hp, t)
        return
    mu = b1 * (1.0 - 0.5 * pow(0.96, t * psi))
    mu_next = b1 * (1.0 - 0.5 * pow(0.96, (t + 1) * psi))
    hp[HP_MU_PRODUCT] *= mu
    prod = hp[HP_MU_PRODUCT]
    c.cg = lr * (1.0 - mu) / (1.0 - prod)
    c.cm = lr * mu_next / (1.0 - prod * mu_next)


cdef bint cy_coefficients(Opt opt, Coef* c) noexcept nogil:
    """The coefficients of step t = opt.t + 1 from opt.hp (in float64, cast
    where they meet elements); advances opt.t (and NAdam's hp[HP_MU_PRODUCT]).
    False, with nothing changed, for an unknown code."""
    cdef double* hp = opt.hp
    cdef long t = opt.t[0] + 1
    if opt.code < OPT_SGD or opt.code > OPT_NADAM:
        return False
    c.code, c.lr, c.wd, c.eps = opt.code, hp[HP_LR], hp[HP_WEIGHT_DECAY], hp[HP_EPS]
    c.b1, c.b2, c.torch = hp[HP_BETA1], hp[HP_BETA2], hp[HP_TORCH] != 0
    c.step, c.inv_c2 = hp[HP_LR] / c1(hp, t), 1.0 / c2(hp, t)
    if opt.code == OPT_NADAM:
        nadam_coefficients(hp, t, c)
    opt.t[0] = t
    return True


cdef inline void rule(const Coef* c, floating* w, const floating* g, floating s, floating* s1,
                      floating* s2, Py_ssize_t n) noexcept nogil:
    """Rule c.code on n entries with gradient s g (see above) and states s1, s2."""
    if c.code == OPT_SGD:
        sgd(w, g, s, s1, s2, n, c)
    elif c.code == OPT_MOMENTUM:
        momentum(w, g, s, s1, s2, n, c)
    elif c.code == OPT_NAG:
        nag(w, g, s, s1, s2, n, c)
    elif c.code == OPT_ADAGRAD:
        adagrad(w, g, s, s1, s2, n, c)
    elif c.code == OPT_RMSPROP:
        rmsprop(w, g, s, s1, s2, n, c)
    elif c.code == OPT_ADADELTA:
        adadelta(w, g, s, s1, s2, n, c)
    elif c.code == OPT_ADAM:
        adam(w, g, s, s1, s2, n, c)
    elif c.code == OPT_ADAMAX:
        adamax(w, g, s, s1, s2, n, c)
    elif c.code == OPT_MAXPROP:
        maxprop(w, g, s, s1, s2, n, c)
    elif c.code == OPT_NADAM:
        nadam(w, g, s, s1, s2, n, c)


cdef void cy_update(const Coef* c, floating* w, const floating* g, floating s, floating* s1,
                    floating* s2, Py_ssize_t n) noexcept nogil:
    """rule(c, w, g, s, s1, s2, n), compiled apart for s = 1 (a gradient
    buffer), where the product 1 g[i] is g[i] and leaves the loop."""
    if s == 1:
        rule(c, w, g, <floating>1, s1, s2, n)
    else:
        rule(c, w, g, s, s1, s2, n)


cdef void cy_optimizer_step(Opt opt, floating* w, const floating* g,
                            Py_ssize_t n) noexcept nogil:
    """Step t = opt.t + 1 of rule opt.code; advances opt.t. An unknown code
    changes nothing."""
    cdef Coef c
    if cy_coefficients(opt, &c):
        cy_update(&c, w, g, <floating>1, <floating*>opt.s1, <floating*>opt.s2, n)


cdef floating* first(floating[::1] a) noexcept:
    """&a[0], or NULL for an empty buffer (an unused state)."""
    return &a[0] if a.shape[0] > 0 else NULL


cdef Opt state_struct(opt, floating* like):
    """The C view of a values.OptimizerState whose buffers have like's dtype."""
    cdef Opt c
    cdef floating[::1] s1 = opt.s1.reshape(-1)
    cdef floating[::1] s2 = opt.s2.reshape(-1)
    cdef double[::1] hp = opt.hp
    cdef int64_t[::1] t = opt.t
    c.code, c.s1, c.s2, c.hp, c.t = opt.code, first(s1), first(s2), &hp[0], &t[0]
    return c


def optimizer_step(opt, w, g):
    """Step t = opt.t + 1 of the optimizer state ``opt`` on ``w`` with gradient
    ``g`` (see reference.optimizer_step); advances opt.t."""
    _step(opt, w.reshape(-1), g.reshape(-1))


def _step(opt, floating[::1] w, const floating[::1] g):
    cdef Opt c = state_struct(opt, &w[0])
    with nogil:
        cy_optimizer_step(c, &w[0], &g[0], w.shape[0])


def _rule(int code, floating[::1] w, const floating[::1] g, floating[::1] s1, floating[::1] s2,
          double[::1] hp, int64_t t):
    """Rule ``code`` at step t on flat buffers (what the ``*_update`` names call)."""
    cdef int64_t taken = t - 1
    cdef Opt c
    c.code, c.s1, c.s2, c.hp, c.t = code, first(s1), first(s2), &hp[0], &taken
    with nogil:
        cy_optimizer_step(c, &w[0], &g[0], w.shape[0])


def sgd_update(w, g, s1, s2, hp, t):
    """w -= eta g (see reference.sgd_update)."""
    _rule(OPT_SGD, w.reshape(-1), g.reshape(-1), s1.reshape(-1), s2.reshape(-1), hp, t)


def momentum_update(w, g, s1, s2, hp, t):
    """u = beta u + g; w -= eta u (see reference.momentum_update)."""
    _rule(OPT_MOMENTUM, w.reshape(-1), g.reshape(-1), s1.reshape(-1), s2.reshape(-1), hp, t)


def nag_update(w, g, s1, s2, hp, t):
    """u = beta u + g; w -= eta (beta u + g) (see reference.nag_update)."""
    _rule(OPT_NAG, w.reshape(-1), g.reshape(-1), s1.reshape(-1), s2.reshape(-1), hp, t)


def adagrad_update(w, g, s1, s2, hp, t):
    """v += g^2; w -= eta g / sqrt(v + eps) (see reference.adagrad_update)."""
    _rule(OPT_ADAGRAD, w.reshape(-1), g.reshape(-1), s1.reshape(-1), s2.reshape(-1), hp, t)


def rmsprop_update(w, g, s1, s2, hp, t):
    """v = beta v + (1-beta) g^2; w -= eta g / sqrt(v + eps) (see reference.rmsprop_update)."""
    _rule(OPT_RMSPROP, w.reshape(-1), g.reshape(-1), s1.reshape(-1), s2.reshape(-1), hp, t)


def adadelta_update(w, g, s1, s2, hp, t):
    """v = beta v + (1-beta) g^2; d = -sqrt(u + eps) / sqrt(v + eps) g; w += eta d;
    u = beta u + (1-beta) d^2 (see reference.adadelta_update)."""
    _rule(OPT_ADADELTA, w.reshape(-1), g.reshape(-1), s1.reshape(-1), s2.reshape(-1), hp, t)


def adam_update(w, g, s1, s2, hp, t):
    """w -= eta m_hat / (sqrt(v_hat) + eps) (see reference.adam_update)."""
    _rule(OPT_ADAM, w.reshape(-1), g.reshape(-1), s1.reshape(-1), s2.reshape(-1), hp, t)


def adamax_update(w, g, s1, s2, hp, t):
    """w -= eta m_hat / (u + eps), u = max(b2 u, |g|) (see reference.adamax_update)."""
    _rule(OPT_ADAMAX, w.reshape(-1), g.reshape(-1), s1.reshape(-1), s2.reshape(-1), hp, t)


def maxprop_update(w, g, s1, s2, hp, t):
    """u = max(beta u, |g|); w -= eta g / (u + eps) (see reference.maxprop_update)."""
    _rule(OPT_MAXPROP, w.reshape(-1), g.reshape(-1), s1.reshape(-1), s2.reshape(-1), hp, t)


def nadam_update(w, g, s1, s2, hp, t):
    """w -= (cg g + cm m) / (sqrt(v_hat) + eps) (see reference.nadam_update)."""
    _rule(OPT_NADAM, w.reshape(-1), g.reshape(-1), s1.reshape(-1), s2.reshape(-1), hp, t)
