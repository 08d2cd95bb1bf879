"""The universal approximation demonstration (notes 3.4): a target, its tower
network and the towers; the max error as towers are added."""
import numpy as np

from ..approximation import tower_outputs
from ._figure import finish, legend_below, new_axes


def plot_approximation(f, net, a, b, table=None, axes=None, path=None, points=1001):
    """Left: f, the tower network N and its towers T_i (thin) on [a, b].
    Right, when ``table`` (from :func:`fastnn.approximation.error_table`) is
    given: the max error against the number of towers, log-log, for the
    towers, their bound and the learned networks of the same size.
    ``axes``: one axes (or two with a table) to draw on. Returns the Figure."""
    panels = 1 if table is None else 2
    if axes is None:
        fig, axes = new_axes(ncols=panels, figsize=(4.8 * panels, 3.8), squeeze=False,
                             layout="constrained")
        axes = axes[0]
    fig = np.ravel(axes)[0].figure
    if len(np.ravel(axes)) != panels:
        raise ValueError(f"axes must hold {panels} axes, got {len(np.ravel(axes))}")
    _draw_towers(np.ravel(axes)[0], f, net, a, b, points)
    if table is not None:
        _draw_errors(np.ravel(axes)[1], table)
    return finish(fig, path)


def _draw_towers(ax, f, net, a, b, points):
    x = np.linspace(a, b, points)
    towers = tower_outputs(net, x)
    for i, tower in enumerate(towers):
        ax.plot(x, tower, color="0.6", lw=0.8, label="towers $T_i$" if i == 0 else None)
    target, approximation = f(x), towers.sum(axis=0)
    error = np.max(np.abs(target - approximation))
    ax.plot(x, target, color="k", lw=2.5, label="target f")
    ax.plot(x, approximation, color="C3", lw=1.5, label=f"N, max error {error:.3g}")
    ax.set(xlabel="x", ylabel="f(x), N(x)")
    ax.set_title(f"{len(towers)} towers = {2 * len(towers)} sigmoid neurons")
    ax.legend(fontsize="small")


def _draw_errors(ax, table):
    n = table["towers"]
    ax.loglog(n, table["max_error"], "o-", color="C3", label="towers: max error")
    ax.loglog(n, table["bound"], "--", color="C3", alpha=0.6, label="towers: proven bound")
    ax.loglog(n, table["learned_max_error"], "s-", color="C0",
              label="learned (Adam), same 2n neurons")
    ax.set_xlabel("number of towers n")
    ax.set_ylabel("max |f - N| on [a, b]")
    ax.set_title("error as towers are added")
    legend_below(ax, ncol=2)
