"""The one place that imports pyplot: Agg when there is no display."""
import os

import matplotlib

if not os.environ.get("DISPLAY") and os.environ.get("MPLBACKEND") is None:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.transforms import offset_copy  # noqa: E402

# Points between the bottom of the axes and the legend under it: room for the
# tick labels and the x label (both sized in points, so independent of the figure).
_BELOW_XLABEL = 40


def new_axes(ax=None, **subplots):
    """(fig, ax): the given axes' figure, or a new figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    return plt.subplots(**subplots)


def legend_below(ax, handles=None, labels=None, ncol=2, **style):
    """The axes' legend under its x label, outside the data area, so that it
    hides nothing; ``handles``/``labels`` default to the axes' labelled artists."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    anchor = offset_copy(ax.transAxes, fig=ax.figure, y=-_BELOW_XLABEL, units="points")
    return ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0),
                     bbox_transform=anchor, ncol=min(ncol, len(handles)), frameon=False,
                     **{"fontsize": "small", **style})


def finish(fig, path=None):
    """Save ``fig`` to ``path`` when given (PNG by extension) and return it."""
    if path is not None:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    return fig
