"""Learning-rate and momentum schedules of the notes (sections 5.4 and 6).

A schedule is a callable ``s(t) -> float`` of the step (or epoch) count
t = 0, 1, 2, ...: pure and closed form, so training resumes from any count and
``s.values(t0, n)`` gives a whole epoch's rates at once as a float64 array,
exactly equal to ``[s(t) for t in range(t0, t0 + n)]`` (both go through the
same vectorised formula).

The two validation-driven schedules (:class:`ValidationDecay`,
:class:`ReduceOnPlateau`) are the exception: their value changes only through
``update(metric)``, which the trainer calls once per epoch with the validation
loss; ``s(t)`` returns the current value and ignores t, and
``state_dict()`` / ``load_state_dict()`` save and restore that state.

Symbols: eta_0 the initial learning rate, eta_min / eta_max the bounds of a
cycle, k a decay constant, T a restart interval, beta_t the momentum.
"""

import numpy as np

from ._validation import check_int, check_nonnegative, check_real


class Schedule:
    """Base class: ``s(t)``, ``s.values(t0, n)`` and the validation hooks.

    Subclasses implement ``_rates(t)``, the schedule on an int64 array of
    counts, and list their constructor arguments in ``_args`` (for repr).
    """

    _args = ()
    is_validation_driven = False

    def __call__(self, t):
        """The value at count t (an integer >= 0)."""
        t = check_int(t, "t", 0)
        return float(self._rates(np.array([t], dtype=np.int64))[0])

    def values(self, t0, n):
        """float64 array of s(t0), s(t0 + 1), ..., s(t0 + n - 1)."""
        t0, n = check_int(t0, "t0", 0), check_int(n, "n", 0)
        return self._rates(np.arange(t0, t0 + n, dtype=np.int64))

    def update(self, metric):
        """Validation-driven schedules take the epoch's validation loss here."""
        raise TypeError(f"{self!r} is not validation-driven: it takes no metric")

    def state_dict(self):
        """The mutable state (empty: closed-form schedules have none)."""
        return {}

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned."""
        _check_keys(state, self.state_dict())

    def __repr__(self):
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._args)
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """eta_t = eta_0."""

    _args = ("lr",)

    def __init__(self, lr):
        self.lr = _rate("lr", lr)

    def _rates(self, t):
        return np.full(t.shape, self.lr)


class StepDecay(Schedule):
    """eta_t = eta_0 * factor^floor(t / every).

    The notes' step decay: "halve the learning rate after every 5 epochs" is
    ``StepDecay(lr, every=5, factor=0.5)`` with ``schedule_unit="epoch"``.
    Same rule as ``torch.optim.lr_scheduler.StepLR(step_size=every,
    gamma=factor)``.
    """

    _args = ("lr", "every", "factor")

    def __init__(self, lr, every, factor=0.5):
        self.lr = _rate("lr", lr)
        self.every = check_int(every, "every", 1)
        self.factor = _factor("factor", factor)

    def _rates(self, t):
        return self.lr * self.factor ** (t // self.every)


class ExponentialDecay(Schedule):
    """eta_t = eta_0 * e^(-k t).

    The notes print eta = eta_0^(-kt); that is a typo for the usual
    exponential decay eta_0 e^(-kt), which is what this implements
    (``torch.optim.lr_scheduler.ExponentialLR`` with gamma = e^(-k)).
    """

    _args = ("lr", "k")

    def __init__(self, lr, k):
        self.lr = _rate("lr", lr)
        self.k = _rate("k", k)

    def _rates(self, t):
        return self.lr * np.exp(-self.k * t)


class InverseTimeDecay(Schedule):
    """The notes' 1/t decay: eta_t = eta_0 / (1 + k t)."""

    _args = ("lr", "k")

    def __init__(self, lr, k):
        self.lr = _rate("lr", lr)
        self.k = _rate("k", k)

    def _rates(self, t):
        return self.lr / (1.0 + self.k * t)


class MomentumSchedule(Schedule):
    """Sutskever et al. (2013), the notes' momentum schedule:

        beta_t = min(1 - 2^(-1 - log2(floor(t / 250) + 1)), beta_max),

    t = 0, 1, ... counting updates. Since 2^(-1 - log2 m) = 1 / (2 m), this is
    computed exactly as min(1 - 1 / (2 m), beta_max) with
    m = floor(t / every) + 1: beta is 0.5, 0.75, 0.833.., ... ``every`` is the
    notes' 250. The notes pick beta_max from {0.999, 0.995, 0.99, 0.9, 0}.
    """

    _args = ("beta_max", "every")

    def __init__(self, beta_max, every=250):
        self.beta_max = _real("beta_max", beta_max)
        if not 0.0 <= self.beta_max < 1.0:
            raise ValueError(f"beta_max must be in [0, 1), got {beta_max!r}")
        self.every = check_int(every, "every", 1)

    def _rates(self, t):
        m = t // self.every + 1
        return np.minimum(1.0 - 1.0 / (2.0 * m), self.beta_max)


class Cyclical(Schedule):
    """Triangular cyclical learning rate (Smith 2017; the notes, section 6).

    eta_t rises linearly from eta_min to eta_max in ``step_size`` steps, falls
    back in ``step_size`` steps, and repeats (period 2 * step_size):

        p = t mod (2 step_size),
        eta_t = eta_min + (eta_max - eta_min) * (1 - |p - step_size| / step_size),

    so eta_0 = eta_min. Same rule as ``torch.optim.lr_scheduler.CyclicLR``
    in "triangular" mode with step_size_up = step_size_down = step_size.
    """

    _args = ("lr_min", "lr_max", "step_size")

    def __init__(self, lr_min, lr_max, step_size):
        self.lr_min, self.lr_max = _bounds(lr_min, lr_max)
        self.step_size = check_int(step_size, "step_size", 1)

    def _rates(self, t):
        height = 1.0 - np.abs(t % (2 * self.step_size) - self.step_size) / self.step_size
        return self.lr_min + (self.lr_max - self.lr_min) * height


class CosineRestarts(Schedule):
    """Cosine annealing with warm restarts (the notes, section 6).

    eta_t = eta_min + (eta_max - eta_min) / 2 * (1 + cos(pi * x_t)), where

    * ``t_mult=None`` (default), the notes' formula: x_t = (t mod (T + 1)) / T.
      The period is T + 1 steps and the last one of each period is exactly
      eta_min.
    * ``t_mult`` an integer >= 1, SGDR (Loshchilov & Hutter 2017), as
      ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(T_0=T,
      T_mult=t_mult, eta_min=lr_min)``: periods of T, T t_mult, T t_mult^2, ...
      steps, x_t = T_cur / T_i with T_cur = 0 .. T_i - 1 the position in the
      current period of length T_i (eta_min itself is never reached).
    """

    _args = ("lr_min", "lr_max", "T", "t_mult")

    def __init__(self, lr_min, lr_max, T, t_mult=None):
        self.lr_min, self.lr_max = _bounds(lr_min, lr_max)
        self.T = check_int(T, "T", 1)
        self.t_mult = None if t_mult is None else check_int(t_mult, "t_mult", 1)

    def _rates(self, t):
        x = self._notes_position(t) if self.t_mult is None else self._sgdr_position(t)
        return self.lr_min + (self.lr_max - self.lr_min) / 2.0 * (1.0 + np.cos(np.pi * x))

    def _notes_position(self, t):
        return (t % (self.T + 1)) / self.T

    def _sgdr_position(self, t):
        if self.t_mult == 1:
            return (t % self.T) / self.T
        starts, lengths = [0], [self.T]
        while starts[-1] + lengths[-1] <= t.max(initial=0):
            starts.append(starts[-1] + lengths[-1])
            lengths.append(lengths[-1] * self.t_mult)
        starts, lengths = np.array(starts, dtype=np.int64), np.array(lengths, dtype=np.int64)
        i = np.searchsorted(starts, t, side="right") - 1
        return (t - starts[i]) / lengths[i]


class Warmup(Schedule):
    """Linear warm-up, then the wrapped schedule, shifted by ``steps``:

        eta_t = start + (s(0) - start) * t / steps   for t < steps,
        eta_t = s(t - steps)                          for t >= steps.

    The wrapped schedule ``s`` starts its own clock when the ramp ends, so it
    keeps its whole shape (a cosine starts at its peak, a step decay counts
    its first interval from the end of the warm-up) and eta_t is continuous
    at t = steps. The ramp is ``torch.optim.lr_scheduler.LinearLR`` with
    start_factor = start / s(0) and total_iters = steps; with the switch it is
    ``SequentialLR([LinearLR(...), s], milestones=[steps])``. A
    validation-driven ``s`` keeps receiving its metric through this wrapper.
    """

    _args = ("schedule", "steps", "start")

    def __init__(self, schedule, steps, start=0.0):
        if not isinstance(schedule, Schedule):
            raise TypeError(f"schedule must be a fastnn.schedules.Schedule, got {schedule!r}")
        self.schedule = schedule
        self.steps = check_int(steps, "steps", 1)
        self.start = _rate("start", start)

    @property
    def is_validation_driven(self):
        return self.schedule.is_validation_driven

    def _rates(self, t):
        ramp = self.start + (self.schedule(0) - self.start) * (t / self.steps)
        return np.where(t < self.steps, ramp, self.schedule._rates(np.maximum(t - self.steps, 0)))

    def update(self, metric):
        self.schedule.update(metric)

    def state_dict(self):
        return self.schedule.state_dict()

    def load_state_dict(self, state):
        self.schedule.load_state_dict(state)


class ValidationDecay(Schedule):
    """The notes' validation step decay: "halve the learning rate after an
    epoch if the validation error is more than what it was at the end of the
    previous epoch".

    eta starts at eta_0; ``update(metric)`` (once per epoch, the validation
    loss) multiplies eta by ``factor`` when metric > the previous epoch's
    metric. ``s(t)`` is the current eta whatever t.
    """

    _args = ("lr", "factor")
    is_validation_driven = True

    def __init__(self, lr, factor=0.5):
        self.lr = _rate("lr", lr)
        self.factor = _factor("factor", factor)
        self.current = self.lr
        self.previous = None

    def _rates(self, t):
        return np.full(t.shape, self.current)

    def update(self, metric):
        metric = _real("metric", metric)
        if self.previous is not None and metric > self.previous:
            self.current *= self.factor
        self.previous = metric

    def state_dict(self):
        return {"current": self.current, "previous": self.previous}

    def load_state_dict(self, state):
        _check_keys(state, self.state_dict())
        self.current = float(state["current"])
        self.previous = None if state["previous"] is None else float(state["previous"])


class ReduceOnPlateau(Schedule):
    """Multiply eta by ``factor`` when the metric (minimised: the validation
    loss) has not improved on its best value for more than ``patience``
    epochs; eta never goes below ``min_lr``.

    An epoch improves when metric < best - threshold * |best| (a relative
    threshold on |best|, so it also works for negative metrics, where
    PyTorch's ``best * (1 - threshold)`` counts a worse value as an
    improvement). On improvement best = metric and the count of bad epochs
    restarts; when the count exceeds ``patience``,
    eta <- max(factor * eta, min_lr) and the count restarts. For positive
    metrics this is ``torch.optim.lr_scheduler.ReduceLROnPlateau`` with
    mode="min", threshold_mode="rel", cooldown=0. ``s(t)`` is the current eta
    whatever t.
    """

    _args = ("lr", "factor", "patience", "threshold", "min_lr")
    is_validation_driven = True

    def __init__(self, lr, factor=0.1, patience=10, threshold=1e-4, min_lr=0.0):
        self.lr = _rate("lr", lr)
        self.factor = _factor("factor", factor)
        self.patience = check_int(patience, "patience", 0)
        self.threshold = _rate("threshold", threshold)
        self.min_lr = _rate("min_lr", min_lr)
        if self.min_lr > self.lr:
            raise ValueError(f"min_lr ({min_lr!r}) must not exceed lr ({lr!r})")
        self.current = self.lr
        self.best = None
        self.bad_epochs = 0

    def _rates(self, t):
        return np.full(t.shape, self.current)

    def update(self, metric):
        metric = _real("metric", metric)
        if self.best is None or metric < self.best - self.threshold * abs(self.best):
            self.best = metric
            self.bad_epochs = 0
            return
        self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            self.current = max(self.current * self.factor, self.min_lr)
            self.bad_epochs = 0

    def state_dict(self):
        return {"current": self.current, "best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state):
        _check_keys(state, self.state_dict())
        self.current = float(state["current"])
        self.best = None if state["best"] is None else float(state["best"])
        self.bad_epochs = int(state["bad_epochs"])


NAMES = {
    "constant": Constant,
    "step_decay": StepDecay,
    "exponential_decay": ExponentialDecay,
    "inverse_time_decay": InverseTimeDecay,
    "momentum": MomentumSchedule,
    "cyclical": Cyclical,
    "cosine_restarts": CosineRestarts,
    "warmup": Warmup,
    "validation_decay": ValidationDecay,
    "reduce_on_plateau": ReduceOnPlateau,
}


def get(name, **kwargs):
    """Build a schedule from its name, e.g. ``get("cosine_restarts",
    lr_min=1e-4, lr_max=1e-2, T=10)``. Names: constant, step_decay,
    exponential_decay, inverse_time_decay, momentum, cyclical,
    cosine_restarts, warmup, validation_decay, reduce_on_plateau (case and
    '-' / '_' do not matter)."""
    key = str(name).lower().replace("-", "_")
    if key not in NAMES:
        raise ValueError(f"name={name!r} is not a schedule; choose from {sorted(NAMES)}")
    return NAMES[key](**kwargs)


# --------------------------------------------------------------------------
# Argument checks: ValueError / TypeError naming the argument.
# --------------------------------------------------------------------------

def _real(name, value):
    return check_real(value, name)


def _rate(name, value):
    return check_nonnegative(value, name)


def _factor(name, value):
    result = _real(name, value)
    if not 0.0 < result <= 1.0:
        raise ValueError(f"{name} must be in (0, 1], got {value!r}")
    return result


def _bounds(lr_min, lr_max):
    lr_min, lr_max = _rate("lr_min", lr_min), _rate("lr_max", lr_max)
    if lr_min > lr_max:
        raise ValueError(f"lr_min ({lr_min!r}) must not exceed lr_max ({lr_max!r})")
    return lr_min, lr_max


def _check_keys(state, expected):
    if not isinstance(state, dict) or set(state) != set(expected):
        raise ValueError(f"state must be a dict with keys {sorted(expected)}, got {state!r}")
