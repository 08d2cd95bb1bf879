"""The tower construction: the network is the towers of the docstring, its
error obeys the proven bound for any tower count and steepness, and reaches a
requested eps with the tower count computed from the Lipschitz constant; the
learned network reaches a stated error on the same targets."""
import math

import numpy as np
import pytest
from scipy.special import expit

import fastnn as fn
from fastnn import approximation as ap

SIGMA = 0.3
# (f, a, b, Lipschitz constant = max |f'| on [a, b], computed by hand)
TARGETS = {
    "sin": (np.sin, 0.0, 2 * math.pi, 1.0),
    "polynomial": (lambda x: x ** 3 - x, -1.5, 1.5, 3 * 1.5 ** 2 - 1),
    "gaussian bump": (lambda x: np.exp(-x ** 2 / (2 * SIGMA ** 2)), -1.0, 1.0,
                      1 / (SIGMA * math.sqrt(math.e))),
}
LEARNED_ERROR = 0.1   # the stated max error of a learned 16-unit network


def towers_by_hand(f, a, b, n, k, x):
    """sum_i c_i [sigma(k (x - l_i)) - sigma(k (x - r_i))], written out."""
    h = (b - a) / n
    left = [a + i * h for i in range(n)]
    right = [a + (i + 1) * h for i in range(n)]
    left[0], right[-1] = a - h / 2, b + h / 2
    return np.array([f(a + (i + 0.5) * h) * (expit(k * (x - left[i])) - expit(k * (x - right[i])))
                     for i in range(n)])


@pytest.mark.parametrize("backend", fn.available_backends())
def test_the_network_is_the_sum_of_the_towers(backend):
    f, a, b, _ = TARGETS["sin"]
    x = np.linspace(a - 1, b + 1, 301)
    net = ap.tower_network(f, a, b, 7, 3.0, backend=backend)
    assert list(net.sizes) == [1, 14, 1] and net.activation == ["sigmoid"] * 1
    expected = towers_by_hand(f, a, b, 7, 3.0, x)
    np.testing.assert_allclose(ap.tower_outputs(net, x), expected, atol=1e-12)
    np.testing.assert_allclose(net.predict(x[:, None]), expected.sum(axis=0), atol=1e-12)


@pytest.mark.parametrize("name", TARGETS)
@pytest.mark.parametrize("n", [1, 3, 10, 40])
@pytest.mark.parametrize("s", [0.1, 1.0, 5.0, 50.0])
def test_the_error_obeys_the_bound_for_any_towers_and_steepness(name, n, s):
    f, a, b, L = TARGETS[name]
    k = s * n / (b - a)
    error = ap.max_error(ap.tower_network(f, a, b, n, k), f, a, b)
    assert error <= ap.error_bound(f, a, b, n, k, L)


@pytest.mark.parametrize("name", TARGETS)
@pytest.mark.parametrize("eps", [0.1, 0.02])
def test_the_constructed_network_is_within_eps(name, eps):
    f, a, b, L = TARGETS[name]
    n = math.ceil(L * (b - a) / eps)
    assert ap.towers_needed(L, a, b, eps) == n
    k = ap.steepness_needed(f, a, b, n, L, eps)
    assert ap.error_bound(f, a, b, n, k, L) <= eps * (1 + 1e-12)
    net = ap.approximate(f, a, b, eps, L)
    assert list(net.sizes) == [1, 2 * n, 1]
    assert ap.max_error(net, f, a, b) < eps


@pytest.mark.parametrize("name", TARGETS)
def test_float32_construction_is_within_eps(name):
    f, a, b, L = TARGETS[name]
    net = ap.approximate(f, a, b, 0.05, L, dtype="float32")
    assert net.dtype == np.float32
    assert ap.max_error(net, f, a, b) < 0.05


@pytest.mark.parametrize("name", TARGETS)
def test_steep_towers_are_the_staircase_of_the_midpoint_values(name):
    f, a, b, L = TARGETS[name]
    for n in (4, 16, 64):
        h = (b - a) / n
        x = np.linspace(a, b, 10_001)
        x = x[np.abs((x - a) / h - np.round((x - a) / h)) > 0.01]   # off the edges
        staircase = f(a + (np.minimum((x - a) // h, n - 1) + 0.5) * h)
        net = ap.tower_network(f, a, b, n, 2000.0 / h)
        np.testing.assert_allclose(net.predict(x[:, None]), staircase, atol=1e-6)
        assert np.max(np.abs(f(x) - staircase)) <= L * h / 2


@pytest.mark.parametrize("name", TARGETS)
def test_the_learned_network_reaches_the_stated_error(name):
    f, a, b, _ = TARGETS[name]
    net = ap.learn(f, a, b, hidden=16, epochs=1500, random_state=0)
    assert list(net.sizes) == [1, 16, 1]
    assert ap.max_error(net, f, a, b) < LEARNED_ERROR


def test_error_table_columns_and_bound():
    f, a, b, L = TARGETS["gaussian bump"]
    table = ap.error_table(f, a, b, L, towers=(2, 8, 32), learn_epochs=20)
    assert list(table) == ["towers", "hidden_units", "steepness", "bound", "max_error",
                           "learned_max_error"]
    np.testing.assert_array_equal(table["towers"], [2, 8, 32])
    np.testing.assert_array_equal(table["hidden_units"], [4, 16, 64])
    assert np.all(table["max_error"] <= table["bound"])
    assert np.all(table["bound"] <= L * (b - a) / table["towers"] * (1 + 1e-12))
    assert np.all(np.diff(table["max_error"]) < 0)
    assert np.all(np.isfinite(table["learned_max_error"]))


@pytest.mark.parametrize("call, error", [
    (lambda: ap.tower_network(np.sin, 1.0, 1.0, 3, 1.0), ValueError),
    (lambda: ap.tower_network(np.sin, 0.0, 1.0, 0, 1.0), ValueError),
    (lambda: ap.tower_network(np.sin, 0.0, 1.0, 2.5, 1.0), TypeError),
    (lambda: ap.tower_network(np.sin, 0.0, 1.0, 3, 0.0), ValueError),
    (lambda: ap.tower_network("sin", 0.0, 1.0, 3, 1.0), TypeError),
    (lambda: ap.tower_network(lambda x: 1.0, 0.0, 1.0, 3, 1.0), ValueError),
    (lambda: ap.tower_network(np.log, -1.0, 1.0, 3, 1.0), ValueError),
    (lambda: ap.towers_needed(1.0, 0.0, 1.0, 0.0), ValueError),
    (lambda: ap.steepness_needed(np.sin, 0.0, 1.0, 2, 1.0, 0.1), ValueError),
    (lambda: ap.tower_outputs(fn.MLP([1, 4, 1], output="linear"), [0.0]), ValueError),
])
def test_bad_input_is_refused(call, error):
    with np.errstate(all="ignore"), pytest.raises(error):
        call()


def is_png(path):
    return path.stat().st_size > 0 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_approximation_draws_target_network_and_towers(tmp_path):
    from fastnn.plotting.approximation import plot_approximation
    f, a, b, _ = TARGETS["sin"]
    path = tmp_path / "towers.png"
    fig = plot_approximation(f, ap.tower_network(f, a, b, 5, 4.0), a, b, path=path)
    assert is_png(path)
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 5 + 2


def test_demo_writes_the_figure_and_the_table(tmp_path):
    from fastnn.demos import approximation_demo
    path, _ = approximation_demo(tmp_path / "out", eps=1.0, learn_epochs=5)
    assert path == tmp_path / "out" / "approximation.png" and is_png(path)
    table = (tmp_path / "out" / "approximation.md").read_text().splitlines()
    assert table[0] == ("| towers | hidden_units | steepness | bound | max_error "
                        "| learned_max_error |")
    assert len(table) == 2 + 7
