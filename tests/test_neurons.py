"""McCulloch-Pitts neurons against brute force; the sigmoid neuron's loss and
gradients against the formula, finite differences and PyTorch; Algorithm 3 and
the optimizers of fastnn.optim on the error surface."""
import itertools
import warnings

import numpy as np
import pytest

from fastnn import boolean, neurons, optim

X2 = [0.5, 2.5]          # the lecture's two points
Y2 = [0.2, 0.9]


def _mp_table(n, theta, inhibitory):
    """The notes' rule evaluated here row by row."""
    out = []
    for x in boolean.inputs(n):
        blocked = any(x[i] for i in inhibitory)
        out.append(0 if blocked else int(sum(x) >= theta))
    return out


@pytest.mark.parametrize("n", [1, 2, 3])
def test_ready_made_neurons(n):
    rows = boolean.inputs(n)
    assert neurons.mp_and(n).truth_table().tolist() == [int(all(r)) for r in rows]
    assert neurons.mp_or(n).truth_table().tolist() == [int(any(r)) for r in rows]
    assert neurons.mp_nor(n).truth_table().tolist() == [int(not any(r)) for r in rows]
    assert neurons.mp_tautology(n).truth_table().tolist() == [1] * 2 ** n
    assert neurons.mp_not().truth_table().tolist() == [1, 0]


def test_inhibitory_input_vetoes():
    neuron = neurons.MPNeuron(3, 1, (2,))
    assert neuron.truth_table().tolist() == _mp_table(3, 1, (2,))
    assert neuron([1, 1, 1]) == 0 and neuron([1, 0, 0]) == 1
    assert neuron(np.array([[0, 0, 0], [0, 1, 0]])).tolist() == [0, 1]


@pytest.mark.parametrize("n", [2, 3])
def test_find_mp_neuron_agrees_with_brute_force(n):
    """For every function: a neuron is found iff some (inhibitory set, theta)
    with theta in -2..n+2 computes it, and the one found does."""
    realisable = set()
    for size in range(n + 1):
        for inhibitory in itertools.combinations(range(n), size):
            for theta in range(-2, n + 3):
                realisable.add(tuple(_mp_table(n, theta, inhibitory)))
    for table in boolean.all_functions(n):
        neuron = neurons.find_mp_neuron(table)
        assert (neuron is not None) == (tuple(table) in realisable)
        if neuron is not None:
            assert np.array_equal(neuron.truth_table(), table)


def test_find_threshold():
    assert neurons.find_threshold([0, 0, 0, 1]) == 2          # AND
    assert neurons.find_threshold([0, 1, 1, 1]) == 1          # OR
    assert neurons.find_threshold([1, 1, 1, 1]) == 0          # tautology: theta = 0
    assert neurons.find_threshold([0, 0, 0, 0]) == 3
    assert neurons.find_threshold([0, 1, 1, 0]) is None       # XOR
    assert neurons.find_threshold([0, 1, 0, 0]) is None       # x1 and not x2 needs inhibition
    assert neurons.find_threshold([0, 1, 0, 0], inhibitory=(1,)) == 1
    assert neurons.find_mp_neuron([0, 1, 1, 0]) is None


def test_mp_neuron_rejects_bad_input():
    with pytest.raises(ValueError, match="inhibitory"):
        neurons.MPNeuron(2, 1, (2,))
    with pytest.raises(TypeError, match="theta"):
        neurons.MPNeuron(2, 1.5)
    with pytest.raises(ValueError, match="0/1 vectors of 2"):
        neurons.mp_and(2)([1, 1, 1])
    with pytest.raises(ValueError, match="0/1 vectors"):
        neurons.mp_and(2)([0.5, 1])


def test_sigmoid_is_stable():
    z = np.array([-1000.0, -30.0, -1.0, 0.0, 1.0, 30.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = neurons.sigmoid(z)
    np.testing.assert_allclose(s[1:-1], 1 / (1 + np.exp(-z[1:-1])), rtol=1e-15)
    assert s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5


def test_sigmoid_neuron_scalar_and_vector_forms():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(neurons.sigmoid_neuron(x, 1.5, -0.5),
                               1 / (1 + np.exp(-(1.5 * x - 0.5))), rtol=1e-15)
    X = np.array([[1.0, 2.0], [-1.0, 0.5]])
    w = np.array([0.3, -0.7])
    np.testing.assert_allclose(neurons.sigmoid_neuron(X, w, 0.2),
                               1 / (1 + np.exp(-(X @ w + 0.2))), rtol=1e-15)
    assert float(neurons.sigmoid_neuron(0.0, 2.0, 0.0)) == 0.5


def test_loss_and_gradients_are_the_notes_formulas():
    x, y, w, b = np.array(X2), np.array(Y2), 0.7, -0.3
    f = 1 / (1 + np.exp(-(w * x + b)))
    assert neurons.squared_error(x, y, w, b) == pytest.approx(np.mean((y - f) ** 2), rel=1e-14)
    gw, gb = neurons.squared_error_grad(x, y, w, b)
    assert gw == pytest.approx(2 / 2 * np.sum((f - y) * f * (1 - f) * x), rel=1e-14)
    assert gb == pytest.approx(2 / 2 * np.sum((f - y) * f * (1 - f)), rel=1e-14)


@pytest.mark.parametrize("m", [1, 3])
def test_gradients_match_finite_differences(m):
    rng = np.random.default_rng(m)
    X, y = rng.standard_normal((20, m)), rng.random(20)
    w, b, h = rng.standard_normal(m), 0.3, 1e-6
    gw, gb = neurons.squared_error_grad(X, y, w, b)

    def loss(w, b):
        return neurons.squared_error(X, y, w, b)

    for i in range(m):
        e = np.eye(m)[i] * h
        num = (loss(w + e, b) - loss(w - e, b)) / (2 * h)
        assert gw[i] == pytest.approx(num, rel=1e-6, abs=1e-10)
    num_b = (loss(w, b + h) - loss(w, b - h)) / (2 * h)
    assert gb == pytest.approx(num_b, rel=1e-6, abs=1e-10)


def test_gradients_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X, y, w = rng.standard_normal((15, 2)), rng.random(15), rng.standard_normal(2)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(-0.4, dtype=torch.float64, requires_grad=True)
    loss = torch.mean((torch.tensor(y) - torch.sigmoid(torch.tensor(X) @ wt + bt)) ** 2)
    loss.backward()
    gw, gb = neurons.squared_error_grad(X, y, w, -0.4)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-12)
    assert gb == pytest.approx(bt.grad.item(), rel=1e-12)


def test_error_surface_grid():
    ws, bs = np.linspace(-4, 4, 7), np.linspace(-3, 3, 5)
    L = neurons.error_surface(X2, Y2, ws, bs)
    assert L.shape == (5, 7)
    for i, b in enumerate(bs):
        for j, w in enumerate(ws):
            f = 1 / (1 + np.exp(-(w * np.array(X2) + b)))
            assert L[i, j] == pytest.approx(np.mean((np.array(Y2) - f) ** 2), rel=1e-14)
    with pytest.raises(ValueError, match="one feature"):
        neurons.error_surface(np.ones((2, 2)), Y2, ws, bs)


def test_gradient_descent_is_algorithm_3():
    """One step by hand, then the whole run equals SGD of fastnn.optim bit for bit."""
    path, losses = neurons.gradient_descent(X2, Y2, -2.0, -2.0, lr=1.0, max_iterations=300)
    gw, gb = neurons.squared_error_grad(X2, Y2, -2.0, -2.0)
    assert path[1].tolist() == [-2.0 - gw, -2.0 - gb]
    assert path.shape == (301, 2) and losses.shape == (301,)
    assert losses[-1] < 1e-3 < losses[0]
    sgd_path, sgd_losses = neurons.train_sigmoid_neuron(X2, Y2, optim.SGD(lr=1.0), -2.0, -2.0, 300)
    assert np.array_equal(path, sgd_path) and np.array_equal(losses, sgd_losses)


@pytest.mark.parametrize("name", optim.NAMES)
def test_every_optimizer_descends_the_error_surface(name):
    path, losses = neurons.train_sigmoid_neuron(X2, Y2, optim.get(name, lr=0.1), -2.0, -2.0, 200)
    assert path.shape == (201, 2) and np.all(np.isfinite(path))
    assert losses[-1] < losses[0]
    assert losses[-1] == pytest.approx(neurons.squared_error(X2, Y2, *path[-1]), rel=1e-14)


def test_vector_form_trains():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 3))
    y = 1 / (1 + np.exp(-(X @ [1.0, -2.0, 0.5] + 0.3)))
    path, losses = neurons.train_sigmoid_neuron(X, y, optim.Adam(lr=0.05), np.zeros(3), 0.0, 2000)
    assert losses[-1] < 1e-5
    np.testing.assert_allclose(path[-1], [1.0, -2.0, 0.5, 0.3], atol=0.05)


def test_bad_arguments():
    with pytest.raises(ValueError, match="w must have 2 entries"):
        neurons.squared_error(np.ones((3, 2)), [0, 1, 0], 1.0, 0.0)
    with pytest.raises(ValueError, match="y must have 2"):
        neurons.squared_error(X2, [0.1], 1.0, 0.0)
    with pytest.raises(TypeError, match="step"):
        neurons.train_sigmoid_neuron(X2, Y2, "adam", 0.0, 0.0)
    with pytest.raises(ValueError, match="lr"):
        neurons.gradient_descent(X2, Y2, 0.0, 0.0, lr=0.0)
    with pytest.raises(ValueError, match="finite"):
        neurons.squared_error(X2, Y2, np.nan, 0.0)
