"""Figures of the notes (matplotlib, Agg when there is no display).

Each topic lives in its own module; the names below are loaded on first use so
that ``import fastnn`` never imports matplotlib.
"""
import importlib

_WHERE = {
    "plot_history": "training",
    "plot_schedule": "schedules",
    "plot_schedules": "schedules",
    "plot_error_surface": "surfaces",
    "plot_perceptron": "boolean",
    "plot_boolean_functions": "boolean",
    "plot_lr_search": "tuning",
    "plot_approximation": "approximation",
}
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module 'fastnn.plotting' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
