"""The Poisson deviance with an exponential output (issue 17): the loss from
the logits against its formula, a finite-difference gradient check in every
backend, stability at extreme logits, and MLPRegressor(loss="poisson")
against scikit-learn and against squared error on Poisson counts."""
import numpy as np
import pytest
from scipy.special import xlogy
from sklearn import neural_network
from sklearn.metrics import mean_poisson_deviance

import fastnn as fn
from fastnn.estimators import MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
BACKENDS = fn.available_backends()
TOL = {np.float32: 1e-5, np.float64: 1e-12}


def _counts(n=20, d=3, k=2, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    return X, rng.poisson(np.exp(X[:, :k] * 0.5)).astype(dtype)


def deviance(A, Y):
    """2 (y log(y / mu) - y + mu) per entry, mu = e^a, meaned over rows and summed over outputs."""
    A, Y = A.astype(np.float64), Y.astype(np.float64)
    return float(np.sum(2 * (xlogy(Y, Y) - Y * A - Y + np.exp(A))) / len(A))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_is_the_deviance_and_predictions_are_positive(backend, dtype):
    X, Y = _counts(dtype=dtype)
    net = fn.MLP([3, 5, 2], activation="tanh", output="exp", dtype=dtype, random_state=0,
                 backend=backend)
    assert net.loss == "poisson"
    loss, _ = net.loss_and_grad(X, Y)
    assert loss == pytest.approx(deviance(net.decision_function(X), Y), rel=TOL[dtype])
    P = net.predict(X)
    assert P.dtype == dtype and np.all(P > 0)
    np.testing.assert_allclose(P, np.exp(net.decision_function(X)), rtol=TOL[dtype])


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_matches_finite_differences(backend):
    X, Y = _counts()
    net = fn.MLP([3, 4, 2], activation="tanh", output="exp", dtype="float64", random_state=1,
                 backend=backend)
    _, grad = net.loss_and_grad(X, Y)
    grad = grad.copy()
    h, numeric = 1e-6, np.empty_like(grad)
    for i in range(net.params.size):
        keep = net.params[i]
        net.params[i] = keep + h
        up = net.loss_value(X, Y)
        net.params[i] = keep - h
        down = net.loss_value(X, Y)
        net.params[i] = keep
        numeric[i] = (up - down) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("backend", BACKENDS)
def test_extreme_logits_stay_finite_and_exact(backend):
    """mu = e^a underflows to 0 at a = -1e4: the deviance is then 2 y (log y - 1 - a)
    (never log 0), and 0 with gradient 0 where y = 0."""
    net = fn.MLP([1, 2], output="exp", dtype="float64", backend=backend)
    net.params[...] = [0.0, 0.0, -1e4, -1e4]          # W = 0, b = -1e4: every logit -1e4
    X, Y = np.zeros((2, 1)), np.array([[0.0, 3.0], [0.0, 0.0]])
    loss, grad = net.loss_and_grad(X, Y)
    assert loss == pytest.approx(2 * (3 * np.log(3) - 3 + 3e4) / 2, rel=1e-15)
    np.testing.assert_array_equal(grad, [0.0, 0.0, 0.0, -3.0])
    assert np.all(net.predict(X) == 0)


def test_negative_counts_are_refused():
    X, Y = _counts()
    net = fn.MLP([3, 2], output="exp", dtype="float64")
    with pytest.raises(ValueError, match=">= 0"):
        net.loss_and_grad(X, -Y)
    with pytest.raises(ValueError, match="negative"):
        MLPRegressor(loss="poisson", max_iter=2).fit(X, -Y)


def test_regressor_matches_scikit_learn_one_step():
    X, Y = _counts(n=30)
    kw = dict(loss="poisson", hidden_layer_sizes=(6,), activation="tanh", solver="sgd",
              momentum=0.0, alpha=0.1, batch_size=30, learning_rate_init=0.05, shuffle=False,
              max_iter=1, random_state=0)
    theirs = neural_network.MLPRegressor(**kw).fit(X, Y)
    ours = MLPRegressor(**kw).fit(X, Y)
    ours.coefs_ = theirs.coefs_
    theirs.intercepts_ = [np.zeros_like(b) for b in theirs.intercepts_]
    ours.intercepts_ = theirs.intercepts_
    theirs.set_params(warm_start=True).fit(X, Y)
    ours.set_params(warm_start=True).fit(X, Y)
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, their, rtol=1e-10, atol=1e-12)
    assert ours.out_activation_ == theirs.out_activation_ == "exp"
    np.testing.assert_allclose(ours.to_sklearn().predict(X), ours.predict(X), rtol=1e-12)


def test_poisson_beats_squared_error_on_counts_as_scikit_learns_does():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (3000, 4))
    y = rng.poisson(np.exp(2 * X[:, 0] - 1.5 * X[:, 1]))
    train, test = slice(0, 2000), slice(2000, None)
    kw = dict(hidden_layer_sizes=(16,), max_iter=150, learning_rate_init=0.01, random_state=0)
    poisson = MLPRegressor(loss="poisson", **kw).fit(X[train], y[train]).predict(X[test])
    squared = MLPRegressor(**kw).fit(X[train], y[train]).predict(X[test])
    theirs = neural_network.MLPRegressor(loss="poisson", **kw).fit(X[train], y[train])
    assert np.all(poisson > 0)
    ours = mean_poisson_deviance(y[test], poisson)
    assert ours < mean_poisson_deviance(y[test], np.maximum(squared, 1e-3))   # may predict <= 0
    assert ours < 1.03 * mean_poisson_deviance(y[test], theirs.predict(X[test]))
