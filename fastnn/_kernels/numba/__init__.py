"""Numba backend: the kernels of ``fastnn._kernels.reference`` compiled with
``@njit(cache=True, error_model="numpy")``, same names and signatures.

Files by topic: activations, dense (BLAS through np.dot), losses, optim (one
fused loop per rule), network (forward, backward, the epoch loop) and
stochastic (the per-sample epoch, B = 1), sparse (the network kernels with X
as CSR arrays). The layout of the flat buffers, the
epoch's bookkeeping and the optimizers' per-step scalars are the shared
``..layout``, ``..epoch`` and ``..coefficients``, compiled inline.

Numba's on-disk cache is keyed on the file that defines each function, not on
the files of the functions it calls: after editing a kernel (or the shared
layout.py, epoch.py, coefficients.py), delete ``__pycache__/*.nbi`` and
``*.nbc`` here, or a caller may run stale code.
"""
from .. import KERNELS
from ..epoch import n_steps
from .activations import activation_backward, activation_forward
from .dense import dense_backward, dense_forward
from .losses import loss_grad, softmax
from .network import forward, loss_and_grad, train_epoch
from .optim import (adadelta_update, adagrad_update, adam_update, adamax_update, maxprop_update,
                    momentum_update, nadam_update, nag_update, optimizer_step, rmsprop_update,
                    sgd_update)
from .perceptron import perceptron_train
from .sparse import forward_sparse, loss_and_grad_sparse, train_epoch_sparse

__all__ = list(KERNELS)
