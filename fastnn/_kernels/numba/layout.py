"""Where each layer lives in the flat buffers (parameters, gradients, states,
workspaces), as views."""
import numpy as np

from ..codes import ACT_LINEAR
from ._jit import kernel


@kernel
def layer_offsets(sizes):
    """off[k] = start of layer k's (W_k, b_k) in a flat buffer; off[L] = its size."""
    off = np.zeros(sizes.size, np.int64)
    for k in range(sizes.size - 1):
        off[k + 1] = off[k] + sizes[k + 1] * (sizes[k] + 1)
    return off


@kernel
def layer(flat, sizes, off, k):
    """(W_k, b_k) of layer k as views into the flat buffer."""
    n_w = sizes[k + 1] * sizes[k]
    W = flat[off[k]:off[k] + n_w].reshape(sizes[k + 1], sizes[k])
    return W, flat[off[k] + n_w:off[k + 1]]


@kernel
def copy(src, dst):
    """dst = src, elementwise over arrays of one size (any shapes)."""
    s, d = src.reshape(-1), dst.reshape(-1)
    for i in range(s.size):
        d[i] = s[i]


@kernel
def rows(buf, start, n_rows, n_cols):
    """An n_rows x n_cols C-contiguous view of ``buf`` starting at ``start``."""
    return buf[start:start + n_rows * n_cols].reshape(n_rows, n_cols)


@kernel
def hidden_act(acts, k, n_layers):
    """Activation code of layer k; the output layer is linear (its output
    function belongs to the loss)."""
    return acts[k] if k < n_layers - 1 else ACT_LINEAR


@kernel
def workspace(sizes, capacity, like):
    """Buffers for the pre-activations and activations of every layer for up to
    ``capacity`` rows: (Zs, Hs, start) with layer k's block at capacity*start[k]."""
    start = np.zeros(sizes.size, np.int64)
    for k in range(sizes.size - 1):
        start[k + 1] = start[k] + sizes[k + 1]
    n = capacity * start[-1]
    return np.empty(n, like.dtype), np.empty(n, like.dtype), start
