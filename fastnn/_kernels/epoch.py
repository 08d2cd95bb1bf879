"""The per-step epoch, written once: the NumPy backend's ``train_epoch`` and
the per-step path of ``fastnn.fit`` (``fast=False``, line search) for every
backend. Plain Python over NumPy arrays; the Numba backend compiles
:func:`n_steps` and :func:`set_schedule` from this source.
"""
import math

import numpy as np

from ._shared import shared
from .codes import HP_BETA1, HP_LR
from .layout import matrix, regions


@shared
def n_steps(n_samples, batch_size):
    """Steps in one epoch: ceil(N / B) (the last partial batch is a step)."""
    return -(-n_samples // batch_size)


@shared
def set_schedule(hp, lrs, betas, s):
    """hp's eta = lrs[s] (and beta = betas[s] when ``betas`` is not empty) for step s."""
    hp[HP_LR] = lrs[s]
    if betas.shape[0] > 0:
        hp[HP_BETA1] = betas[s]


def step_epoch(loss_and_grad, update, X, Y, w, order, batch_size, net, params, grads, opt, lrs,
               betas, losses_out, work):
    """One epoch of mini-batch gradient descent, step by step: step s gathers
    the rows ``order[s*B:(s+1)*B]`` of (X, Y) and of the sample weights ``w``
    (when not empty) into the work buffer's batch regions, writes the batch
    loss into ``losses_out[s]`` and its gradient into ``grads``
    (``loss_and_grad``), sets eta = lrs[s] (beta = betas[s]) in ``opt.hp``
    and calls ``update(x, y, wb)`` on the gathered batch, which applies the
    step (``optimizer_step(opt, params, grads)`` in train_epoch).

    Stops before the update of the first step whose loss is not finite and
    returns the number of steps whose update was applied."""
    xb, yb, wb = regions(net, work)[:3]
    steps = n_steps(order.shape[0], batch_size)
    for s in range(steps):
        rows = order[s * batch_size:(s + 1) * batch_size]
        x = np.take(X, rows, axis=0, out=matrix(xb, rows.shape[0], X.shape[1]))
        y = np.take(Y, rows, axis=0, out=matrix(yb, rows.shape[0], Y.shape[1]))
        v = w if w.shape[0] == 0 else np.take(w, rows, out=wb[:rows.shape[0]])
        losses_out[s] = loss_and_grad(x, y, v, net, params, grads, work)
        if not math.isfinite(losses_out[s]):
            return s
        set_schedule(opt.hp, lrs, betas, s)
        update(x, y, v)
    return steps
