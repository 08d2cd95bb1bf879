"""The NumPy backend: the reference's kernels as one module, the dense network
and its optimizers (``reference.py``, which also carries the perceptron's)
and the sparse-input kernels (``reference_sparse.py``, which builds on the
dense ones, so ``reference.py`` cannot import it)."""
from .reference import *  # noqa: F401,F403  (every dense kernel, by its contract name)
from .reference_sparse import forward_sparse, loss_and_grad_sparse, train_epoch_sparse  # noqa: F401
