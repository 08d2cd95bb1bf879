"""Many epochs in one compiled call (training._grouped_epochs): the results
are the per-epoch path's bit for bit, History keeps every epoch, a call
stays within the chunk budget, and interrupts, divergence and bad schedule
values behave as in the per-epoch path."""
import os
import signal

import numpy as np
import pytest

import fastnn as fn
from fastnn import schedules, training

COMPILED = [b for b in fn.available_backends() if b != "numpy"]


def _problem(n=96, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)


def _fit(backend, grouped, monkeypatch, optimizer="adam", dtype="float64", epochs=7,
         batch_size=24, random_state=5, **kwargs):
    """(params, optimizer state, History) of one fit, grouped or per epoch."""
    X, y = _problem()
    net = fn.MLP([5, 6, 3], dtype=dtype, random_state=0, backend=backend)
    opt = fn.optim.get(optimizer, backend=backend)
    with monkeypatch.context() as m:
        if not grouped:
            m.setattr(training, "_epoch_group", lambda *args: 1)
        hist = fn.fit(net, X.astype(dtype), y, opt, epochs=epochs, batch_size=batch_size,
                      random_state=random_state, **kwargs)
    return net.params.copy(), opt.state_dict(), hist


def _assert_same(a, b):
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1].keys() == b[1].keys()
    for key in a[1]:
        np.testing.assert_array_equal(a[1][key], b[1][key])
    for name in ("loss", "lr", "steps", "epochs", "interrupted"):
        assert getattr(a[2], name) == getattr(b[2], name), name
    assert len(a[2].time) == len(b[2].time) == a[2].epochs


GENERATOR = object()
CASES = [
    ("sgd", "float64", 96, {}),
    ("sgd", "float32", 1, {"shuffle": False}),
    ("momentum", "float64", 24, {"momentum_schedule": schedules.MomentumSchedule(0.9, 10)}),
    ("nag", "float32", 32, {}),
    ("adam", "float64", 24, {"schedule": schedules.ExponentialDecay(1e-2, 0.05)}),
    ("adam", "float32", 96, {"schedule": schedules.StepDecay(1e-2, 2), "schedule_unit": "epoch"}),
    ("nadam", "float64", 12, {"schedule": schedules.Cyclical(1e-3, 1e-2, 5)}),
    ("rmsprop", "float64", 8, {"random_state": GENERATOR}),       # a fresh one per run
    ("adam", "float32", 16, {"schedule": schedules.CosineRestarts(1e-4, 1e-2, 7)}),
    ("adagrad", "float32", 48, {"sample_weight": np.linspace(0.5, 2.0, 96)}),
    ("adamax", "float64", 96,
     {"schedule": schedules.Warmup(schedules.InverseTimeDecay(1e-2, 0.1), 5)}),
]


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("optimizer, dtype, batch_size, kwargs", CASES)
def test_grouped_epochs_are_the_per_epoch_path_bit_for_bit(monkeypatch, backend, optimizer,
                                                          dtype, batch_size, kwargs):
    calls = []
    run = training._run_epoch
    monkeypatch.setattr(training, "_run_epoch", lambda *a: calls.append(len(a[4])) or run(*a))
    runs = []
    for grouped in (True, False):
        fresh = {k: (np.random.default_rng(2) if v is GENERATOR else v)
                 for k, v in kwargs.items()}
        runs.append(_fit(backend, grouped, monkeypatch, optimizer, dtype,
                         batch_size=batch_size, **fresh))
        if grouped:
            assert calls == [7 * 96]                # the 7 epochs in one call
    grouped, per_epoch = runs
    assert len(calls) == 8
    _assert_same(grouped, per_epoch)
    assert grouped[2].steps == 7 * 96 // batch_size


@pytest.mark.parametrize("backend", COMPILED)
def test_a_call_stays_within_the_chunk_budget(monkeypatch, backend):
    """chunk_steps of 10 steps with 4 steps per epoch: groups of 2 epochs."""
    calls = []
    run = training._run_epoch
    monkeypatch.setattr(training, "chunk_steps", lambda sizes, B, python_steps=False: 10)
    monkeypatch.setattr(training, "_run_epoch", lambda *a: calls.append(len(a[4])) or run(*a))
    grouped = _fit(backend, True, monkeypatch)
    assert calls == [2 * 96, 2 * 96, 2 * 96, 96]
    _assert_same(grouped, _fit(backend, False, monkeypatch))


@pytest.mark.parametrize("backend", COMPILED)
def test_python_between_epochs_keeps_the_per_epoch_path(monkeypatch, backend):
    X, y = _problem()
    net = fn.MLP([5, 6, 3], random_state=0, backend=backend)
    calls = []
    run = training._run_epoch
    monkeypatch.setattr(training, "_run_epoch", lambda *a: calls.append(len(a[4])) or run(*a))
    for kwargs in [{"validation_data": (X, y)}, {"callbacks": [fn.callbacks.Callback()]},
                   {"batch_size": 25}, {"fast": False},
                   {"schedule": schedules.ReduceOnPlateau(0.01)}, {"schedule": lambda t: 0.01},
                   {"line_search": [0.1]}]:
        calls.clear()
        fn.fit(net, X, y, "sgd", epochs=2, **{"batch_size": 24, **kwargs})
        assert max(calls) <= 96, kwargs


@pytest.mark.parametrize("backend", COMPILED)
def test_divergence_names_the_same_epoch_and_step(monkeypatch, backend):
    X = np.random.default_rng(0).normal(size=(64, 3)) * 50
    messages, params = [], []
    for grouped in (True, False):
        net = fn.MLP([3, 8, 1], output="linear", random_state=0, backend=backend)
        with monkeypatch.context() as m:
            if not grouped:
                m.setattr(training, "_epoch_group", lambda *args: 1)
            with pytest.raises(training.DivergenceError) as err:
                fn.fit(net, X, X[:, :1] ** 3, fn.optim.SGD(lr=0.05, backend=backend),
                       epochs=50, batch_size=16, random_state=0)
        messages.append(str(err.value))
        params.append(net.params.copy())
    assert messages[0] == messages[1] and "epoch" in messages[0]
    np.testing.assert_array_equal(*params)


@pytest.mark.parametrize("backend", COMPILED)
def test_a_bad_rate_in_a_later_epoch_of_a_group_is_named_as_per_epoch(monkeypatch, backend):
    class Negative(schedules.Schedule):
        def _rates(self, t):
            return np.where(t < 10, 0.01, -1.0)
    results = []
    for grouped in (True, False):
        with pytest.raises(ValueError, match="in epoch 2") as err:
            _fit(backend, grouped, monkeypatch, "sgd", schedule=Negative())
        results.append(str(err.value))
    assert results[0] == results[1]


@pytest.mark.parametrize("backend", COMPILED)
def test_an_interrupt_is_seen_between_groups_and_keeps_their_epochs(monkeypatch, backend):
    """SIGINT while the second group's rates are formed: that group still runs
    (it is one call), then fit stops with every epoch so far kept, and
    resuming gives the uninterrupted run."""
    class Interrupting(schedules.Schedule):
        calls = 0

        def _rates(self, t):
            Interrupting.calls += 1
            if Interrupting.calls == 2:
                os.kill(os.getpid(), signal.SIGINT)
            return np.full(t.shape, 0.01)
    monkeypatch.setattr(training, "chunk_steps", lambda sizes, B, python_steps=False: 12)
    X, y = _problem()
    net = fn.MLP([5, 6, 3], dtype="float64", random_state=0, backend=backend)
    opt = fn.optim.get("adam", backend=backend)
    hist = fn.fit(net, X, y, opt, epochs=9, batch_size=24, random_state=1,
                  schedule=Interrupting())
    assert hist.interrupted and hist.epochs == 6 and hist.steps == opt.t == 24
    rest = fn.fit(net, X, y, opt, epochs=3, batch_size=24, random_state=1, initial_epoch=6,
                  schedule=Interrupting())
    whole = _fit(backend, False, monkeypatch, epochs=9, batch_size=24, random_state=1,
                 schedule=schedules.Constant(0.01))
    np.testing.assert_array_equal(net.params, whole[0])
    assert hist.loss + rest.loss == whole[2].loss


def test_xor_records_every_epoch(monkeypatch):
    X, y = fn.datasets.boolean_function("xor")
    net = fn.MLP([2, 4, 1], activation="sigmoid", output="sigmoid", random_state=0,
                 backend=COMPILED[0])
    hist = fn.fit(net, X, y, fn.optim.SGD(lr=0.5, backend=COMPILED[0]), epochs=3000,
                  batch_size=4, shuffle=False, progress=True)
    assert hist.epochs == len(hist.loss) == len(hist.lr) == len(hist.time) == 3000
    assert hist.loss[-1] < hist.loss[0] and all(np.isfinite(hist.loss))
