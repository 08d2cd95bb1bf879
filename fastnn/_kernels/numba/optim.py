"""Optimizers: one fused in-place loop per rule over a flat buffer (the rule is
chosen outside the loop; no temporaries). The rules are those of
``reference.optimizer_step`` with the same operation order, except that the
bias corrections multiply (eta / c1 and 1 / c2, formed in float64) instead of
dividing: one division per element less, a difference of rounding only."""
import numpy as np

from ..codes import (
    HP_BETA1, HP_BETA2, HP_EPS, HP_LR, HP_MOMENTUM_DECAY, HP_MU_PRODUCT, HP_TORCH,
    HP_WEIGHT_DECAY, OPT_ADADELTA, OPT_ADAGRAD, OPT_ADAM, OPT_ADAMAX, OPT_MAXPROP,
    OPT_MOMENTUM, OPT_NADAM, OPT_NAG, OPT_RMSPROP, OPT_SGD,
)
from ._jit import kernel, scalar


@kernel
def step_coefficients(opt, hp, t, w):
    """The scalars of step t in w's dtype: (eta, beta1, beta2, eps, lambda,
    torch, eta / c1, 1 / c2, cg, cm) with the bias corrections c1 = 1 - beta1^t,
    c2 = 1 - beta2^t; each is computed in float64, then cast. For NAdam
    (PyTorch) cg = (1-mu_t)/(1-prod_t), cm = mu_{t+1}/(1 - prod_t mu_{t+1}) and
    hp[HP_MU_PRODUCT] advances by mu_t."""
    lr, b1, b2 = hp[HP_LR], hp[HP_BETA1], hp[HP_BETA2]
    torch = hp[HP_TORCH] != 0
    cg = cm = 0.0
    if opt == OPT_NADAM and torch:
        psi = hp[HP_MOMENTUM_DECAY]
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        hp[HP_MU_PRODUCT] *= mu
        prod = hp[HP_MU_PRODUCT]
        cg = (1.0 - mu) / (1.0 - prod)
        cm = mu_next / (1.0 - prod * mu_next)
    c1, c2 = 1.0 - b1 ** float(t), 1.0 - b2 ** float(t)
    return (scalar(lr, w), scalar(b1, w), scalar(b2, w), scalar(hp[HP_EPS], w),
            scalar(hp[HP_WEIGHT_DECAY], w), torch, scalar(lr / c1, w), scalar(1.0 / c2, w),
            scalar(cg, w), scalar(cm, w))


@kernel
def set_schedule(hp, lrs, betas, s):
    """hp's eta (and beta, when ``betas`` is not empty) for step s of an epoch."""
    hp[HP_LR] = lrs[s]
    if betas.size > 0:
        hp[HP_BETA1] = betas[s]


@kernel
def decayed(g, w, i, wd, decay):
    """g_i + lambda w_i (L2 weight decay) when ``decay``, else g_i."""
    return g[i] + wd * w[i] if decay else g[i]


@kernel
def apply_update(opt, w, g, s1, s2, c):
    """One update of the 1-D ``w`` (states ``s1``, ``s2``) by rule ``opt`` with
    the step's coefficients ``c`` (see step_coefficients); the rules are listed
    in reference.optimizer_step."""
    lr, b1, b2, eps, wd, torch, lr_c1, inv_c2, cg, cm = c
    one = scalar(1, w)
    ob1, ob2, decay = one - b1, one - b2, wd != 0
    if opt == OPT_SGD:
        for i in range(w.size):
            w[i] -= lr * decayed(g, w, i, wd, decay)
    elif opt == OPT_MOMENTUM:
        for i in range(w.size):
            s1[i] = s1[i] * b1 + decayed(g, w, i, wd, decay)
            w[i] -= lr * s1[i]
    elif opt == OPT_NAG:
        for i in range(w.size):
            gi = decayed(g, w, i, wd, decay)
            s1[i] = s1[i] * b1 + gi
            w[i] -= lr * (b1 * s1[i] + gi)
    elif opt == OPT_ADAGRAD or opt == OPT_RMSPROP:
        keep, rho = (b1, ob1) if opt == OPT_RMSPROP else (one, one)  # AdaGrad: v += g^2
        for i in range(w.size):
            gi = decayed(g, w, i, wd, decay)
            s1[i] = s1[i] * keep + rho * (gi * gi)
            denom = np.sqrt(s1[i]) + eps if torch else np.sqrt(s1[i] + eps)
            w[i] -= lr * gi / denom
    elif opt == OPT_ADADELTA:
        for i in range(w.size):
            gi = decayed(g, w, i, wd, decay)
            s1[i] = s1[i] * b1 + ob1 * (gi * gi)
            d = -np.sqrt(s2[i] + eps) / np.sqrt(s1[i] + eps) * gi
            w[i] += lr * d
            s2[i] = s2[i] * b1 + ob1 * (d * d)
    elif opt == OPT_ADAM or opt == OPT_NADAM:
        nadam_torch = opt == OPT_NADAM and torch
        for i in range(w.size):
            gi = decayed(g, w, i, wd, decay)
            s1[i] = s1[i] * b1 + ob1 * gi
            s2[i] = s2[i] * b2 + ob2 * (gi * gi)
            denom = np.sqrt(s2[i] * inv_c2) + eps
            if opt == OPT_ADAM:
                w[i] -= lr_c1 * s1[i] / denom
            elif nadam_torch:
                w[i] -= lr * (cg * gi + cm * s1[i]) / denom
            else:
                w[i] -= lr_c1 * (b1 * s1[i] + ob1 * gi) / denom
    elif opt == OPT_ADAMAX:
        for i in range(w.size):
            gi = decayed(g, w, i, wd, decay)
            s1[i] = s1[i] * b1 + ob1 * gi
            if torch:
                s2[i] = np.maximum(b2 * s2[i], abs(gi) + eps)
                w[i] -= lr_c1 * s1[i] / s2[i]
            else:
                s2[i] = np.maximum(b2 * s2[i], abs(gi))
                w[i] -= lr_c1 * s1[i] / (s2[i] + eps)
    elif opt == OPT_MAXPROP:
        for i in range(w.size):
            gi = decayed(g, w, i, wd, decay)
            s1[i] = np.maximum(b1 * s1[i], abs(gi))
            w[i] -= lr * gi / (s1[i] + eps)


@kernel
def optimizer_step(opt, w, g, s1, s2, hp, t):
    """One in-place update of ``w`` by optimizer ``opt`` at step t (t = 1, 2, ...)
    with states ``s1``/``s2`` (unused ones may be empty) and float64
    hyperparameters ``hp`` (codes.HP_*); see reference.optimizer_step."""
    c = step_coefficients(opt, hp, t, w)
    apply_update(opt, w.reshape(-1), g.reshape(-1), s1.reshape(-1), s2.reshape(-1), c)
