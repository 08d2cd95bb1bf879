"""The vectorised float32 exp, tanh and logistic function of both compiled
backends (cython/_vmath.h through _vmath.pyx, numba/vmath.py) against libm in
float64, over every 263rd float32 bit pattern (16 million inputs: the whole
range, both signs, subnormals, infinities and NaNs), a dense sweep of the
range where the functions are not saturated, and the special values and
thresholds one by one."""
import numpy as np
import pytest
from numba import njit

from fastnn._kernels.numba import vmath

cython_vmath = pytest.importorskip("fastnn._kernels.cython._vmath")

# Stated maximum errors in float32 ulps of the exact value (measured: exp 0.99,
# tanh 1.38, sigmoid 2.25; the bounds leave room for rounding of other compilers).
MAX_ULP = {"exp": 1.5, "tanh": 2.0, "sigmoid": 3.0}
EXACT = {
    "exp": np.exp,
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
}
CODES = {"exp": 0, "tanh": 1, "sigmoid": 2}


@njit(error_model="numpy", cache=True)
def _numba_apply(code, x, out):
    for i in range(x.size):
        if code == 0:
            out[i] = vmath.exp(x[i])
        elif code == 1:
            out[i] = vmath.tanh(x[i])
        else:
            out[i] = vmath.sigmoid(x[i])
    return out


def numba_fn(name):
    return lambda x: _numba_apply(CODES[name], x, np.empty_like(x))


def cython_fn(name):
    return lambda x: cython_vmath.apply(name, x, np.empty_like(x))


IMPLS = {"cython": cython_fn, "numba": numba_fn}


def ulps(approx, exact):
    """|approx - exact| in units of the float32 spacing at exact (2^-149 below
    the normals); 0 where exact rounds to +-inf in float32 and approx is that inf."""
    m, e = np.frexp(np.abs(exact))
    spacing = np.maximum(np.ldexp(1.0, e - 24), 2.0 ** -149)
    with np.errstate(invalid="ignore", over="ignore"):
        both_inf = np.isinf(approx) & (approx == exact.astype(np.float32))
        return np.where(both_inf, 0.0, np.abs(approx.astype(np.float64) - exact) / spacing)


@pytest.fixture(scope="module")
def sweep():
    bits = np.arange(0, 2 ** 32, 263, dtype=np.uint64).astype(np.uint32)
    dense = np.linspace(-110, 90, 2_000_001, dtype=np.float32)
    return np.concatenate([bits.view(np.float32), dense])


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", EXACT)
def test_max_error_against_libm_over_the_float_range(sweep, impl, name):
    x = sweep
    with np.errstate(all="ignore"):
        exact = EXACT[name](x.astype(np.float64))
    got = IMPLS[impl](name)(x)
    nan = np.isnan(x)
    assert np.isnan(got[nan]).all()
    assert not np.isnan(got[~nan]).any()
    err = ulps(got[~nan], exact[~nan])
    assert err.max() <= MAX_ULP[name], (name, x[~nan][err.argmax()], err.max())


SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, 1e-45, -1e-45, 1e-40, -1e-40,
                     np.finfo(np.float32).tiny, -np.finfo(np.float32).tiny,
                     np.finfo(np.float32).max, -np.finfo(np.float32).max], dtype=np.float32)


@pytest.mark.parametrize("impl", IMPLS)
def test_special_values(impl):
    exp, tanh, sigmoid = (IMPLS[impl](n) for n in ("exp", "tanh", "sigmoid"))
    x = SPECIALS
    np.testing.assert_array_equal(exp(x), [1, 1, np.inf, 0, 1, 1, 1, 1, 1, 1, np.inf, 0])
    t = tanh(x)
    np.testing.assert_array_equal(t, [0, 0, 1, -1, *x[4:10], 1, -1])  # tanh x = x when tiny
    assert np.signbit(t[1]) and not np.signbit(t[0])
    np.testing.assert_array_equal(sigmoid(x), [0.5] * 2 + [1, 0] + [0.5] * 6 + [1, 0])
    for f in (exp, tanh, sigmoid):
        assert np.isnan(f(np.array([np.nan, -np.nan], dtype=np.float32))).all()


def neighbours(t, n=2000):
    """The n float32 values on each side of t, t included."""
    up = np.nextafter(np.float32(t), np.float32(np.inf))
    steps = np.arange(-n, n + 1)
    spacing = up - np.float32(t)
    return (np.float32(t) + steps.astype(np.float32) * spacing).astype(np.float32)


@pytest.mark.parametrize("impl", IMPLS)
def test_exp_overflow_and_underflow_thresholds(impl):
    exp = IMPLS[impl]("exp")
    for t in (np.log(np.finfo(np.float32).max), np.log(2.0 ** -150), np.log(2.0 ** -126)):
        x = neighbours(t)
        exact = np.exp(x.astype(np.float64))
        with np.errstate(over="ignore"):
            rounded = exact.astype(np.float32)
        got = exp(x)
        # inf exactly where the exact value rounds to inf, 0 where it rounds to 0
        np.testing.assert_array_equal(np.isinf(got), np.isinf(rounded))
        np.testing.assert_array_equal(got == 0, rounded == 0)
        assert ulps(got, exact).max() <= MAX_ULP["exp"]


@pytest.mark.parametrize("impl", IMPLS)
def test_saturating_ends(impl):
    x = np.linspace(8, 1e4, 100_001, dtype=np.float32)
    tanh, sigmoid = IMPLS[impl]("tanh"), IMPLS[impl]("sigmoid")
    np.testing.assert_array_equal(tanh(x[x >= 9.1]), 1)
    np.testing.assert_array_equal(tanh(-x[x >= 9.1]), -1)
    np.testing.assert_array_equal(sigmoid(x[x >= 17.4]), 1)
    np.testing.assert_array_equal(sigmoid(-x[x >= 104]), 0)


def test_float64_stays_on_libm():
    x = np.linspace(-50, 50, 10_001)
    for name in EXACT:
        np.testing.assert_allclose(numba_fn(name)(x), EXACT[name](x), rtol=1e-15, atol=0)


def test_unknown_name_is_a_value_error():
    x = np.zeros(1, np.float32)
    with pytest.raises(ValueError, match="name"):
        cython_vmath.apply("log", x, x)
