"""Optimizers: one fused in-place loop per rule over a flat buffer, with the
names, arithmetic and order of operations of the reference's ``*_update``
functions (so results are bit for bit the reference's), each state flushed to
zero below coefficients.flush_level before it is used (the contract)."""
import numpy as np

from ..codes import (
    HP_BETA1, HP_BETA2, HP_EPS, HP_LR, HP_TORCH,
    HP_WEIGHT_DECAY, OPT_ADADELTA, OPT_ADAGRAD, OPT_ADAM, OPT_ADAMAX, OPT_MAXPROP,
    OPT_MOMENTUM, OPT_NADAM, OPT_NAG, OPT_RMSPROP, OPT_SGD,
)
from ..coefficients import bias_corrections, flush_level, nadam_coefficients
from ._jit import kernel, scalar


@kernel
def flushed(x, tiny):
    """x, or 0 when |x| < tiny (coefficients.flush_level; NaN stays)."""
    return scalar(0, x) if abs(x) < tiny else x


@kernel
def decayed(g, w, wd):
    """g + lambda w (L2 weight decay), or g when lambda = 0."""
    return g + wd * w if wd != 0 else g


@kernel
def sgd_update(w, g, s1, s2, hp, t):
    """w -= eta g."""
    lr, wd = scalar(hp[HP_LR], w), scalar(hp[HP_WEIGHT_DECAY], w)
    for i in range(w.size):
        w[i] -= lr * decayed(g[i], w[i], wd)


@kernel
def momentum_update(w, g, u, s2, hp, t):
    """u = beta u + g; w -= eta u."""
    lr, beta, wd = scalar(hp[HP_LR], w), scalar(hp[HP_BETA1], w), scalar(hp[HP_WEIGHT_DECAY], w)
    tiny = flush_level(w)
    for i in range(w.size):
        u[i] = flushed(beta * u[i] + decayed(g[i], w[i], wd), tiny)
        w[i] -= lr * u[i]


@kernel
def nag_update(w, g, u, s2, hp, t):
    """u = beta u + g; w -= eta (beta u + g)."""
    lr, beta, wd = scalar(hp[HP_LR], w), scalar(hp[HP_BETA1], w), scalar(hp[HP_WEIGHT_DECAY], w)
    tiny = flush_level(w)
    for i in range(w.size):
        gi = decayed(g[i], w[i], wd)
        u[i] = flushed(beta * u[i] + gi, tiny)
        w[i] -= lr * (beta * u[i] + gi)


@kernel
def adagrad_update(w, g, v, s2, hp, t):
    """v += g^2; w -= eta g / sqrt(v + eps)."""
    lr, eps, wd = scalar(hp[HP_LR], w), scalar(hp[HP_EPS], w), scalar(hp[HP_WEIGHT_DECAY], w)
    tiny, torch = flush_level(w), hp[HP_TORCH] != 0
    for i in range(w.size):
        gi = decayed(g[i], w[i], wd)
        v[i] = flushed(v[i] + gi * gi, tiny)
        w[i] -= lr * gi / (np.sqrt(v[i]) + eps if torch else np.sqrt(v[i] + eps))


@kernel
def rmsprop_update(w, g, v, s2, hp, t):
    """v = beta v + (1-beta) g^2; w -= eta g / sqrt(v + eps)."""
    lr, eps, wd = scalar(hp[HP_LR], w), scalar(hp[HP_EPS], w), scalar(hp[HP_WEIGHT_DECAY], w)
    beta = scalar(hp[HP_BETA1], w)
    tiny, torch, rho = flush_level(w), hp[HP_TORCH] != 0, scalar(1, w) - beta
    for i in range(w.size):
        gi = decayed(g[i], w[i], wd)
        v[i] = flushed(beta * v[i] + rho * (gi * gi), tiny)
        w[i] -= lr * gi / (np.sqrt(v[i]) + eps if torch else np.sqrt(v[i] + eps))


@kernel
def adadelta_update(w, g, v, u, hp, t):
    """v = beta v + (1-beta) g^2; d = -sqrt(u + eps) / sqrt(v + eps) g; w += eta d;
    u = beta u + (1-beta) d^2."""
    lr, eps, wd = scalar(hp[HP_LR], w), scalar(hp[HP_EPS], w), scalar(hp[HP_WEIGHT_DECAY], w)
    beta = scalar(hp[HP_BETA1], w)
    tiny, rho = flush_level(w), scalar(1, w) - beta
    for i in range(w.size):
        gi = decayed(g[i], w[i], wd)
        v[i] = flushed(beta * v[i] + rho * (gi * gi), tiny)
        d = -np.sqrt(u[i] + eps) / np.sqrt(v[i] + eps) * gi
        w[i] += lr * d
        u[i] = flushed(beta * u[i] + rho * (d * d), tiny)


@kernel
def moments_update(w, g, m, v, hp, t, cg, cm):
    """m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    w -= (cg g + cm m) / (sqrt(v (1 / c2)) + eps), or cm m / (...) when cg is None."""
    b1, b2 = scalar(hp[HP_BETA1], w), scalar(hp[HP_BETA2], w)
    eps, wd = scalar(hp[HP_EPS], w), scalar(hp[HP_WEIGHT_DECAY], w)
    inv_c2 = scalar(1.0 / bias_corrections(hp, t)[1], w)
    tiny, one = flush_level(w), scalar(1, w)
    for i in range(w.size):
        gi = decayed(g[i], w[i], wd)
        m[i] = flushed(b1 * m[i] + (one - b1) * gi, tiny)
        v[i] = flushed(b2 * v[i] + (one - b2) * (gi * gi), tiny)
        if cg is None:
            w[i] -= cm * m[i] / (np.sqrt(v[i] * inv_c2) + eps)
        else:
            w[i] -= (cg * gi + cm * m[i]) / (np.sqrt(v[i] * inv_c2) + eps)


@kernel
def adam_update(w, g, m, v, hp, t):
    """m, v as above; w -= eta m_hat / (sqrt(v_hat) + eps), eta m_hat = (eta / c1) m."""
    moments_update(w, g, m, v, hp, t, None, scalar(hp[HP_LR] / bias_corrections(hp, t)[0], w))


@kernel
def nadam_update(w, g, m, v, hp, t):
    """m, v as Adam; w -= (cg g + cm m) / (sqrt(v_hat) + eps) (see reference.nadam_update)."""
    cg, cm = nadam_coefficients(hp, t)
    moments_update(w, g, m, v, hp, t, scalar(cg, w), scalar(cm, w))


@kernel
def adamax_update(w, g, m, u, hp, t):
    """m as Adam; u = max(b2 u, |g|); w -= eta m_hat / (u + eps)
    (PyTorch: u = max(b2 u, |g| + eps); w -= eta m_hat / u); eta m_hat = (eta / c1) m."""
    b1, b2 = scalar(hp[HP_BETA1], w), scalar(hp[HP_BETA2], w)
    eps, wd = scalar(hp[HP_EPS], w), scalar(hp[HP_WEIGHT_DECAY], w)
    step = scalar(hp[HP_LR] / bias_corrections(hp, t)[0], w)
    tiny, one, torch = flush_level(w), scalar(1, w), hp[HP_TORCH] != 0
    for i in range(w.size):
        gi = decayed(g[i], w[i], wd)
        m[i] = flushed(b1 * m[i] + (one - b1) * gi, tiny)
        if torch:
            u[i] = flushed(max(b2 * u[i], abs(gi) + eps), tiny)
            w[i] -= step * m[i] / u[i]
        else:
            u[i] = flushed(max(b2 * u[i], abs(gi)), tiny)
            w[i] -= step * m[i] / (u[i] + eps)


@kernel
def maxprop_update(w, g, u, s2, hp, t):
    """u = max(beta u, |g|); w -= eta g / (u + eps)."""
    lr, eps, wd = scalar(hp[HP_LR], w), scalar(hp[HP_EPS], w), scalar(hp[HP_WEIGHT_DECAY], w)
    beta, tiny = scalar(hp[HP_BETA1], w), flush_level(w)
    for i in range(w.size):
        gi = decayed(g[i], w[i], wd)
        u[i] = flushed(max(beta * u[i], abs(gi)), tiny)
        w[i] -= lr * gi / (u[i] + eps)


@kernel
def optimizer_step(opt, w, g):
    """Step t = opt.t + 1 of optimizer ``opt`` (an OptimizerState) on ``w`` with
    gradient ``g``; advances opt.t. An unknown code changes nothing."""
    w, g, s1, s2 = w.reshape(-1), g.reshape(-1), opt.s1.reshape(-1), opt.s2.reshape(-1)
    hp, t = opt.hp, opt.t[0] + 1
    if opt.code == OPT_SGD:
        sgd_update(w, g, s1, s2, hp, t)
    elif opt.code == OPT_MOMENTUM:
        momentum_update(w, g, s1, s2, hp, t)
    elif opt.code == OPT_NAG:
        nag_update(w, g, s1, s2, hp, t)
    elif opt.code == OPT_ADAGRAD:
        adagrad_update(w, g, s1, s2, hp, t)
    elif opt.code == OPT_RMSPROP:
        rmsprop_update(w, g, s1, s2, hp, t)
    elif opt.code == OPT_ADADELTA:
        adadelta_update(w, g, s1, s2, hp, t)
    elif opt.code == OPT_ADAM:
        adam_update(w, g, s1, s2, hp, t)
    elif opt.code == OPT_ADAMAX:
        adamax_update(w, g, s1, s2, hp, t)
    elif opt.code == OPT_MAXPROP:
        maxprop_update(w, g, s1, s2, hp, t)
    elif opt.code == OPT_NADAM:
        nadam_update(w, g, s1, s2, hp, t)
    else:
        return
    opt.t[0] = t
