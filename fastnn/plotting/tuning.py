"""The learning-rate search of the notes 5.4: validation loss against eta, log axis."""
import numpy as np

from ._figure import finish, legend_below, new_axes


def plot_lr_search(result, ax=None, path=None, title=None):
    """Validation loss of each trial of ``result`` (a
    :class:`fastnn.tuning.SearchResult` whose settings hold ``lr``) against
    its learning rate on a log axis; diverged trials are crosses along the
    top, the best trial a star. ``title``: say which optimizer and how many
    epochs per trial. Returns the Figure."""
    trials = [t for t in result.trials if "lr" in t.settings]
    if not trials:
        raise ValueError("result has no trial with a learning rate 'lr' to plot")
    finished = [t for t in trials if t.ok]
    diverged = [t for t in trials if t.diverged]
    fig, ax = new_axes(ax)
    ax.set_xscale("log")
    lrs = np.array([t.settings["lr"] for t in finished])
    losses = np.array([t.val_loss for t in finished])
    order = np.argsort(lrs)
    ax.plot(lrs[order], losses[order], "o-", label="validation loss")
    if len(losses) and losses.min() > 0:
        ax.set_yscale("log")
    if diverged:
        top = losses.max() if len(losses) else 1.0
        ax.plot([t.settings["lr"] for t in diverged], [top] * len(diverged), "x", color="C3",
                markersize=9, label="diverged")
    if result.best is not None and result.best in trials:
        ax.plot([result.best.settings["lr"]], [result.best.val_loss], "*", color="C1",
                markersize=15, label=f"best: $\\eta$ = {result.best.settings['lr']:.3g}")
    ax.set_xlabel(r"learning rate $\eta$")
    ax.set_ylabel("validation loss after the last epoch")
    ax.set_title(title or "learning-rate search")
    legend_below(ax, ncol=3)
    return finish(fig, path)
