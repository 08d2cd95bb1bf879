"""NumPy reference backend: the executable specification of every kernel.

Each function mirrors the lecture notes' equations and is written to be read
first; the Numba and Cython backends implement the same names with the same
signatures and must agree with these functions (float64 to ~1e-12 relative,
float32 to ~1e-5).

The kernel contract, shared by all backends:

* Inputs first, then ``*_out`` buffers; a kernel fills the buffers it is given
  and allocates nothing of their size (network-level kernels may allocate
  their workspace once per call, never per step).
* Arrays are C-contiguous, all of one float dtype (float32 or float64);
  index arrays are int64. The Python layer validates everything before a
  kernel is called: kernels do not check shapes, dtypes or finiteness.
* Scalars read from ``hp`` (float64) are cast to the arrays' dtype before
  they touch array elements; per-step coefficients (bias corrections) are
  computed in float64 and then cast. Losses are accumulated in float64.
* A network is described by ``sizes`` (int64, ``[n_0, ..., n_L]``),
  ``acts`` (int64 activation codes of the L-1 hidden layers), ``alpha``
  (the leaky-ReLU slope) and the flat parameter buffer ``params`` in which
  layer k (k = 1..L) stores ``W_k`` (``n_k x n_{k-1}``, row-major) followed by
  ``b_k`` (``n_k``). Gradients and optimizer states share that layout.
"""
import math

import numpy as np

from .codes import (
    ACT_LEAKY_RELU, ACT_LINEAR, ACT_RELU, ACT_SIGMOID, ACT_STEP, ACT_TANH,
    HP_BETA1, HP_BETA2, HP_EPS, HP_LR, HP_MOMENTUM_DECAY, HP_MU_PRODUCT, HP_TORCH,
    HP_WEIGHT_DECAY, LOSS_BCE, LOSS_SOFTMAX_CE, LOSS_SQUARED, OPT_ADADELTA,
    OPT_ADAGRAD, OPT_ADAM, OPT_ADAMAX, OPT_MAXPROP, OPT_MOMENTUM, OPT_NADAM,
    OPT_NAG, OPT_RMSPROP, OPT_SGD,
)


# --------------------------------------------------------------------------
# Activations: h = g(a) and dL/da = dL/dh * g'(a)
# --------------------------------------------------------------------------

def _sigmoid(z):
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
        H_out[...] = _sigmoid(Z)
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


def loss_grad(loss, Z, Y, dZ_out):
    """Loss of logits ``Z`` (B x k) against targets ``Y`` (B x k), mean over
    the B rows, returned as a float; writes dL/dZ into ``dZ_out``.

    * squared error (linear output): L = (1/B) sum_i sum_j (a_ij - y_ij)^2,
      dL/da = 2 (a - y) / B.
    * binary cross-entropy (sigmoid output), from logits:
      -[y log sigma(a) + (1-y) log(1 - sigma(a))] = softplus(a) - y a with
      softplus(a) = max(a, 0) + log1p(e^{-|a|}); dL/da = (sigma(a) - y) / B.
    * softmax cross-entropy, from logits: L_i = sum_j y_ij (lse_i - a_ij)
      with lse_i = log sum_j e^{a_ij}; terms with y_ij = 0 are skipped, so
      -inf logits of other classes are exact. dL/da_ij = (y_hat_ij sum_j y_ij - y_ij) / B,
      which is the notes' -(e_l - y_hat) / B for a one-hot row.
    """
    B = Z.shape[0]
    inv_b = Z.dtype.type(1.0 / B)
    if loss == LOSS_SQUARED:
        diff = Z - Y
        dZ_out[...] = (2 * inv_b) * diff
        return float(np.sum(diff.astype(np.float64) ** 2) / B)
    if loss == LOSS_BCE:
        softplus = np.maximum(Z, 0) + np.log1p(np.exp(-np.abs(Z)))
        dZ_out[...] = (_sigmoid(Z) - Y) * inv_b
        return float(np.sum((softplus - Y * Z).astype(np.float64)) / B)
    if loss == LOSS_SOFTMAX_CE:
        lse = _log_sum_exp(Z)
        with np.errstate(invalid="ignore"):
            terms = np.where(Y != 0, Y * (lse[:, None] - Z), Z.dtype.type(0))
        softmax(Z, dZ_out)
        dZ_out *= Y.sum(axis=1, keepdims=True)
        dZ_out -= Y
        dZ_out *= inv_b
        return float(np.sum(terms.astype(np.float64)) / B)
    raise ValueError(f"unknown loss code {loss}")


# --------------------------------------------------------------------------
# Optimizers: one fused in-place update over a flat buffer
# --------------------------------------------------------------------------

def optimizer_step(opt, w, g, s1, s2, hp, t):
    """One in-place update of ``w`` by optimizer ``opt`` at step t (t = 1, 2, ...).

    ``s1``/``s2`` are the optimizer's state buffers (w's shape; unused ones
    may be empty), ``hp`` the float64 hyperparameters (``codes.HP_*``). With
    weight decay lambda the gradient is g + lambda w. The rules (notes 5-6):

    * SGD:      w -= eta g
    * Momentum: u = beta u + g;                  w -= eta u
    * NAG:      u = beta u + g;                  w -= eta (beta u + g)
    * AdaGrad:  v += g^2;                        w -= eta g / sqrt(v + eps)
    * RMSprop:  v = beta v + (1-beta) g^2;       w -= eta g / sqrt(v + eps)
      (PyTorch variant for both: w -= eta g / (sqrt(v) + eps))
    * AdaDelta: v = beta v + (1-beta) g^2; d = -sqrt(u + eps) / sqrt(v + eps) g;
                w += eta d; u = beta u + (1-beta) d^2
    * Adam:     m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
                w -= eta m_hat / (sqrt(v_hat) + eps), m_hat = m/(1-b1^t), v_hat = v/(1-b2^t)
    * AdaMax:   m as Adam; v = max(b2 v, |g|);   w -= eta m_hat / (v + eps)
      (PyTorch variant: v = max(b2 v, |g| + eps); w -= eta m_hat / v)
    * MaxProp:  v = max(beta v, |g|);            w -= eta g / (v + eps)
    * NAdam:    m, v as Adam;
                w -= eta / (sqrt(v_hat) + eps) (b1 m_hat + (1-b1) g / (1-b1^t))
      (PyTorch variant: mu_t = b1 (1 - 0.5 * 0.96^(t psi)), prod_t = prod_{i<=t} mu_i
       kept in hp[HP_MU_PRODUCT];
       w -= eta/(sqrt(v_hat)+eps) [(1-mu_t)/(1-prod_t) g + mu_{t+1}/(1-prod_t mu_{t+1}) m])
    """
    dt = w.dtype.type
    lr, eps, wd = dt(hp[HP_LR]), dt(hp[HP_EPS]), dt(hp[HP_WEIGHT_DECAY])
    b1, b2 = dt(hp[HP_BETA1]), dt(hp[HP_BETA2])
    torch = hp[HP_TORCH] != 0
    if wd != 0:
        g = g + wd * w
    if opt == OPT_SGD:
        w -= lr * g
    elif opt == OPT_MOMENTUM:
        s1 *= b1
        s1 += g
        w -= lr * s1
    elif opt == OPT_NAG:
        s1 *= b1
        s1 += g
        w -= lr * (b1 * s1 + g)
    elif opt in (OPT_ADAGRAD, OPT_RMSPROP):
        if opt == OPT_ADAGRAD:
            s1 += g * g
        else:
            s1 *= b1
            s1 += (1 - b1) * (g * g)
        denom = np.sqrt(s1) + eps if torch else np.sqrt(s1 + eps)
        w -= lr * g / denom
    elif opt == OPT_ADADELTA:
        s1 *= b1
        s1 += (1 - b1) * (g * g)
        d = -np.sqrt(s2 + eps) / np.sqrt(s1 + eps) * g
        w += lr * d
        s2 *= b1
        s2 += (1 - b1) * (d * d)
    elif opt in (OPT_ADAM, OPT_NADAM):
        s1 *= b1
        s1 += (1 - b1) * g
        s2 *= b2
        s2 += (1 - b2) * (g * g)
        c1 = 1.0 - hp[HP_BETA1] ** t
        denom = np.sqrt(s2 / dt(1.0 - hp[HP_BETA2] ** t)) + eps
        if opt == OPT_ADAM:
            w -= lr * (s1 / dt(c1)) / denom
        elif not torch:
            w -= lr * (b1 * (s1 / dt(c1)) + (1 - b1) * g / dt(c1)) / denom
        else:
            psi = hp[HP_MOMENTUM_DECAY]
            mu = hp[HP_BETA1] * (1.0 - 0.5 * 0.96 ** (t * psi))
            mu_next = hp[HP_BETA1] * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
            hp[HP_MU_PRODUCT] *= mu
            prod = hp[HP_MU_PRODUCT]
            cg = dt((1.0 - mu) / (1.0 - prod))
            cm = dt(mu_next / (1.0 - prod * mu_next))
            w -= lr * (cg * g + cm * s1) / denom
    elif opt == OPT_ADAMAX:
        s1 *= b1
        s1 += (1 - b1) * g
        c1 = dt(1.0 - hp[HP_BETA1] ** t)
        if torch:
            np.maximum(b2 * s2, np.abs(g) + eps, out=s2)
            w -= lr * (s1 / c1) / s2
        else:
            np.maximum(b2 * s2, np.abs(g), out=s2)
            w -= lr * (s1 / c1) / (s2 + eps)
    elif opt == OPT_MAXPROP:
        np.maximum(b1 * s1, np.abs(g), out=s1)
        w -= lr * g / (s1 + eps)
    else:
        raise ValueError(f"unknown optimizer code {opt}")


# --------------------------------------------------------------------------
# Whole networks (the notes' Algorithms 5 and 6) and the epoch loop
# --------------------------------------------------------------------------

def layer_views(flat, sizes):
    """[(W_1, b_1), ..., (W_L, b_L)] as views into the flat buffer."""
    views, off = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        n_in, n_out = int(n_in), int(n_out)
        W = flat[off:off + n_out * n_in].reshape(n_out, n_in)
        off += n_out * n_in
        views.append((W, flat[off:off + n_out]))
        off += n_out
    return views


def _forward_layers(X, sizes, acts, alpha, params):
    """Algorithm 5: a_k = b_k + W_k h_{k-1}, h_k = g(a_k); the output layer is
    linear here (its output function belongs to the loss). Returns [(a_k, h_k)]."""
    h, cache = X, []
    layers = layer_views(params, sizes)
    for k, (W, b) in enumerate(layers):
        act = int(acts[k]) if k < len(layers) - 1 else ACT_LINEAR
        Z = np.empty((X.shape[0], W.shape[0]), dtype=X.dtype)
        H = np.empty_like(Z)
        dense_forward(h, W, b, act, alpha, Z, H)
        cache.append((Z, H))
        h = H
    return cache


def forward(X, sizes, acts, alpha, params, out):
    """Logits a_L of the network for the rows of X, written into ``out``."""
    out[...] = _forward_layers(X, sizes, acts, alpha, params)[-1][0]
    return out


def loss_and_grad(X, Y, sizes, acts, alpha, loss, params, grads_out):
    """Forward (Algorithm 5), the loss of the logits, backward (Algorithm 6);
    writes dL/dtheta into ``grads_out`` (params' layout); returns the loss."""
    cache = _forward_layers(X, sizes, acts, alpha, params)
    layers = layer_views(params, sizes)
    glayers = layer_views(grads_out, sizes)
    dH = np.empty_like(cache[-1][0])
    value = loss_grad(loss, cache[-1][0], Y, dH)
    for k in range(len(layers) - 1, -1, -1):
        W, _ = layers[k]
        dW, db = glayers[k]
        Z, H = cache[k]
        act = int(acts[k]) if k < len(layers) - 1 else ACT_LINEAR
        h_prev = cache[k - 1][1] if k > 0 else X
        dX = np.empty_like(h_prev)
        dense_backward(h_prev, W, Z, H, dH, act, alpha, dH, dW, db, dX, k > 0)
        dH = dX
    return value


def n_steps(n_samples, batch_size):
    """Steps in one epoch: ceil(N / B) (the last partial batch is a step)."""
    return -(-n_samples // batch_size)


def train_epoch(X, Y, order, batch_size, sizes, acts, alpha, loss, params, grads,
                opt, s1, s2, hp, lrs, betas, t0, losses_out):
    """One epoch of mini-batch gradient descent: for step s the batch is the
    rows ``order[s*B:(s+1)*B]`` of (X, Y); the loss and gradient of that batch
    are computed, then the optimizer updates ``params`` with
    eta = lrs[s] (and beta = betas[s] when ``betas`` is not empty) at step
    count t = t0 + s + 1. ``losses_out[s]`` receives the batch loss.

    Stops before the update of the first step whose loss is not finite and
    returns the number of steps whose update was applied."""
    for s in range(n_steps(order.shape[0], batch_size)):
        idx = order[s * batch_size:(s + 1) * batch_size]
        value = loss_and_grad(X[idx], Y[idx], sizes, acts, alpha, loss, params, grads)
        losses_out[s] = value
        if not math.isfinite(value):
            return s
        hp[HP_LR] = lrs[s]
        if betas.shape[0] > 0:
            hp[HP_BETA1] = betas[s]
        optimizer_step(opt, params, grads, s1, s2, hp, t0 + s + 1)
    return n_steps(order.shape[0], batch_size)


from .reference_perceptron import perceptron_train  # noqa: E402  (the perceptron's kernel)
