"""Whole networks: forward (the notes' Algorithm 5), loss and backward
(Algorithm 6) through the work buffer of ``layout.py``, and the epoch loop in
one compiled call."""
import math

from ..epoch import n_steps, set_schedule
from ..layout import block, layer, matrix, regions
from ._jit import kernel
from .dense import dense_backward, dense_forward
from .losses import loss_grad
from .optim import optimizer_step
from .stochastic import copy, train_stochastic


@kernel
def forward_layers(h, first, net, params, A, H):
    """Algorithm 5 from layer ``first`` up: a_k = b_k + W_k h_{k-1},
    h_k = g(a_k) for k = first..L-1, h_{first-1} = h, into the layers' blocks
    of regions A and H; returns the logits a_L (a view)."""
    B, L = h.shape[0], net.sizes.size - 1
    for k in range(first, L):
        W, b = layer(params, net, k)
        dense_forward(h, W, b, net.acts[k], net.alpha, block(A, net, k, B), block(H, net, k, B))
        h = block(H, net, k, B)
    return block(A, net, L - 1, B)


@kernel
def backward_layers(X, last, B, net, params, grads, A, H, D):
    """Algorithm 6 from dL/da_L (in D) down to layer ``last``: dL/dtheta of
    layers L-1..last into ``grads``, dL/dh_{k-1} into D for k > 0; layer 0's
    input is X (the rows the forward pass read)."""
    for k in range(net.sizes.size - 2, last - 1, -1):
        W, _ = layer(params, net, k)
        dW, db = layer(grads, net, k)
        Z, Hk, dZ = block(A, net, k, B), block(H, net, k, B), block(D, net, k, B)
        if k == 0:  # no dL/dX for the input layer
            dense_backward(X, W, Z, Hk, dZ, net.acts[k], net.alpha, dZ, dW, db, dZ, False)
        else:
            dense_backward(block(H, net, k - 1, B), W, Z, Hk, dZ, net.acts[k], net.alpha, dZ,
                           dW, db, block(D, net, k - 1, B), True)


@kernel
def forward_batch(X, net, params, work):
    """Algorithm 5 for the rows of X into the work buffer's A and H; returns
    the logits a_L (a view)."""
    _, _, _, A, H, _, _ = regions(net, work)
    return forward_layers(X, 0, net, params, A, H)


@kernel
def backward_batch(X, Y, w, net, params, grads, work):
    """The loss of the logits left in the work buffer by forward_batch
    (weighted by the rows' weights ``w``, empty: unweighted), then Algorithm 6
    layer by layer (dL/da_k into D, dL/dtheta into ``grads``); returns the loss."""
    _, _, _, A, H, D, _ = regions(net, work)
    B, L = X.shape[0], net.sizes.size - 1
    value = loss_grad(net.loss, block(A, net, L - 1, B), Y, w, block(D, net, L - 1, B))
    backward_layers(X, 0, B, net, params, grads, A, H, D)
    return value


@kernel
def forward(X, net, params, out, work):
    """Logits a_L of the network for the rows of X, written into ``out``."""
    copy(forward_batch(X, net, params, work), out)
    return out


@kernel
def loss_and_grad(X, Y, w, net, params, grads_out, work):
    """Forward, the loss of the logits (weighted by ``w``; empty: unweighted),
    backward; writes dL/dtheta into ``grads_out`` (params' layout); returns the loss."""
    forward_batch(X, net, params, work)
    return backward_batch(X, Y, w, net, params, grads_out, work)


@kernel
def gather(X, order, lo, out):
    """out[r] = X[order[lo + r]]: the batch's rows, in order."""
    for r in range(out.shape[0]):
        copy(X[order[lo + r]], out[r])


@kernel
def gather_weights(w, order, lo, out):
    """The batch's sample weights w[order[lo + r]] in ``out`` (w itself when empty)."""
    if w.size == 0:
        return w
    for r in range(out.size):
        out[r] = w[order[lo + r]]
    return out


def train_epoch(X, Y, w, order, batch_size, net, params, grads, opt, lrs, betas, losses_out,
                work):
    """One epoch of mini-batch gradient descent in one compiled call (see
    epoch.step_epoch for what a step does). B = 1 runs the fused per-sample
    loop (stochastic.py); each path compiles only when first used."""
    epoch = train_stochastic if batch_size == 1 else train_batches
    return epoch(X, Y, w, order, batch_size, net, params, grads, opt, lrs, betas, losses_out,
                 work)


@kernel
def train_batches(X, Y, w, order, batch_size, net, params, grads, opt, lrs, betas, losses_out,
                  work):
    """train_epoch for any batch size, through forward_batch, backward_batch and
    optimizer_step; nothing is allocated."""
    xb, yb, wb, _, _, _, _ = regions(net, work)
    steps = n_steps(order.size, batch_size)
    for s in range(steps):
        lo = s * batch_size
        B = min(batch_size, order.size - lo)
        x, y = matrix(xb, B, X.shape[1]), matrix(yb, B, Y.shape[1])
        gather(X, order, lo, x)
        gather(Y, order, lo, y)
        v = gather_weights(w, order, lo, wb[:B])
        forward_batch(x, net, params, work)
        value = backward_batch(x, y, v, net, params, grads, work)
        losses_out[s] = value
        if not math.isfinite(value):
            return s
        set_schedule(opt.hp, lrs, betas, s)
        optimizer_step(opt, params, grads)
    return steps
