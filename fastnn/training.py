"""The fit loop: batch, stochastic and mini-batch gradient descent (notes 5.3).

An epoch of the compiled backends is a few kernel calls (``train_epoch`` on
consecutive chunks of its steps, each at most a few tens of milliseconds of
work, so that Ctrl-C is seen quickly): index order, batch gather, forward,
backward and optimizer update all run without Python. When nothing needs
Python between epochs, one call runs as many whole epochs as fit in a chunk
(:func:`_grouped_epochs`: tiny data, many epochs). The per-step path
(``fast=False``, and the NumPy backend) composes the same kernels from Python
and is the fast path's reference.
"""
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import optim as optim_module
from ._kernels.codes import HP_LR
from ._kernels.epoch import n_steps, step_epoch
from ._kernels.sparse import sparse_step_epoch
from ._interrupt import deferred_interrupts
from ._validation import check_choice, check_flag, check_int, check_seed, is_sparse
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
    ceil(N / B) steps (the notes' Table 5). Epoch e visits the samples in a
    permutation drawn from ``random_state`` and e alone (indices only: X is
    never copied), so ``initial_epoch=e`` resumes an interrupted run exactly.
    ``schedule`` (a :mod:`fastnn.schedules` schedule or any callable of the
    count) sets eta before every step (``schedule_unit="step"``, t = optimizer
    steps so far) or every epoch (``"epoch"``); ``momentum_schedule`` sets
    beta (beta1) per step. Validation-driven schedules receive the validation
    loss (else the training loss) after each epoch. ``line_search``: a
    sequence of learning rates tried at every step, keeping the parameters
    with the lowest loss on the batch (the notes 5.4).

    ``sample_weight`` (one weight >= 0 per row of X): each step's loss is the
    weighted mean sum_i w_i L_i / sum_i w_i over its batch (scikit-learn's
    normalisation; a batch of weights summing to 0 contributes a zero
    gradient), computed inside the kernels; None is the plain mean.

    A NaN/inf loss raises :class:`DivergenceError` naming the epoch and step
    (or stops quietly with a warning when a :class:`TerminateOnNaN` callback is
    given). Ctrl-C stops training within a chunk of a few tens of milliseconds of
    work and returns the History with ``interrupted=True``: an epoch cut short
    is undone, so the parameters, the optimizer (t, state) and the History
    all stand at the end of the last completed epoch.

    With a compiled backend, fast=True, no validation data, callbacks or line
    search, closed-form schedules and N a multiple of B, epochs run in groups
    of one kernel call each (same results bit for bit; see
    :func:`_grouped_epochs`): Ctrl-C is then seen at the end of a group, whose
    epochs are all kept, and each epoch's History time is its group's wall
    time divided evenly.
    """
    opt = _optimizer(optimizer)
    opt.check_backend(net.backend_name, "the network")
    net.check_trainable()
    X = net.check_X(X)
    Y = net.targets(y, len(X))
    w = net.sample_weights(sample_weight, len(X))
    epochs = check_int(epochs, "epochs", minimum=0)
    initial_epoch = check_int(initial_epoch, "initial_epoch", minimum=0)
    B = len(X) if batch_size is None else min(check_int(batch_size, "batch_size", 1), len(X))
    shuffle, fast = check_flag(shuffle, "shuffle"), check_flag(fast, "fast")
    progress = check_flag(progress, "progress")
    check_choice(schedule_unit, "schedule_unit", ("step", "epoch"))
    schedule = _check_schedule(schedule, "schedule")
    momentum_schedule = _check_schedule(momentum_schedule, "momentum_schedule")
    if line_search is not None:
        line_search = _check_line_search(line_search)
    if momentum_schedule is not None and not {"beta", "beta1"} & set(opt.hyperparameters):
        raise ValueError(f"momentum_schedule needs an optimizer with a beta; "
                         f"{type(opt).__name__} has none")
    callbacks = _check_callbacks(callbacks)
    val = None if validation_data is None else _validation_pair(net, validation_data)
    random_state = check_seed(random_state)
    shuffled = _shuffler(random_state) if shuffle else None
    state = opt.kernel_state(net.params)
    work = net.workspace(B, sparse=is_sparse(X))
    steps = n_steps(len(X), B)
    chunk = chunk_steps(_cost_sizes(net, X, B), B,
                        python_steps=line_search is not None or not fast
                        or net.backend_name == "numpy")
    losses = np.empty(steps, dtype=np.float64)
    batch_sizes = np.minimum(B, len(X) - B * np.arange(steps))
    history = History()
    for cb in callbacks:
        cb.on_train_begin(net, history)
    bar = Progress(epochs, "fit", "epoch", enabled=progress)
    with deferred_interrupts() as interrupts:
        checkpoint = _Checkpoint(net, state, needed=steps > chunk or not interrupts.deferred)
        try:
            first = initial_epoch
            if _epoch_group(net, X, B, fast, line_search, val, callbacks, schedule, schedule_unit,
                            momentum_schedule, chunk // steps) > 1:
                first = _grouped_epochs(net, X, Y, w, B, state, opt, schedule, schedule_unit,
                                        momentum_schedule, shuffled, shuffle, chunk // steps,
                                        (initial_epoch, initial_epoch + epochs), batch_sizes,
                                        work, history, bar, checkpoint, interrupts)
            for epoch in range(first, initial_epoch + epochs):
                start = time.perf_counter()
                order = shuffled(epoch, len(X)) if shuffle else np.arange(len(X))
                lrs, betas = _step_values(opt, schedule, schedule_unit, momentum_schedule,
                                          epoch, steps)
                checkpoint.take()
                done = _chunked_epoch(net, X, Y, w, order, B, state, lrs, betas, losses, work,
                                      fast, line_search, chunk, interrupts)
                if done is None:
                    checkpoint.restore()
                    history.interrupted = True
                    break
                history.steps += done
                checkpoint.release()
                if done < steps:
                    if _diverged(callbacks, epoch, done):
                        break
                _record(history, net, float(losses @ batch_sizes / len(X)), lrs[0], val, start)
                if schedule is not None and getattr(schedule, "is_validation_driven", False):
                    schedule.update(history.val_loss[-1] if val is not None else history.loss[-1])
                interrupts.critical = False
                bar.update(_last(history))
                if any([cb.on_epoch_end(net, epoch, _last(history)) for cb in callbacks]):
                    history.stopped_early = True
                    break
                interrupts.critical = True
                if interrupts.requested:
                    history.interrupted = True
                    break
        except KeyboardInterrupt:
            checkpoint.restore()
            history.interrupted = True
        finally:
            bar.close()
    for cb in callbacks:
        cb.on_train_end(net, history)
    if not np.all(np.isfinite(net.params)):
        raise DivergenceError("training left non-finite weights in the network; "
                              "lower the learning rate")
    return history


# Work per chunk of an epoch, in floating-point operations: at most a few tens
# of milliseconds of compiled work, so that an interrupt is seen quickly, and
# far more than a kernel call's fixed cost (about half a millisecond of Python
# around each call on a loaded 2-core machine: 4e8, three calls for the 20
# epochs of 4-32-16-4 on 10,000 rows, left 7% of fit's time in Python). A step
# counts 6 B sum(n_in n_out) (forward, backward, update) plus a fixed cost:
# STEP_COST for a compiled step, PYTHON_STEP_COST for one composed from Python
# (NumPy backend, fast=False, line search), whose overhead is tens of
# microseconds.
CHUNK_FLOPS = 1.6e9
STEP_COST = 2e4
PYTHON_STEP_COST = 5e5


def chunk_steps(sizes, batch_size, python_steps=False):
    """Steps per kernel call: a function of the shapes only (never of time),
    so results never depend on timing. Chunking does not change results: a
    chunk is the same steps, with the same t, as the whole epoch."""
    weights = int(np.dot(sizes[:-1], sizes[1:]))
    per_step = 6.0 * batch_size * weights + (PYTHON_STEP_COST if python_steps else STEP_COST)
    return max(1, int(CHUNK_FLOPS // per_step))


# A stored value of a sparse X costs the first layer about as much per hidden
# unit as SPARSE_COST multiply-adds of a dense product (an indexed load each:
# about 1 ns against 1/40 ns in GEMM, benchmarks/sparse_text.py).
SPARSE_COST = 30


def _cost_sizes(net, X, batch_size):
    """The layer sizes whose products measure a step's work: the network's,
    for a sparse X with n_0 replaced by SPARSE_COST times the mean stored
    values per row plus the optimizer's pass over W_1 shared by the batch."""
    if not is_sparse(X):
        return net.sizes
    n_0 = SPARSE_COST * X.data.size // len(X) + net.sizes[0] // batch_size + 1
    return np.r_[n_0, net.sizes[1:]]


def _chunked_epoch(net, X, Y, w, order, B, state, lrs, betas, losses, work, fast, line_search,
                   chunk, interrupts):
    """One epoch as consecutive calls of at most ``chunk`` steps each; returns
    the number of updates applied, or None when an interrupt came before the
    last chunk (the caller undoes the epoch)."""
    steps, done = len(losses), 0
    interrupts.critical = True
    for c0 in range(0, steps, chunk):
        if c0 and interrupts.requested:
            return None
        c1 = min(c0 + chunk, steps)
        n = _run_epoch(net, X, Y, w, order[c0 * B:c1 * B], B, state, lrs[c0:c1],
                       betas[c0:c1], losses[c0:c1], work, fast, line_search)
        done += n
        if n < c1 - c0:
            break
    return done


def _epoch_group(net, X, B, fast, line_search, val, callbacks, schedule, unit,
                 momentum_schedule, group):
    """Epochs per kernel call: ``group`` (those whose steps fit in one chunk)
    when nothing needs Python between epochs -- a compiled backend with
    fast=True, no line search, no validation data, no callbacks, closed-form
    schedules (``values``, not validation-driven) and N a multiple of B (so
    that one call's steps are whole epochs) -- else 1."""
    def closed_form(s):
        return s is None or (hasattr(s, "values") and not getattr(s, "is_validation_driven", False))
    simple = (fast and line_search is None and net.backend_name != "numpy" and val is None
              and not callbacks and len(X) % B == 0)
    return group if simple and closed_form(schedule) and closed_form(momentum_schedule) else 1


def _grouped_epochs(net, X, Y, w, B, state, opt, schedule, unit, momentum_schedule, shuffled,
                    shuffle, group, epochs, batch_sizes, work, history, bar, checkpoint,
                    interrupts):
    """Epochs ``epochs[0]`` .. ``epochs[1] - 1`` in groups of at most ``group``:
    one ``train_epoch`` call runs a group's epochs, their orders (each epoch's
    own, as in the per-epoch path) and per-step rates concatenated; the
    results are the per-epoch path's bit for bit. Each epoch's loss is the
    weighted mean of its steps' losses, its lr that of its first step, its
    time the group's wall time divided evenly among the group's epochs.

    An interrupt is seen between groups (a call is at most a chunk of work),
    so every epoch of a group is kept; a KeyboardInterrupt raised while a
    group runs (interrupts not deferred) undoes the group to its start.
    Returns the epoch the per-epoch loop goes on from: ``epochs[1]``, or an
    epoch whose rates are not valid (that loop trains up to it and raises)."""
    steps = len(batch_sizes)
    losses = np.empty(group * steps)
    epoch, end = epochs
    while epoch < end:
        start, size = time.perf_counter(), min(group, end - epoch)
        try:
            lrs, betas = _step_values(opt, schedule, unit, momentum_schedule, epoch, steps, size)
        except ValueError:
            return epoch
        order = np.concatenate([shuffled(e, len(X)) for e in range(epoch, epoch + size)]) \
            if shuffle else np.tile(np.arange(len(X)), size)
        checkpoint.take()
        interrupts.critical = True
        done = _run_epoch(net, X, Y, w, order, B, state, lrs, betas, losses[:size * steps],
                          work, True, None)
        checkpoint.release()
        history.steps += done
        _record_group(history, losses[:done - done % steps], batch_sizes, lrs, len(X),
                      (time.perf_counter() - start) / size)
        if done < size * steps:
            _diverged((), epoch + done // steps, done % steps)
        interrupts.critical = False
        bar.update(_last(history), n=size)
        interrupts.critical = True
        if interrupts.requested:
            history.interrupted = True
            return end
        epoch += size
    return end


def _record_group(history, losses, batch_sizes, lrs, n, seconds):
    """Append the whole epochs whose step losses are ``losses`` to ``history``
    (each loss computed as :func:`_record`'s caller computes one epoch's)."""
    steps = len(batch_sizes)
    epochs = len(losses) // steps
    if steps == 1:
        loss = losses * batch_sizes[0] / n
    else:
        loss = [losses[s:s + steps] @ batch_sizes / n for s in range(0, len(losses), steps)]
    history.epochs += epochs
    history.loss.extend(np.asarray(loss, dtype=np.float64).tolist())
    history.lr.extend(lrs[:epochs * steps:steps].tolist())
    history.time.extend([seconds] * epochs)


class _Checkpoint:
    """Copies of the parameters and the optimizer state (buffers, hp, t) at
    the start of an epoch, kept only when an epoch can be cut short (buffers
    allocated once)."""

    def __init__(self, net, state, needed):
        live = [net.params, state.s1, state.s2, state.hp, state.t]
        self.live = [a for a in live if a.size] if needed else []
        self.copies = [a.copy() for a in self.live]
        self.taken = False

    def take(self):
        _copy(self.copies, self.live)
        self.taken = True

    def release(self):
        self.taken = False

    def restore(self):
        if self.taken:
            _copy(self.live, self.copies)
        self.taken = False


def _shuffler(random_state):
    """epoch -> that epoch's permutation of the samples. From an integer (or
    None: fresh entropy) the permutation of epoch e is a function of
    (random_state, e) alone, so ``initial_epoch`` resumes a run exactly; a
    ``numpy.random.Generator`` is drawn from in turn, one permutation per epoch."""
    if isinstance(random_state, np.random.Generator):
        return lambda epoch, n: random_state.permutation(n)
    seed = np.random.SeedSequence().entropy if random_state is None else random_state
    return lambda epoch, n: epoch_order(seed, epoch, n)


def epoch_order(seed, epoch, n):
    """The permutation of ``n`` samples in epoch ``epoch`` for an integer seed."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(epoch,)))
    return rng.permutation(n)


def _record(history, net, loss, lr, val, start):
    """Append one finished epoch to ``history``."""
    history.epochs += 1
    history.loss.append(loss)
    history.lr.append(float(lr))
    if val is not None:
        history.val_loss.append(net.loss_value(*val))
        if net.is_classifier:
            history.val_accuracy.append(net.accuracy(*val))
    history.time.append(time.perf_counter() - start)


def _validation_pair(net, validation_data):
    """(Xv, Yv) validated like the training data."""
    try:
        Xv, yv = validation_data
    except (TypeError, ValueError):
        raise ValueError("validation_data must be a pair (X_val, y_val)") from None
    Xv = net.check_X(Xv, "validation_data[0]")
    return Xv, net.targets(yv, len(Xv), "validation_data[1]")


def _run_epoch(net, X, Y, w, order, B, state, lrs, betas, losses, work, fast, line_search):
    """Steps of one epoch through the network's backend (the optimizer state
    ``state`` advances its t); returns how many updates were applied."""
    kernels, params, grads = net.backend, net.params, net.grads
    train_epoch, loss_and_grad, epoch, inputs = _epoch_kernels(kernels, X)
    args = (*inputs, Y, w, order, B, net.description, params, grads, state, lrs, betas, losses,
            work)
    if line_search is not None:
        return epoch(loss_and_grad, _line_search(net, state, line_search), *args)
    if fast or net.backend_name == "numpy":
        return train_epoch(*args)
    return epoch(loss_and_grad, lambda x, y, wb: kernels.optimizer_step(state, params, grads),
                 *args)


def _epoch_kernels(kernels, X):
    """(train_epoch, loss_and_grad, the per-step epoch, X as the kernels take it)
    of the backend ``kernels``: the sparse ones for SparseRows X."""
    if is_sparse(X):
        return (kernels.train_epoch_sparse, kernels.loss_and_grad_sparse, sparse_step_epoch,
                X.arrays)
    return kernels.train_epoch, kernels.loss_and_grad, step_epoch, (X,)


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


def _step_values(opt, schedule, unit, momentum_schedule, epoch, steps, epochs=1):
    """Per-step learning rates and betas of ``epochs`` epochs from ``epoch``
    (float64 arrays of steps * epochs values)."""
    if schedule is None and momentum_schedule is None:
        return np.full(steps * epochs, opt.lr), np.empty(0)   # opt.lr is checked when set
    if schedule is None:
        lrs = np.full(steps * epochs, opt.lr)
    elif unit == "epoch" or getattr(schedule, "is_validation_driven", False):
        lrs = np.repeat(_schedule_values(schedule, "schedule", epoch, epochs), steps)
    else:
        lrs = _schedule_values(schedule, "schedule", opt.t, steps * epochs)
    if not np.all(np.isfinite(lrs)) or np.any(lrs < 0):
        raise ValueError(f"schedule gave a learning rate that is negative or not finite "
                         f"in epoch {epoch}")
    betas = (np.empty(0) if momentum_schedule is None
             else _schedule_values(momentum_schedule, "momentum_schedule", opt.t, steps * epochs))
    if not np.all((betas >= 0) & (betas < 1)):
        raise ValueError(f"momentum_schedule gave a beta outside [0, 1) in epoch {epoch}")
    return lrs, betas


def _schedule_values(schedule, name, t0, n):
    """s(t0), ..., s(t0 + n - 1) as float64: one ``values`` call for a fastnn
    schedule, one call per count for any other callable."""
    if hasattr(schedule, "values"):
        values = schedule.values(t0, n)
    else:
        values = [schedule(t) for t in range(t0, t0 + n)]
    try:
        values = np.asarray(values, dtype=np.float64).reshape(n)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must return real numbers, got {values[:1]!r}") from None
    return values


def _check_schedule(schedule, name):
    """None, a fastnn schedule, or any callable of the count t."""
    if schedule is not None and not callable(schedule):
        raise TypeError(f"{name} must be a fastnn.schedules schedule or a callable t -> value, "
                        f"got {schedule!r}")
    return schedule


def _check_callbacks(callbacks):
    """The callbacks as a list; each must have the three hooks of Callback."""
    if callbacks is None:
        return []
    try:
        callbacks = list(callbacks)
    except TypeError:
        raise TypeError(f"callbacks must be a sequence of Callback objects, "
                        f"got {callbacks!r}") from None
    hooks = ("on_train_begin", "on_epoch_end", "on_train_end")
    for i, cb in enumerate(callbacks):
        if not all(callable(getattr(cb, hook, None)) for hook in hooks):
            raise TypeError(f"callbacks[{i}]={cb!r} is not a fastnn.callbacks.Callback "
                            f"(needs {', '.join(hooks)})")
    return callbacks


def _diverged(callbacks, epoch, step):
    message = (f"loss became NaN or infinite in epoch {epoch}, step {step} "
               f"(the update of that step was not applied); lower the learning rate")
    if any(isinstance(cb, TerminateOnNaN) for cb in callbacks):
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        return True
    raise DivergenceError(message)


def _last(history):
    logs = {"loss": history.loss[-1]} if history.loss else {}
    if history.val_loss:
        logs["val_loss"] = history.val_loss[-1]
    if history.val_accuracy:
        logs["val_accuracy"] = history.val_accuracy[-1]
    return logs


def _check_line_search(candidates):
    try:
        lrs = np.asarray(candidates, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise TypeError(f"line_search={candidates!r} must be a sequence of learning rates") from None
    if lrs.size == 0 or not np.all(np.isfinite(lrs)) or np.any(lrs <= 0):
        raise ValueError(f"line_search={candidates!r} must be a non-empty sequence of "
                         f"positive learning rates")
    return lrs
