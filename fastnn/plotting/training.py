"""Training and validation curves of ``fastnn.fit`` (a :class:`fastnn.History`)."""
from collections.abc import Mapping

import numpy as np
from matplotlib.lines import Line2D

from ._figure import finish, legend_below, new_axes, plt


def plot_history(history, ax=None, path=None, title=None, log=False):
    """Loss per epoch: the training loss (solid) and, when the history holds
    one, the validation loss (dashed); a single history's validation accuracy
    goes on a right-hand axis (dotted). ``history`` is a History or a mapping
    ``label -> History`` drawn in one colour each (to compare runs). The
    legend sits under the axes. ``log=True`` puts the loss on a log scale.
    Returns the Figure."""
    runs = history if isinstance(history, Mapping) else {None: history}
    if not runs:
        raise ValueError("history must be a History or a non-empty mapping of them")
    for label, run in runs.items():
        if not hasattr(run, "loss") or not hasattr(run, "val_loss"):
            raise TypeError(f"history{'' if label is None else f'[{label!r}]'} must be a "
                            f"fastnn History, got {type(run).__name__}")
    fig, ax = new_axes(ax)
    colors = plt.cm.tab10(np.arange(len(runs)) % 10)
    for (label, run), color in zip(runs.items(), colors):
        epochs = np.arange(1, len(run.loss) + 1)
        ax.plot(epochs, run.loss, "-", color=color)
        if run.val_loss:
            ax.plot(epochs[:len(run.val_loss)], run.val_loss, "--", color=color)
    if log:
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="loss", title=title or "loss per epoch")
    single = runs.get(None)
    any_validation = any(run.val_loss for run in runs.values())
    if single is None:      # colours name the runs, line styles the curves
        handles = [Line2D([], [], color=c, label=label) for label, c in zip(runs, colors)]
        handles += _styles("k", any_validation)
    else:
        handles = _styles(colors[0], any_validation)
        if single.val_accuracy:
            right = ax.twinx()
            right.plot(np.arange(1, len(single.val_accuracy) + 1), single.val_accuracy, ":",
                       color="tab:green", label="validation accuracy")
            right.set_ylabel("validation accuracy")
            handles += right.get_legend_handles_labels()[0]
    legend_below(ax, handles, [h.get_label() for h in handles], ncol=2 if single is None else 3)
    return finish(fig, path)


def _styles(color, validation):
    """Legend entries for the line styles: training solid, validation dashed."""
    styles = [Line2D([], [], color=color, ls="-", label="training loss")]
    if validation:
        styles.append(Line2D([], [], color=color, ls="--", label="validation loss"))
    return styles
