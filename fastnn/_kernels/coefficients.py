"""The per-step scalars of the optimizer rules, in float64: written once for
the reference and the Numba backend (compiled inline into its kernels); the
Cython backend states the same formulas in C (_optim.pyx)."""
import numpy as np

from ._shared import shared
from .codes import HP_BETA1, HP_BETA2, HP_LR, HP_MOMENTUM_DECAY, HP_MU_PRODUCT, HP_TORCH


@shared
def flush_level(x):
    """The state flush level of x's dtype, tiny / eps (2^-103 in float32, 2^-970
    in float64): a state entry below it is set to 0 (the contract's subnormal
    rule), so that its products with a step's coefficients (eta m, (1-beta) g,
    ...) stay normal numbers instead of paying x86's slow subnormal path."""
    return np.finfo(x.dtype).tiny / np.finfo(x.dtype).eps


@shared
def bias_corrections(hp, t):
    """c1 = 1 - beta1^t and c2 = 1 - beta2^t."""
    return 1.0 - hp[HP_BETA1] ** float(t), 1.0 - hp[HP_BETA2] ** float(t)


@shared
def nadam_coefficients(hp, t):
    """(cg, cm) with which NAdam steps w -= (cg g + cm m) / (sqrt(v_hat) + eps):
    the notes' eta (1-b1) / c1 and eta b1 / c1, or in PyTorch's variant, with
    mu_t = b1 (1 - 0.5 * 0.96^(t psi)) and prod_t = prod_{i<=t} mu_i (advanced
    in hp[HP_MU_PRODUCT]), eta (1-mu_t) / (1-prod_t) and
    eta mu_{t+1} / (1 - prod_t mu_{t+1})."""
    lr, b1 = hp[HP_LR], hp[HP_BETA1]
    if hp[HP_TORCH] == 0:
        c1 = bias_corrections(hp, t)[0]
        return lr * (1.0 - b1) / c1, lr * b1 / c1
    psi = hp[HP_MOMENTUM_DECAY]
    mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
    mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
    hp[HP_MU_PRODUCT] *= mu
    prod = hp[HP_MU_PRODUCT]
    return lr * (1.0 - mu) / (1.0 - prod), lr * mu_next / (1.0 - prod * mu_next)
