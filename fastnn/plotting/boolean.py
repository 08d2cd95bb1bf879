"""Perceptrons and Boolean functions (the notes' sections 2.3-2.4): the
decision boundary w_0 + w_1 x_1 + w_2 x_2 = 0 while the perceptron learns,
and the 16 functions of two inputs with their separating lines."""
import numpy as np

from ..boolean import all_functions, inputs, separating_weights
from ..perceptron import train_perceptron
from ._figure import finish, legend_below, new_axes, plt


def _draw_boundary(ax, w, lim, **style):
    """The line w_0 + w_1 x_1 + w_2 x_2 = 0 across the square ``lim``
    (nothing when w_1 = w_2 = 0)."""
    w0, w1, w2 = map(float, w)
    if w2 != 0:
        xs = np.array(lim)
        ax.plot(xs, -(w0 + w1 * xs) / w2, **style)
    elif w1 != 0:
        ax.plot([-w0 / w1] * 2, lim, **style)


def _points(ax, X, y):
    """P (label 1) as filled blue circles, N (label 0) as red crosses."""
    ax.scatter(X[y == 1, 0], X[y == 1, 1], c="tab:blue", marker="o", label="P (y = 1)", zorder=3)
    ax.scatter(X[y == 0, 0], X[y == 0, 1], c="tab:red", marker="x", label="N (y = 0)", zorder=3)


def plot_perceptron(X, y, result=None, ax=None, path=None, title=None, **train):
    """The inputs of two features (P blue, N red) and the perceptron's decision
    boundary w_0 + w_1 x_1 + w_2 x_2 = 0 after every epoch of learning, from
    light grey (early) to dark grey, the final one in black; the title says
    whether it converged (after ``title`` when given). ``result`` is a
    :class:`fastnn.perceptron.PerceptronResult` with a ``history``; without
    it the perceptron is trained here with ``train_perceptron(X, y, record=True,
    **train)``. Returns the Figure."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have two features to be drawn, got shape {X.shape}")
    if result is None:
        result = train_perceptron(X, y, record=True, **train)
    if result.history is None:
        raise ValueError("result has no history: train with record=True")
    fig, ax = new_axes(ax)
    pad = 0.25 * max(np.ptp(X), 1.0)
    lim = (X.min() - pad, X.max() + pad)
    colors = plt.cm.Greys(np.linspace(0.2, 0.7, len(result.history)))
    for i, (w, color) in enumerate(zip(result.history[:-1], colors)):
        _draw_boundary(ax, w, lim, color=color, lw=1,
                       label="boundary after each epoch (light: early)" if i == 0 else None)
    _draw_boundary(ax, result.weights, lim, color="black", lw=2, label="final boundary")
    _points(ax, X, y)
    ax.set(xlim=lim, ylim=lim, xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
    state = "converged" if result.converged else "not converged"
    summary = f"{state}: {result.epochs} epochs, k = {result.k} corrections"
    ax.set_title(summary if title is None else f"{title}\n{summary}")
    legend_below(ax)
    return finish(fig, path)


def plot_boolean_functions(path=None):
    """The notes' 16 Boolean functions of two inputs f_1..f_16 in a 4x4 grid:
    the four inputs (1 filled blue, 0 red cross), a separating line from
    :func:`fastnn.boolean.separating_weights` where one exists, and the title
    marking the separable functions (only XOR f_7 and XNOR f_10 are not).
    Returns the Figure."""
    fig, axes = new_axes(nrows=4, ncols=4, figsize=(8, 8.6), layout="constrained",
                         sharex=True, sharey=True)
    X = inputs(2).astype(np.float64)
    lim = (-0.5, 1.5)
    for j, (ax, table) in enumerate(zip(axes.flat, all_functions(2)), start=1):
        w = separating_weights(table)
        if w is not None:
            _draw_boundary(ax, w, lim, color="tab:green", lw=1.5,
                           label="a separating line $w_0 + w_1 x_1 + w_2 x_2 = 0$")
        _points(ax, X, table)
        bits = "".join(map(str, table))
        status = "separable" if w is not None else "NOT separable"
        ax.set_title(f"$f_{{{j}}}$ {bits}: {status}", fontsize=9,
                     color="black" if w is not None else "tab:red")
        ax.set(xlim=lim, ylim=lim, xticks=[0, 1], yticks=[0, 1], aspect="equal")
    for ax in axes[-1]:
        ax.set_xlabel("$x_1$")
    for ax in axes[:, 0]:
        ax.set_ylabel("$x_2$")
    fig.suptitle("The 16 Boolean functions of two inputs (output bits for $x_1 x_2$ = 00, 10, "
                 "01, 11)")
    handles, labels = axes.flat[1].get_legend_handles_labels()   # f_2: a line and both classes
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False)
    return finish(fig, path)
