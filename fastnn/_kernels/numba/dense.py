"""Dense layer a = b + W h, batch-major (A = X W^T + b), forward and backward;
the products go through BLAS (np.dot with an output buffer)."""
import numpy as np

from ._jit import kernel
from .activations import activation_backward, activation_forward


@kernel
def add_bias(Z, b):
    """Z += b on every row."""
    for r in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            Z[r, j] += b[j]


@kernel
def column_sums(dZ, db_out):
    """db = sum over the batch of dL/da (rows added in order, as NumPy does)."""
    for j in range(dZ.shape[1]):
        db_out[j] = dZ[0, j]
    for r in range(1, dZ.shape[0]):
        for j in range(dZ.shape[1]):
            db_out[j] += dZ[r, j]


@kernel
def dense_forward(X, W, b, act, alpha, Z_out, H_out):
    """A = X W^T + b (the notes' a_k = b_k + W_k h_{k-1}, one row per sample),
    then H = g(A). Returns H_out.

    A batch smaller than the layer (B < n_out) gets A^T = W X^T, formed in
    H_out (unless it is Z_out) and transposed: OpenBLAS's sgemm is much faster
    with the small dimension first (784 -> 128 float32: 99 -> 42 us at B = 8,
    165 -> 133 us at B = 32; no difference for float64)."""
    B, n_out = Z_out.shape
    if B < n_out and H_out.ctypes.data != Z_out.ctypes.data:
        At = H_out.reshape(n_out, B)
        np.dot(W, X.T, At)
        for r in range(B):
            for j in range(n_out):
                Z_out[r, j] = At[j, r] + b[j]
    else:
        np.dot(X, W.T, Z_out)
        add_bias(Z_out, b)
    return activation_forward(Z_out, act, alpha, H_out)


@kernel
def dense_backward(X, W, Z, H, dH, act, alpha, dZ_out, dW_out, db_out, dX_out, need_dX):
    """Algorithm 6 for one layer: dL/da = dL/dh * g'(a); dL/dW = (dL/da)^T h_{k-1};
    dL/db = sum over the batch of dL/da; dL/dh_{k-1} = (dL/da) W when ``need_dX``.
    ``dZ_out`` may be the same buffer as ``dH``."""
    activation_backward(Z, H, dH, act, alpha, dZ_out)
    np.dot(dZ_out.T, X, dW_out)
    column_sums(dZ_out, db_out)
    if need_dX:
        np.dot(dZ_out, W, dX_out)
