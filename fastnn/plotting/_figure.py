"""The one place that imports pyplot: Agg when there is no display."""
import os

import matplotlib

if not os.environ.get("DISPLAY") and os.environ.get("MPLBACKEND") is None:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def new_axes(ax=None, **subplots):
    """(fig, ax): the given axes' figure, or a new figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    return plt.subplots(**subplots)


def finish(fig, path=None):
    """Save ``fig`` to ``path`` when given (PNG by extension) and return it."""
    if path is not None:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    return fig
