"""Cython backend: the kernels of ``reference.py`` (same names and signatures)
compiled with fused float32/float64 types, BLAS through
``scipy.linalg.cython_blas`` or NumPy's newer OpenBLAS (``blas_provider.py``)
and the whole training epoch in one call. The codes are C constants of
``_codes.pxd``, which setup.py generates from ``codes.py`` at build time."""
import os

# libgomp reads GOMP_SPINCOUNT once, when the first extension below loads it:
# a thread waiting at a barrier spins that many times before it sleeps. A
# thread that sleeps at every barrier pays a wake-up each time: with 1000 spins,
# 2-thread fit of 784-128-10 at B = 32 took 37-42 ms with an idle JAX process on
# the machine and 12.5 ms with 100000 (2-core Zen 5). libgomp's default,
# 300000, spins longest when another process holds a core. A value set by the
# user is kept.
os.environ.setdefault("GOMP_SPINCOUNT", "100000")

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
