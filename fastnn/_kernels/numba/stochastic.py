"""The epoch loop for batch size 1 (stochastic gradient descent), per sample:
matrix-vector products forward, the deltas dL/da_k of every layer backward,
then the update. The gradient is the outer product dL/dW_k = delta_k h_{k-1}^T,
so plain SGD updates W_k from the deltas directly and skips the rows whose
delta is 0 (PERFORMANCE.md: W_1 is the memory traffic of a step); the other
rules write the gradient and take the batched path's optimizer_step.
"""
import math

import numpy as np

from ..codes import HP_LR, HP_WEIGHT_DECAY, OPT_SGD
from ._jit import kernel, scalar
from .activations import activation_backward, activation_forward
from .dense import add_bias
from .layout import block, copy, hidden_act, layer, workspace
from .losses import loss_grad
from .optim import optimizer_step, set_schedule


@kernel
def vector(buf, start, k):
    """Layer k's vector in a workspace buffer of one row (see layout.block)."""
    return buf[start[k]:start[k + 1]]


@kernel
def layer_forward(k, h_prev, sizes, acts, alpha, params, Zs, Hs, start):
    """a_k = b_k + W_k h_{k-1}, h_k = g(a_k) for one sample."""
    W, b = layer(params, sizes, k)
    z, h = vector(Zs, start, k), vector(Hs, start, k)
    np.dot(W, h_prev, z)
    add_bias(z.reshape(1, z.size), b)
    activation_forward(z, hidden_act(acts, k, sizes.size - 1), alpha, h)


@kernel
def sample_forward(x, sizes, acts, alpha, params, Zs, Hs, start):
    """Algorithm 5 for one sample x."""
    layer_forward(0, x, sizes, acts, alpha, params, Zs, Hs, start)
    for k in range(1, sizes.size - 1):
        layer_forward(k, vector(Hs, start, k - 1), sizes, acts, alpha, params, Zs, Hs, start)


@kernel
def sample_deltas(y, sizes, acts, alpha, loss, params, Zs, Hs, Ds, start):
    """delta_L = dL/da_L from the loss (returned), then
    delta_{k-1} = g'(a_{k-1}) * (W_k^T delta_k) down to the first layer."""
    L = sizes.size - 1
    value = loss_grad(loss, block(Zs, start, L - 1, 1), y.reshape(1, y.size),
                      block(Ds, start, L - 1, 1))
    for k in range(L - 1, 0, -1):
        W, _ = layer(params, sizes, k)
        d_prev = vector(Ds, start, k - 1)
        np.dot(vector(Ds, start, k), W, d_prev)
        activation_backward(vector(Zs, start, k - 1), vector(Hs, start, k - 1), d_prev,
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
def layer_sgd(k, h, sizes, params, lr, d):
    """Plain SGD on layer k, w -= eta g with g = delta_k h_{k-1}^T computed row by
    row; a row with delta_kj = 0 has g = 0 and is skipped (when h_{k-1} is finite,
    so that 0 * h is 0): with ReLU about half of W_k is never touched."""
    W, b = layer(params, sizes, k)
    dense = not all_finite(h)
    for j in range(d.size):
        dj, w = d[j], W[j]
        if dj != 0 or dense:
            for i in range(h.size):
                w[i] -= lr * (dj * h[i])
        b[j] -= lr * dj


@kernel
def sample_sgd(x, sizes, params, lr, Hs, Ds, start):
    """One plain SGD step of every layer from the sample's deltas."""
    layer_sgd(0, x, sizes, params, lr, vector(Ds, start, 0))
    for k in range(1, sizes.size - 1):
        layer_sgd(k, vector(Hs, start, k - 1), sizes, params, lr, vector(Ds, start, k))


@kernel
def layer_gradient(k, h, sizes, grads, d):
    """dW_k = delta_k h_{k-1}^T, db_k = delta_k."""
    dW, db = layer(grads, sizes, k)
    for j in range(d.size):
        for i in range(h.size):
            dW[j, i] = d[j] * h[i]
    copy(d, db)


@kernel
def write_gradient(x, sizes, grads, Hs, Ds, start):
    """grads = dL/dtheta of the sample whose deltas are in Ds."""
    layer_gradient(0, x, sizes, grads, vector(Ds, start, 0))
    for k in range(1, sizes.size - 1):
        layer_gradient(k, vector(Hs, start, k - 1), sizes, grads, vector(Ds, start, k))


@kernel
def train_stochastic(X, Y, order, batch_size, sizes, acts, alpha, loss, params, grads,
                     opt, s1, s2, hp, lrs, betas, t0, losses_out):
    """train_epoch for ``batch_size`` 1, same contract and result (``grads``
    ends holding the last sample's gradient). Plain SGD without weight decay
    updates W_k from the deltas directly (layer_sgd); every other rule gets the
    gradient in ``grads`` and the batched path's optimizer_step."""
    Zs, Hs, start = workspace(sizes, 1, X)
    Ds = np.empty_like(Zs)
    sparse = opt == OPT_SGD and hp[HP_WEIGHT_DECAY] == 0
    for s in range(order.size):
        x, y = X[order[s]], Y[order[s]]
        sample_forward(x, sizes, acts, alpha, params, Zs, Hs, start)
        value = sample_deltas(y, sizes, acts, alpha, loss, params, Zs, Hs, Ds, start)
        losses_out[s] = value
        finite = math.isfinite(value)
        if not (sparse and finite):
            write_gradient(x, sizes, grads, Hs, Ds, start)
        if not finite:
            return s
        set_schedule(hp, lrs, betas, s)
        if sparse:
            sample_sgd(x, sizes, params, scalar(hp[HP_LR], params), Hs, Ds, start)
        else:
            optimizer_step(opt, params, grads, s1, s2, hp, t0 + s + 1)
    if sparse and order.size > 0:
        write_gradient(X[order[-1]], sizes, grads, Hs, Ds, start)
    return order.size
