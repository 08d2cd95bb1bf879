"""The fit loop: batch, stochastic and mini-batch gradient descent (notes 5.3).

One epoch of the compiled backends is ONE kernel call (``train_epoch``):
index order, batch gather, forward, backward and optimizer update all run
without Python. The per-step path (``fast=False``, and the NumPy backend)
composes the same kernels from Python and is the fast path's reference.
"""
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import optim as optim_module
from ._kernels.codes import HP_LR
from ._kernels.epoch import n_steps, step_epoch
from ._validation import check_int
from .callbacks import TerminateOnNaN
from .progress import Progress


class DivergenceError(FloatingPointError):
    """Training produced a loss that is NaN or infinite."""


@dataclass
class History:
    """What happened per epoch: training loss (mean over the epoch's steps,
    weighted by batch size), validation loss and accuracy (when validation
    data is given), learning rate at the epoch's first step, wall time."""
    loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    time: list = field(default_factory=list)
    steps: int = 0
    epochs: int = 0
    interrupted: bool = False
    stopped_early: bool = False

    def as_dict(self):
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def fit(net, X, y, optimizer="sgd", epochs=1, batch_size=None, shuffle=True, random_state=None,
        schedule=None, schedule_unit="step", momentum_schedule=None, validation_data=None,
        callbacks=(), progress=False, fast=True, line_search=None, initial_epoch=0,
        sample_weight=None):
    """Train ``net`` on (X, y) with ``optimizer``; returns a :class:`History`.

    ``batch_size`` None (or N) is vanilla (batch) gradient descent, one step per
    epoch; 1 is stochastic gradient descent, N steps per epoch; B is mini-batch,
    ceil(N / B) steps (the notes' Table 5). Each epoch visits the samples in a
    fresh permutation drawn from ``random_state`` (indices only: X is never
    copied). ``schedule`` sets eta before every step (``schedule_unit="step"``,
    t = optimizer steps so far) or every epoch (``"epoch"``);
    ``momentum_schedule`` sets beta (beta1) per step. Validation-driven
    schedules receive the validation loss (else the training loss) after each
    epoch. ``line_search``: a sequence of learning rates tried at every step,
    keeping the parameters with the lowest loss on the batch (the notes 5.4).

    ``sample_weight`` (one weight >= 0 per row of X): each step's loss is the
    weighted mean sum_i w_i L_i / sum_i w_i over its batch (scikit-learn's
    normalisation; a batch of weights summing to 0 contributes a zero
    gradient), computed inside the kernels; None is the plain mean.

    A NaN/inf loss raises :class:`DivergenceError` naming the epoch and step
    (or stops quietly with a warning when a :class:`TerminateOnNaN` callback is
    given); Ctrl-C ends training after the current epoch's kernel call and
    returns the History with ``interrupted=True``.
    """
    opt = _optimizer(optimizer)
    opt.check_backend(net.backend_name, "the network")
    net.check_trainable()
    X = net.check_X(X)
    Y = net.targets(y, len(X))
    w = net.sample_weights(sample_weight, len(X))
    epochs = check_int(epochs, "epochs", minimum=0)
    B = len(X) if batch_size is None else min(check_int(batch_size, "batch_size", 1), len(X))
    if schedule_unit not in ("step", "epoch"):
        raise ValueError(f"schedule_unit={schedule_unit!r} must be 'step' or 'epoch'")
    if line_search is not None:
        line_search = _check_line_search(line_search)
    if momentum_schedule is not None and not {"beta", "beta1"} & set(opt.hyperparameters):
        raise ValueError(f"momentum_schedule needs an optimizer with a beta; "
                         f"{type(opt).__name__} has none")
    val = None if validation_data is None else _validation_pair(net, validation_data)
    rng = np.random.default_rng(random_state)
    state = opt.kernel_state(net.params)
    work = net.workspace(B)
    steps = n_steps(len(X), B)
    losses = np.empty(steps, dtype=np.float64)
    batch_sizes = np.minimum(B, len(X) - B * np.arange(steps))
    history = History()
    callbacks = list(callbacks)
    for cb in callbacks:
        cb.on_train_begin(net, history)
    bar = Progress(epochs, "fit", "epoch", enabled=progress)
    try:
        for epoch in range(initial_epoch, initial_epoch + epochs):
            start = time.perf_counter()
            order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
            lrs, betas = _step_values(opt, schedule, schedule_unit, momentum_schedule, epoch, steps)
            done = _run_epoch(net, X, Y, w, order, B, opt, state, lrs, betas, losses, work, fast,
                              line_search)
            history.steps += done
            if done < steps:
                if _diverged(callbacks, epoch, done):
                    break
            _record(history, net, float(losses @ batch_sizes / len(X)), lrs[0], val, start)
            if schedule is not None and getattr(schedule, "is_validation_driven", False):
                schedule.update(history.val_loss[-1] if val is not None else history.loss[-1])
            bar.update(_last(history))
            if any([cb.on_epoch_end(net, epoch, _last(history)) for cb in callbacks]):
                history.stopped_early = True
                break
    except KeyboardInterrupt:
        history.interrupted = True
    finally:
        bar.close()
    for cb in callbacks:
        cb.on_train_end(net, history)
    if not np.all(np.isfinite(net.params)):
        raise DivergenceError("training left non-finite weights in the network; "
                              "lower the learning rate")
    return history


def _record(history, net, loss, lr, val, start):
    """Append one finished epoch to ``history``."""
    history.epochs += 1
    history.loss.append(loss)
    history.lr.append(float(lr))
    if val is not None:
        history.val_loss.append(net.loss_value(*val))
        if net.is_classifier:
            history.val_accuracy.append(_accuracy(net, *val))
    history.time.append(time.perf_counter() - start)


def _validation_pair(net, validation_data):
    """(Xv, Yv) validated like the training data."""
    try:
        Xv, yv = validation_data
    except (TypeError, ValueError):
        raise ValueError("validation_data must be a pair (X_val, y_val)") from None
    Xv = net.check_X(Xv, "validation_data[0]")
    return Xv, net.targets(yv, len(Xv), "validation_data[1]")


def _run_epoch(net, X, Y, w, order, B, opt, state, lrs, betas, losses, work, fast, line_search):
    """Steps of one epoch through the network's backend (the optimizer state
    ``state`` advances its t); returns how many updates were applied."""
    kernels, params, grads = net.backend, net.params, net.grads
    args = (X, Y, w, order, B, net.description, params, grads, state, lrs, betas, losses, work)
    if line_search is not None:
        return step_epoch(kernels.loss_and_grad, _line_search(net, state, line_search), *args)
    if fast or net.backend_name == "numpy":
        return kernels.train_epoch(*args)
    return step_epoch(kernels.loss_and_grad,
                      lambda x, y, wb: kernels.optimizer_step(state, params, grads), *args)


def _line_search(net, state, candidates):
    """The update of a line-search step: eta in ``candidates`` and the scheduled
    rate are each tried from the same parameters and optimizer state, and the
    update whose loss on the batch afterwards is lowest is kept (so it is never
    worse than the plain step). Buffers are allocated once per epoch."""
    live = (net.params, state.s1, state.s2, state.hp, state.t)
    start = [a.copy() for a in live]
    best = [np.empty_like(a) for a in live]

    def update(x, y, wb):
        _copy(start, live)
        scheduled, best_loss = state.hp[HP_LR], None
        for lr in (scheduled, *candidates):
            _copy(live, start)
            state.hp[HP_LR] = lr
            net.backend.optimizer_step(state, net.params, net.grads)
            value = net.loss_value(x, y, wb)
            if best_loss is None or value < best_loss:
                best_loss = value
                _copy(best, live)
        _copy(live, best)
    return update


def _copy(targets, sources):
    for target, source in zip(targets, sources):
        target[...] = source


def _optimizer(optimizer):
    """An optimizer instance from an instance or a name of ``fastnn.optim``."""
    if isinstance(optimizer, str):
        if optimizer not in optim_module.NAMES:
            raise ValueError(f"optimizer={optimizer!r} is unknown; valid: "
                             f"{', '.join(optim_module.NAMES)}")
        return optim_module.get(optimizer)
    if not all(hasattr(optimizer, a) for a in ("code", "hp", "kernel_state", "check_backend")):
        raise TypeError(f"optimizer={optimizer!r} is not a fastnn.optim optimizer or name")
    return optimizer


def _step_values(opt, schedule, unit, momentum_schedule, epoch, steps):
    """Per-step learning rates and betas of one epoch (float64 arrays)."""
    if schedule is None:
        lrs = np.full(steps, opt.lr)
    elif unit == "epoch" or getattr(schedule, "is_validation_driven", False):
        lrs = np.full(steps, float(schedule(epoch)))
    else:
        lrs = np.asarray(schedule.values(opt.t, steps), dtype=np.float64)
    if not np.all(np.isfinite(lrs)) or np.any(lrs < 0):
        raise ValueError(f"schedule gave a learning rate that is negative or not finite "
                         f"in epoch {epoch}")
    betas = (np.empty(0) if momentum_schedule is None
             else np.asarray(momentum_schedule.values(opt.t, steps), dtype=np.float64))
    return lrs, betas


def _diverged(callbacks, epoch, step):
    message = (f"loss became NaN or infinite in epoch {epoch}, step {step} "
               f"(the update of that step was not applied); lower the learning rate")
    if any(isinstance(cb, TerminateOnNaN) for cb in callbacks):
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        return True
    raise DivergenceError(message)


def _accuracy(net, X, Y):
    P = net.forward(X)
    if net.output == "softmax":
        return float(np.mean(P.argmax(axis=1) == Y.argmax(axis=1)))
    return float(np.mean((P >= 0.5) == (Y >= 0.5)))


def _last(history):
    logs = {"loss": history.loss[-1]} if history.loss else {}
    if history.val_loss:
        logs["val_loss"] = history.val_loss[-1]
    if history.val_accuracy:
        logs["val_accuracy"] = history.val_accuracy[-1]
    return logs


def _check_line_search(candidates):
    lrs = np.asarray(candidates, dtype=np.float64).ravel()
    if lrs.size == 0 or not np.all(np.isfinite(lrs)) or np.any(lrs <= 0):
        raise ValueError(f"line_search={candidates!r} must be a non-empty sequence of "
                         f"positive learning rates")
    return lrs
