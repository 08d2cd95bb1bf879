"""Progress that reads well everywhere: a tqdm bar on a terminal (or in a
notebook), plain lines in a log.

>>> with Progress(3, "fit", "epoch") as bar:          # doctest: +SKIP
...     for epoch in range(3):
...         bar.update({"loss": 0.5 / (epoch + 1)})

On a terminal the bar stays on screen with its final state. When the stream is
not a terminal (a file, a pipe, CI), every ``every``-th update and the last
one write one line each, with no carriage returns and never the same state
twice::

    fit: 1/3 epochs, loss=0.5, 0.0 s
    fit: 2/3 epochs, loss=0.25, 0.0 s
    fit: 3/3 epochs, loss=0.1667, 0.0 s
"""
import math
import numbers
import sys
import time

import tqdm.auto
import tqdm.autonotebook
import tqdm.std

__all__ = ["Progress"]

MAX_LINES = 100
"""Lines a log gets at most from one bar of known length (by default)."""


class Progress:
    """Progress over ``total`` units (None: unknown) named ``desc``.

    ``enabled=False`` shows nothing. ``every``: in a log, a line every that
    many units (default: every unit, or ceil(total / 100) for long runs).
    ``file``: the stream (default: ``sys.stderr`` at the time of the call).
    """

    def __init__(self, total, desc, unit="it", enabled=True, every=None, file=None):
        self.total, self.desc, self.unit = total, desc, unit
        self.file = sys.stderr if file is None else file
        self.enabled = bool(enabled)
        self.every = every or (1 if total is None else max(1, math.ceil(total / MAX_LINES)))
        self.done = 0
        self._logs = {}
        self._printed = 0            # ``done`` at the last line written to a log
        self._start = time.perf_counter()
        self._bar = None
        if self.enabled and _interactive(self.file):
            self._bar = tqdm.auto.tqdm(total=total, desc=desc, unit=unit, file=self.file,
                                       leave=True, dynamic_ncols=True)

    def update(self, logs=None, n=1):
        """Advance by ``n`` units; ``logs`` (name -> value) is shown beside the count."""
        self.done += n
        if logs is not None:
            self._logs = dict(logs)
        if self._bar is not None:
            self._bar.set_postfix(self._logs, refresh=False)
            self._bar.update(n)
        elif self.enabled and (self.done % self.every == 0 or self.done == self.total):
            self._line()

    def close(self):
        """Keep the final state: the bar stays, a log gets the last line if it has not yet."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.enabled and self.done != self._printed:
            self._line()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _line(self):
        count = f"{self.done}" if self.total is None else f"{self.done}/{self.total}"
        parts = [f"{count} {self.unit}s", *(f"{k}={_value(v)}" for k, v in self._logs.items()),
                 f"{time.perf_counter() - self._start:.1f} s"]
        print(f"{self.desc}: {', '.join(parts)}", file=self.file, flush=True)
        self._printed = self.done


def _interactive(file):
    """A terminal, or a notebook's stderr (where tqdm.auto draws a widget)."""
    isatty = getattr(file, "isatty", None)
    if isatty is not None and isatty():
        return True
    return file is sys.stderr and tqdm.autonotebook.tqdm is not tqdm.std.tqdm


def _value(value):
    """Real numbers to 4 significant digits, anything else as its text."""
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return f"{value:.4g}"
    return str(value)
