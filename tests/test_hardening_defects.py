"""The reproducers of issue 16, one test each (files, interrupts, schedules,
Boolean functions and the property tests are in the other test_hardening_*)."""
import warnings

import numpy as np
import pytest

import fastnn as fn
from fastnn.callbacks import Callback

BACKENDS = fn.available_backends()


@pytest.fixture
def net():
    return fn.MLP([3, 4, 2], random_state=0)


def test_score_checks_labels_like_fit(net):
    X = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"y holds labels outside \[0, 2\)"):
        net.score(X, [0, 5])
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        net.score(X, ["a", "b"])
    with pytest.raises(ValueError, match="y has 3 columns but the output layer has 2"):
        net.score(X, np.ones((2, 3)))
    assert net.score(X, [0, 1]) == 0.5


def test_huge_integer_labels_are_out_of_range_not_non_integers(net):
    with pytest.raises(ValueError, match=r"outside \[0, 2\).*max 1e\+20"):
        net.loss_and_grad(np.ones((2, 3)), np.array([0, 1e20]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_overflow_of_finite_input_is_an_error_not_nan(backend):
    net = fn.MLP([3, 4, 2], random_state=0, backend=backend)
    X = np.full((2, 3), 3e38, np.float32)
    for method in (net.predict_proba, net.predict, net.decision_function):
        with pytest.raises(ValueError, match="X overflows float32 in the forward pass"):
            method(X)
    with pytest.warns(RuntimeWarning, match="overflowed"):
        loss, _ = net.loss_and_grad(X, [0, 1])
    assert not np.isfinite(loss)
    with pytest.raises(fn.DivergenceError):
        fn.fit(net, X, [0, 1], epochs=1)
    # float64 holds the same input without overflow
    net64 = fn.MLP([3, 4, 2], random_state=0, dtype="float64", backend=backend)
    assert np.all(np.isfinite(net64.predict_proba(X.astype(np.float64))))


X, Y = np.random.default_rng(0).normal(size=(8, 3)), np.arange(8) % 2


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(schedule=5), TypeError, "schedule must be a fastnn.schedules schedule or a callable"),
    (dict(momentum_schedule="x"), TypeError, "momentum_schedule must be"),
    (dict(callbacks=[5]), TypeError, r"callbacks\[0\]=5 is not a fastnn.callbacks.Callback"),
    (dict(callbacks=5), TypeError, "callbacks must be a sequence"),
    (dict(initial_epoch="a"), TypeError, "initial_epoch must be an integer"),
    (dict(initial_epoch=-5), ValueError, "initial_epoch must be >= 0"),
    (dict(shuffle="no"), TypeError, "shuffle must be True or False"),
    (dict(fast=1), TypeError, "fast must be True or False"),
    (dict(random_state=-1), ValueError, "random_state must be an integer >= 0"),
    (dict(random_state="seed"), TypeError, "random_state must be None, an integer"),
    (dict(schedule_unit=["step"]), ValueError, "schedule_unit="),
    (dict(line_search=["a"]), TypeError, "line_search="),
])
def test_fit_names_every_bad_argument(net, kwargs, error, match):
    with pytest.raises(error, match=match):
        fn.fit(net, X, Y, **kwargs)


def test_fit_takes_plain_callables_as_schedules_and_callbacks(net):
    class Count(Callback):
        epochs = 0

        def on_epoch_end(self, net, epoch, logs):
            Count.epochs += 1
    hist = fn.fit(net, X, Y, "momentum", epochs=3, schedule=lambda t: 0.05,
                  momentum_schedule=lambda t: 0.5, callbacks=[Count()])
    assert hist.lr == [0.05] * 3 and Count.epochs == 3


def test_fit_resumes_from_initial_epoch_exactly():
    def run(epochs, initial_epoch=0, state=None):
        net, opt = state or (fn.MLP([3, 4, 2], random_state=0, dtype="float64"), fn.optim.Adam())
        fn.fit(net, X, Y, opt, epochs=epochs, batch_size=3, random_state=7,
               initial_epoch=initial_epoch)
        return net, opt
    whole = run(5)
    parts = run(3, 2, run(2))
    np.testing.assert_array_equal(whole[0].params, parts[0].params)
    assert whole[1].t == parts[1].t == 15


def test_mlp_constructor_errors_name_the_argument():
    for kwargs, error, match in [
            (dict(layer_sizes=[3, 2], alpha="x"), TypeError, "alpha must be a real number"),
            (dict(layer_sizes=[3, 2], alpha=np.array([1.0, 2.0])), TypeError, "alpha"),
            (dict(layer_sizes=[3, 2], init=["he"]), ValueError, "init="),
            (dict(layer_sizes=[3, 2], dtype="f,f"), ValueError, "dtype="),
            (dict(layer_sizes=[3, 2], random_state=-1), ValueError, "random_state"),
            (dict(layer_sizes=[3, 4, 2], activation=5), TypeError, "activation=5")]:
        with pytest.raises(error, match=match):
            fn.MLP(**kwargs)


def test_no_warning_on_ordinary_use(net):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn.fit(net, X, Y, "adam", epochs=2)
        net.score(X, Y)
