"""Estimators to and from scikit-learn's own MLPs (issue 18, item 2): the
exported estimator predicts what fastnn's does, for every activation, output
and dtype; the parameters survive both ways; coefs_ assignment takes effect."""
import numpy as np
import pytest
from sklearn import neural_network

from fastnn.estimators import MLPClassifier, MLPRegressor, from_sklearn

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
TOL = {np.float32: 1e-6, np.float64: 1e-12}


def _targets(kind, rng, n):
    return {"multiclass": rng.choice(["a", "b", "c"], n),
            "binary": rng.integers(0, 2, n),
            "multilabel": rng.integers(0, 2, (n, 3)),
            "regression": rng.standard_normal(n),
            "multioutput": rng.standard_normal((n, 2))}[kind]


OUTPUTS = [(MLPClassifier, "multiclass", "softmax"), (MLPClassifier, "binary", "logistic"),
           (MLPClassifier, "multilabel", "logistic"), (MLPRegressor, "regression", "identity"),
           (MLPRegressor, "multioutput", "identity")]


def _compare(ours, theirs, X, tol):
    if not isinstance(ours, MLPClassifier):
        np.testing.assert_allclose(theirs.predict(X), ours.predict(X), rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(theirs.predict(X), ours.predict(X))
        np.testing.assert_allclose(theirs.predict_proba(X), ours.predict_proba(X),
                                   rtol=tol, atol=tol)


@pytest.mark.parametrize("cls, kind, out_activation", OUTPUTS)
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu", "sigmoid",
                                        "linear"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_predicts_the_same(cls, kind, out_activation, activation, dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4)).astype(dtype)
    y = _targets(kind, rng, len(X))
    ours = cls(hidden_layer_sizes=(6, 5), activation=activation, max_iter=5,
               random_state=0).fit(X, y)
    theirs = ours.to_sklearn()
    assert type(theirs) is getattr(neural_network, cls.__name__)
    assert theirs.out_activation_ == ours.out_activation_ == out_activation
    assert theirs.coefs_[0].dtype == dtype and theirs.n_layers_ == 4
    _compare(ours, theirs, X, TOL[dtype])
    back = from_sklearn(theirs)
    assert type(back) is cls and back.get_params()["hidden_layer_sizes"] == (6, 5)
    np.testing.assert_array_equal(back._net.params, ours._net.params)
    _compare(back, theirs, X, TOL[dtype])
    assert back.n_iter_ == ours.n_iter_ and back.loss_curve_ == ours.loss_curve_


@pytest.mark.parametrize("cls, kind", [(MLPClassifier, "multiclass"),
                                       (MLPRegressor, "multioutput")])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_from_a_model_scikit_learn_trained(cls, kind, solver):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 3))
    y = _targets(kind, rng, len(X))
    theirs = getattr(neural_network, cls.__name__)(hidden_layer_sizes=(7,), solver=solver,
                                                   max_iter=20, random_state=0).fit(X, y)
    ours = from_sklearn(theirs, backend="numpy")
    assert ours.solver == solver and ours.backend == "numpy"
    _compare(ours, theirs, X, 1e-12)
    if solver != "lbfgs":                      # it keeps training from there
        ours.set_params(warm_start=True, max_iter=3).fit(X, y)
        assert ours.n_iter_ == 3 and len(ours.loss_curve_) == len(theirs.loss_curve_) + 3


def test_export_keeps_feature_names_and_maps_fastnn_only_solvers():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(np.random.default_rng(2).standard_normal((30, 2)), columns=["u", "v"])
    y = (X["u"] > 0).astype(int)
    ours = MLPClassifier(hidden_layer_sizes=(4,), solver="rmsprop", max_iter=3).fit(X, y)
    theirs = ours.to_sklearn()
    assert theirs.solver == "adam" and list(theirs.feature_names_in_) == ["u", "v"]
    np.testing.assert_array_equal(theirs.predict(X), ours.predict(X))


def test_unsupported_cases_raise_clear_errors():
    X = np.random.default_rng(3).standard_normal((20, 2))
    y = X[:, 0] > 0
    leaky = MLPClassifier(hidden_layer_sizes=(3,), activation="leaky_relu", max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="leaky_relu"):
        leaky.to_sklearn()
    with pytest.raises(TypeError, match="MLPClassifier or MLPRegressor"):
        from_sklearn(leaky)
    with pytest.raises(Exception, match="not fitted"):
        from_sklearn(neural_network.MLPRegressor())
    with pytest.raises(Exception, match="not fitted"):
        MLPRegressor().to_sklearn()


@pytest.mark.parametrize("cls, kind", [(MLPClassifier, "multiclass"),
                                       (MLPRegressor, "regression")])
def test_assigning_coefs_and_intercepts_changes_predictions(cls, kind):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((30, 3))
    y = _targets(kind, rng, len(X))
    est = cls(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    theirs = getattr(neural_network, cls.__name__)(hidden_layer_sizes=(5,), max_iter=3,
                                                   random_state=1).fit(X, y)
    est.coefs_ = theirs.coefs_
    est.intercepts_ = theirs.intercepts_
    _compare(est, theirs, X, 1e-12)
    assert est.n_layers_ == theirs.n_layers_ == 3
    with pytest.raises(ValueError, match=r"coefs_\[1\] has shape"):
        est.coefs_ = [theirs.coefs_[0], theirs.coefs_[1].T]
    with pytest.raises(ValueError, match="2 arrays"):
        est.intercepts_ = theirs.intercepts_[:1]
    with pytest.raises(TypeError, match="numeric"):
        est.intercepts_ = [np.array(["x"] * 5), theirs.intercepts_[1]]
    _compare(est, theirs, X, 1e-12)          # a refused assignment changes nothing
    assert not hasattr(cls(), "coefs_")
