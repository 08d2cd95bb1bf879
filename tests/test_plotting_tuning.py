"""plot_lr_search: a non-empty PNG with a log learning-rate axis and the trials drawn."""
import math

import numpy as np
import pytest

from fastnn.plotting.tuning import plot_lr_search
from fastnn.tuning import SearchResult, Trial


def is_png(path):
    return path.stat().st_size > 0 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def result():
    return SearchResult([Trial({"lr": 1e-3}, val_loss=2.0), Trial({"lr": 1e-2}, val_loss=0.5),
                         Trial({"lr": 1e-1}, val_loss=0.8), Trial({"lr": 1.0}, diverged=True),
                         Trial({"lr": 10.0}, error="ValueError: no")])


def test_plot_lr_search_writes_png_with_a_log_axis(tmp_path):
    path = tmp_path / "lr.png"
    fig = plot_lr_search(result(), path=path)
    assert is_png(path)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    curve, crosses, star = ax.lines
    np.testing.assert_array_equal(curve.get_xdata(), [1e-3, 1e-2, 1e-1])
    np.testing.assert_array_equal(curve.get_ydata(), [2.0, 0.5, 0.8])
    assert list(crosses.get_xdata()) == [1.0]
    assert list(star.get_xdata()) == [1e-2] and list(star.get_ydata()) == [0.5]


def test_plot_lr_search_without_a_finished_trial(tmp_path):
    path = tmp_path / "lr.png"
    plot_lr_search(SearchResult([Trial({"lr": 1.0}, val_loss=math.nan, diverged=True)]),
                   path=path)
    assert is_png(path)


def test_plot_lr_search_needs_learning_rates():
    with pytest.raises(ValueError, match="lr"):
        plot_lr_search(SearchResult([Trial({"batch_size": 8}, val_loss=1.0)]))
