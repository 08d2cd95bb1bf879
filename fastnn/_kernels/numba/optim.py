"""Optimizers: one fused in-place loop per rule over a flat buffer, without
branches or temporaries inside (so that it vectorises). The rules are those of
``reference.optimizer_step``; they differ from it by rounding only:

* per-step scalars (eta / c1, 1 / c2, NAdam's coefficients, eps placement of
  the PyTorch variants) are formed once per step in float64 and cast, so a
  division by a bias correction becomes a multiplication;
* the weight-decay term lambda w is added even when lambda = 0 (exact for
  finite w);
* states that decay below the smallest normal number are flushed to 0:
  subnormal arithmetic is several times slower on x86 (PERFORMANCE.md), and
  Adam's m of a dead ReLU unit would otherwise stay subnormal for ever.
"""
import numpy as np

from ..codes import (
    HP_BETA1, HP_BETA2, HP_EPS, HP_LR, HP_MOMENTUM_DECAY, HP_MU_PRODUCT, HP_TORCH,
    HP_WEIGHT_DECAY, OPT_ADADELTA, OPT_ADAGRAD, OPT_ADAM, OPT_ADAMAX, OPT_MAXPROP,
    OPT_MOMENTUM, OPT_NADAM, OPT_NAG, OPT_RMSPROP, OPT_SGD,
)
from ._jit import kernel, scalar


@kernel
def adam_coefficients(opt, hp, t):
    """(cg, cm) with which the Adam family steps w -= (cg g + cm m) / (sqrt(v_hat) + eps):
    Adam (0, eta/c1); NAdam (eta (1-beta1)/c1, eta beta1/c1); NAdam (PyTorch)
    eta ((1-mu_t)/(1-prod_t), mu_{t+1}/(1 - prod_t mu_{t+1})) with
    mu_t = beta1 (1 - 0.5 * 0.96^(t psi)), advancing hp[HP_MU_PRODUCT] to prod_t.
    Here c1 = 1 - beta1^t."""
    lr, b1 = hp[HP_LR], hp[HP_BETA1]
    c1 = 1.0 - b1 ** float(t)
    if opt != OPT_NADAM:
        return 0.0, lr / c1
    if hp[HP_TORCH] == 0:
        return lr * (1.0 - b1) / c1, lr * b1 / c1
    psi = hp[HP_MOMENTUM_DECAY]
    mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
    mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
    hp[HP_MU_PRODUCT] *= mu
    prod = hp[HP_MU_PRODUCT]
    return lr * (1.0 - mu) / (1.0 - prod), lr * mu_next / (1.0 - prod * mu_next)


@kernel
def step_coefficients(opt, hp, t, w):
    """The scalars of step t in w's dtype: (eta, beta1, beta2, lambda, eps inside
    the square root or max, eps outside it, 1 / c2, cg, cm) with
    c2 = 1 - beta2^t. Rules with a PyTorch variant (hp[HP_TORCH] != 0) read eps
    from one of the two places: it moves out of the square root (AdaGrad,
    RMSprop) or into the max (AdaMax); the others use their sum."""
    eps, torch = hp[HP_EPS], hp[HP_TORCH] != 0
    eps_in, eps_out = (0.0, eps) if torch != (opt == OPT_ADAMAX) else (eps, 0.0)
    cg, cm = adam_coefficients(opt, hp, t)
    return (scalar(hp[HP_LR], w), scalar(hp[HP_BETA1], w), scalar(hp[HP_BETA2], w),
            scalar(hp[HP_WEIGHT_DECAY], w), scalar(eps_in, w), scalar(eps_out, w),
            scalar(1.0 / (1.0 - hp[HP_BETA2] ** float(t)), w), scalar(cg, w), scalar(cm, w))


@kernel
def set_schedule(hp, lrs, betas, s):
    """hp's eta (and beta, when ``betas`` is not empty) for step s of an epoch."""
    hp[HP_LR] = lrs[s]
    if betas.size > 0:
        hp[HP_BETA1] = betas[s]


@kernel
def flushed(x, tiny):
    """x, or 0 when x is subnormal (|x| < tiny, the smallest normal number; NaN stays)."""
    return scalar(0, x) if abs(x) < tiny else x


@kernel
def apply_update(opt, w, g, s1, s2, c):
    """One update of the 1-D ``w`` (states ``s1``, ``s2``) by rule ``opt`` with
    the step's coefficients ``c`` (see step_coefficients); the rules are listed
    in reference.optimizer_step. ``g`` is read, never written."""
    lr, b1, b2, wd, eps_in, eps_out, inv_c2, cg, cm = c
    one, tiny = scalar(1, w), np.finfo(w.dtype).tiny
    ob1, ob2, eps = one - b1, one - b2, eps_in + eps_out  # one of the two is 0
    if opt == OPT_SGD:
        for i in range(w.size):
            w[i] -= lr * (g[i] + wd * w[i])
    elif opt == OPT_MOMENTUM:
        for i in range(w.size):
            u = flushed(s1[i] * b1 + (g[i] + wd * w[i]), tiny)
            s1[i] = u
            w[i] -= lr * u
    elif opt == OPT_NAG:
        for i in range(w.size):
            gi = g[i] + wd * w[i]
            u = flushed(s1[i] * b1 + gi, tiny)
            s1[i] = u
            w[i] -= lr * (b1 * u + gi)
    elif opt == OPT_ADAGRAD or opt == OPT_RMSPROP:
        keep, rho = (b1, ob1) if opt == OPT_RMSPROP else (one, one)  # AdaGrad: v += g^2
        for i in range(w.size):
            gi = g[i] + wd * w[i]
            v = flushed(s1[i] * keep + rho * (gi * gi), tiny)
            s1[i] = v
            w[i] -= lr * gi / (np.sqrt(v + eps_in) + eps_out)
    elif opt == OPT_ADADELTA:
        for i in range(w.size):
            gi = g[i] + wd * w[i]
            v = flushed(s1[i] * b1 + ob1 * (gi * gi), tiny)
            s1[i] = v
            d = -np.sqrt(s2[i] + eps) / np.sqrt(v + eps) * gi
            w[i] += lr * d
            s2[i] = flushed(s2[i] * b1 + ob1 * (d * d), tiny)
    elif opt == OPT_ADAM or opt == OPT_NADAM:
        for i in range(w.size):
            gi = g[i] + wd * w[i]
            m = flushed(s1[i] * b1 + ob1 * gi, tiny)
            v = flushed(s2[i] * b2 + ob2 * (gi * gi), tiny)
            s1[i], s2[i] = m, v
            w[i] -= (cg * gi + cm * m) / (np.sqrt(v * inv_c2) + eps)
    elif opt == OPT_ADAMAX:
        for i in range(w.size):
            gi = g[i] + wd * w[i]
            m = flushed(s1[i] * b1 + ob1 * gi, tiny)
            u = flushed(np.maximum(b2 * s2[i], abs(gi) + eps_in), tiny)
            s1[i], s2[i] = m, u
            w[i] -= cm * m / (u + eps_out)
    elif opt == OPT_MAXPROP:
        for i in range(w.size):
            gi = g[i] + wd * w[i]
            u = flushed(np.maximum(b1 * s1[i], abs(gi)), tiny)
            s1[i] = u
            w[i] -= lr * gi / (u + eps)


@kernel
def optimizer_step(opt, w, g, s1, s2, hp, t):
    """One in-place update of ``w`` by optimizer ``opt`` at step t (t = 1, 2, ...)
    with states ``s1``/``s2`` (unused ones may be empty) and float64
    hyperparameters ``hp`` (codes.HP_*); see reference.optimizer_step."""
    c = step_coefficients(opt, hp, t, w)
    apply_update(opt, w.reshape(-1), g.reshape(-1), s1.reshape(-1), s2.reshape(-1), c)
