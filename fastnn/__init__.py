"""fastnn: the lecture notes' neural networks, trained fast on the CPU.

>>> import fastnn as fn
>>> net = fn.MLP([784, 128, 10], activation="relu", output="softmax", random_state=0)
>>> hist = fn.fit(net, X, y, optimizer=fn.optim.Adam(lr=1e-3), batch_size=32, epochs=10)  # doctest: +SKIP
>>> fn.boolean.count_linearly_separable(3)
104
"""
import importlib

from . import optim, schedules
from ._kernels import available_backends
from .callbacks import Callback, EarlyStopping, TerminateOnNaN
from .network import MLP
from .training import DivergenceError, History, fit

__version__ = "0.1.0"

# Loaded on first use, so that ``import fastnn`` stays quick.
_LAZY = ("approximation", "bench", "boolean", "datasets", "estimators", "export", "neurons",
         "perceptron", "plotting", "tuning")

__all__ = ["MLP", "fit", "History", "DivergenceError", "Callback", "EarlyStopping",
           "TerminateOnNaN", "available_backends", "optim", "schedules", "__version__",
           *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'fastnn' has no attribute {name!r}")
