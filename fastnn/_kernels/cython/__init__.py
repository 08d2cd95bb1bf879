"""Cython backend: the kernels of ``reference.py`` (same names and signatures)
compiled with fused float32/float64 types, BLAS through
``scipy.linalg.cython_blas`` and the whole training epoch in one call."""
from .. import codes as _codes
from . import _codes as _compiled
from ._layers import (activation_backward, activation_forward, dense_backward, dense_forward,
                      loss_grad, softmax)
from ._network import forward, loss_and_grad, n_steps, train_epoch
from ._optim import optimizer_step
from ._perceptron import perceptron_train

__all__ = ["activation_forward", "activation_backward", "dense_forward", "dense_backward",
           "softmax", "loss_grad", "optimizer_step", "forward", "loss_and_grad", "train_epoch",
           "n_steps", "perceptron_train"]

for _name in dir(_compiled):
    if _name.isupper() and getattr(_compiled, _name) != getattr(_codes, _name):
        raise ImportError(f"fastnn._kernels.cython was compiled with {_name} = "
                          f"{getattr(_compiled, _name)} but codes.py says "
                          f"{getattr(_codes, _name)}; rebuild the extension")
