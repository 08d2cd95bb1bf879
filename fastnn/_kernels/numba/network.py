"""Whole networks: forward (the notes' Algorithm 5), loss and backward
(Algorithm 6) through a workspace of flat buffers, and the epoch loop in one
compiled call. Layout as in the reference: layer k stores W_k (n_k x n_{k-1},
row-major) then b_k in the flat buffers."""
import math

import numpy as np

from ._jit import kernel
from .dense import dense_backward, dense_forward
from .layout import block, copy, hidden_act, layer, rows, workspace
from .losses import loss_grad
from .optim import optimizer_step, set_schedule
from .stochastic import train_stochastic


@kernel
def n_steps(n_samples, batch_size):
    """Steps in one epoch: ceil(N / B) (the last partial batch is a step)."""
    return -(-n_samples // batch_size)


@kernel
def gradient_workspace(sizes, capacity, like):
    """Two buffers for dL/dh of a batch (dL/dh_k and dL/dh_{k-1} alternate);
    the input layer's gradient is never computed."""
    n = capacity * sizes[1:].max()
    return np.empty(n, like.dtype), np.empty(n, like.dtype)


@kernel
def forward_batch(X, sizes, acts, alpha, params, ws):
    """Algorithm 5: a_k = b_k + W_k h_{k-1}, h_k = g(a_k) for the rows of X,
    into the workspace ws; returns the logits a_L (a view)."""
    Zs, Hs, start = ws
    B, L = X.shape[0], sizes.size - 1
    for k in range(L):
        W, b = layer(params, sizes, k)
        Z, H, act = block(Zs, start, k, B), block(Hs, start, k, B), hidden_act(acts, k, L)
        if k == 0:
            dense_forward(X, W, b, act, alpha, Z, H)
        else:
            dense_forward(block(Hs, start, k - 1, B), W, b, act, alpha, Z, H)
    return block(Zs, start, L - 1, B)


@kernel
def backward_batch(X, Y, sizes, acts, alpha, loss, params, grads, ws, gws):
    """The loss of the logits left in ws by forward_batch, then Algorithm 6
    layer by layer into ``grads``; returns the loss. dL/dh alternates between
    the two buffers of gws."""
    Zs, Hs, start = ws
    dH, spare = gws
    B, L = X.shape[0], sizes.size - 1
    value = loss_grad(loss, block(Zs, start, L - 1, B), Y, rows(dH, B, sizes[L]))
    for k in range(L - 1, -1, -1):
        W, _ = layer(params, sizes, k)
        dW, db = layer(grads, sizes, k)
        Z, H, act = block(Zs, start, k, B), block(Hs, start, k, B), hidden_act(acts, k, L)
        d = rows(dH, B, sizes[k + 1])
        if k == 0:  # no dL/dX for the input layer
            dense_backward(X, W, Z, H, d, act, alpha, d, dW, db, d, False)
        else:
            dX = rows(spare, B, sizes[k])
            dense_backward(block(Hs, start, k - 1, B), W, Z, H, d, act, alpha, d, dW, db, dX,
                           True)
            dH, spare = spare, dH
    return value


@kernel
def forward(X, sizes, acts, alpha, params, out):
    """Logits a_L of the network for the rows of X, written into ``out``."""
    ws = workspace(sizes, X.shape[0], X)
    copy(forward_batch(X, sizes, acts, alpha, params, ws), out)
    return out


@kernel
def loss_and_grad(X, Y, sizes, acts, alpha, loss, params, grads_out):
    """Forward, the loss of the logits, backward; writes dL/dtheta into
    ``grads_out`` (params' layout); returns the loss."""
    ws = workspace(sizes, X.shape[0], X)
    gws = gradient_workspace(sizes, X.shape[0], X)
    forward_batch(X, sizes, acts, alpha, params, ws)
    return backward_batch(X, Y, sizes, acts, alpha, loss, params, grads_out, ws, gws)


@kernel
def gather(X, order, lo, out):
    """out[r] = X[order[lo + r]]: the batch's rows, in order."""
    for r in range(out.shape[0]):
        copy(X[order[lo + r]], out[r])


def train_epoch(X, Y, order, batch_size, sizes, acts, alpha, loss, params, grads,
                opt, s1, s2, hp, lrs, betas, t0, losses_out):
    """One epoch of mini-batch gradient descent in one compiled call: step s
    takes the rows order[s*B:(s+1)*B], computes the batch's loss (into
    losses_out[s]) and gradient (into grads), sets eta = lrs[s] (and
    beta = betas[s] if betas is not empty) in hp and updates params at step
    count t = t0 + s + 1. Stops before the update of the first step whose loss
    is not finite; returns the number of updates. B = 1 runs the fused
    per-sample loop (stochastic.py); each path compiles only when first used."""
    epoch = train_stochastic if batch_size == 1 else train_batches
    return epoch(X, Y, order, batch_size, sizes, acts, alpha, loss, params, grads,
                 opt, s1, s2, hp, lrs, betas, t0, losses_out)


@kernel
def train_batches(X, Y, order, batch_size, sizes, acts, alpha, loss, params, grads,
                  opt, s1, s2, hp, lrs, betas, t0, losses_out):
    """train_epoch for any batch size, through forward_batch, backward_batch and
    optimizer_step; every buffer is allocated once, here."""
    steps = n_steps(order.size, batch_size)
    capacity = min(batch_size, order.size)
    ws = workspace(sizes, capacity, X)
    gws = gradient_workspace(sizes, capacity, X)
    Xb = np.empty(capacity * X.shape[1], X.dtype)
    Yb = np.empty(capacity * Y.shape[1], Y.dtype)
    for s in range(steps):
        lo = s * batch_size
        B = min(batch_size, order.size - lo)
        xb, yb = rows(Xb, B, X.shape[1]), rows(Yb, B, Y.shape[1])
        gather(X, order, lo, xb)
        gather(Y, order, lo, yb)
        forward_batch(xb, sizes, acts, alpha, params, ws)
        value = backward_batch(xb, yb, sizes, acts, alpha, loss, params, grads, ws, gws)
        losses_out[s] = value
        if not math.isfinite(value):
            return s
        set_schedule(hp, lrs, betas, s)
        optimizer_step(opt, params, grads, s1, s2, hp, t0 + s + 1)
    return steps
