"""Learning-rate and momentum schedules (the notes 5.4 and 6) drawn against t."""
import math

import numpy as np

from ..schedules import MomentumSchedule
from ._figure import finish, new_axes


def plot_schedule(schedule, steps, ax=None, path=None):
    """Draw eta_t = schedule(t) (beta_t for a momentum schedule) for
    t = 0 .. steps - 1; returns the Figure."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps!r}")
    fig, ax = new_axes(ax)
    ax.plot(np.arange(steps), schedule.values(0, steps), drawstyle="steps-post")
    ax.set_xlabel("step t")
    ax.set_ylabel(r"$\beta_t$" if isinstance(schedule, MomentumSchedule) else r"$\eta_t$")
    ax.set_title(type(schedule).__name__)
    return finish(fig, path)


def plot_schedules(schedules, steps, path=None, title="Learning-rate and momentum schedules"):
    """One panel per ``name -> schedule`` of ``schedules``, side by side
    (at most three per row), under ``title``; returns the Figure."""
    if not schedules:
        raise ValueError("schedules must name at least one schedule")
    cols = min(3, len(schedules))
    rows = math.ceil(len(schedules) / cols)
    fig, axes = new_axes(nrows=rows, ncols=cols, squeeze=False,
                         figsize=(3.4 * cols, 2.5 * rows), layout="constrained")
    for ax, (name, schedule) in zip(axes.flat, schedules.items()):
        plot_schedule(schedule, steps, ax=ax)
        ax.set_title(name)
    for ax in axes.flat[len(schedules):]:
        ax.set_visible(False)
    fig.suptitle(title)
    return finish(fig, path)

