"""The sigmoid neuron's error surface L(w, b) with the paths of optimizers
across it (the notes' sections 3.3, 5 and 6): contours of the loss, one
colour per optimizer."""
import numpy as np

from .. import optim
from ..neurons import error_surface, train_sigmoid_neuron
from ._figure import finish, legend_below, new_axes, plt

# The two-point data set of the lecture's demonstration: f(0.5) = 0.2, f(2.5) = 0.9.
DEFAULT_X = (0.5, 2.5)
DEFAULT_Y = (0.2, 0.9)
DEFAULT_OPTIMIZERS = ("sgd", "momentum", "nag", "adagrad", "rmsprop", "adam")


def _optimizers(optimizers, lr):
    """``label -> Optimizer``: a mapping is used as is; names are built with ``lr``."""
    if isinstance(optimizers, dict):
        return optimizers
    if isinstance(optimizers, str):
        raise TypeError("optimizers must be a sequence of names or a mapping, not one string")
    return {getattr(o, "name", o): optim.get(o, lr=lr) if isinstance(o, str) else o
            for o in optimizers}


def plot_error_surface(x=DEFAULT_X, y=DEFAULT_Y, optimizers=DEFAULT_OPTIMIZERS, *,
                       start=(-2.0, -2.0), steps=200, lr=0.1, w_range=(-6.0, 6.0),
                       b_range=(-6.0, 6.0), resolution=150, ax=None, path=None):
    """Contours of L(w, b) = (1/N) sum_i (y_i - f(x_i))^2 of the sigmoid neuron
    f(x) = 1 / (1 + exp(-(w x + b))) over ``w_range`` x ``b_range``, and the
    path of [w, b] from ``start`` during ``steps`` steps of each optimizer,
    one colour each. ``optimizers``: names of :mod:`fastnn.optim` (built with
    ``lr``), or a mapping ``label -> optimizer``. Returns the Figure."""
    runs = _optimizers(optimizers, lr)
    if not runs:
        raise ValueError("optimizers must name at least one optimizer")
    ws = np.linspace(*w_range, resolution)
    bs = np.linspace(*b_range, resolution)
    fig, ax = new_axes(ax, figsize=(7, 6))
    filled = ax.contourf(ws, bs, error_surface(x, y, ws, bs), levels=30, cmap="viridis")
    fig.colorbar(filled, ax=ax, label=r"$\mathcal{L}(w, b)$")
    colors = plt.cm.tab10(np.arange(len(runs)) % 10)
    for (label, opt), color in zip(runs.items(), colors):
        trajectory, losses = train_sigmoid_neuron(x, y, opt, start[0], start[1], steps)
        ax.plot(trajectory[:, 0], trajectory[:, 1], "-", color=color, lw=1.5,
                label=f"{label} (L = {losses[-1]:.2g})")
        ax.plot(trajectory[-1, 0], trajectory[-1, 1], "o", color=color, ms=5)
    ax.plot(*start, "k*", ms=10, label="start")
    ax.set(xlim=w_range, ylim=b_range, xlabel="$w$", ylabel="$b$",
           title=f"Sigmoid neuron error surface, {steps} steps")
    legend_below(ax, ncol=3)
    return finish(fig, path)
