"""The two values every network and optimizer kernel takes: what describes a
network, and what an optimizer carries from step to step.

Both are built once at the door (``MLP``, ``Optimizer``) from validated
input and passed as they are to the kernels of every backend (Numba compiles
named tuples; the Cython entry points unpack them into C structs). A new
field is added here, in the constructor, and in the kernels that read it.
"""
from typing import NamedTuple

import numpy as np

from .codes import ACT_LINEAR
from .layout import param_offsets, unit_offsets


class Network(NamedTuple):
    """A network of L layers: sizes ``[n_0, ..., n_L]``; ``acts[k]`` the
    activation code of layer k (the last is ``ACT_LINEAR``: the output
    function belongs to the loss); ``alpha`` the leaky-ReLU slope; ``loss`` a
    ``LOSS_*`` code; ``param_at``, ``unit_at`` the offsets of layout.py."""
    sizes: np.ndarray
    acts: np.ndarray
    alpha: float
    loss: int
    param_at: np.ndarray
    unit_at: np.ndarray


class OptimizerState(NamedTuple):
    """An optimizer: ``code`` (``OPT_*``), state buffers ``s1``, ``s2`` (the
    parameters' shape and dtype; unused ones empty), ``hp`` the float64
    hyperparameters (``HP_*``, written by train_epoch's schedule and NAdam's
    running product), ``t`` an int64 array of one entry: the steps taken,
    advanced by every update."""
    code: int
    s1: np.ndarray
    s2: np.ndarray
    hp: np.ndarray
    t: np.ndarray


def network(sizes, hidden_acts, alpha, loss):
    """The :class:`Network` of sizes ``[n_0, ..., n_L]`` with the L - 1 hidden
    activation codes ``hidden_acts``."""
    sizes = np.ascontiguousarray(sizes, dtype=np.int64)
    acts = np.append(np.asarray(hidden_acts, dtype=np.int64), ACT_LINEAR)
    return Network(sizes, acts, float(alpha), int(loss), param_offsets(sizes),
                   unit_offsets(sizes))


def optimizer_state(code, s1, s2, hp, t=0):
    """The :class:`OptimizerState` over the given buffers, ``t`` steps taken."""
    return OptimizerState(int(code), s1, s2, hp, np.array([t], dtype=np.int64))
