"""The benchmark report's figures, drawn from a ``fastnn.bench.run`` report
(the JSON-able dict; nothing is recomputed): seconds per run of every
contender per case with the case's floor marked, and accuracy vs training
seconds of the time-to-accuracy races."""
import math
from pathlib import Path
from statistics import median

from matplotlib.ticker import NullFormatter

from ..bench.report import FIGURES
from ._figure import finish, new_axes, plt


def write_figures(report, out_dir):
    """Both figures under ``out_dir`` (paths as BENCHMARKS.md links them); returns their paths."""
    written = []
    for key, plot in (("cases", plot_cases), ("race", plot_races)):
        path = Path(out_dir) / FIGURES[key]
        path.parent.mkdir(parents=True, exist_ok=True)
        fig = plot(report, path)
        if fig is not None:
            plt.close(fig)
            written.append(path)
    return written


def plot_cases(report, path=None):
    """One panel per case: median seconds per run of each contender (log
    scale, one bar per thread count, whiskers min-max), the floor dashed."""
    cases = [c["name"] for c in report["cases"] if c["target"] is None]
    if not cases:
        return None
    names = [c["name"] for c in report["contenders"]]
    threads = report["threads"]
    ncols = min(4, len(cases))
    nrows = math.ceil(len(cases) / ncols)
    fig, axes = new_axes(None, nrows=nrows, ncols=ncols, squeeze=False,
                         figsize=(4.2 * ncols, 0.32 * len(names) * nrows + 1.2 * nrows))
    height = 0.8 / len(threads)
    for ax, case in zip(axes.flat, cases):
        for j, t in enumerate(threads):
            row = next((r for r in report["results"] if r["case"] == case and r["threads"] == t),
                       None)
            if row is None:
                continue
            ys, mids, lo, hi = [], [], [], []
            for i, name in enumerate(names):
                runs = row["contenders"].get(name, {}).get("runs")
                if runs:
                    seconds = [r["seconds"] for r in runs]
                    ys.append(i + j * height)
                    mids.append(median(seconds))
                    lo.append(median(seconds) - min(seconds))
                    hi.append(max(seconds) - median(seconds))
            ax.barh(ys, mids, height=height, xerr=[lo, hi], color=f"C{j}",
                    label=f"{t} thread{'s' * (t > 1)}")
            ax.axvline(row["floor"]["floor_s"], color=f"C{j}", ls="--", lw=1)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"{case} (dashed: floor)", fontsize=9)
        ax.set_xlabel("seconds per run", fontsize=8)
    for ax in list(axes.flat)[len(cases):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return finish(fig, path)


def plot_races(report, path=None):
    """Test accuracy vs training seconds of each contender (its median
    round), one panel per race and thread count, the target dotted."""
    targets = {c["name"]: c["target"] for c in report["cases"] if c["target"] is not None}
    rows = [r for r in report["results"] if r["case"] in targets]
    if not rows:
        return None
    fig, axes = new_axes(None, ncols=len(rows), squeeze=False, figsize=(6 * len(rows), 4.2))
    for ax, row in zip(axes.flat, rows):
        for k, (name, entry) in enumerate(row["contenders"].items()):
            runs = sorted(entry["runs"], key=lambda r: r["seconds"])
            seconds, accuracy = zip(*runs[len(runs) // 2]["curve"])
            ax.plot(seconds, accuracy, marker="o", ms=3, color=f"C{k % 10}",
                    ls="-" if name.startswith("fastnn") else "--", label=name)
        ax.axhline(targets[row["case"]], color="k", ls=":", lw=1)
        ax.set(xlabel="training seconds", ylabel="test accuracy",
               title=f"{row['case']}, {row['threads']} thread{'s' * (row['threads'] > 1)}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return finish(fig, path)
