"""Every figure of the project reads on its own: a title, labelled axes, and a
legend that covers no data (it sits outside the data area of its axes)."""
import pytest

pytest.importorskip("matplotlib")

from fastnn import demos  # noqa: E402
from fastnn.plotting import plot_history, plot_lr_search  # noqa: E402
from fastnn.plotting._figure import plt  # noqa: E402
from fastnn.training import History  # noqa: E402
from fastnn.tuning import SearchResult, Trial  # noqa: E402


def check_readable(fig):
    """Titles and axis labels on every axes (shared axes: on one of them; a
    grid may carry one title above all), every legend outside every data area."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    suptitle = fig.get_suptitle()
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    for ax in panels:
        x_shared, y_shared = (g.get_siblings(ax) for g in (ax.get_shared_x_axes(),
                                                           ax.get_shared_y_axes()))
        assert suptitle or any(a.get_title() for a in x_shared), "an axes without a title"
        assert any(a.get_xlabel() for a in x_shared), f"{ax.get_title()!r}: no x label"
        assert any(a.get_ylabel() for a in y_shared), f"{ax.get_title()!r}: no y label"
    legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert legends, "no legend"
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in panels:
            assert not box.overlaps(ax.get_window_extent(renderer)), \
                f"a legend covers the data of {ax.get_title()!r}"


@pytest.mark.parametrize("name", ["boolean", "perceptron", "optimizers"])
def test_demo_figures_are_readable(name, tmp_path, monkeypatch):
    figures = []
    monkeypatch.setattr(demos, "_save", lambda fig, path: figures.append(fig) or [path])
    demos.DEMOS[name](tmp_path)
    [fig] = figures
    check_readable(fig)
    plt.close(fig)


def test_history_and_search_legends_are_outside_the_data():
    history = History(loss=[2.0, 1.0, 0.5], val_loss=[2.1, 1.2, 0.7], val_accuracy=[0.3, 0.6, 0.9])
    runs = {"a": history, "b": History(loss=[1.0, 0.5])}
    search = SearchResult([Trial({"lr": 1e-3}, val_loss=2.0), Trial({"lr": 1e-2}, val_loss=0.5),
                           Trial({"lr": 1.0}, diverged=True)])
    for fig in (plot_history(history), plot_history(runs), plot_lr_search(search)):
        check_readable(fig)
        plt.close(fig)


def test_schedules_have_a_title_and_labels(tmp_path, monkeypatch):
    figures = []
    monkeypatch.setattr(demos, "_save", lambda fig, path: figures.append(fig) or [path])
    demos.schedules_demo(tmp_path)
    fig = figures[0]
    assert fig.get_suptitle()
    for ax in fig.axes:
        assert not ax.get_visible() or (ax.get_title() and ax.get_xlabel() and ax.get_ylabel())
