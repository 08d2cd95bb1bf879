"""lr_search / search: every trial equals a fit run by hand; a local process
pool, threads and a Dask cluster give the same table; diverging and raising
trials are rows of the table, not failures; bad input is refused at the door."""
import functools
import json
import math
import sys
import types
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastnn as fn
from fastnn import tuning

rng = np.random.default_rng(0)
X = rng.standard_normal((50, 3))
Y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(50)
SPEC = {"layer_sizes": [3, 5, 1], "output": "linear", "dtype": "float64",
        "backend": "numpy"}
LRS = [1e-3, 1e-2, 1e-1, 1e3]          # 1e3 diverges with SGD
SEED = 7
SEARCH = dict(optimizer="sgd", lrs=LRS, epochs=3, random_state=SEED, progress=False,
              batch_size=8)
GRID = {"lr": [1e-2, 1e3], "batch_size": [8, 0]}   # batch_size=0 raises in fit


def _hand_run(lr, batch_size=8):
    """The validation loss of one trial, computed without the search machinery."""
    Xt, yt, Xv, yv = tuning.train_validation_split(X, Y, 0.2, SEED)
    net = fn.MLP(**SPEC, random_state=SEED)
    hist = fn.fit(net, Xt, yt, fn.optim.SGD(lr=lr), epochs=3, batch_size=batch_size,
                  validation_data=(Xv, yv), random_state=SEED)
    return hist.val_loss[-1]


def _assert_same(a, b):
    assert a.best_settings == b.best_settings
    ta, tb = a.table(), b.table()
    assert list(ta) == list(tb)
    for column in ta:
        if column != "seconds":
            np.testing.assert_array_equal(ta[column], tb[column], err_msg=column)


@pytest.fixture(scope="module")
def pool_result():
    return tuning.lr_search(SPEC, X, Y, **SEARCH)


@pytest.fixture(scope="module")
def dask_executor():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client.get_executor()


def test_every_trial_equals_a_fit_run_by_hand(pool_result):
    for trial in pool_result.trials:
        lr = trial.settings["lr"]
        if trial.diverged:
            assert math.isnan(trial.val_loss) and not trial.error
            with np.errstate(all="ignore"), pytest.raises(fn.DivergenceError):
                _hand_run(lr)
        else:
            assert trial.ok
            np.testing.assert_allclose(trial.val_loss, _hand_run(lr), rtol=1e-12)
    assert pool_result.trials[-1].settings == {"lr": 1e3} and pool_result.trials[-1].diverged


def test_refine_searches_between_the_coarse_best_and_its_neighbours(pool_result):
    lrs = pool_result.table()["lr"]
    assert list(lrs) == sorted(lrs) and len(lrs) == len(LRS) + 4
    coarse = [t for t in pool_result.trials if t.settings["lr"] in LRS and t.ok]
    coarse_best = min(coarse, key=lambda t: t.val_loss).settings["lr"]
    fine = sorted(set(lrs) - set(LRS))
    np.testing.assert_allclose(fine, sorted(tuning.finer_lrs(LRS, coarse_best)), rtol=1e-12)
    finished = [t for t in pool_result.trials if t.ok]
    assert pool_result.best is min(finished, key=lambda t: t.val_loss)
    assert pool_result.best_lr == pool_result.best.settings["lr"]


def test_threads_give_the_same_table_as_the_local_pool(pool_result):
    with ThreadPoolExecutor(2) as executor:
        _assert_same(tuning.lr_search(SPEC, X, Y, executor=executor, **SEARCH), pool_result)


def test_dask_cluster_gives_the_same_table_as_the_local_pool(pool_result, dask_executor):
    _assert_same(tuning.lr_search(SPEC, X, Y, executor=dask_executor, **SEARCH), pool_result)


def test_a_callable_build_gives_the_same_table_as_a_spec(pool_result):
    build = functools.partial(fn.MLP, **SPEC, random_state=SEED)
    with ThreadPoolExecutor(2) as executor:
        _assert_same(tuning.lr_search(build, X, Y, executor=executor, **SEARCH), pool_result)


@pytest.mark.parametrize("where", ["threads", "dask"])
def test_diverging_and_raising_trials_are_reported_not_fatal(where, request):
    executor = (request.getfixturevalue("dask_executor") if where == "dask"
                else ThreadPoolExecutor(2))
    result = tuning.search(SPEC, X, Y, GRID, optimizer="sgd", epochs=3, random_state=SEED,
                           executor=executor, progress=False)
    rows = {(t.settings["lr"], t.settings["batch_size"]): t for t in result.trials}
    assert [t.settings for t in result.trials] == [
        {"lr": 1e-2, "batch_size": 8}, {"lr": 1e-2, "batch_size": 0},
        {"lr": 1e3, "batch_size": 8}, {"lr": 1e3, "batch_size": 0}]
    assert rows[1e-2, 8].ok
    np.testing.assert_allclose(rows[1e-2, 8].val_loss, _hand_run(1e-2), rtol=1e-12)
    assert rows[1e3, 8].diverged and not rows[1e3, 8].error
    for lr in GRID["lr"]:
        assert rows[lr, 0].error == "ValueError: batch_size must be >= 1, got 0"
    assert result.best is rows[1e-2, 8]
    table = result.table()
    assert table["diverged"].tolist() == [False, False, True, False]
    assert table["batch_size"].dtype.kind == "i"


def test_the_grid_may_change_the_optimizer_and_fit_arguments():
    grid = [{"optimizer": ["sgd"], "lr": [1e-2]}, {"optimizer": ["adam"], "beta1": [0.5]}]
    with ThreadPoolExecutor(1) as executor:
        result = tuning.search(SPEC, X, Y, grid, optimizer=fn.optim.Adam(lr=0.05), epochs=2,
                               random_state=SEED, executor=executor, progress=False)
    Xt, yt, Xv, yv = tuning.train_validation_split(X, Y, 0.2, SEED)
    expected = [fn.optim.SGD(lr=1e-2), fn.optim.Adam(lr=0.05, beta1=0.5)]
    for trial, opt in zip(result.trials, expected):
        net = fn.MLP(**SPEC, random_state=SEED)
        hist = fn.fit(net, Xt, yt, opt, epochs=2, validation_data=(Xv, yv), random_state=SEED)
        np.testing.assert_allclose(trial.val_loss, hist.val_loss[-1], rtol=1e-12)
    assert result.table()["beta1"].tolist() == [None, 0.5]


def test_classification_reports_accuracy_and_the_result_prints_and_serialises():
    labels = (X[:, 0] > 0).astype(int)
    spec = {**SPEC, "output": "softmax", "layer_sizes": [3, 5, 2]}
    with ThreadPoolExecutor(2) as executor:
        result = tuning.lr_search(spec, X, labels, lrs=[1e-2, 1e-1], refine=False,
                                  executor=executor, random_state=SEED, progress=False)
    accuracy = result.table()["val_accuracy"]
    assert np.all((accuracy >= 0) & (accuracy <= 1))
    text = str(result)
    assert text.splitlines()[0] == "| lr | val_loss | val_accuracy | seconds | diverged | error |"
    assert f"best: lr={result.best_lr:.4g}" in text
    data = json.loads(json.dumps(result.to_dict()))
    assert data["best"] == {"lr": result.best_lr} and data["seed"] == SEED
    assert data["table"]["lr"] == [1e-2, 1e-1]


def test_no_finished_trial_means_no_best():
    with ThreadPoolExecutor(1) as executor:
        result = tuning.search(SPEC, X, Y, {"lr": [1e3]}, optimizer="sgd", batch_size=8,
                               executor=executor, random_state=SEED, progress=False)
    assert result.best is None and result.best_lr is None
    assert "no trial finished" in str(result)


def test_split_is_a_seeded_partition():
    rows = np.arange(len(X))
    Xt, it, Xv, iv = tuning.train_validation_split(X, rows, 0.2, SEED)
    assert len(iv) == 10 and len(it) == 40
    np.testing.assert_array_equal(np.sort(np.concatenate([it, iv])), rows)
    np.testing.assert_array_equal(Xt, X[it])
    np.testing.assert_array_equal(Xv, X[iv])
    np.testing.assert_array_equal(tuning.train_validation_split(X, rows, 0.2, SEED)[3], iv)
    assert not np.array_equal(tuning.train_validation_split(X, rows, 0.2, SEED + 1)[3], iv)


def test_finer_lrs_split_the_log_gaps_and_mirror_at_the_edge():
    np.testing.assert_allclose(tuning.finer_lrs([1e-3, 1e-2, 1e-1], 1e-2),
                               1e-2 * 10.0 ** np.array([-1 / 3, -2 / 3, 1 / 3, 2 / 3]))
    np.testing.assert_allclose(tuning.finer_lrs([1e-3, 1e-2], 1e-2),
                               1e-2 * 10.0 ** np.array([-1 / 3, -2 / 3, 1 / 3, 2 / 3]))
    np.testing.assert_allclose(tuning.finer_lrs([0.5], 0.5),
                               0.5 * 10.0 ** np.array([-1 / 3, -2 / 3, 1 / 3, 2 / 3]))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"build": lambda: fn.MLP(**SPEC)}, TypeError, "worker processes"),
    ({"build": fn.MLP(**SPEC)}, TypeError, "fresh network"),
    ({"build": functools.partial(dict)}, TypeError, "must return a fastnn.MLP"),
    ({"lrs": [0.1, 0.0]}, ValueError, "lrs"),
    ({"lrs": []}, ValueError, "empty"),
    ({"validation_fraction": 1.0}, ValueError, "validation_fraction"),
    ({"epochs": 0}, ValueError, "epochs"),
    ({"random_state": -1}, ValueError, "random_state"),
    ({"bach_size": 8}, TypeError, "bach_size"),
    ({"optimizer": "adamw"}, ValueError, "adamw"),
    ({"executor": "processes"}, TypeError, "executor"),
])
def test_bad_input_is_refused_at_the_door(kwargs, error, match):
    args = {"build": SPEC, "lrs": [0.1], "progress": False, **kwargs}
    build = args.pop("build")
    with pytest.raises(error, match=match):
        tuning.lr_search(build, X, Y, **args)


def test_an_interactive_build_is_refused_for_worker_processes(monkeypatch):
    session = types.ModuleType("__main__")        # a REPL's __main__ has no __file__
    exec("import fastnn\ndef build():\n    return fastnn.MLP([3, 5, 1], output='linear')",
         session.__dict__)
    monkeypatch.setitem(sys.modules, "__main__", session)
    with pytest.raises(TypeError, match="interactive"):
        tuning.lr_search(session.build, X, Y, progress=False)


@pytest.mark.parametrize("grid, error", [
    ({}, TypeError), ([], TypeError), ({"lr": 0.1}, TypeError), ({"lr": []}, ValueError),
    ({"lr": [0.1], "momentum": [0.9]}, TypeError),
])
def test_bad_grids_are_refused_at_the_door(grid, error):
    with pytest.raises(error):
        tuning.search(SPEC, X, Y, grid, progress=False)


def test_data_that_does_not_fit_the_network_is_refused_at_the_door():
    with pytest.raises(ValueError, match="features"):
        tuning.lr_search(SPEC, X[:, :2], Y, progress=False)
    with pytest.raises(ValueError, match="rows"):
        tuning.lr_search(SPEC, X, Y[:10], progress=False)
