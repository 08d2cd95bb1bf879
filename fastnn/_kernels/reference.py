"""NumPy reference backend: the executable specification of every kernel.

Each function mirrors the lecture notes' equations and is written to be read
first; the Numba and Cython backends implement the same names with the same
signatures and behaviour. The contract they all follow is written once, in
``fastnn/_kernels/__init__.py``.
"""
import math

import numpy as np
from scipy.special import xlogy

from .codes import (
    ACT_LEAKY_RELU, ACT_LINEAR, ACT_RELU, ACT_SIGMOID, ACT_STEP, ACT_TANH,
    HP_BETA1, HP_BETA2, HP_EPS, HP_LR, HP_TORCH,
    HP_WEIGHT_DECAY, LOSS_BCE, LOSS_POISSON, LOSS_SOFTMAX_CE, LOSS_SQUARED, OPT_ADADELTA,
    OPT_ADAGRAD, OPT_ADAM, OPT_ADAMAX, OPT_MAXPROP, OPT_MOMENTUM, OPT_NADAM,
    OPT_NAG, OPT_RMSPROP, OPT_SGD,
)
from .coefficients import bias_corrections, flush_level, nadam_coefficients
from .epoch import n_steps, step_epoch
from .layout import block, layer, regions


# --------------------------------------------------------------------------
# Activations: h = g(a) and dL/da = dL/dh * g'(a)
# --------------------------------------------------------------------------

def sigmoid(z):
    """sigma(z) = 1 / (1 + e^{-z}), evaluated as e^{z} / (1 + e^{z}) for z < 0
    so that exp never overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def activation_forward(Z, act, alpha, H_out):
    """h = g(a) elementwise: linear a; sigmoid 1/(1+e^{-a}); tanh; relu max(0, a);
    leaky relu a if a > 0 else alpha*a; step 1 if a >= 0 else 0."""
    dt = Z.dtype.type
    if act == ACT_LINEAR:
        H_out[...] = Z
    elif act == ACT_SIGMOID:
        H_out[...] = sigmoid(Z)
    elif act == ACT_TANH:
        H_out[...] = np.tanh(Z)
    elif act == ACT_RELU:
        H_out[...] = np.where(Z > 0, Z, dt(0))
    elif act == ACT_LEAKY_RELU:
        H_out[...] = np.where(Z > 0, Z, dt(alpha) * Z)
    elif act == ACT_STEP:
        H_out[...] = np.where(Z >= 0, dt(1), dt(0))
    return H_out


def activation_backward(Z, H, dH, act, alpha, dZ_out):
    """dL/da = dL/dh * g'(a), with g' written through h where the notes do:
    sigmoid h(1-h), tanh 1-h^2, relu [a > 0], leaky relu 1 or alpha,
    linear 1, step 0 (the threshold has no useful derivative)."""
    dt = Z.dtype.type
    if act == ACT_LINEAR:
        dZ_out[...] = dH
    elif act == ACT_SIGMOID:
        dZ_out[...] = dH * (H * (1 - H))
    elif act == ACT_TANH:
        dZ_out[...] = dH * (1 - H * H)
    elif act == ACT_RELU:
        dZ_out[...] = np.where(Z > 0, dH, dt(0))
    elif act == ACT_LEAKY_RELU:
        dZ_out[...] = np.where(Z > 0, dH, dt(alpha) * dH)
    elif act == ACT_STEP:
        dZ_out[...] = 0
    return dZ_out


# --------------------------------------------------------------------------
# Dense layer: a = b + W h (batch-major: A = X W^T + b)
# --------------------------------------------------------------------------

def dense_forward(X, W, b, act, alpha, Z_out, H_out):
    """A = X W^T + b (the notes' a_k = b_k + W_k h_{k-1}, one row per sample),
    then H = g(A). Returns H_out."""
    np.dot(X, W.T, out=Z_out)
    Z_out += b
    return activation_forward(Z_out, act, alpha, H_out)


def dense_backward(X, W, Z, H, dH, act, alpha, dZ_out, dW_out, db_out, dX_out, need_dX):
    """The notes' Algorithm 6 for one layer:
    dL/da = dL/dh * g'(a); dL/dW = (dL/da)^T h_{k-1}; dL/db = sum over the batch
    of dL/da; dL/dh_{k-1} = (dL/da) W (only when ``need_dX``).
    ``dZ_out`` may be the same buffer as ``dH``."""
    activation_backward(Z, H, dH, act, alpha, dZ_out)
    np.dot(dZ_out.T, X, out=dW_out)
    np.sum(dZ_out, axis=0, out=db_out)
    if need_dX:
        np.dot(dZ_out, W, out=dX_out)


# --------------------------------------------------------------------------
# Output functions and losses (from logits, mean over the batch)
# --------------------------------------------------------------------------

def softmax(Z, P_out):
    """y_hat_j = e^{a_j} / sum_i e^{a_i}, with max(a) subtracted first so that
    no exponential overflows (rows of -inf give 0 for those entries)."""
    m = Z.max(axis=1, keepdims=True)
    np.exp(Z - m, out=P_out)
    P_out /= P_out.sum(axis=1, keepdims=True)
    return P_out


def _log_sum_exp(Z):
    """log sum_j e^{a_j} per row, as m + log sum_j e^{a_j - m} with m = max_j a_j."""
    m = Z.max(axis=1)
    return m + np.log(np.exp(Z - m[:, None]).sum(axis=1))


def _row_weights(w, B):
    """(u, c, total): the rows' weights u, their gradient scales c = u / total
    and total = sum_i u_i, in float64. Unweighted (w empty): u = 1, total = B.
    A total of 0 gives c = 0."""
    u = np.ones(B) if w.shape[0] == 0 else w.astype(np.float64)
    total = float(B) if w.shape[0] == 0 else float(np.sum(u))
    return u, (u / total if total > 0 else np.zeros(B)), total


def loss_grad(loss, Z, Y, w, dZ_out):
    """Loss of logits ``Z`` (B x k) against targets ``Y`` (B x k), the mean
    over the B rows weighted by ``w`` (B sample weights; empty: all 1),
    L = sum_i w_i L_i / sum_i w_i, returned as a float; writes dL/dZ into
    ``dZ_out``, row i scaled by c_i = w_i / sum_i w_i (1/B unweighted; 0 for
    every row when the weights sum to 0, and then L = 0). Per row:

    * squared error (linear output): L_i = sum_j (a_ij - y_ij)^2,
      dL/da = 2 c (a - y).
    * binary cross-entropy (sigmoid output), from logits:
      -[y log sigma(a) + (1-y) log(1 - sigma(a))] = softplus(a) - y a with
      softplus(a) = max(a, 0) + log1p(e^{-|a|}); dL/da = c (sigma(a) - y).
    * softmax cross-entropy, from logits: L_i = sum_j y_ij (lse_i - a_ij)
      with lse_i = log sum_j e^{a_ij}; terms with y_ij = 0 are skipped, so
      -inf logits of other classes are exact. dL/da_ij = c (y_hat_ij sum_j y_ij - y_ij),
      which is the notes' -(e_l - y_hat) / B for a one-hot row.
    * Poisson deviance (exp output, mean mu = e^a), from logits:
      L_i = sum_j 2 (y log y - y a - y + e^a) (y log y = 0 at y = 0), so log mu
      is never taken and mu underflowing to 0 is exact; dL/da = 2 c (e^a - y).
    """
    B, dt = Z.shape[0], Z.dtype.type
    u, c, total = _row_weights(w, B)
    c = c.astype(Z.dtype)[:, None]
    if loss == LOSS_SQUARED:
        diff = Z - Y
        dZ_out[...] = (2 * c) * diff
        terms = diff.astype(np.float64) ** 2
    elif loss == LOSS_BCE:
        softplus = np.maximum(Z, 0) + np.log1p(np.exp(-np.abs(Z)))
        dZ_out[...] = (sigmoid(Z) - Y) * c
        terms = (softplus - Y * Z).astype(np.float64)
    elif loss == LOSS_SOFTMAX_CE:
        lse = _log_sum_exp(Z)
        with np.errstate(invalid="ignore"):
            terms = np.where(Y != 0, Y * (lse[:, None] - Z), dt(0)).astype(np.float64)
        softmax(Z, dZ_out)
        dZ_out *= Y.sum(axis=1, keepdims=True)
        dZ_out -= Y
        dZ_out *= c
    elif loss == LOSS_POISSON:
        mu = np.exp(Z)
        dZ_out[...] = (2 * c) * (mu - Y)
        y, a = Y.astype(np.float64), Z.astype(np.float64)
        terms = 2 * (xlogy(y, y) - y * a - y + mu.astype(np.float64))
    else:
        return math.nan
    if total == 0:
        return 0.0
    weighted = terms if w.shape[0] == 0 else np.where(u[:, None] != 0, u[:, None] * terms, 0)
    return float(np.sum(weighted) / total)


# --------------------------------------------------------------------------
# Optimizers (notes 5-6): one function per rule, w updated in place, the
# states flushed to zero below tiny / eps (see the contract)
# --------------------------------------------------------------------------

def _scalars(w, hp, *indices):
    """hp's entries at ``indices`` cast to w's dtype."""
    dt = w.dtype.type
    return [dt(hp[i]) for i in indices]


def _flush(s):
    """s = 0 where |s| is below the flush level tiny / eps of s's dtype."""
    s[np.abs(s) < flush_level(s)] = 0


def _decayed(w, g, hp):
    """g + lambda w (L2 weight decay), or g itself when lambda = 0."""
    wd, = _scalars(w, hp, HP_WEIGHT_DECAY)
    return g + wd * w if wd != 0 else g


def sgd_update(w, g, s1, s2, hp, t):
    """w -= eta g."""
    g = _decayed(w, g, hp)
    lr, = _scalars(w, hp, HP_LR)
    w -= lr * g


def momentum_update(w, g, u, s2, hp, t):
    """u = beta u + g; w -= eta u."""
    g = _decayed(w, g, hp)
    lr, beta = _scalars(w, hp, HP_LR, HP_BETA1)
    u *= beta
    u += g
    _flush(u)
    w -= lr * u


def nag_update(w, g, u, s2, hp, t):
    """u = beta u + g; w -= eta (beta u + g)."""
    g = _decayed(w, g, hp)
    lr, beta = _scalars(w, hp, HP_LR, HP_BETA1)
    u *= beta
    u += g
    _flush(u)
    w -= lr * (beta * u + g)


def _adaptive_step(w, g, v, hp):
    """w -= eta g / sqrt(v + eps) (the notes), or / (sqrt(v) + eps) (PyTorch)."""
    lr, eps = _scalars(w, hp, HP_LR, HP_EPS)
    w -= lr * g / (np.sqrt(v) + eps if hp[HP_TORCH] else np.sqrt(v + eps))


def adagrad_update(w, g, v, s2, hp, t):
    """v += g^2; w -= eta g / sqrt(v + eps)."""
    g = _decayed(w, g, hp)
    v += g * g
    _flush(v)
    _adaptive_step(w, g, v, hp)


def rmsprop_update(w, g, v, s2, hp, t):
    """v = beta v + (1-beta) g^2; w -= eta g / sqrt(v + eps)."""
    g = _decayed(w, g, hp)
    beta, = _scalars(w, hp, HP_BETA1)
    v *= beta
    v += (1 - beta) * (g * g)
    _flush(v)
    _adaptive_step(w, g, v, hp)


def adadelta_update(w, g, v, u, hp, t):
    """v = beta v + (1-beta) g^2; d = -sqrt(u + eps) / sqrt(v + eps) g; w += eta d;
    u = beta u + (1-beta) d^2."""
    g = _decayed(w, g, hp)
    lr, beta, eps = _scalars(w, hp, HP_LR, HP_BETA1, HP_EPS)
    v *= beta
    v += (1 - beta) * (g * g)
    _flush(v)
    d = -np.sqrt(u + eps) / np.sqrt(v + eps) * g
    w += lr * d
    u *= beta
    u += (1 - beta) * (d * d)
    _flush(u)


def _moments(g, m, v, hp, dt):
    """m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2."""
    b1, b2 = dt(hp[HP_BETA1]), dt(hp[HP_BETA2])
    m *= b1
    m += (1 - b1) * g
    _flush(m)
    v *= b2
    v += (1 - b2) * (g * g)
    _flush(v)


def _root_v_hat(v, hp, t):
    """sqrt(v_hat) + eps with v_hat = v / c2, as v (1 / c2)."""
    inv_c2, eps = v.dtype.type(1.0 / bias_corrections(hp, t)[1]), v.dtype.type(hp[HP_EPS])
    return np.sqrt(v * inv_c2) + eps


def adam_update(w, g, m, v, hp, t):
    """m, v as above; w -= eta m_hat / (sqrt(v_hat) + eps), eta m_hat = (eta / c1) m."""
    g = _decayed(w, g, hp)
    _moments(g, m, v, hp, w.dtype.type)
    step = w.dtype.type(hp[HP_LR] / bias_corrections(hp, t)[0])
    w -= step * m / _root_v_hat(v, hp, t)


def nadam_update(w, g, m, v, hp, t):
    """m, v as Adam; w -= (cg g + cm m) / (sqrt(v_hat) + eps) with
    cg = eta (1-b1) / c1, cm = eta b1 / c1 (the notes: eta (b1 m_hat + (1-b1) g / c1)),
    or in PyTorch's variant, with mu_t = b1 (1 - 0.5 * 0.96^(t psi)) and
    prod_t = prod_{i<=t} mu_i kept in hp[HP_MU_PRODUCT]:
    cg = eta (1-mu_t) / (1-prod_t), cm = eta mu_{t+1} / (1 - prod_t mu_{t+1})."""
    g = _decayed(w, g, hp)
    _moments(g, m, v, hp, w.dtype.type)
    cg, cm = nadam_coefficients(hp, t)
    dt = w.dtype.type
    w -= (dt(cg) * g + dt(cm) * m) / _root_v_hat(v, hp, t)


def adamax_update(w, g, m, u, hp, t):
    """m as Adam; u = max(b2 u, |g|); w -= eta m_hat / (u + eps)
    (PyTorch: u = max(b2 u, |g| + eps); w -= eta m_hat / u); eta m_hat = (eta / c1) m."""
    g = _decayed(w, g, hp)
    b1, b2, eps = _scalars(w, hp, HP_BETA1, HP_BETA2, HP_EPS)
    m *= b1
    m += (1 - b1) * g
    _flush(m)
    step = w.dtype.type(hp[HP_LR] / bias_corrections(hp, t)[0])
    if hp[HP_TORCH]:
        np.maximum(b2 * u, np.abs(g) + eps, out=u)
        _flush(u)
        w -= step * m / u
    else:
        np.maximum(b2 * u, np.abs(g), out=u)
        _flush(u)
        w -= step * m / (u + eps)


def maxprop_update(w, g, u, s2, hp, t):
    """u = max(beta u, |g|); w -= eta g / (u + eps)."""
    g = _decayed(w, g, hp)
    lr, beta, eps = _scalars(w, hp, HP_LR, HP_BETA1, HP_EPS)
    np.maximum(beta * u, np.abs(g), out=u)
    _flush(u)
    w -= lr * g / (u + eps)


UPDATES = {OPT_SGD: sgd_update, OPT_MOMENTUM: momentum_update, OPT_NAG: nag_update,
           OPT_ADAGRAD: adagrad_update, OPT_RMSPROP: rmsprop_update,
           OPT_ADADELTA: adadelta_update, OPT_ADAM: adam_update, OPT_ADAMAX: adamax_update,
           OPT_MAXPROP: maxprop_update, OPT_NADAM: nadam_update}


def optimizer_step(opt, w, g):
    """Step t = opt.t + 1 of optimizer ``opt`` (an OptimizerState) on ``w`` with
    gradient ``g`` (every rule sees g + lambda w when the weight decay lambda is
    not 0); advances opt.t. An unknown code changes nothing."""
    update = UPDATES.get(opt.code)
    if update is None:
        return
    opt.t[0] += 1
    update(w, g, opt.s1, opt.s2, opt.hp, opt.t[0])


# --------------------------------------------------------------------------
# Whole networks (the notes' Algorithms 5 and 6) and the epoch loop, through
# the work buffer of layout.py
# --------------------------------------------------------------------------

def _forward_batch(X, net, params, work):
    """Algorithm 5: a_k = b_k + W_k h_{k-1}, h_k = g(a_k) for the rows of X into
    the work buffer's A and H; returns the logits a_L (a view)."""
    A, H = regions(net, work)[3:5]
    B, h = X.shape[0], X
    for k in range(len(net.sizes) - 1):
        W, b = layer(params, net, k)
        h = dense_forward(h, W, b, net.acts[k], net.alpha, block(A, net, k, B),
                          block(H, net, k, B))
    return block(A, net, len(net.sizes) - 2, B)


def forward(X, net, params, out, work):
    """Logits a_L of the network for the rows of X, written into ``out``."""
    out[...] = _forward_batch(X, net, params, work)
    return out


def loss_and_grad(X, Y, w, net, params, grads_out, work):
    """Forward (Algorithm 5), the loss of the logits (weighted by the rows'
    sample weights ``w``; empty: unweighted), backward (Algorithm 6): dL/da_k
    lands in the work buffer's D, dL/dtheta in ``grads_out``; returns the loss."""
    logits = _forward_batch(X, net, params, work)
    A, H, D = regions(net, work)[3:6]
    B, L = X.shape[0], len(net.sizes) - 1
    value = loss_grad(net.loss, logits, Y, w, block(D, net, L - 1, B))
    for k in range(L - 1, -1, -1):
        W, _ = layer(params, net, k)
        dW, db = layer(grads_out, net, k)
        dZ = block(D, net, k, B)
        h_prev = block(H, net, k - 1, B) if k > 0 else X
        dX = block(D, net, k - 1, B) if k > 0 else dZ
        dense_backward(h_prev, W, block(A, net, k, B), block(H, net, k, B), dZ, net.acts[k],
                       net.alpha, dZ, dW, db, dX, k > 0)
    return value


def train_epoch(X, Y, w, order, batch_size, net, params, grads, opt, lrs, betas, losses_out,
                work):
    """One epoch of mini-batch gradient descent (epoch.step_epoch with this
    backend's loss_and_grad and optimizer_step)."""
    return step_epoch(loss_and_grad, lambda x, y, wb: optimizer_step(opt, params, grads),
                      X, Y, w, order, batch_size, net, params, grads, opt, lrs, betas,
                      losses_out, work)


from .reference_perceptron import perceptron_train  # noqa: E402  (the perceptron's kernel)
