"""Optimizer updates: one fused in-place loop per optimizer over a flat buffer.

``cy_optimizer_step`` turns ``hp`` and the step count into per-step
coefficients (computed in double, then cast to the array dtype, as in
reference.optimizer_step), then runs the one loop of the chosen rule; the
rules, their equations and their PyTorch variants are documented in
reference.optimizer_step. With weight decay lambda every loop reads
g + lambda w in place of g. Nothing is allocated.

The Adam family folds its bias corrections into per-step scalars,
eta m_hat = (eta / c1) m and v_hat = v (1 / c2): one division and one square
root per element instead of three of them (divisions bound these loops); the
result differs from the reference only by rounding.
"""
from libc.math cimport pow

from ._codes cimport (HP_BETA1, HP_BETA2, HP_EPS, HP_LR, HP_MOMENTUM_DECAY, HP_MU_PRODUCT,
                      HP_TORCH, HP_WEIGHT_DECAY, OPT_ADADELTA, OPT_ADAGRAD, OPT_ADAM,
                      OPT_ADAMAX, OPT_MAXPROP, OPT_MOMENTUM, OPT_NADAM, OPT_NAG, OPT_RMSPROP,
                      OPT_SGD)
from ._math cimport f_abs, f_sqrt, floating

from ._layers import flat_view


cdef inline floating decayed(floating g, floating w, floating wd) noexcept nogil:
    """g + lambda w (L2 weight decay), or g itself when lambda = 0."""
    return g + wd * w if wd != 0 else g


cdef inline floating larger(floating a, floating b) noexcept nogil:
    return a if a > b else b


cdef inline floating root(floating v, floating eps, bint torch) noexcept nogil:
    """sqrt(v + eps) (the notes), or sqrt(v) + eps (PyTorch)."""
    return f_sqrt(v) + eps if torch else f_sqrt(v + eps)


cdef void sgd(floating* w, const floating* g, Py_ssize_t n, floating lr,
              floating wd) noexcept nogil:
    """w -= eta g."""
    cdef Py_ssize_t i
    for i in range(n):
        w[i] -= lr * decayed(g[i], w[i], wd)


cdef void momentum(floating* w, const floating* g, floating* u, Py_ssize_t n, floating lr,
                   floating beta, floating wd, bint nesterov) noexcept nogil:
    """u = beta u + g; w -= eta u, or w -= eta (beta u + g) for NAG."""
    cdef Py_ssize_t i
    cdef floating gi
    for i in range(n):
        gi = decayed(g[i], w[i], wd)
        u[i] = beta * u[i] + gi
        w[i] -= lr * (beta * u[i] + gi) if nesterov else lr * u[i]


cdef void adagrad_rmsprop(floating* w, const floating* g, floating* v, Py_ssize_t n,
                          floating lr, floating keep, floating add, floating eps, floating wd,
                          bint torch) noexcept nogil:
    """v = keep v + add g^2 (AdaGrad: keep = add = 1; RMSprop: beta, 1 - beta);
    w -= eta g / root(v)."""
    cdef Py_ssize_t i
    cdef floating gi
    for i in range(n):
        gi = decayed(g[i], w[i], wd)
        v[i] = keep * v[i] + add * (gi * gi)
        w[i] -= lr * gi / root(v[i], eps, torch)


cdef void adadelta(floating* w, const floating* g, floating* v, floating* u, Py_ssize_t n,
                   floating lr, floating beta, floating eps, floating wd) noexcept nogil:
    """v = beta v + (1-beta) g^2; d = -sqrt(u + eps) / sqrt(v + eps) g; w += eta d;
    u = beta u + (1-beta) d^2."""
    cdef Py_ssize_t i
    cdef floating gi, d
    for i in range(n):
        gi = decayed(g[i], w[i], wd)
        v[i] = beta * v[i] + (<floating>1 - beta) * (gi * gi)
        d = -f_sqrt(u[i] + eps) / f_sqrt(v[i] + eps) * gi
        w[i] += lr * d
        u[i] = beta * u[i] + (<floating>1 - beta) * (d * d)


cdef inline floating adam_moments(floating* m, floating* v, floating g, floating b1,
                                  floating b2, floating rc2, floating eps) noexcept nogil:
    """m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; returns sqrt(v_hat) + eps
    with v_hat = v rc2, rc2 = 1 / (1 - b2^t)."""
    m[0] = b1 * m[0] + (<floating>1 - b1) * g
    v[0] = b2 * v[0] + (<floating>1 - b2) * (g * g)
    return f_sqrt(v[0] * rc2) + eps


cdef void adam(floating* w, const floating* g, floating* m, floating* v, Py_ssize_t n,
               floating step, floating b1, floating b2, floating rc2, floating eps,
               floating wd) noexcept nogil:
    """w -= eta m_hat / (sqrt(v_hat) + eps), eta m_hat = step m, step = eta / c1."""
    cdef Py_ssize_t i
    cdef floating denom
    for i in range(n):
        denom = adam_moments(&m[i], &v[i], decayed(g[i], w[i], wd), b1, b2, rc2, eps)
        w[i] -= step * m[i] / denom


cdef void nadam(floating* w, const floating* g, floating* m, floating* v, Py_ssize_t n,
                floating step, floating b1, floating b2, floating rc2, floating eps,
                floating wd) noexcept nogil:
    """w -= eta (b1 m_hat + (1-b1) g / c1) / (sqrt(v_hat) + eps)
         = step (b1 m + (1-b1) g) / (sqrt(v_hat) + eps), step = eta / c1."""
    cdef Py_ssize_t i
    cdef floating gi, denom
    for i in range(n):
        gi = decayed(g[i], w[i], wd)
        denom = adam_moments(&m[i], &v[i], gi, b1, b2, rc2, eps)
        w[i] -= step * (b1 * m[i] + (<floating>1 - b1) * gi) / denom


cdef void nadam_torch(floating* w, const floating* g, floating* m, floating* v, Py_ssize_t n,
                      floating lr, floating b1, floating b2, floating cg, floating cm,
                      floating rc2, floating eps, floating wd) noexcept nogil:
    """w -= eta (cg g + cm m) / (sqrt(v_hat) + eps), cg = (1-mu_t)/(1-prod_t),
    cm = mu_{t+1}/(1-prod_t mu_{t+1})."""
    cdef Py_ssize_t i
    cdef floating gi, denom
    for i in range(n):
        gi = decayed(g[i], w[i], wd)
        denom = adam_moments(&m[i], &v[i], gi, b1, b2, rc2, eps)
        w[i] -= lr * (cg * gi + cm * m[i]) / denom


cdef void adamax(floating* w, const floating* g, floating* m, floating* v, Py_ssize_t n,
                 floating step, floating b1, floating b2, floating eps, floating wd,
                 bint torch) noexcept nogil:
    """m as Adam; v = max(b2 v, |g|), w -= eta m_hat / (v + eps); PyTorch:
    v = max(b2 v, |g| + eps), w -= eta m_hat / v; eta m_hat = step m."""
    cdef Py_ssize_t i
    cdef floating gi
    for i in range(n):
        gi = decayed(g[i], w[i], wd)
        m[i] = b1 * m[i] + (<floating>1 - b1) * gi
        if torch:
            v[i] = larger(b2 * v[i], f_abs(gi) + eps)
            w[i] -= step * m[i] / v[i]
        else:
            v[i] = larger(b2 * v[i], f_abs(gi))
            w[i] -= step * m[i] / (v[i] + eps)


cdef void maxprop(floating* w, const floating* g, floating* v, Py_ssize_t n, floating lr,
                  floating beta, floating eps, floating wd) noexcept nogil:
    """v = max(beta v, |g|); w -= eta g / (v + eps)."""
    cdef Py_ssize_t i
    cdef floating gi
    for i in range(n):
        gi = decayed(g[i], w[i], wd)
        v[i] = larger(beta * v[i], f_abs(gi))
        w[i] -= lr * gi / (v[i] + eps)


cdef void cy_optimizer_step(int opt, floating* w, const floating* g, floating* s1, floating* s2,
                            Py_ssize_t n, double* hp, long t) noexcept nogil:
    """One update of optimizer ``opt`` at step t (t = 1, 2, ...); NAdam in
    PyTorch mode also advances hp[HP_MU_PRODUCT]."""
    cdef floating lr = <floating>hp[HP_LR], eps = <floating>hp[HP_EPS]
    cdef floating wd = <floating>hp[HP_WEIGHT_DECAY]
    cdef floating b1 = <floating>hp[HP_BETA1], b2 = <floating>hp[HP_BETA2]
    cdef bint torch = hp[HP_TORCH] != 0
    cdef double c1 = 1.0 - pow(hp[HP_BETA1], t), c2 = 1.0 - pow(hp[HP_BETA2], t)
    cdef floating step = <floating>(hp[HP_LR] / c1), rc2 = <floating>(1.0 / c2)
    cdef double mu, mu_next, prod
    if opt == OPT_SGD:
        sgd(w, g, n, lr, wd)
    elif opt == OPT_MOMENTUM or opt == OPT_NAG:
        momentum(w, g, s1, n, lr, b1, wd, opt == OPT_NAG)
    elif opt == OPT_ADAGRAD:
        adagrad_rmsprop(w, g, s1, n, lr, 1, 1, eps, wd, torch)
    elif opt == OPT_RMSPROP:
        adagrad_rmsprop(w, g, s1, n, lr, b1, <floating>1 - b1, eps, wd, torch)
    elif opt == OPT_ADADELTA:
        adadelta(w, g, s1, s2, n, lr, b1, eps, wd)
    elif opt == OPT_ADAM:
        adam(w, g, s1, s2, n, step, b1, b2, rc2, eps, wd)
    elif opt == OPT_NADAM and not torch:
        nadam(w, g, s1, s2, n, step, b1, b2, rc2, eps, wd)
    elif opt == OPT_NADAM:
        mu = hp[HP_BETA1] * (1.0 - 0.5 * pow(0.96, t * hp[HP_MOMENTUM_DECAY]))
        mu_next = hp[HP_BETA1] * (1.0 - 0.5 * pow(0.96, (t + 1) * hp[HP_MOMENTUM_DECAY]))
        hp[HP_MU_PRODUCT] *= mu
        prod = hp[HP_MU_PRODUCT]
        nadam_torch(w, g, s1, s2, n, lr, b1, b2, <floating>((1.0 - mu) / (1.0 - prod)),
                    <floating>(mu_next / (1.0 - prod * mu_next)), rc2, eps, wd)
    elif opt == OPT_ADAMAX:
        adamax(w, g, s1, s2, n, step, b1, b2, eps, wd, torch)
    elif opt == OPT_MAXPROP:
        maxprop(w, g, s1, n, lr, b1, eps, wd)


def optimizer_step(int opt, w, g, s1, s2, double[::1] hp, long t):
    """One in-place update of ``w`` (see reference.optimizer_step for the rules)."""
    check_optimizer(opt)
    _optimizer_step(opt, flat_view(w, "w"), g.reshape(-1), flat_view(s1, "s1"),
                    flat_view(s2, "s2"), hp, t)


def _optimizer_step(int opt, floating[::1] w, const floating[::1] g, floating[::1] s1,
                    floating[::1] s2, double[::1] hp, long t):
    with nogil:
        cy_optimizer_step(opt, &w[0], &g[0], &s1[0], &s2[0], w.shape[0], &hp[0], t)



def check_optimizer(opt):
    """ValueError for a code that names no optimizer (as the reference raises)."""
    if not OPT_SGD <= opt <= OPT_NADAM:
        raise ValueError(f"unknown optimizer code {opt}")
