"""The kernel contract, written once, and the backend registry.

Every backend is a module exposing the same kernels (:data:`KERNELS`) with the
same names, signatures and behaviour: ``reference`` (NumPy) is the executable
specification (with ``reference_sparse`` for sparse input, both exported by
``numpy_backend``); ``numba`` and ``cython`` are compiled implementations.

Values (``values.py``), built once at the door and passed as they are:

* ``net``, a :class:`~fastnn._kernels.values.Network`: sizes, activation codes
  (one per layer, the output layer's linear), alpha, loss code and the offsets
  of ``layout.py``.
* ``opt``, an :class:`~fastnn._kernels.values.OptimizerState`: code, state
  buffers s1 and s2, float64 hyperparameters hp (``codes.HP_*``), and t, an
  int64 array of one entry counting the steps taken.
* ``work``, a flat buffer of the parameters' dtype holding batches, every
  layer's a_k, h_k and dL/da_k (``layout.work_size``/``layout.regions``).

Signatures (inputs first, then the buffers written):

* ``activation_forward(Z, act, alpha, H_out)``; ``activation_backward(Z, H, dH,
  act, alpha, dZ_out)``; ``softmax(Z, P_out)``; ``dense_forward(X, W, b, act,
  alpha, Z_out, H_out)``; ``dense_backward(X, W, Z, H, dH, act, alpha, dZ_out,
  dW_out, db_out, dX_out, need_dX)``; ``loss_grad(loss, Z, Y, dZ_out)`` -> loss.
* ``forward(X, net, params, out, work)`` writes the logits into out (and work);
  ``loss_and_grad(X, Y, net, params, grads_out, work)`` -> loss, writes grads_out
  (and work).
* ``optimizer_step(opt, w, g)``: step t = opt.t + 1 of rule opt.code; writes w,
  opt.s1, opt.s2, opt.t (and hp[HP_MU_PRODUCT] for NAdam in PyTorch mode). The
  rules are also callable one by one, ``<rule>_update(w, g, s1, s2, hp, t)``
  (:data:`UPDATES`), with g + lambda w in place of g when hp's weight decay
  lambda is not 0.
* ``train_epoch(X, Y, order, batch_size, net, params, grads, opt, lrs, betas,
  losses_out, work)`` -> number of updates applied: ``epoch.step_epoch``'s
  epoch; writes params, grads, opt (its hp's eta and beta from lrs and betas,
  t advanced by the updates), losses_out and work.
* ``n_steps(n_samples, batch_size)``; ``perceptron_train(X, y, order, w)``.
* Sparse input (:data:`SPARSE_KERNELS`, ``sparse.py``): ``forward_sparse``,
  ``loss_and_grad_sparse`` and ``train_epoch_sparse`` take the same arguments
  as ``forward``, ``loss_and_grad`` and ``train_epoch`` with X given as three
  arrays ``data, indices, indptr`` (CSR: data of the parameters' dtype, int64
  indices sorted in each row, int64 indptr) and a work buffer of
  ``sparse.sparse_work_size(net, rows)`` (no X batch region). Only layer 1
  reads X (A_1 = X W_1^T + b_1, dW_1 = dZ_1^T X, sparse x dense); the other
  layers are computed as in the dense kernels, and the results equal the
  dense kernels' on the densified X to rounding. dW_1 is written densely, 0
  in the columns that the batch does not store; plain SGD without weight
  decay changes only W_1's columns stored in the batch (the others would get
  w -= eta * 0).

What a kernel may assume (the Python layer checks it at the door; kernels
check nothing): arrays C-contiguous, all floats of one dtype (float32 or
float64; hp, lrs, betas and losses float64; sizes, acts, order int64), shapes
consistent with ``net``, work of at least ``layout.work_size(net, rows)`` for
the batches it sees, output buffers not overlapping inputs unless a kernel says
so. Scalars from hp are cast to the arrays' dtype before they touch elements;
per-step coefficients (bias corrections, eta / c1, NAdam's) are formed in
float64 and then cast; losses are accumulated in float64.

Codes outside ``codes.py`` are impossible from the public API; called
directly, every backend does the same: an unknown activation leaves its output
untouched, ``loss_grad`` returns NaN and leaves dZ_out untouched (so
``train_epoch`` stops at that step), ``optimizer_step`` changes nothing.

Subnormals, one rule: after every update, an optimizer state entry whose
magnitude is below tiny / eps of its dtype (``coefficients.flush_level``:
2^-103 in float32, 2^-970 in float64) is set to 0 before the update uses it
(a decaying momentum or moment of a dead unit would otherwise reach
subnormals, and so would its products with the step's coefficients, eta m
among them, where x86 arithmetic is many times slower); everything else keeps
IEEE gradual underflow. Same in every backend, standalone
and inside train_epoch.

Allocation: the compiled kernels allocate nothing per call; buffers and
workspaces are allocated once per ``fit`` (or per prediction) and passed in.
The reference is written to be read and uses NumPy temporaries.

Results: the optimizer rules follow the same arithmetic in the same order in
every backend, so their results are the reference's bit for bit; the other
kernels agree to rounding (BLAS's summation order, libm's elementary functions
against NumPy's). A backend's results do not depend on the number of threads:
the network kernels (:data:`NETWORK_KERNELS`) run with OpenBLAS on one thread
(``blas_threads.py``), and the Cython backend's OpenMP threads split the work
by a rule of the shapes alone, reducing in a fixed order.
"""
import importlib
import os
from functools import lru_cache
from types import SimpleNamespace

from .blas_threads import on_one_blas_thread

BACKENDS = ("numpy", "numba", "cython")
_MODULES = {
    "numpy": "fastnn._kernels.numpy_backend",
    "numba": "fastnn._kernels.numba",
    "cython": "fastnn._kernels.cython",
}
# Fastest first, as measured by the benchmark suite (see BENCHMARKS.md).
_PREFERENCE = ("cython", "numba", "numpy")


# The optimizer rules, one function per rule in every backend (see the contract).
UPDATES = ("sgd_update", "momentum_update", "nag_update", "adagrad_update", "rmsprop_update",
           "adadelta_update", "adam_update", "adamax_update", "maxprop_update", "nadam_update")
SPARSE_KERNELS = ("forward_sparse", "loss_and_grad_sparse", "train_epoch_sparse")
KERNELS = ("activation_forward", "activation_backward", "dense_forward", "dense_backward",
           "softmax", "loss_grad", "optimizer_step", "forward", "loss_and_grad", "train_epoch",
           "n_steps", "perceptron_train") + UPDATES + SPARSE_KERNELS


class Backend(SimpleNamespace):
    """A backend's kernels as attributes (the contract's names)."""
    def __init__(self, name, kernels):
        super().__init__(**kernels)
        self.__name__ = name

    def __repr__(self):
        return f"<fastnn backend {self.__name__!r}>"


# The kernels that train and predict, run with OpenBLAS on one thread (blas_threads.py).
NETWORK_KERNELS = ("forward", "loss_and_grad", "train_epoch") + SPARSE_KERNELS


@lru_cache(maxsize=None)
def _load(name):
    """The backend: a namespace of its module's kernels, the network kernels on
    one BLAS thread; None when it does not import or lacks a kernel."""
    try:
        module = importlib.import_module(_MODULES[name])
    except ImportError:
        return None
    if not all(hasattr(module, k) for k in KERNELS):
        return None
    kernels = {k: getattr(module, k) for k in KERNELS}
    kernels.update({k: on_one_blas_thread(kernels[k]) for k in NETWORK_KERNELS})
    return Backend(name, kernels)


def available_backends():
    """Names of the backends that import on this machine, in canonical order."""
    return tuple(name for name in BACKENDS if _load(name) is not None)


def resolve_backend_name(name=None):
    """The backend name to use: ``name``, else ``$FASTNN_BACKEND``, else the fastest."""
    if name is None:
        name = os.environ.get("FASTNN_BACKEND") or None
    if name is None:
        return next(n for n in _PREFERENCE if _load(n) is not None)
    if not isinstance(name, str) or name not in BACKENDS:
        raise ValueError(f"backend={name!r} is unknown; valid backends are {', '.join(BACKENDS)}")
    if _load(name) is None:
        raise ValueError(f"backend={name!r} is not available here; available: "
                         f"{', '.join(available_backends())}")
    return name


def get_backend(name=None):
    """The kernel module for ``name`` (see :func:`resolve_backend_name`)."""
    return _load(resolve_backend_name(name))
