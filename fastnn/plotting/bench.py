"""The benchmark report's figure: epoch time vs batch size and vs width, and
loss reached vs seconds (the notes' batch / mini-batch / stochastic trade-off)."""
from ..bench import epoch_seconds, flops_per_sample
from ._figure import finish, new_axes


def plot_bench(report, path=None):
    """Three panels from a ``fastnn.bench.run`` report; returns the Figure."""
    fig, axes = new_axes(None, ncols=3, figsize=(15, 4.2))
    plot_batch_scaling(report, axes[0])
    plot_width_scaling(report, axes[1])
    if "loss_curves" in report:
        plot_loss_curves(report["loss_curves"], axes[2])
    fig.tight_layout()
    return finish(fig, path)


def _epoch_lines(ax, results, x_of):
    """One line per contender; log-log axes ticked at the measured x values."""
    names = dict.fromkeys(n for r in results for n in r["times"])
    for name in names:
        done = [r for r in results if name in r["times"]]
        ax.plot([x_of(r) for r in done], [epoch_seconds(r, name) for r in done], "o-", label=name)
    xs = [x_of(r) for r in results]
    ax.set(xscale="log", yscale="log")
    ax.set_xticks(xs, [str(x) for x in xs], minor=False)
    ax.minorticks_off()


def plot_batch_scaling(report, ax=None):
    """Seconds per epoch vs batch size B (log-log), with the GEMM bound
    (epoch FLOPs / measured GEMM rate)."""
    fig, ax = new_axes(ax)
    _epoch_lines(ax, report["scaling"]["batch"], lambda r: r["batch"])
    ax.axhline(report["limit"]["bound_s"], color="k", ls="--", lw=1, label="GEMM bound")
    ax.set(xlabel="batch size B", ylabel="seconds per epoch",
           title="SGD epoch time vs batch size (784-128-10)")
    ax.legend(fontsize=8)
    return fig


def plot_width_scaling(report, ax=None):
    """Seconds per epoch (SGD, B=32) vs hidden width h, with the GEMM bound
    60000 (4*784*h + 6*h*10) / rate."""
    fig, ax = new_axes(ax)
    results = report["scaling"]["width"]
    _epoch_lines(ax, results, lambda r: r["hidden"])
    widths = [r["hidden"] for r in results]
    rate = report["limit"]["gemm_flops_per_s"]
    ax.plot(widths, [flops_per_sample(h) * r["n_epoch"] / rate for h, r in zip(widths, results)],
            "k--", lw=1, label="GEMM bound")
    ax.set(xlabel="hidden width h", ylabel="seconds per epoch",
           title="SGD B=32 epoch time vs width")
    ax.legend(fontsize=8)
    return fig


def plot_loss_curves(curves, ax=None):
    """Training loss vs training seconds: one colour per batch size, SGD solid,
    Adam dashed."""
    fig, ax = new_axes(ax)
    colours = {}
    for label, curve in curves["curves"].items():
        opt, mode = label.split(" ", 1)
        t, loss = zip(*curve)
        colour = colours.setdefault(mode, f"C{len(colours)}")
        ax.plot(t, loss, color=colour, ls="-" if opt == "SGD" else "--", label=label)
    ax.set(xlabel="training seconds", ylabel="loss (2000 training samples)",
           title=f"Loss reached per second, teacher data ({curves['backend']})")
    ax.legend(fontsize=8)
    return fig
