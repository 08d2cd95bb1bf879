"""The perceptron learning algorithm: a hand-worked run, every backend against
the NumPy reference, the notes' convergence bound, non-separable data, and the
network of 2^n hidden perceptrons."""
import warnings

import numpy as np
import pytest

from fastnn import boolean, perceptron
from fastnn._kernels import available_backends, get_backend
from fastnn.perceptron import ConvergenceWarning, train_perceptron

BACKENDS = available_backends()


def _kernel(name):
    return get_backend(name).perceptron_train


def _separable_data(rng, n_samples, n_features, margin=0.05):
    """Inputs labelled by a random unit w* (on x~ = [1, x]), keeping only those
    whose normalised p has w* . p >= margin; returns X, y, w*."""
    w_star = rng.standard_normal(n_features + 1)
    w_star /= np.linalg.norm(w_star)
    X = rng.uniform(-2, 2, (4 * n_samples, n_features))
    Xt = np.hstack([np.ones((len(X), 1)), X])
    cos = Xt @ w_star / np.linalg.norm(Xt, axis=1)
    keep = np.abs(cos) >= margin
    X, y = X[keep][:n_samples], (cos[keep][:n_samples] >= 0).astype(np.int64)
    return X, y, w_star


def _p_prime(X, y):
    """The notes' P' built here independently: [1, x], negated for N, unit length."""
    P = np.hstack([np.ones((len(X), 1)), X]) * np.where(y == 1, 1.0, -1.0)[:, None]
    return P / np.linalg.norm(P, axis=1, keepdims=True)


AND_X = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1]], dtype=np.float64)
AND_Y = np.array([0, 0, 0, 1], dtype=np.int64)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hand_worked_run_on_and(backend, dtype):
    """Algorithm 1 from w = 0 visiting rows 0, 1, 2, 3 in every epoch, worked
    by hand: corrections per epoch 2, 3, 3, 2, 1, 0, ending at w = [-3, 1, 2]."""
    order = np.tile(np.arange(4, dtype=np.int64), (10, 1))
    w = np.zeros(3, dtype=dtype)
    converged, k, epochs = _kernel(backend)(AND_X.astype(dtype), AND_Y, order, w)
    assert (converged, k, epochs) == (True, 11, 6)
    assert w.tolist() == [-3, 1, 2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_kernel_stops_after_the_given_epochs(backend):
    xor_y = np.array([0, 1, 1, 0], dtype=np.int64)
    order = np.tile(np.arange(4, dtype=np.int64), (7, 1))
    converged, k, epochs = _kernel(backend)(AND_X, xor_y, order, np.zeros(3))
    assert not converged and epochs == 7 and k >= 7


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "numpy"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("algorithm", [1, 2])
def test_backends_equal_the_reference(backend, dtype, algorithm):
    rng = np.random.default_rng(5)
    X, y, _ = _separable_data(rng, 150, 4, margin=0.01)
    X = X.astype(dtype)
    runs = [train_perceptron(X, y, algorithm=algorithm, random_state=3, max_epochs=500,
                             backend=b) for b in ("numpy", backend)]
    assert runs[0].weights.dtype == dtype
    assert runs[0].converged and runs[1].converged
    assert (runs[0].k, runs[0].epochs) == (runs[1].k, runs[1].epochs)
    assert np.array_equal(runs[0].weights, runs[1].weights)


def test_algorithm_2_is_the_notes_loop_on_p_prime():
    """Algorithm 2 run by a plain loop here, with the same random order."""
    rng = np.random.default_rng(1)
    X, y, _ = _separable_data(rng, 40, 2)
    P = _p_prime(X, y)
    w = np.zeros(3)
    order = np.argsort(np.random.default_rng(9).random((200, len(P))), axis=1, kind="stable")
    k = 0
    for epoch in order:
        mistakes = 0
        for i in epoch:
            if w @ P[i] < 0:
                w, k, mistakes = w + P[i], k + 1, mistakes + 1
        if not mistakes:
            break
    result = train_perceptron(X, y, algorithm=2, w=np.zeros(3), random_state=9)
    assert result.converged and result.k == k
    np.testing.assert_allclose(result.weights, w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("algorithm", [1, 2])
def test_converged_weights_classify_every_input(algorithm):
    rng = np.random.default_rng(2)
    X, y, _ = _separable_data(rng, 200, 3)
    result = train_perceptron(X, y, algorithm=algorithm, random_state=0, max_epochs=1000)
    assert result.converged
    scores = np.hstack([np.ones((len(X), 1)), X]) @ result.weights
    assert np.array_equal(scores >= 0, y == 1)
    assert np.array_equal(perceptron.perceptron_output(result.weights, X), y)


@pytest.mark.parametrize("seed", range(6))
def test_corrections_obey_the_convergence_bound(seed):
    """Notes, proof of convergence: from w0 = 0, k <= 1/delta^2 with
    delta = min_p w* . p on the normalised P'; from a random w0 the bound of
    perceptron.correction_bound."""
    rng = np.random.default_rng(seed)
    X, y, w_star = _separable_data(rng, 100, 1 + seed % 4, margin=0.1)
    delta = np.min(_p_prime(X, y) @ w_star)
    assert delta > 0
    zero = train_perceptron(X, y, algorithm=2, w=np.zeros(X.shape[1] + 1), random_state=seed)
    assert zero.converged and zero.k <= 1 / delta ** 2
    w0 = 3 * rng.standard_normal(X.shape[1] + 1)
    start = train_perceptron(X, y, algorithm=2, w=w0, random_state=seed)
    assert start.converged and start.k <= perceptron.correction_bound(delta, w_star, w0)


def test_correction_bound_solves_the_notes_inequality():
    """k_max is where (w*.w0 + k delta)^2 = ||w0||^2 + k, i.e. cos(beta) = 1."""
    assert perceptron.correction_bound(0.1) == pytest.approx(100)
    rng = np.random.default_rng(0)
    w_star = rng.standard_normal(4)
    w_star /= np.linalg.norm(w_star)
    for _ in range(5):
        w0, delta = rng.standard_normal(4), rng.uniform(0.01, 0.5)
        a, c = w_star @ w0, w0 @ w0
        k = perceptron.correction_bound(delta, w_star, w0)
        assert a + k * delta >= 0
        assert (a + k * delta) ** 2 == pytest.approx(c + k, rel=1e-9)
    with pytest.raises(ValueError, match="delta"):
        perceptron.correction_bound(0.0)


@pytest.mark.parametrize("algorithm", [1, 2])
def test_xor_stops_with_a_warning(algorithm):
    X, xor = boolean.inputs(2), [0, 1, 1, 0]
    with pytest.warns(ConvergenceWarning, match="did not converge in 40 epochs"):
        result = train_perceptron(X, xor, algorithm=algorithm, max_epochs=40, random_state=0)
    assert not result.converged and result.epochs == 40 and result.k >= 40


def test_same_seed_same_result_and_record_does_not_change_it():
    rng = np.random.default_rng(4)
    X, y, _ = _separable_data(rng, 60, 2, margin=0.02)
    a = train_perceptron(X, y, random_state=11)
    b = train_perceptron(X, y, random_state=11, record=True)
    assert (a.k, a.epochs) == (b.k, b.epochs) and np.array_equal(a.weights, b.weights)
    assert b.history.shape == (b.epochs + 1, 3)
    assert np.array_equal(b.history[-1], b.weights)
    assert a.history is None


def test_initial_weights_are_copied_and_used():
    w0 = np.array([-3.0, 2.0, 2.0])     # already computes AND
    result = train_perceptron(boolean.inputs(2), [0, 0, 0, 1], w=w0, random_state=0)
    assert (result.converged, result.k, result.epochs) == (True, 0, 1)
    assert np.array_equal(result.weights, w0) and result.weights is not w0


def test_perceptron_output_is_the_threshold_rule():
    X = boolean.inputs(2)
    assert perceptron.perceptron_output([-3, 2, 2], X).tolist() == [0, 0, 0, 1]
    assert perceptron.perceptron_output([0, -1, 1], X).tolist() == [1, 0, 1, 1]   # 0 >= 0 fires
    with pytest.raises(ValueError, match="w must have"):
        perceptron.perceptron_output([1, 2], X)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(y=[0, 1, 2, 0]), ValueError, "only 0"),
    (dict(y=[0, 1, 1]), ValueError, "shape"),
    (dict(y=[0.0, 1.0, 1.0, 0.0]), TypeError, "0/1 integers"),
    (dict(algorithm=3), ValueError, "algorithm"),
    (dict(max_epochs=0), ValueError, "max_epochs"),
    (dict(w=[0.0, 1.0]), ValueError, "w must have shape"),
    (dict(backend="fortran"), ValueError, "backend"),
    (dict(X=[[0, np.nan], [1, 1], [0, 1], [1, 0]]), ValueError, "X contains NaN"),
])
def test_bad_arguments(kwargs, error, match):
    args = dict(X=boolean.inputs(2), y=[0, 1, 1, 1])
    args.update(kwargs)
    with pytest.raises(error, match=match):
        train_perceptron(args.pop("X"), args.pop("y"), **args)


def test_network_of_two_inputs_has_the_notes_weights():
    net = perceptron.perceptron_network([0, 1, 1, 0])
    assert net.hidden_bias.tolist() == [-2, -2, -2, -2]
    assert net.hidden_weights.tolist() == [[-1, -1], [1, -1], [-1, 1], [1, 1]]
    assert np.array_equal(net.hidden(boolean.inputs(2)), np.eye(4))


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("learn", [False, True])
def test_network_represents_every_boolean_function(n, learn):
    """The theorem of section 2.5 on all 16 functions of 2 inputs and all 256 of 3."""
    X = boolean.inputs(n)
    for j, table in enumerate(boolean.all_functions(n)):
        net = perceptron.perceptron_network(table, learn=learn, random_state=j)
        assert np.array_equal(net.hidden(X), np.eye(2 ** n))
        assert np.array_equal(net.predict(X), table), j + 1


def test_network_rejects_non_boolean_inputs():
    net = perceptron.perceptron_network([0, 1, 1, 0])
    with pytest.raises(ValueError, match="0/1 rows of 2"):
        net.predict([[0.5, 1]])
    with pytest.raises(ValueError, match="length 2\\^n"):
        perceptron.perceptron_network([0, 1, 1])


def test_no_warning_when_converged():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert train_perceptron(boolean.inputs(2), [0, 1, 1, 1], random_state=0).converged
