"""Numba backend: the kernels of ``fastnn._kernels.reference`` compiled with
``@njit(cache=True, error_model="numpy")``, same names and signatures.

Files by topic: activations, dense (BLAS through np.dot), losses, optim (one
fused loop per rule), layout (views into flat buffers), network (forward,
backward, the epoch loop) and stochastic (the per-sample epoch, B = 1).

Numba's on-disk cache is keyed on the file that defines each function, not on
the files of the functions it calls: after editing a kernel, delete
``__pycache__/*.nbi`` and ``*.nbc`` here, or a caller may run stale code.
"""
from .activations import activation_backward, activation_forward
from .dense import dense_backward, dense_forward
from .losses import loss_grad, softmax
from .network import forward, loss_and_grad, n_steps, train_epoch
from .optim import optimizer_step
from .perceptron import perceptron_train

__all__ = [
    "activation_forward", "activation_backward", "dense_forward", "dense_backward",
    "softmax", "loss_grad", "optimizer_step", "forward", "loss_and_grad", "train_epoch",
    "n_steps", "perceptron_train",
]
