"""The Cython backend's register-blocked float32 products for small layers
(_vmath.h, used by cy_dense_forward / cy_dense_backward / cy_input_grad at
B >= 1024 with n_out >= 8 and n_in n_out <= 1024) against the NumPy
reference computed in float64: row counts that leave partial blocks, widths
that are and are not multiples of the 16-float chunk, each orientation of
the weight gradient, and both sides of the size rule."""
import numpy as np
import pytest

from fastnn._kernels import codes, get_backend
from fastnn._kernels import reference as ref

pytest.importorskip("fastnn._kernels.cython._layers")
cy = get_backend("cython")

SHAPES = [(4, 32), (32, 16), (16, 4), (64, 10), (10, 64), (17, 33), (1, 8), (48, 48)]


def layer(B, n_in, n_out, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((B, n_in))
    W = rng.standard_normal((n_out, n_in))
    b = rng.standard_normal(n_out)
    dH = rng.standard_normal((B, n_out))
    return X, W, b, dH


def run(module, X, W, b, dH, act):
    B, n_out = dH.shape
    Z, H = np.empty((B, n_out), X.dtype), np.empty((B, n_out), X.dtype)
    module.dense_forward(X, W, b, act, 0.01, Z, H)
    dZ, dW, db, dX = (np.empty_like(a) for a in (dH, W, b, X))
    module.dense_backward(X, W, Z, H, dH.copy(), act, 0.01, dZ, dW, db, dX, True)
    return Z, H, dZ, dW, db, dX


@pytest.mark.parametrize("B", [1031, 1024, 300])
@pytest.mark.parametrize("n_in, n_out", SHAPES)
def test_float32_small_layer_matches_float64_reference(B, n_in, n_out):
    X, W, b, dH = layer(B, n_in, n_out)
    want = run(ref, X, W, b, dH, codes.ACT_TANH)
    got = run(cy, *(a.astype(np.float32) for a in (X, W, b, dH)), codes.ACT_TANH)
    for g, w in zip(got, want):
        # float32 rounding of sums of up to B terms of size ~1: |error| <= 1e-5 sqrt-ish scale
        scale = np.abs(w).max() + 1
        np.testing.assert_allclose(g, w, rtol=0, atol=2e-5 * scale * (1 + np.sqrt(B) / 8))


@pytest.mark.parametrize("n_in, n_out", SHAPES[:4])
def test_float64_small_layer_matches_reference_to_1e_12(n_in, n_out):
    X, W, b, dH = layer(1031, n_in, n_out, seed=1)
    for g, w in zip(run(cy, X, W, b, dH, codes.ACT_SIGMOID),
                    run(ref, X, W, b, dH, codes.ACT_SIGMOID)):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_small_layer_is_deterministic():
    X, W, b, dH = (a.astype(np.float32) for a in layer(2048, 32, 16, seed=2))
    first, second = run(cy, X, W, b, dH, codes.ACT_RELU), run(cy, X, W, b, dH, codes.ACT_RELU)
    for g, w in zip(first, second):
        np.testing.assert_array_equal(g, w)
