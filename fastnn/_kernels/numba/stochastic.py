"""The epoch loop for batch size 1 (stochastic gradient descent), fused per
sample: matrix-vector products forward, the deltas dL/da_k of every layer
backward, then each layer's update computed row by row from the outer product
dL/dW_k = delta_k h_{k-1}^T, without writing the gradient buffer. It applies
the same rule, with the same operations per element, as the batched path."""
import math

import numpy as np

from ..codes import HP_BETA1, HP_LR, OPT_SGD
from ._jit import kernel
from .activations import activation_backward, activation_forward
from .dense import add_bias
from .layout import copy, hidden_act, layer, layer_offsets, workspace
from .losses import loss_grad
from .optim import apply_update, step_coefficients


@kernel
def block(buf, start, k):
    """Layer k's vector in a per-layer workspace buffer."""
    return buf[start[k]:start[k + 1]]


@kernel
def layer_forward(k, h_prev, sizes, acts, alpha, params, Zs, Hs, start):
    """a_k = b_k + W_k h_{k-1}, h_k = g(a_k) for one sample."""
    W, b = layer(params, sizes, layer_offsets(sizes), k)
    z, h = block(Zs, start, k), block(Hs, start, k)
    np.dot(W, h_prev, z)
    add_bias(z.reshape(1, z.size), b)
    activation_forward(z, hidden_act(acts, k, sizes.size - 1), alpha, h)


@kernel
def sample_forward(x, sizes, acts, alpha, params, Zs, Hs, start):
    """Algorithm 5 for one sample x."""
    layer_forward(0, x, sizes, acts, alpha, params, Zs, Hs, start)
    for k in range(1, sizes.size - 1):
        layer_forward(k, block(Hs, start, k - 1), sizes, acts, alpha, params, Zs, Hs, start)


@kernel
def sample_deltas(y, sizes, acts, alpha, loss, params, Zs, Hs, Ds, start):
    """delta_L = dL/da_L from the loss (returned), then
    delta_{k-1} = g'(a_{k-1}) * (W_k^T delta_k) down to the first layer."""
    off, L = layer_offsets(sizes), sizes.size - 1
    n = sizes[L]
    d = block(Ds, start, L - 1)
    value = loss_grad(loss, block(Zs, start, L - 1).reshape(1, n), y.reshape(1, n),
                      d.reshape(1, n))
    for k in range(L - 1, 0, -1):
        W, _ = layer(params, sizes, off, k)
        d_prev = block(Ds, start, k - 1)
        np.dot(block(Ds, start, k), W, d_prev)
        activation_backward(block(Zs, start, k - 1), block(Hs, start, k - 1), d_prev,
                            acts[k - 1], alpha, d_prev)
    return value


@kernel
def all_finite(v):
    """Whether every entry of v is finite."""
    for i in range(v.size):
        if not math.isfinite(v[i]):
            return False
    return True


@kernel
def layer_update(k, h, sizes, opt, params, s1, s2, c, d, g_row):
    """The optimizer's update of layer k with dL/dW_k = delta_k h_{k-1}^T (one
    row of the outer product at a time, in ``g_row``) and dL/db_k = delta_k.
    Plain SGD skips rows with delta_kj = 0: their update is w -= eta * 0 (when
    h_{k-1} is finite and there is no weight decay)."""
    off = layer_offsets(sizes)[k]
    n_in, n_out = sizes[k], sizes[k + 1]
    sparse = opt == OPT_SGD and c[4] == 0 and all_finite(h)
    g = g_row[:n_in]
    for j in range(n_out):
        if sparse and d[j] == 0:
            continue
        for i in range(n_in):
            g[i] = d[j] * h[i]
        lo, hi = off + j * n_in, off + (j + 1) * n_in
        apply_update(opt, params[lo:hi], g, s1[lo:hi], s2[lo:hi], c)
    lo, hi = off + n_out * n_in, off + n_out * (n_in + 1)
    apply_update(opt, params[lo:hi], d, s1[lo:hi], s2[lo:hi], c)


@kernel
def sample_update(x, sizes, opt, params, s1, s2, c, Hs, Ds, start, g_row):
    """One optimizer step of every layer from the sample's deltas."""
    layer_update(0, x, sizes, opt, params, s1, s2, c, block(Ds, start, 0), g_row)
    for k in range(1, sizes.size - 1):
        layer_update(k, block(Hs, start, k - 1), sizes, opt, params, s1, s2, c,
                     block(Ds, start, k), g_row)


@kernel
def layer_gradient(k, h, sizes, grads, d):
    """dW_k = delta_k h_{k-1}^T, db_k = delta_k."""
    dW, db = layer(grads, sizes, layer_offsets(sizes), k)
    for j in range(d.size):
        for i in range(h.size):
            dW[j, i] = d[j] * h[i]
    copy(d, db)


@kernel
def write_gradient(x, sizes, grads, Hs, Ds, start):
    """grads = dL/dtheta of the sample whose deltas are in Ds."""
    layer_gradient(0, x, sizes, grads, block(Ds, start, 0))
    for k in range(1, sizes.size - 1):
        layer_gradient(k, block(Hs, start, k - 1), sizes, grads, block(Ds, start, k))


@kernel
def train_stochastic(X, Y, order, sizes, acts, alpha, loss, params, grads,
                     opt, s1, s2, hp, lrs, betas, t0, losses_out):
    """train_epoch for batch size 1: same contract, same result (``grads``
    ends holding the last sample's gradient, as in the batched path)."""
    Zs, Hs, start = workspace(sizes, 1, X)
    Ds = np.empty_like(Zs)
    g_row = np.empty(sizes[:-1].max(), X.dtype)
    for s in range(order.size):
        x, y = X[order[s]], Y[order[s]]
        sample_forward(x, sizes, acts, alpha, params, Zs, Hs, start)
        value = sample_deltas(y, sizes, acts, alpha, loss, params, Zs, Hs, Ds, start)
        losses_out[s] = value
        if not math.isfinite(value):
            write_gradient(x, sizes, grads, Hs, Ds, start)
            return s
        hp[HP_LR] = lrs[s]
        if betas.size > 0:
            hp[HP_BETA1] = betas[s]
        c = step_coefficients(opt, hp, t0 + s + 1, params)
        sample_update(x, sizes, opt, params, s1, s2, c, Hs, Ds, start, g_row)
    if order.size > 0:
        write_gradient(X[order[-1]], sizes, grads, Hs, Ds, start)
    return order.size
