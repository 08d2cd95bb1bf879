"""Cython backend: the kernels of ``reference.py`` (same names and signatures)
compiled with fused float32/float64 types, BLAS through
``scipy.linalg.cython_blas`` and the whole training epoch in one call. The
codes are C constants of ``_codes.pxd``, which setup.py generates from
``codes.py`` at build time."""
import os

# libgomp reads GOMP_SPINCOUNT once, when the first extension below loads it:
# its threads then wait at a barrier by spinning about 1000 times before
# sleeping, not 300000 (libgomp's default). The default spin steals the core from
# a thread that shares it with another process: fit's 2-thread runs of
# 4-32-16-4 then took 3-6x as long as with 1000, with no loss measured on a
# less loaded machine. A value set by the user is kept.
os.environ.setdefault("GOMP_SPINCOUNT", "1000")

from .. import KERNELS
from ..epoch import n_steps
from ._layers import (activation_backward, activation_forward, dense_backward, dense_forward,
                      loss_grad, softmax)
from ._network import forward, loss_and_grad, train_epoch
from ._optim import (adadelta_update, adagrad_update, adam_update, adamax_update, maxprop_update,
                     momentum_update, nadam_update, nag_update, optimizer_step, rmsprop_update,
                     sgd_update)
from ._perceptron import perceptron_train
from ._sparse import forward_sparse, loss_and_grad_sparse, train_epoch_sparse

__all__ = list(KERNELS)
