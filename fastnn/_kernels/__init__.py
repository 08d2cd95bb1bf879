"""Backend registry: every backend is a module exposing the same kernels.

``reference`` (NumPy) is the executable specification; ``numba`` and
``cython`` are compiled implementations of the same names and signatures.
"""
import importlib
import os
from functools import lru_cache

BACKENDS = ("numpy", "numba", "cython")
_MODULES = {
    "numpy": "fastnn._kernels.reference",
    "numba": "fastnn._kernels.numba",
    "cython": "fastnn._kernels.cython",
}
# Fastest first, as measured by the benchmark suite (see BENCHMARKS.md).
_PREFERENCE = ("cython", "numba", "numpy")


# The optimizer rules, one function per rule in every backend (see the contract).
UPDATES = ("sgd_update", "momentum_update", "nag_update", "adagrad_update", "rmsprop_update",
           "adadelta_update", "adam_update", "adamax_update", "maxprop_update", "nadam_update")
KERNELS = ("activation_forward", "activation_backward", "dense_forward", "dense_backward",
           "softmax", "loss_grad", "optimizer_step", "forward", "loss_and_grad", "train_epoch",
           "n_steps", "perceptron_train") + UPDATES


@lru_cache(maxsize=None)
def _load(name):
    """The backend's module, or None when it does not import or lacks a kernel."""
    try:
        module = importlib.import_module(_MODULES[name])
    except ImportError:
        return None
    return module if all(hasattr(module, k) for k in KERNELS) else None


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
