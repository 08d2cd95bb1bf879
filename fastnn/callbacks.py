"""Callbacks of the fit loop: ``on_train_begin``, ``on_epoch_end`` (return True
to stop), ``on_train_end``."""
import math


class Callback:
    """Base class: every hook does nothing."""

    def on_train_begin(self, net, history):
        pass

    def on_epoch_end(self, net, epoch, logs):
        return False

    def on_train_end(self, net, history):
        pass


class EarlyStopping(Callback):
    """Stop when ``monitor`` ("val_loss" or "loss") has not improved by more
    than ``min_delta`` for ``patience`` epochs; with ``restore_best`` the
    parameters of the best epoch are put back at the end."""

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, restore_best=True):
        if monitor not in ("val_loss", "loss"):
            raise ValueError(f"monitor={monitor!r} must be 'val_loss' or 'loss'")
        if patience < 0:
            raise ValueError(f"patience={patience!r} must be >= 0")
        if min_delta < 0:
            raise ValueError(f"min_delta={min_delta!r} must be >= 0")
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.restore_best = restore_best

    def on_train_begin(self, net, history):
        self.best, self.best_epoch, self.wait, self.best_params = math.inf, None, 0, None

    def on_epoch_end(self, net, epoch, logs):
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping(monitor={self.monitor!r}) needs validation_data")
        value = logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_params = net.params.copy()
            return False
        self.wait += 1
        return self.wait > self.patience

    def on_train_end(self, net, history):
        if self.restore_best and self.best_params is not None:
            net.params[...] = self.best_params


class TerminateOnNaN(Callback):
    """Stop (with a warning instead of an error) when the loss becomes NaN/inf."""
