"""Training and validation curves of ``fastnn.fit`` (a :class:`fastnn.History`)."""
from collections.abc import Mapping

import numpy as np

from ._figure import finish, new_axes, plt


def plot_history(history, ax=None, path=None, title=None, log=False):
    """Loss per epoch: the training loss (solid) and, when the history holds
    one, the validation loss (dashed); a single history's validation accuracy
    goes on a right-hand axis (dotted). ``history`` is a History or a mapping
    ``label -> History`` drawn in one colour each (to compare runs).
    ``log=True`` puts the loss on a log scale. Returns the Figure."""
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
        prefix = "" if label is None else f"{label}: "
        epochs = np.arange(1, len(run.loss) + 1)
        ax.plot(epochs, run.loss, "-", color=color, label=f"{prefix}training loss")
        if run.val_loss:
            ax.plot(epochs[:len(run.val_loss)], run.val_loss, "--", color=color,
                    label=f"{prefix}validation loss")
    if log:
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="loss", title=title or "")
    handles, labels = ax.get_legend_handles_labels()
    single = runs.get(None)
    if single is not None and single.val_accuracy:
        right = ax.twinx()
        right.plot(np.arange(1, len(single.val_accuracy) + 1), single.val_accuracy, ":",
                   color="tab:green", label="validation accuracy")
        right.set_ylabel("accuracy")
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    ax.legend(handles, labels, loc="best", fontsize="small")
    return finish(fig, path)
