"""The figures of sections 2-3: perceptron boundaries, the 16 functions, and
the sigmoid neuron's error surface with optimizer paths."""
import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.colors import to_hex  # noqa: E402

from fastnn import boolean, optim  # noqa: E402
from fastnn.perceptron import ConvergenceWarning, train_perceptron  # noqa: E402
from fastnn.plotting.boolean import plot_boolean_functions, plot_perceptron  # noqa: E402
from fastnn.plotting.surfaces import plot_error_surface  # noqa: E402


def _png_written(path):
    return path.exists() and path.stat().st_size > 1000 and path.read_bytes()[:4] == b"\x89PNG"


def test_plot_perceptron_draws_one_boundary_per_epoch(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (40, 2))
    y = (X @ [1.0, -2.0] + 0.2 >= 0).astype(int)
    result = train_perceptron(X, y, record=True, random_state=1)
    fig = plot_perceptron(X, y, result, path=tmp_path / "p.png")
    assert _png_written(tmp_path / "p.png")
    ax = fig.axes[0]
    assert len(ax.lines) == result.epochs + 1        # every epoch's start, plus the final one
    assert "converged" in ax.get_title() and f"k = {result.k}" in ax.get_title()


def test_plot_perceptron_trains_when_needed_and_shows_failure(tmp_path):
    with pytest.warns(ConvergenceWarning):
        fig = plot_perceptron(boolean.inputs(2), [0, 1, 1, 0], max_epochs=5, random_state=0,
                              path=tmp_path / "xor.png")
    assert _png_written(tmp_path / "xor.png")
    assert fig.axes[0].get_title().startswith("not converged: 5 epochs")


def test_plot_perceptron_rejects_what_it_cannot_draw():
    with pytest.raises(ValueError, match="two features"):
        plot_perceptron(np.zeros((4, 3)), [0, 1, 0, 1])
    result = train_perceptron(boolean.inputs(2), [0, 0, 0, 1], random_state=0)
    with pytest.raises(ValueError, match="record=True"):
        plot_perceptron(boolean.inputs(2), [0, 0, 0, 1], result)


def test_plot_boolean_functions_marks_the_separable_ones(tmp_path):
    fig = plot_boolean_functions(path=tmp_path / "b.png")
    assert _png_written(tmp_path / "b.png")
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 16
    assert [j for j, t in enumerate(titles, start=1) if "NOT" in t] == [7, 10]
    assert titles[1].startswith("$f_{2}$ 0001")
    # a separating line on each non-constant separable function, none on XOR / XNOR
    lines = [len(ax.lines) for ax in fig.axes]
    assert lines[6] == lines[9] == 0
    assert all(lines[j - 1] == 1 for j in range(2, 16) if j not in (7, 10))


def test_plot_error_surface_one_colour_per_optimizer(tmp_path):
    names = ["sgd", "momentum", "adam"]
    fig = plot_error_surface(optimizers=names, steps=30, resolution=40, path=tmp_path / "s.png")
    assert _png_written(tmp_path / "s.png")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [label.split(" ")[0] for label in labels] == names + ["start"]
    paths = [line for line in ax.lines if len(line.get_xdata()) == 31]
    assert len(paths) == 3
    assert len({to_hex(line.get_color()) for line in paths}) == 3
    assert paths[0].get_xdata()[0] == -2.0 and paths[0].get_ydata()[0] == -2.0


def test_plot_error_surface_accepts_a_mapping_and_an_axes(tmp_path):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    runs = {"GD eta=1": optim.SGD(lr=1.0), "NAG": optim.NAG(lr=0.5, beta=0.9)}
    out = plot_error_surface([0.5, 2.5], [0.2, 0.9], runs, steps=10, resolution=20, ax=ax)
    assert out is fig
    assert [t.get_text().split(" (")[0] for t in ax.get_legend().get_texts()] == \
        ["GD eta=1", "NAG", "start"]
    with pytest.raises(ValueError, match="at least one"):
        plot_error_surface(optimizers=[])
    with pytest.raises(TypeError, match="one string"):
        plot_error_surface(optimizers="adam")
