"""Per-sample weights (issue 17): in fastnn.fit and MLP.loss_and_grad (every
backend, the compiled epoch included) and in the estimators (sample_weight,
class_weight), against repetition of rows, dropping of rows, the definition
sum_i w_i L_i / sum_i w_i, the NumPy reference and scikit-learn itself."""
import copy

import numpy as np
import pytest
from sklearn import neural_network
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.estimator_checks import check_estimator

import fastnn as fn
from fastnn.estimators import MLPClassifier, MLPRegressor, Perceptron
from fastnn.perceptron import train_perceptron

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
BACKENDS = fn.available_backends()
OUTPUTS = ["softmax", "sigmoid", "linear", "exp"]
TOL = {np.float32: 2e-5, np.float64: 1e-12}


def _problem(output, n=13, d=4, k=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = {"softmax": rng.integers(0, k, n),
         "sigmoid": rng.integers(0, 2, (n, k)).astype(dtype),
         "linear": rng.standard_normal((n, k)).astype(dtype),
         "exp": rng.poisson(2.0, (n, k)).astype(dtype)}[output]
    return X, y, rng.integers(0, 4, n)


def _net(output, backend, dtype=np.float64, k=3):
    return fn.MLP([4, 6, 5, k], activation="tanh", output=output, dtype=dtype, random_state=1,
                  backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("output", OUTPUTS)
def test_integer_weights_equal_repeated_rows_in_full_batch_descent(backend, output):
    """Weight 0 drops a row, weight m repeats it m times (float64, 1e-12)."""
    X, y, w = _problem(output)
    weighted, repeated = _net(output, backend), _net(output, backend)
    fn.fit(weighted, X, y, fn.optim.Adam(lr=0.01), epochs=6, sample_weight=w)
    fn.fit(repeated, X.repeat(w, axis=0), y.repeat(w, axis=0), fn.optim.Adam(lr=0.01), epochs=6)
    np.testing.assert_allclose(weighted.params, repeated.params, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_and_grad_is_the_weighted_mean_of_per_sample_ones(backend, output, dtype):
    X, y, w = _problem(output, dtype=dtype)
    w = w + np.linspace(0.1, 0.9, len(w))         # not integers
    net = _net(output, backend, dtype)
    losses, grads = [], []
    for i in range(len(X)):
        loss, grad = net.loss_and_grad(X[i:i + 1], y[i:i + 1])
        losses.append(loss)
        grads.append(grad.astype(np.float64))
    loss, grad = net.loss_and_grad(X, y, sample_weight=w)
    assert loss == pytest.approx(np.dot(w, losses) / w.sum(), rel=TOL[dtype])
    np.testing.assert_allclose(grad, w @ np.array(grads) / w.sum(), rtol=TOL[dtype] * 10,
                               atol=TOL[dtype])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batch_size", [1, 4, None])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_backend_trains_as_the_reference_with_weights(backend, batch_size, dtype):
    """The compiled epoch (B = 1 fused loop, mini-batches, full batch) and the
    per-step path equal the NumPy reference, with weights including zeros."""
    X, y, w = _problem("softmax", n=17, dtype=dtype)
    nets = {name: _net("softmax", name, dtype) for name in ("numpy", backend)}
    for name, net in nets.items():
        fn.fit(net, X, y, fn.optim.Momentum(lr=0.05), epochs=3, batch_size=batch_size,
               random_state=0, sample_weight=w * 0.5)
    np.testing.assert_allclose(nets[backend].params, nets["numpy"].params,
                               rtol=TOL[dtype] * 10, atol=TOL[dtype])
    slow = _net("softmax", backend, dtype)
    fn.fit(slow, X, y, fn.optim.Momentum(lr=0.05), epochs=3, batch_size=batch_size,
           random_state=0, sample_weight=w * 0.5, fast=False)
    np.testing.assert_allclose(slow.params, nets["numpy"].params, rtol=TOL[dtype] * 10,
                               atol=TOL[dtype])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batch_size", [1, 5])
def test_weights_of_ones_train_exactly_as_no_weights(backend, batch_size):
    X, y, _ = _problem("linear")
    plain, ones = _net("linear", backend), _net("linear", backend)
    h1 = fn.fit(plain, X, y, "adam", epochs=3, batch_size=batch_size, random_state=0)
    h2 = fn.fit(ones, X, y, "adam", epochs=3, batch_size=batch_size, random_state=0,
                sample_weight=np.ones(len(X)))
    np.testing.assert_array_equal(ones.params, plain.params)
    assert h1.loss == h2.loss


def test_bad_sample_weight_names_the_argument():
    X, y, _ = _problem("softmax")
    net = _net("softmax", "numpy")
    for bad, error in [(np.ones(3), ValueError), (-np.ones(len(X)), ValueError),
                       (np.full(len(X), np.nan), ValueError), (np.ones((len(X), 2)), ValueError),
                       (np.array(["a"] * len(X)), TypeError)]:
        with pytest.raises(error, match="sample_weight"):
            fn.fit(net, X, y, sample_weight=bad)
        with pytest.raises(error, match="sample_weight"):
            net.loss_and_grad(X, y, sample_weight=bad)


# -- estimators -------------------------------------------------------------

@pytest.mark.parametrize("cls, kind", [(MLPClassifier, "multiclass"), (MLPClassifier, "binary"),
                                       (MLPRegressor, "regression"), (MLPRegressor, "poisson")])
def test_one_weighted_step_equals_scikit_learn(cls, kind):
    """From the same weights, one full-batch SGD step with sample weights
    gives scikit-learn's parameters (weighted loss and L2 term / sum w)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 5))
    y = {"multiclass": rng.integers(0, 3, 30), "binary": rng.integers(0, 2, 30),
         "regression": rng.standard_normal(30), "poisson": rng.poisson(1.5, 30)}[kind]
    w = rng.uniform(0, 3, 30)
    kw = dict(hidden_layer_sizes=(7,), activation="tanh", solver="sgd", momentum=0.0, alpha=0.5,
              batch_size=30, learning_rate_init=0.05, shuffle=False, max_iter=1, random_state=0)
    if kind == "poisson":
        kw["loss"] = "poisson"
    theirs = getattr(neural_network, cls.__name__)(**kw).fit(X, y, sample_weight=w)
    ours = cls(**kw).fit(X, y, sample_weight=w)
    ours.coefs_ = theirs.coefs_
    ours.intercepts_ = [np.zeros_like(b) for b in theirs.intercepts_]
    theirs.intercepts_ = [np.zeros_like(b) for b in theirs.intercepts_]
    theirs.set_params(warm_start=True).fit(X, y, sample_weight=w)
    ours.set_params(warm_start=True).fit(X, y, sample_weight=w)
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, their, rtol=1e-10, atol=1e-12)
    # the penalty of loss_ is taken at the epoch's end W (module docstring), scikit-learn's before
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-3)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_lbfgs_with_weights_equals_repeated_rows(cls):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((20, 3))
    y = rng.integers(0, 3, 20) if cls is MLPClassifier else rng.standard_normal(20)
    w = rng.integers(0, 3, 20)
    kw = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=15, random_state=0)
    weighted = cls(**kw).fit(X, y, sample_weight=w)
    repeated = cls(**kw).fit(X.repeat(w, axis=0), y.repeat(w))
    np.testing.assert_allclose(weighted._net.params, repeated._net.params, rtol=1e-7, atol=1e-9)


def test_class_weight_is_sample_weight_per_class():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 3))
    y = np.where(rng.random(40) < 0.8, "common", "rare")
    sw = rng.uniform(0.5, 2.0, 40)
    kw = dict(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    for class_weight in ["balanced", {"common": 1.0, "rare": 5.0}]:
        by_class = MLPClassifier(class_weight=class_weight, **kw).fit(X, y, sample_weight=sw)
        by_sample = MLPClassifier(**kw).fit(
            X, y, sample_weight=sw * compute_sample_weight(class_weight, y))
        np.testing.assert_array_equal(by_class._net.params, by_sample._net.params)
    online = MLPClassifier(class_weight={"common": 1.0, "rare": 5.0}, **kw)
    online.partial_fit(X, y, classes=["common", "rare"])
    with pytest.raises(ValueError, match="balanced"):
        MLPClassifier(class_weight="balanced", **kw).partial_fit(X, y, classes=["common", "rare"])
    with pytest.raises(ValueError, match="class_weight"):
        MLPClassifier(class_weight="often", **kw).fit(X, y)


def test_balanced_classes_raise_the_recall_of_a_rare_class():
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(0, 1, (380, 2)), rng.normal(1.2, 1, (20, 2))])
    y = np.r_[np.zeros(380, int), np.ones(20, int)]
    kw = dict(hidden_layer_sizes=(8,), max_iter=200, random_state=0)
    plain = MLPClassifier(**kw).fit(X, y).predict(X)
    balanced = MLPClassifier(class_weight="balanced", **kw).fit(X, y).predict(X)
    assert balanced[y == 1].mean() > plain[y == 1].mean() + 0.3


def test_sample_weight_is_not_modified_and_all_zero_is_refused():
    X, y, w = _problem("softmax")
    w = w.astype(float)
    before = w.copy()
    MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, class_weight="balanced").fit(
        X, y, sample_weight=w)
    np.testing.assert_array_equal(w, before)
    with pytest.raises(ValueError, match="zero"):
        MLPRegressor(max_iter=2).fit(X, y.astype(float), sample_weight=np.zeros(len(X)))


def test_perceptron_weight_scales_the_correction():
    """One input of P misclassified by w0: one correction w = w0 + c x."""
    x, w0 = np.array([[1.0, 2.0]]), np.array([-1.0, 0.5, -1.0])
    result = train_perceptron(x, np.array([1]), w=w0, max_epochs=1, sample_weight=[3.0])
    np.testing.assert_array_equal(result.weights, w0 + 3.0 * np.r_[1.0, x[0]])


def test_perceptron_class_weight_zero_drops_the_class_and_balanced_runs():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((30, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    X3, y3 = np.vstack([X, X[:5] + 10]), np.r_[y, np.full(5, 2)]
    dropped = Perceptron(class_weight={0: 1.0, 1: 1.0, 2: 0.0}, random_state=0).fit(X3, y3)
    keep, same_draws = y3 != 2, np.random.default_rng(0)
    for k, c in enumerate(dropped.classes_):
        alone = train_perceptron(X3[keep], (y3[keep] == c).astype(int), max_epochs=1000,
                                 random_state=same_draws)
        np.testing.assert_array_equal(np.r_[dropped.intercept_[k], dropped.coef_[k]],
                                      alone.weights)
    assert Perceptron(class_weight="balanced", random_state=0).fit(X, y).score(X, y) > 0.9


def test_scikit_learns_sample_weight_checks_run_and_pass():
    for est in (MLPClassifier(max_iter=100, random_state=0),
                MLPRegressor(max_iter=100, random_state=0)):
        results = check_estimator(est, on_fail=None)
        ran = {r["check_name"] for r in results if r["status"] == "passed"}
        assert {"check_sample_weight_equivalence_on_dense_data", "check_sample_weights_list",
                "check_all_zero_sample_weights_error"} <= ran
        assert not [r for r in results if r["status"] == "failed"]


def test_early_stopping_splits_the_weights_with_their_rows():
    X, y, w = _problem("softmax", n=60)
    clf = MLPClassifier(hidden_layer_sizes=(4,), early_stopping=True, max_iter=5,
                        random_state=0).fit(X, y, sample_weight=w + 1.0)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert copy.deepcopy(clf).predict(X).shape == (60,)
