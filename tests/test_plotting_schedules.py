"""Schedule plots: each function writes a non-empty PNG."""
import pytest

from fastnn import schedules as S
from fastnn.plotting.schedules import plot_schedule, plot_schedules


def notes_schedules():
    return {
        "step decay": S.StepDecay(0.1, every=20),
        "exponential": S.ExponentialDecay(0.1, k=0.02),
        "1/t": S.InverseTimeDecay(0.1, k=0.05),
        "cyclical": S.Cyclical(0.01, 0.1, step_size=15),
        "cosine restarts": S.CosineRestarts(0.01, 0.1, T=20),
        "warm-up + SGDR": S.Warmup(S.CosineRestarts(0.01, 0.1, T=10, t_mult=2), steps=10),
        "momentum": S.MomentumSchedule(0.99, every=10),
    }


def is_png(path):
    return path.stat().st_size > 0 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_schedule_writes_png(tmp_path):
    path = tmp_path / "cosine.png"
    fig = plot_schedule(S.CosineRestarts(0.0, 0.1, T=10), 50, path=path)
    assert is_png(path)
    line = fig.axes[0].lines[0]
    assert list(line.get_ydata()[:2]) == [0.1, S.CosineRestarts(0.0, 0.1, T=10)(1)]


def test_plot_schedules_side_by_side(tmp_path):
    path = tmp_path / "schedules.png"
    fig = plot_schedules(notes_schedules(), 100, path=path)
    assert is_png(path)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == list(notes_schedules())


@pytest.mark.parametrize("call, name", [
    (lambda: plot_schedules({}, 10), "schedules"),
    (lambda: plot_schedule(S.Constant(0.1), 0), "steps"),
])
def test_bad_arguments(call, name):
    with pytest.raises(ValueError, match=name):
        call()
