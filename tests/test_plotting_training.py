"""plot_history: training and validation curves written as PNG."""
import pytest

from fastnn.plotting.training import plot_history
from fastnn.training import History


def is_png(path):
    return path.stat().st_size > 0 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_one_history_with_validation_curves(tmp_path):
    history = History(loss=[2.0, 1.0, 0.5], val_loss=[2.1, 1.2, 0.7],
                      val_accuracy=[0.3, 0.6, 0.8])
    fig = plot_history(history, path=tmp_path / "history.png")
    assert is_png(tmp_path / "history.png")
    main, right = fig.axes
    assert [list(line.get_ydata()) for line in main.lines] == [history.loss, history.val_loss]
    assert list(right.lines[0].get_ydata()) == history.val_accuracy


def test_several_histories_one_colour_each(tmp_path):
    runs = {"B = 1": History(loss=[1.0, 0.4]), "B = 32": History(loss=[1.5, 0.9],
                                                                 val_loss=[1.6, 1.0])}
    fig = plot_history(runs, log=True, path=tmp_path / "runs.png")
    assert is_png(tmp_path / "runs.png")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.lines) == 3
    colors = [tuple(line.get_color()) for line in ax.lines]
    assert colors[0] != colors[1] == colors[2]
    # colours name the runs, line styles the curves
    assert [t.get_text() for t in ax.get_legend().get_texts()] == \
        ["B = 1", "B = 32", "training loss", "validation loss"]


def test_bad_input():
    with pytest.raises(TypeError, match="History"):
        plot_history([1.0, 0.5])
    with pytest.raises(ValueError, match="non-empty"):
        plot_history({})
