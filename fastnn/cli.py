"""The ``fastnn`` command: ``train``, ``info``, ``demo NAME``, ``bench``, ``tune``,
``export``.

Every failure is one line on stderr (``fastnn <command>: error: ...``) and a
non-zero exit code (2 for a bad command line, argparse's convention, also for
option values that the library refuses; 1 for a failed run; 130 for Ctrl-C);
``FASTNN_DEBUG=1`` shows the traceback instead.
"""
import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from . import activations, losses, optim, schedules
from ._kernels import BACKENDS

DEFAULT_OUT = "fastnn-out"


class UsageError(ValueError):
    """The command line asks for something the library refuses (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


class _Commands(argparse._SubParsersAction):
    """Subcommands whose ``--help`` starts with their one-line help unless
    they have a longer description."""

    def add_parser(self, name, **kwargs):
        kwargs.setdefault("description", kwargs.get("help"))
        return super().add_parser(name, **kwargs)


@contextlib.contextmanager
def _options():
    """Turn the library's refusal of an option value into a :class:`UsageError`."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None


def main(argv=None):
    """Run the command line ``argv`` (default: sys.argv[1:]); returns the exit code."""
    command = "fastnn"
    try:
        args = build_parser().parse_args(argv)
        command = f"fastnn {args.command}"
        return args.run(args) or 0
    except SystemExit as exc:                   # argparse: --help, --version, bad usage
        return exc.code
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:         # the reader went away (fastnn info | head -1)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        if os.environ.get("FASTNN_DEBUG"):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{command}: error: {message}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1


def build_parser():
    parser = _Parser(prog="fastnn", description="Fully-connected neural networks trained fast "
                     "on the CPU (the lecture notes' models, optimizers and schedules).")
    parser.add_argument("--version", action="version", version=f"fastnn {_version()}")
    parser.register("action", "commands", _Commands)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     action="commands")

    train = commands.add_parser("train", help="train an MLP and save it with its training curve",
                                description="Train an MLP; with no options: digits, one hidden "
                                "layer of 64 ReLU units, Adam, 30 epochs (a few seconds).")
    _data_options(train)
    _model_options(train)
    _optimizer_options(train)
    train.add_argument("--epochs", type=_count(1), default=30,
                       help="epochs (default: %(default)s)")
    train.add_argument("--schedule", choices=sorted(set(schedules.NAMES) - {"warmup"}),
                       help="learning-rate schedule (default: constant lr)")
    train.add_argument("--schedule-arg", action="append", default=[], metavar="KEY=VALUE",
                       help="argument of the schedule, e.g. lr_min=1e-4 (repeatable)")
    train.add_argument("--schedule-unit", choices=("step", "epoch"), default="step",
                       help="the schedule's t counts steps or epochs (default: %(default)s)")
    train.add_argument("--warmup", type=_count(1), metavar="STEPS",
                       help="linear warm-up over STEPS before the schedule")
    train.add_argument("--momentum-schedule", type=float, metavar="BETA_MAX",
                       help="the notes' momentum schedule up to BETA_MAX (Sutskever et al.)")
    train.add_argument("--patience", type=_count(1),
                       help="stop when the validation loss has not improved for this many "
                       "epochs (and keep the best weights)")
    train.add_argument("--out", default=DEFAULT_OUT,
                       help="folder for model.npz, history.png, metrics.json "
                       "(default: %(default)s)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(run=run_train)

    info = commands.add_parser("info", help="version, backends, BLAS and threads, caches")
    info.set_defaults(run=run_info)

    from .demos import DEMOS
    demo = commands.add_parser("demo", help="reproduce an experiment of the notes",
                               description="Reproduce an experiment of the lecture notes: "
                               "print its numbers and write its figure.")
    demo.add_argument("name", choices=sorted(DEMOS), metavar="NAME",
                      help=f"one of: {', '.join(sorted(DEMOS))}")
    demo.add_argument("--out", default=DEFAULT_OUT, help="folder for the figure "
                      "(default: %(default)s)")
    demo.set_defaults(run=run_demo)

    bench = commands.add_parser("bench", help="run the benchmark suite (fastnn.bench)")
    bench.add_argument("--cases", nargs="+", metavar="CASE", help="cases to run (default: all; "
                       "see fastnn.bench.workloads)")
    bench.add_argument("--threads", nargs="+", type=int, metavar="N",
                       help="thread counts (default: 1 2 and the core count; --quick: 1)")
    bench.add_argument("--quick", action="store_true", help="smaller runs, about a minute")
    bench.add_argument("--contenders", nargs="+", metavar="NAME", help="contenders to time "
                       "(default: all installed), e.g. 'fastnn[cython]' 'PyTorch eager'")
    bench.add_argument("--rounds", type=int, help="interleaved rounds (default: 5; --quick: 3)")
    bench.add_argument("--out", "--out-dir", dest="out", default=".", help="folder for BENCHMARKS.md, benchmarks.json "
                       "and docs/*.png (default: current folder)")
    bench.set_defaults(run=run_bench)

    tune = commands.add_parser("tune", help="learning-rate search on a log scale (fastnn.tuning)")
    _data_options(tune)
    _model_options(tune)
    tune.add_argument("--optimizer", choices=optim.NAMES, default="adam",
                      help="optimizer (default: %(default)s)")
    tune.add_argument("--lrs", type=_positive, nargs="+", help="learning rates to try "
                      "(default: 1e-5 ... 1, one per decade)")
    tune.add_argument("--epochs", type=_count(1), default=3,
                      help="epochs per trial (default: 3)")
    tune.add_argument("--no-refine", action="store_true", help="skip the finer search")
    tune.add_argument("--scheduler", metavar="ADDRESS",
                      help="run the trials on this Dask scheduler (default: local processes)")
    tune.add_argument("--out", default=DEFAULT_OUT, help="folder for lr_search.png and "
                      "tuning.json (default: %(default)s)")
    tune.set_defaults(run=run_tune)

    export = commands.add_parser("export", help="write a saved model as ONNX (fastnn.export)",
                                 description="Write a model saved by fastnn train (or "
                                 "MLP.save) as an ONNX file: standard operators, opset "
                                 "17, input 'X', output 'Y'.")
    export.add_argument("model", help="the model file, e.g. fastnn-out/model.npz")
    export.add_argument("out", nargs="?", help="the ONNX file to write "
                        "(default: MODEL with the suffix .onnx)")
    export.set_defaults(run=run_export)
    return parser


def _data_options(parser):
    from .datasets import NAMES
    parser.add_argument("--data", choices=NAMES, default="digits",
                        help="data set (default: %(default)s)")
    parser.add_argument("--n-samples", type=_count(1),
                        help="samples of a generated data set (default: 1000; mnist-like 60000)")
    parser.add_argument("--seed", type=_count(0), default=0,
                        help="seed of the data, the weights and the shuffling (default: 0)")


def _model_options(parser):
    parser.add_argument("--hidden", type=_count(1), nargs="*", default=[64], metavar="WIDTH",
                        help="hidden layer widths (default: 64; none: no hidden layer)")
    parser.add_argument("--activation", choices=sorted(activations.TRAINABLE), default="relu",
                        help="hidden activation (default: %(default)s)")
    parser.add_argument("--output", choices=losses.OUTPUTS, default="softmax",
                        help="output function: softmax (cross-entropy), sigmoid (binary "
                        "cross-entropy) or linear (squared error) on one-hot targets "
                        "(default: %(default)s)")
    parser.add_argument("--init", choices=("auto", "random", "xavier", "he"), default="auto",
                        help="weight initialisation (default: %(default)s)")
    parser.add_argument("--batch-size", type=_batch_size, default=32,
                        help="mini-batch size, 1 for stochastic, 'full' for batch gradient "
                        "descent (default: %(default)s)")
    parser.add_argument("--backend", choices=BACKENDS,
                        help="kernel backend (default: $FASTNN_BACKEND, else the fastest)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="floating-point type (default: %(default)s)")


def _optimizer_options(parser):
    parser.add_argument("--optimizer", choices=optim.NAMES, default="adam",
                        help="optimizer (default: %(default)s)")
    group = parser.add_argument_group("optimizer hyperparameters (default: the optimizer's)")
    group.add_argument("--lr", type=float, help="learning rate eta")
    group.add_argument("--beta", type=float,
                       help="beta of momentum, nag, rmsprop, adadelta, maxprop")
    group.add_argument("--beta1", type=float, help="beta1 of adam, adamax, nadam")
    group.add_argument("--beta2", type=float, help="beta2 of adam, adamax, nadam")
    group.add_argument("--eps", type=float, help="epsilon")
    group.add_argument("--weight-decay", type=float, help="L2 coefficient lambda")
    group.add_argument("--torch-compatible", action="store_true",
                       help="PyTorch's variant of the rule (adagrad, rmsprop, adamax, nadam)")


def _count(minimum):
    """An argparse type: an integer >= ``minimum``."""
    def count(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value
    return count


def _positive(text):
    """An argparse type: a finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _batch_size(text):
    if text == "full":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid batch size {text!r}: an integer >= 1 "
                                         f"or 'full'")
    return value


def _version():
    from . import __version__
    return __version__


# --------------------------------------------------------------------------
# fastnn train
# --------------------------------------------------------------------------

def run_train(args):
    from .callbacks import EarlyStopping
    from .plotting import plot_history
    from .training import fit

    with _options():
        data, net = _data_and_network(args)
        opt, schedule = _optimizer(args), _schedule(args)
        momentum_schedule = _momentum_schedule(args.momentum_schedule)
    targets = [_targets(net, y) for y in (data.y_train, data.y_val, data.y_test)]
    callbacks = [] if args.patience is None else [EarlyStopping(patience=args.patience)]
    print(f"{net} on {args.data}: {len(data.X_train)} training, {len(data.X_val)} validation, "
          f"{len(data.X_test)} test samples; {opt}")
    start = time.perf_counter()
    history = fit(net, data.X_train, targets[0], opt, epochs=args.epochs,
                  batch_size=args.batch_size, random_state=args.seed, schedule=schedule,
                  schedule_unit=args.schedule_unit, momentum_schedule=momentum_schedule,
                  validation_data=(data.X_val, targets[1]), callbacks=callbacks,
                  progress=not args.no_progress)
    seconds = time.perf_counter() - start
    print(f"trained {history.epochs} epochs ({history.steps} steps) in {seconds:.2f} s"
          + (" (interrupted)" if history.interrupted else ""))
    parts = {"train": (data.X_train, data.y_train, targets[0]),
             "validation": (data.X_val, data.y_val, targets[1]),
             "test": (data.X_test, data.y_test, targets[2])}
    metrics = {name: _metrics(net, *part) for name, part in parts.items()}
    print(f"{'':12}{'loss':>10}{'accuracy':>10}")
    for name, m in metrics.items():
        print(f"{name:12}{m['loss']:10.4f}{m['accuracy']:10.4f}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    net.save(out / "model.npz")
    plot_history(history, path=out / "history.png",
                 title=f"fastnn train on {args.data}: {'-'.join(map(str, net.sizes))} "
                 f"{args.activation} network, {opt.name}, batch size {args.batch_size or 'full'}")
    (out / "metrics.json").write_text(json.dumps(
        {"command": vars(args) | {"run": None}, "seconds": seconds, "metrics": metrics,
         "history": history.as_dict()}, indent=1, default=str))
    print(f"wrote {out / 'model.npz'}, {out / 'history.png'}, {out / 'metrics.json'}")


def _data_and_network(args):
    """The data set's Split and a fresh MLP sized for it."""
    from .datasets import load
    from .network import MLP

    data = load(args.data, n_samples=args.n_samples, random_state=args.seed, dtype=args.dtype)
    n_classes = int(max(data.y_train.max(), data.y_val.max(), data.y_test.max())) + 1
    net = MLP([data.X_train.shape[1], *args.hidden, n_classes], activation=args.activation,
              output=args.output, init=args.init, dtype=args.dtype, random_state=args.seed,
              backend=args.backend)
    return data, net


def _targets(net, labels):
    """Labels for a softmax output; one-hot rows for sigmoid and linear outputs."""
    if net.output == "softmax":
        return labels
    return np.eye(net.n_outputs, dtype=net.dtype)[labels]


def _metrics(net, X, labels, targets):
    loss = net.loss_value(net.check_X(X), net.targets(targets, len(X)))
    accuracy = float(np.mean(net.forward(X).argmax(axis=1) == labels))
    return {"loss": float(loss), "accuracy": accuracy}


def _optimizer(args):
    """The optimizer of ``--optimizer`` with the hyperparameters given on the command line."""
    hyper = {"lr": args.lr, "beta": args.beta, "beta1": args.beta1, "beta2": args.beta2,
             "eps": args.eps, "weight_decay": args.weight_decay,
             "torch_compatible": args.torch_compatible or None}
    hyper = {key: value for key, value in hyper.items() if value is not None}
    accepted = type(optim.get(args.optimizer)).hyperparameters
    for key in hyper:
        if key not in accepted:
            raise ValueError(f"--{key.replace('_', '-')} does not apply to {args.optimizer} "
                             f"(its hyperparameters: {', '.join(accepted)})")
    return optim.get(args.optimizer, backend=args.backend, **hyper)


def _schedule(args):
    """The schedule of ``--schedule`` / ``--schedule-arg`` / ``--warmup``, or None."""
    if args.schedule is None:
        if args.schedule_arg:
            raise ValueError("--schedule-arg needs --schedule")
        if args.warmup is not None:
            raise ValueError("--warmup needs --schedule (the schedule after the warm-up)")
        return None
    kwargs = dict(_key_value(text) for text in args.schedule_arg)
    try:
        schedule = schedules.get(args.schedule, **kwargs)
    except TypeError as exc:
        raise ValueError(f"--schedule {args.schedule}: {exc}") from None
    return schedule if args.warmup is None else schedules.Warmup(schedule, args.warmup)


def _key_value(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--schedule-arg {text!r} must look like KEY=VALUE")
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    raise ValueError(f"--schedule-arg {text!r}: {value!r} is not a number")


def _momentum_schedule(beta_max):
    return None if beta_max is None else schedules.MomentumSchedule(beta_max)


# --------------------------------------------------------------------------
# fastnn info, demo, bench, tune
# --------------------------------------------------------------------------

def run_info(args):
    import numba
    import threadpoolctl

    import fastnn
    from ._kernels import available_backends, resolve_backend_name

    print(f"fastnn {fastnn.__version__} (Python {sys.version.split()[0]}, NumPy "
          f"{np.__version__}, Numba {numba.__version__})")
    print(f"backends: {', '.join(available_backends())}; default: {resolve_backend_name()}"
          + (f" (FASTNN_BACKEND={os.environ['FASTNN_BACKEND']})"
             if os.environ.get("FASTNN_BACKEND") else ""))
    for pool in threadpoolctl.threadpool_info():
        print(f"{pool['user_api']}: {pool['internal_api']} {pool.get('version') or ''}, "
              f"{pool['num_threads']} threads ({pool['filepath']})")
    print(f"CPU cores: {os.cpu_count()}")
    print(f"Numba cache: {_numba_cache_dir()}")


def _numba_cache_dir():
    """Where Numba keeps the compiled kernels: $NUMBA_CACHE_DIR, else the
    __pycache__ folder beside the backend's sources."""
    import numba

    if numba.config.CACHE_DIR:
        return numba.config.CACHE_DIR
    from importlib.util import find_spec
    source = Path(find_spec("fastnn._kernels.numba").origin).parent
    return str(source / "__pycache__")


def run_demo(args):
    from .demos import DEMOS

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in DEMOS[args.name](out):
        print(f"wrote {path}")


def run_bench(args):
    from . import bench
    from .plotting.bench import write_figures

    report = bench.run(cases=args.cases, threads=args.threads, quick=args.quick,
                       out_dir=args.out, contenders=args.contenders, rounds=args.rounds)
    for path in write_figures(report, Path(args.out)):
        print(f"wrote {path}")


def run_tune(args):
    from . import tuning
    from .plotting import plot_lr_search

    with _options():
        data, net = _data_and_network(args)
    spec = {"layer_sizes": net.sizes.tolist(), "activation": args.activation,
            "output": args.output, "init": args.init, "dtype": args.dtype,
            "backend": args.backend, "random_state": args.seed}
    executor = None
    if args.scheduler:
        from dask.distributed import Client
        executor = Client(args.scheduler).get_executor()
    result = tuning.lr_search(spec, data.X_train, _targets(net, data.y_train),
                              optimizer=args.optimizer, lrs=args.lrs, epochs=args.epochs,
                              refine=not args.no_refine, executor=executor,
                              random_state=args.seed, batch_size=args.batch_size,
                              validation_data=(data.X_val, _targets(net, data.y_val)))
    print(result)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot_lr_search(result, path=out / "lr_search.png",
                   title=f"learning-rate search on {args.data}: {args.optimizer}, "
                   f"{args.epochs} epochs per trial")
    (out / "tuning.json").write_text(json.dumps(result.to_dict(), indent=1, default=str))
    print(f"wrote {out / 'lr_search.png'}, {out / 'tuning.json'}")


def run_export(args):
    from .export import ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT, to_onnx
    from .network import MLP

    net = MLP.load(args.model)
    out = Path(args.out) if args.out else Path(args.model).with_suffix(".onnx")
    to_onnx(net, out)
    print(f"wrote {out}: ONNX opset {ONNX_OPSET}, input {ONNX_INPUT!r} (N, {net.sizes[0]}) "
          f"{net.dtype.name}, output {ONNX_OUTPUT!r} (N, {net.n_outputs}) = {net.output} "
          f"outputs of {net}")


if __name__ == "__main__":
    sys.exit(main())
