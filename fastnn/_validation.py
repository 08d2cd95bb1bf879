"""Checks at the door: every public entry point validates its input here, once,
so that compiled kernels can trust what they receive.

Each function names the offending argument in its message and raises
``TypeError`` for the wrong kind of object and ``ValueError`` for a wrong value.
"""
import math
import numbers

import numpy as np
import scipy.sparse

from ._kernels.sparse import SparseRows

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_real(value, name):
    """``value`` as a finite Python float (bools and non-numbers are TypeErrors)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def check_in_range(value, name, lo=-math.inf, hi=math.inf, lo_open=False, hi_open=False):
    """``value`` as a float in the interval from ``lo`` to ``hi``
    (closed unless ``lo_open``/``hi_open``)."""
    value = check_real(value, name)
    if value < lo or value > hi or (lo_open and value == lo) or (hi_open and value == hi):
        interval = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return value


def check_positive(value, name):
    """``value`` as a float > 0."""
    value = check_real(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return value


def check_nonnegative(value, name):
    """``value`` as a float >= 0."""
    value = check_real(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def check_int(value, name, minimum=None):
    """``value`` as a Python int (>= ``minimum`` when given)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_choice(value, name, choices):
    """``value``, which must be one of ``choices`` (strings or ints)."""
    kind = str if isinstance(choices[0], str) else numbers.Integral
    if isinstance(value, bool) or not isinstance(value, kind) or value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(map(repr, choices))}")
    return value


def check_flag(value, name):
    """``value`` as a bool; it must be True or False (numpy.bool_ too)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_float_dtype(dtype, name):
    """``dtype`` as a NumPy dtype, which must be float32 or float64."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}") from None
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {dtype}")
    return dtype


def check_all_finite(x, name):
    """Raise ValueError if the float array ``x`` holds a NaN or an infinity.

    The fast test is one BLAS pass: sum(x^2) is finite exactly when every
    element is finite, unless the squares overflow; only then (or on failure)
    is the elementwise test run, to be sure and to report where."""
    flat = x.reshape(-1)
    if math.isfinite(np.dot(flat, flat)):
        return
    bad = np.flatnonzero(~np.isfinite(flat))
    if bad.size:
        index = np.unravel_index(bad[0], x.shape)
        raise ValueError(f"{name} contains NaN or infinity "
                         f"({bad.size} entries, first at index {tuple(map(int, index))})")


def check_buffer(x, name, dtype=None, shape=None, writable=False):
    """Check, without converting, an array that a kernel reads or writes in place:
    a NumPy array of float32 or float64 (or exactly ``dtype``), C-contiguous,
    of ``shape`` when given, and writable when ``writable``."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {x.dtype}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {x.dtype}")
    if shape is not None and x.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {x.shape}")
    if not x.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use numpy.ascontiguousarray)")
    if writable and not x.flags.writeable:
        raise ValueError(f"{name} must be writable, got a read-only array")
    return x


def as_sample_weight(w, name, n_samples, dtype):
    """Per-sample weights ``w`` as a C-contiguous 1-D array of ``dtype``: one
    finite weight >= 0 per sample, not all 0."""
    w = as_float_array(w, name, dtype=dtype, ndim=1)
    if w.shape[0] != n_samples:
        raise ValueError(f"{name} has {w.shape[0]} weights but X has {n_samples} rows")
    if w.min() < 0 or w.max() == 0:
        raise ValueError(f"{name} must hold weights >= 0, not all zero; got min {w.min()}, "
                         f"max {w.max()}")
    return w


def as_array(x, name):
    """``numpy.asarray(x)``, with a TypeError naming ``name`` for ragged or odd input."""
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array: {exc}") from None


def as_float_array(x, name, dtype=None, ndim=None, allow_empty=False):
    """``x`` as a C-contiguous float array with only finite values.

    Floats keep their dtype (float32 or float64) unless ``dtype`` is given;
    integers and bools become float64. Non-numeric input is a TypeError; the
    wrong number of dimensions, an empty array (unless ``allow_empty``), NaN
    or infinity is a ValueError."""
    arr = as_array(x, name)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if dtype is None:
        dtype = arr.dtype if arr.dtype in FLOAT_DTYPES else np.float64
    arr = np.ascontiguousarray(arr, dtype=check_float_dtype(dtype, "dtype"))
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    check_all_finite(arr, name)
    return arr


def check_seed(value, name="random_state"):
    """``value``, validated: None, a numpy.random.Generator, or an integer >= 0 (as int)."""
    if value is None or isinstance(value, np.random.Generator):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be None, an integer >= 0 or a numpy.random.Generator, "
                        f"got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def check_random_state(value, name="random_state"):
    """``value`` (None, an integer >= 0 or a numpy.random.Generator) as a Generator."""
    return np.random.default_rng(check_seed(value, name))


def is_sparse(x):
    """Whether ``x`` is a SciPy sparse array or matrix, or validated SparseRows."""
    return isinstance(x, SparseRows) or scipy.sparse.issparse(x)


def as_sparse_rows(x, name, dtype, n_features):
    """A SciPy sparse array or matrix of any format (or SparseRows) as the
    :class:`SparseRows` the sparse kernels take, converting once: CSR, data of
    ``dtype``, int64 indices sorted in each row, duplicates summed;
    ``n_features`` columns, at least one row, indices within the columns
    (scipy's full format check: the kernels index W_1 by them), only finite
    stored values."""
    if isinstance(x, SparseRows):
        if x.dtype == dtype and x.n_features == n_features:
            return x
        x = scipy.sparse.csr_array(x.arrays, shape=x.shape)
    if x.ndim != 2:
        raise ValueError(f"{name} must have 2 dimensions, got shape {x.shape}")
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {x.dtype}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {x.shape})")
    if x.shape[1] != n_features:
        raise ValueError(f"{name} has {x.shape[1]} features per row but the input layer "
                         f"has {n_features}")
    csr = scipy.sparse.csr_array(x, dtype=check_float_dtype(dtype, "dtype"), copy=False)
    try:
        csr.check_format(full_check=True)
    except ValueError as exc:
        raise ValueError(f"{name} is not a valid sparse matrix: {exc}") from None
    if not csr.has_canonical_format:
        csr = csr.copy()
        csr.sum_duplicates()
    rows = SparseRows(np.ascontiguousarray(csr.data),
                      np.ascontiguousarray(csr.indices, dtype=np.int64),
                      np.ascontiguousarray(csr.indptr, dtype=np.int64), int(n_features))
    if rows.data.size:
        check_all_finite(rows.data, f"{name}.data")
    return rows
