"""Where each layer lives in the flat buffers (parameters, gradients, states,
workspaces), as views."""
import numpy as np

from ..codes import ACT_LINEAR
from ._jit import kernel


@kernel
def layer(flat, sizes, k):
    """(W_k, b_k) of layer k as views into a flat buffer, where each layer j < k
    takes n_{j+1} (n_j + 1) entries before it."""
    at = 0
    for j in range(k):
        at += sizes[j + 1] * (sizes[j] + 1)
    n_w = sizes[k + 1] * sizes[k]
    W = flat[at:at + n_w].reshape(sizes[k + 1], sizes[k])
    return W, flat[at + n_w:at + n_w + sizes[k + 1]]


@kernel
def hidden_act(acts, k, n_layers):
    """Activation code of layer k; the output layer is linear (its output
    function belongs to the loss)."""
    return acts[k] if k < n_layers - 1 else ACT_LINEAR


@kernel
def workspace(sizes, capacity, like):
    """(Zs, Hs, start): buffers for the pre-activations a_k and activations h_k
    of every layer for up to ``capacity`` rows, and start[k] = n_1 + ... + n_k
    (see ``block``)."""
    start = np.zeros(sizes.size, np.int64)
    for k in range(sizes.size - 1):
        start[k + 1] = start[k] + sizes[k + 1]
    n = capacity * start[-1]
    return np.empty(n, like.dtype), np.empty(n, like.dtype), start


@kernel
def block(buf, start, k, n_rows):
    """Layer k's n_rows x n_k block of a workspace buffer (it starts at
    n_rows * start[k], so the blocks of a smaller batch pack at the front)."""
    n = start[k + 1] - start[k]
    return buf[n_rows * start[k]:n_rows * start[k + 1]].reshape(n_rows, n)


@kernel
def rows(buf, n_rows, n_cols):
    """The first n_rows x n_cols of ``buf``, as a C-contiguous matrix."""
    return buf[:n_rows * n_cols].reshape(n_rows, n_cols)


@kernel
def copy(src, dst):
    """dst = src, elementwise over arrays of one size (any shapes)."""
    s, d = src.reshape(-1), dst.reshape(-1)
    for i in range(s.size):
        d[i] = s[i]
