"""The epoch loop for batch size 1 (stochastic gradient descent), per sample:
matrix-vector products forward, the deltas dL/da_k of every layer backward
(in the work buffer's D), then the update. The gradient is the outer product
dL/dW_k = delta_k h_{k-1}^T, so plain SGD updates W_k from the deltas
directly and skips the rows whose delta is 0 (W_1 is the memory traffic of a
step); the other rules write the gradient and take optimizer_step.
"""
import math

import numpy as np

from ..codes import HP_LR, HP_WEIGHT_DECAY, OPT_SGD
from ..epoch import set_schedule
from ..layout import block, layer, regions
from ._jit import kernel, scalar
from .activations import activation_backward, activation_forward
from .dense import add_bias
from .losses import loss_grad
from .optim import optimizer_step


@kernel
def copy(src, dst):
    """dst = src, elementwise over arrays of one size (any shapes)."""
    s, d = src.reshape(-1), dst.reshape(-1)
    for i in range(s.size):
        d[i] = s[i]


@kernel
def vector(region, net, k):
    """Layer k's vector in region A, H or D of a one-row batch."""
    return region[net.unit_at[k]:net.unit_at[k + 1]]


@kernel
def sample_forward(x, net, params, A, H):
    """Algorithm 5 for one sample x: a_k = b_k + W_k h_{k-1}, h_k = g(a_k)."""
    h = x
    for k in range(net.sizes.size - 1):
        W, b = layer(params, net, k)
        z = vector(A, net, k)
        np.dot(W, h, z)
        add_bias(z.reshape(1, z.size), b)
        h = vector(H, net, k)
        activation_forward(z, net.acts[k], net.alpha, h)


@kernel
def sample_deltas(y, w, net, params, A, H, D):
    """delta_L = dL/da_L from the loss (returned; ``w`` the sample's weight, or
    empty), then delta_{k-1} = g'(a_{k-1}) * (W_k^T delta_k) down to the first layer."""
    L = net.sizes.size - 1
    value = loss_grad(net.loss, block(A, net, L - 1, 1), y.reshape(1, y.size), w,
                      block(D, net, L - 1, 1))
    for k in range(L - 1, 0, -1):
        W, _ = layer(params, net, k)
        d_prev = vector(D, net, k - 1)
        np.dot(vector(D, net, k), W, d_prev)
        activation_backward(vector(A, net, k - 1), vector(H, net, k - 1), d_prev,
                            net.acts[k - 1], net.alpha, d_prev)
    return value


@kernel
def all_finite(v):
    """Whether every entry of v is finite."""
    for i in range(v.size):
        if not math.isfinite(v[i]):
            return False
    return True


@kernel
def layer_sgd(k, h, net, params, lr, d):
    """Plain SGD on layer k, w -= eta g with g = delta_k h_{k-1}^T computed row by
    row; a row with delta_kj = 0 has g = 0 and is skipped (when h_{k-1} is finite,
    so that 0 * h is 0): with ReLU about half of W_k is never touched."""
    W, b = layer(params, net, k)
    dense = not all_finite(h)
    for j in range(d.size):
        dj, w = d[j], W[j]
        if dj != 0 or dense:
            for i in range(h.size):
                w[i] -= lr * (dj * h[i])
        b[j] -= lr * dj


@kernel
def layer_gradient(k, h, net, grads, d):
    """dW_k = delta_k h_{k-1}^T, db_k = delta_k."""
    dW, db = layer(grads, net, k)
    for j in range(d.size):
        for i in range(h.size):
            dW[j, i] = d[j] * h[i]
    copy(d, db)


@kernel
def write_gradient(x, net, grads, H, D):
    """grads = dL/dtheta of the sample whose deltas are in D."""
    layer_gradient(0, x, net, grads, vector(D, net, 0))
    for k in range(1, net.sizes.size - 1):
        layer_gradient(k, vector(H, net, k - 1), net, grads, vector(D, net, k))


@kernel
def sample_sgd(x, net, params, lr, H, D):
    """One plain SGD step of every layer from the sample's deltas."""
    layer_sgd(0, x, net, params, lr, vector(D, net, 0))
    for k in range(1, net.sizes.size - 1):
        layer_sgd(k, vector(H, net, k - 1), net, params, lr, vector(D, net, k))


@kernel
def train_stochastic(X, Y, w, order, batch_size, net, params, grads, opt, lrs, betas,
                     losses_out, work):
    """train_epoch for ``batch_size`` 1, same contract and result (``grads``
    ends holding the last sample's gradient). Plain SGD without weight decay
    updates W_k from the deltas directly (layer_sgd); every other rule gets the
    gradient in ``grads`` and optimizer_step. A sample's weight w_i scales its
    loss by w_i / w_i: 1, or 0 for a weight of 0 (scikit-learn's normalisation)."""
    _, _, _, A, H, D, _ = regions(net, work)
    sparse = opt.code == OPT_SGD and scalar(opt.hp[HP_WEIGHT_DECAY], params) == 0
    for s in range(order.size):
        x, y = X[order[s]], Y[order[s]]
        v = w if w.size == 0 else w[order[s]:order[s] + 1]
        sample_forward(x, net, params, A, H)
        value = sample_deltas(y, v, net, params, A, H, D)
        losses_out[s] = value
        finite = math.isfinite(value)
        if not (sparse and finite):
            write_gradient(x, net, grads, H, D)
        if not finite:
            return s
        set_schedule(opt.hp, lrs, betas, s)
        if sparse:
            sample_sgd(x, net, params, scalar(opt.hp[HP_LR], params), H, D)
            opt.t[0] += 1
        else:
            optimizer_step(opt, params, grads)
    if sparse and order.size > 0:
        write_gradient(X[order[-1]], net, grads, H, D)
    return order.size
