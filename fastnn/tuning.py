"""Hyperparameter search (notes 5.4): "try different values on a log scale, run
a few epochs with each, pick the best, then do a finer search around it".

Every trial builds a fresh network, trains it ``epochs`` epochs on the same
training part of (X, y) with the same seed, and is scored by its loss on the
same validation part, so trials differ only in their settings and the result
is the same whatever runs them. Trials are independent and run on any
``concurrent.futures.Executor``:

- ``executor=None`` (default): a local process pool with one worker per core;
  each worker limits BLAS to its share of the cores (threadpoolctl) and
  receives the data once, through the pool's initializer.
- a Dask cluster: ``executor=client.get_executor()`` (or the
  ``dask.distributed.Client`` itself); the data is scattered to every worker
  once and the trials refer to it.
- any other executor (a ``ThreadPoolExecutor``, your own process pool): the
  data travels with each trial.

Process pools pickle ``build``: pass an MLP spec (a dict of
:class:`fastnn.MLP` arguments), ``functools.partial(fastnn.MLP, ...)`` or a
function defined at module level (not a lambda or a nested function). The
local pool starts its workers by "forkserver" (or "spawn"), so a script that
calls a search must guard its entry point with ``if __name__ == "__main__":``.

A trial whose loss becomes NaN or infinite is marked ``diverged``; a trial that
raises is reported with its error text; neither stops the search.
"""
import concurrent.futures as cf
import contextlib
import copy
import inspect
import itertools
import math
import multiprocessing
import os
import pickle
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from . import optim
from ._validation import check_in_range, check_int, check_positive
from .network import MLP
from .progress import Progress
from .training import DivergenceError, fit

__all__ = ["lr_search", "search", "SearchResult", "Trial", "train_validation_split",
           "finer_lrs", "markdown_table", "DEFAULT_LRS"]

DEFAULT_LRS = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
"""The coarse grid of :func:`lr_search`: 1e-5, 1e-4, ..., 1."""

# fit arguments a search owns; every other one may be set per search or per trial.
_OWNED = {"net", "X", "y", "optimizer", "validation_data", "random_state", "progress"}
_FIT_KEYS = set(inspect.signature(fit).parameters) - _OWNED
_METRICS = ("val_loss", "val_accuracy", "seconds", "diverged", "error")


@dataclass(frozen=True)
class Trial:
    """One trial: its ``settings`` (learning rate, optimizer, fit arguments),
    the validation loss and accuracy after the last epoch (accuracy is NaN for
    regression), wall time in the worker, whether the loss diverged, and the
    error text of a trial that raised ("" otherwise)."""
    settings: dict
    val_loss: float = math.nan
    val_accuracy: float = math.nan
    seconds: float = 0.0
    diverged: bool = False
    error: str = ""

    @property
    def ok(self):
        """True when the trial finished with a finite validation loss."""
        return not self.diverged and not self.error


@dataclass
class SearchResult:
    """The trials of a search and the best of them (lowest validation loss).

    ``table()`` gives the columns as NumPy arrays (``pandas.DataFrame(r.table())``
    if you like), ``to_dict()`` plain lists, ``str(r)`` a Markdown table.
    ``seed`` reproduces the search (``random_state=r.seed``)."""
    trials: list
    seed: int = None
    best: Trial = field(init=False)

    def __post_init__(self):
        finished = [t for t in self.trials if t.ok]
        self.best = min(finished, key=lambda t: t.val_loss) if finished else None

    @property
    def best_settings(self):
        """The settings of the best trial (None when no trial finished)."""
        return None if self.best is None else dict(self.best.settings)

    @property
    def best_lr(self):
        """The learning rate of the best trial (None when no trial finished)."""
        return None if self.best is None else self.best.settings.get("lr")

    def keys(self):
        """The setting names, in order of first appearance."""
        return list(dict.fromkeys(k for t in self.trials for k in t.settings))

    def table(self):
        """``{column: array}``: one column per setting, then val_loss,
        val_accuracy, seconds, diverged, error; one row per trial."""
        columns = {k: [t.settings.get(k) for t in self.trials] for k in self.keys()}
        columns.update({m: [getattr(t, m) for t in self.trials] for m in _METRICS})
        return {k: _column(v) for k, v in columns.items()}

    def to_dict(self):
        """``{"best": settings, "best_val_loss": float, "seed": int, "table": {column: list}}``."""
        return {"best": self.best_settings,
                "best_val_loss": None if self.best is None else self.best.val_loss,
                "seed": self.seed,
                "table": {k: v.tolist() for k, v in self.table().items()}}

    def to_markdown(self):
        """The table in Markdown, then the best settings."""
        table = self.table()
        if np.all(np.isnan(table["val_accuracy"])):
            del table["val_accuracy"]
        if self.best is None:
            return markdown_table(table) + "\n\nno trial finished"
        chosen = ", ".join(f"{k}={_cell(v)}" for k, v in self.best.settings.items())
        return markdown_table(table) + f"\n\nbest: {chosen} (val_loss {self.best.val_loss:.4g})"

    def __str__(self):
        return self.to_markdown()


def lr_search(build, X, y, optimizer="adam", lrs=None, epochs=3, refine=True,
              validation_fraction=0.2, executor=None, random_state=None, progress=True,
              **fit_kwargs):
    """Learning-rate search on a log scale (notes 5.4).

    Trains one network per learning rate of ``lrs`` (default
    :data:`DEFAULT_LRS`, 1e-5 ... 1) for ``epochs`` epochs with ``optimizer``
    (a name of :data:`fastnn.optim.NAMES` or an optimizer, whose other
    hyperparameters are kept); with ``refine``, then trains with four rates
    between the best one and its neighbours on the grid, at 1/3 and 2/3 of each
    log gap (for a decade grid: best * 10^(+-1/3), 10^(+-2/3)).

    ``build`` is a callable returning a fresh :class:`fastnn.MLP` (give it a
    fixed ``random_state`` so that every trial starts from the same weights) or
    a spec, a dict of MLP arguments (its weights are drawn from the search's
    seed unless the spec sets ``random_state``). The last ``validation_fraction``
    of a seeded permutation of the rows is the validation set (or pass
    ``validation_data=(Xv, yv)``). Other keyword arguments go to
    :func:`fastnn.fit` (``batch_size``, ``schedule``, ...). ``executor``: see
    the module docstring. Returns a :class:`SearchResult` sorted by learning
    rate; ``result.best_lr`` is the choice.
    """
    lrs = _check_lrs(DEFAULT_LRS if lrs is None else lrs)
    with _Search(build, X, y, optimizer, epochs, validation_fraction, executor, random_state,
                 progress, fit_kwargs) as run:
        trials = run([{"lr": lr} for lr in lrs], "lr search")
        best = SearchResult(trials).best
        if refine and best is not None:
            trials += run([{"lr": lr} for lr in finer_lrs(lrs, best.settings["lr"])], "refine")
    return SearchResult(sorted(trials, key=lambda t: t.settings["lr"]), seed=run.seed)


def search(build, X, y, grid, optimizer="adam", epochs=3, validation_fraction=0.2,
           executor=None, random_state=None, progress=True, **fit_kwargs):
    """The machinery of :func:`lr_search` over any grid of settings.

    ``grid`` is a dict ``{name: [values]}`` (every combination, the last name
    varying fastest) or a list of such dicts (their combinations one after the
    other). A name is ``"optimizer"`` (a name of :data:`fastnn.optim.NAMES`),
    an argument of :func:`fastnn.fit` (``batch_size``, ``epochs``,
    ``schedule``, ``momentum_schedule``, ...) or a hyperparameter of the
    optimizer (``lr``, ``beta``, ``beta1``, ``weight_decay``, ...). Settings
    in the grid override ``optimizer``, ``epochs`` and ``fit_kwargs``.

    >>> search(spec, X, y, {"optimizer": ["sgd", "adam"], "lr": [1e-3, 1e-2],
    ...                     "batch_size": [16, 64]})            # doctest: +SKIP
    """
    settings = _expand(grid)
    with _Search(build, X, y, optimizer, epochs, validation_fraction, executor, random_state,
                 progress, fit_kwargs) as run:
        return SearchResult(run(settings, "search"), seed=run.seed)


def finer_lrs(lrs, best):
    """Four learning rates at 1/3 and 2/3 of the log gaps between ``best`` and
    its neighbours in ``lrs`` (a missing neighbour is mirrored: best^2 / other,
    or best * 10 when ``lrs`` holds ``best`` alone)."""
    grid = sorted(set(lrs))
    i = grid.index(best)
    below = grid[i - 1] if i > 0 else None
    above = grid[i + 1] if i + 1 < len(grid) else None
    if below is None and above is None:
        below, above = best / 10, best * 10
    below = best * best / above if below is None else below
    above = best * best / below if above is None else above
    return [best * (other / best) ** f for other in (below, above) for f in (1 / 3, 2 / 3)]


def train_validation_split(X, y, validation_fraction, seed):
    """(X_train, y_train, X_val, y_val): the rows of a permutation drawn from
    ``seed``, the first round(fraction * N) (at least 1, at most N - 1) for
    validation and the rest for training."""
    n = len(X)
    if n < 2:
        raise ValueError(f"X has {n} rows; a search needs at least 2 (training and validation)")
    n_val = min(max(round(validation_fraction * n), 1), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    return X[order[n_val:]], y[order[n_val:]], X[order[:n_val]], y[order[:n_val]]


# -- the shared machinery -------------------------------------------------------

@dataclass(frozen=True)
class _Task:
    """What every trial of one search shares besides the data."""
    optimizer: str
    optimizer_kwargs: dict
    fit_kwargs: dict
    seed: int


class _Search:
    """A validated search: data split, common settings, and (once the first
    trials are run) the executor with the data shipped to it. Calling it runs
    a list of settings and returns their trials in order."""

    def __init__(self, build, X, y, optimizer, epochs, validation_fraction, executor,
                 random_state, progress, fit_kwargs):
        self.seed = _seed(random_state)
        net = _check_build(build, self.seed, executor)
        fit_kwargs = dict(fit_kwargs)
        unknown = set(fit_kwargs) - _FIT_KEYS - {"validation_data"}
        if unknown:
            raise TypeError(f"unexpected keyword arguments {sorted(unknown)}; a search passes "
                            f"on fit() arguments: {', '.join(sorted(_FIT_KEYS))}")
        fit_kwargs["epochs"] = check_int(epochs, "epochs", minimum=1)
        validation = fit_kwargs.pop("validation_data", None)
        X, y = net.check_X(X), np.asarray(y)
        net.targets(y, len(X))
        if validation is None:
            fraction = check_in_range(validation_fraction, "validation_fraction", 0, 1,
                                      lo_open=True, hi_open=True)
            split = train_validation_split(X, y, fraction, self.seed)
        else:
            Xv, yv = validation
            Xv, yv = net.check_X(Xv, "validation_data[0]"), np.asarray(yv)
            net.targets(yv, len(Xv), "validation_data[1]")
            split = (X, y, Xv, yv)
        name, kwargs = _optimizer_spec(optimizer)
        self.task = _Task(name, kwargs, fit_kwargs, self.seed)
        self.data = (build, *split)
        if hasattr(executor, "get_executor") and not isinstance(executor, cf.Executor):
            executor = executor.get_executor()  # a dask.distributed.Client
        if executor is not None and not hasattr(executor, "submit"):
            raise TypeError(f"executor must be a concurrent.futures.Executor, a "
                            f"dask.distributed.Client or None, got {executor!r}")
        self.executor, self.progress = executor, progress
        self._stack = contextlib.ExitStack()
        self._submit = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._stack.close()

    def __call__(self, settings, desc):
        for s in settings:
            _trial_optimizer(s, self.task)
        if self._submit is None:
            self._submit = self._stack.enter_context(
                _submitter(self.executor, self.data, len(settings)))
        futures = {self._submit(s, self.task): i for i, s in enumerate(settings)}
        trials = [None] * len(settings)
        with Progress(len(settings), desc, "trial", enabled=self.progress) as bar:
            for future in cf.as_completed(futures):
                i = futures[future]
                try:
                    trials[i] = future.result()
                except Exception as exc:  # the worker died or its result did not travel
                    trials[i] = Trial(settings[i], error=_describe(exc))
                finished = [t.val_loss for t in trials if t is not None and t.ok]
                bar.update({"best val_loss": min(finished, default=math.nan)})
        return trials


@contextlib.contextmanager
def _submitter(executor, data, n_trials):
    """A function ``submit(settings, task) -> Future`` running one trial on
    ``executor``, with ``data`` shipped once per worker where it can be."""
    if executor is None:
        with _local_pool(data, n_trials) as pool:
            yield lambda settings, task: pool.submit(_pool_trial, settings, task)
        return
    client = getattr(executor, "_client", None)  # dask.distributed's ClientExecutor
    if client is not None and hasattr(client, "scatter"):
        [shared] = client.scatter([data], broadcast=True, hash=False)
        yield lambda settings, task: executor.submit(_run_trial, shared, settings, task)
        return
    yield lambda settings, task: executor.submit(_run_trial, data, settings, task)


def _local_pool(data, n_trials):
    """A process pool of min(cores, n_trials) workers, each holding ``data``
    and limited to its share of the cores for BLAS."""
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    workers = max(1, min(cores, n_trials))
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method),
                                  initializer=_init_worker,
                                  initargs=(data, max(1, cores // workers)))


_worker_data = None  # set in each local pool worker by _init_worker


def _init_worker(data, blas_threads):
    global _worker_data
    _worker_data = data
    threadpool_limits(blas_threads)


def _pool_trial(settings, task):
    return _run_trial(_worker_data, settings, task)


def _run_trial(data, settings, task):
    """Build, train and score one trial; never raises. ``seconds`` times the training."""
    build, X, y, Xv, yv = data
    # a copy: threads share the objects (schedules, callbacks) that fit updates
    fit_kwargs = copy.deepcopy({**task.fit_kwargs,
                                **{k: v for k, v in settings.items() if k in _FIT_KEYS}})
    start = time.perf_counter()
    try:
        with np.errstate(all="ignore"):
            net, opt = _build(build, task.seed), _trial_optimizer(settings, task)
            start = time.perf_counter()  # time the training, not a fresh worker's imports
            history = fit(net, X, y, opt, validation_data=(Xv, yv), random_state=task.seed,
                          **fit_kwargs)
    except DivergenceError:
        return Trial(settings, seconds=time.perf_counter() - start, diverged=True)
    except Exception as exc:
        return Trial(settings, seconds=time.perf_counter() - start, error=_describe(exc))
    val_loss = history.val_loss[-1]
    accuracy = history.val_accuracy[-1] if history.val_accuracy else math.nan
    return Trial(settings, val_loss=val_loss, val_accuracy=accuracy,
                 seconds=time.perf_counter() - start, diverged=not math.isfinite(val_loss))


def _trial_optimizer(settings, task):
    """The optimizer of a trial: the search's, with the settings' name and
    hyperparameters (those of the search are kept when the name is the same)."""
    name = settings.get("optimizer", task.optimizer)
    kwargs = dict(task.optimizer_kwargs) if name == task.optimizer else {}
    kwargs.update({k: v for k, v in settings.items() if k != "optimizer" and k not in _FIT_KEYS})
    try:
        return optim.get(name, **kwargs)
    except TypeError as exc:
        raise TypeError(f"settings {settings}: {exc} (a setting is 'optimizer', a fit() "
                        f"argument or a hyperparameter of the optimizer)") from None


def _optimizer_spec(optimizer):
    """(name, hyperparameters) of an optimizer name or instance: instances hold
    their kernel module and do not pickle, so trials rebuild them."""
    if isinstance(optimizer, optim.Optimizer):
        return optimizer.name, {h: getattr(optimizer, h) for h in optimizer.hyperparameters}
    optim.get(optimizer)
    return optimizer.lower(), {}


def _build(build, seed):
    if isinstance(build, dict):
        return MLP(**{"random_state": seed, **build})
    return build()


def _check_build(build, seed, executor):
    """A network built by ``build`` (to check it and the data at the door)."""
    if isinstance(build, MLP):
        raise TypeError("build must make a fresh network per trial: pass a callable or a "
                        "dict of MLP arguments, not a network")
    if not isinstance(build, dict) and not callable(build):
        raise TypeError(f"build must be a callable returning an MLP or a dict of MLP "
                        f"arguments, got {build!r}")
    if executor is None or isinstance(executor, cf.ProcessPoolExecutor):
        _check_picklable(build)
    net = _build(build, seed)
    if not isinstance(net, MLP):
        raise TypeError(f"build() must return a fastnn.MLP, got {type(net).__name__}")
    net.check_trainable()
    return net


def _check_picklable(build):
    """Worker processes import ``build`` by name: it must pickle, and not come
    from an interactive ``__main__`` (a notebook, the REPL) that they cannot import."""
    hint = ("use a dict of MLP arguments, functools.partial(fastnn.MLP, ...) or a function "
            "defined at module level, or run the trials in threads (executor="
            "ThreadPoolExecutor()) or on Dask")
    try:
        pickle.dumps(build)
    except Exception as exc:
        raise TypeError(f"build={build!r} cannot be sent to worker processes ({exc}); "
                        f"{hint}") from None
    interactive = not hasattr(sys.modules["__main__"], "__file__")
    if interactive and getattr(build, "__module__", None) == "__main__":
        raise TypeError(f"build={build!r} is defined in an interactive session, which worker "
                        f"processes cannot import; {hint}")


def _seed(random_state):
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    return check_int(random_state, "random_state", minimum=0)


def _check_lrs(lrs):
    lrs = [check_positive(lr, "lrs[]") for lr in np.ravel(lrs)]
    if not lrs:
        raise ValueError("lrs is empty")
    return lrs


def _expand(grid):
    """The settings dicts of a grid (see :func:`search`)."""
    grids = [grid] if isinstance(grid, dict) else grid
    if not isinstance(grids, (list, tuple)) or not grids:
        raise TypeError(f"grid must be a dict of value lists or a non-empty list of them, "
                        f"got {grid!r}")
    settings = []
    for g in grids:
        if not isinstance(g, dict) or not g:
            raise TypeError(f"grid must hold non-empty dicts of value lists, got {g!r}")
        for key, values in g.items():
            if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__len__"):
                raise TypeError(f"grid[{key!r}] must be a list of values, got {values!r}")
            if len(values) == 0:
                raise ValueError(f"grid[{key!r}] is empty")
        settings += [{k: _plain(v) for k, v in zip(g, combo)}
                     for combo in itertools.product(*g.values())]
    return settings


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _describe(exc):
    return f"{type(exc).__name__}: {exc}"


def _column(values):
    kinds = {type(v) for v in values}
    if kinds <= {int, float} or kinds <= {bool} or kinds <= {str}:
        return np.array(values)
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def markdown_table(columns):
    """``{name: sequence}`` as a Markdown table, one row per index (floats
    to 4 significant digits, True as "yes", False, None and NaN blank)."""
    rows = zip(*columns.values())
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(map(_cell, row)) + " |" for row in rows])


def _cell(value):
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else ""
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else f"{value:.4g}"
    return "" if value is None else str(value)
