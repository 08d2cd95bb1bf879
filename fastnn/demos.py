"""The notes' experiments behind ``fastnn demo NAME``: each prints its numbers,
writes its figure into ``out`` (a folder) and returns the paths written.

* ``boolean``: the 16 Boolean functions of two inputs and which are linearly
  separable; the exact count of separable functions for n = 1..5 inputs.
* ``perceptron``: the perceptron learning algorithm converging on linearly
  separable data and failing on XOR.
* ``optimizers``: GD, momentum, NAG, AdaGrad, RMSprop, AdaDelta, Adam, AdaMax,
  MaxProp and NAdam on the sigmoid neuron's error surface.
* ``schedules``: the learning-rate and momentum schedules of the notes.
* ``batch-sizes``: batch vs stochastic vs mini-batch gradient descent on the digits.
* ``approximation``: one hidden layer of sigmoid "towers" approximating a
  continuous function, the error falling as towers are added.
"""
import time
import warnings

from . import optim, schedules

# Learning rates with which each optimizer reaches the minimum of the
# two-point sigmoid-neuron problem from (w, b) = (-2, -2) in 300 steps.
SURFACE_OPTIMIZERS = {
    "GD": ("sgd", 1.0), "momentum": ("momentum", 1.0), "NAG": ("nag", 1.0),
    "AdaGrad": ("adagrad", 1.0), "RMSprop": ("rmsprop", 0.1), "AdaDelta": ("adadelta", 1.0),
    "Adam": ("adam", 0.1), "AdaMax": ("adamax", 0.1), "MaxProp": ("maxprop", 0.05),
    "NAdam": ("nadam", 0.1),
}
SURFACE_STEPS = 300


def boolean_demo(out):
    from . import boolean
    from .plotting import plot_boolean_functions

    print("the 16 Boolean functions of two inputs (rows (x1, x2) = 00, 10, 01, 11):")
    for j, table in enumerate(boolean.all_functions(2), start=1):
        separable = boolean.is_linearly_separable(table)
        print(f"  f_{j:<3}{''.join(map(str, table))}  "
              f"{'linearly separable' if separable else 'NOT linearly separable'}")
    print("linearly separable functions of n inputs (computed exactly):")
    for n in range(1, 6):
        print(f"  n = {n}: {boolean.count_linearly_separable(n)} of {2 ** 2 ** n}")
    return _save(plot_boolean_functions(), out / "boolean.png")


def perceptron_demo(out):
    from .datasets import boolean_function, linearly_separable
    from .perceptron import ConvergenceWarning, train_perceptron
    from .plotting import plot_perceptron
    from .plotting._figure import plt

    X, y = linearly_separable(40, margin=0.5, random_state=0)
    X_xor, y_xor = boolean_function("xor")
    separable = train_perceptron(X, y, max_epochs=100, random_state=0, record=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        xor = train_perceptron(X_xor, y_xor, max_epochs=30, random_state=0, record=True)
    for name, result in (("linearly separable blobs", separable), ("XOR", xor)):
        state = "converged" if result.converged else "did NOT converge"
        print(f"{name}: {state} after {result.epochs} epochs, {result.k} corrections")
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 5.2), layout="constrained")
    plot_perceptron(X, y, separable, ax=axes[0], title="linearly separable blobs")
    plot_perceptron(X_xor, y_xor, xor, ax=axes[1], title="XOR (not linearly separable)")
    return _save(fig, out / "perceptron.png")


def optimizers_demo(out):
    from .neurons import train_sigmoid_neuron
    from .plotting import plot_error_surface
    from .plotting.surfaces import DEFAULT_X, DEFAULT_Y

    start = (-2.0, -2.0)
    print(f"sigmoid neuron on x = {DEFAULT_X}, y = {DEFAULT_Y}, from (w, b) = {start}, "
          f"{SURFACE_STEPS} steps:")
    for label, opt in _surface_optimizers().items():
        path, losses = train_sigmoid_neuron(DEFAULT_X, DEFAULT_Y, opt, *start, SURFACE_STEPS)
        print(f"  {label:9} lr {opt.lr:<5g} L = {losses[-1]:.2e} at "
              f"(w, b) = ({path[-1, 0]:.3f}, {path[-1, 1]:.3f})")
    fig = plot_error_surface(optimizers=_surface_optimizers(), start=start, steps=SURFACE_STEPS)
    return _save(fig, out / "optimizers.png")


def _surface_optimizers():
    return {label: optim.get(name, lr=lr) for label, (name, lr) in SURFACE_OPTIMIZERS.items()}


def schedules_demo(out):
    from .plotting import plot_schedules

    shown = {
        "step decay (halve every 20)": schedules.StepDecay(0.1, every=20),
        "exponential e^(-kt)": schedules.ExponentialDecay(0.1, k=0.02),
        "1/t": schedules.InverseTimeDecay(0.1, k=0.05),
        "cyclical (triangular)": schedules.Cyclical(0.01, 0.1, step_size=15),
        "cosine, warm restarts": schedules.CosineRestarts(0.01, 0.1, T=20),
        "warm-up + SGDR": schedules.Warmup(schedules.CosineRestarts(0.01, 0.1, T=10, t_mult=2),
                                           steps=10),
        "momentum (Sutskever)": schedules.MomentumSchedule(0.99, every=10),
    }
    steps = 100
    print(f"{'schedule':30}" + "".join(f"{f't={t}':>9}" for t in (0, 10, 25, 50, 99)))
    for name, schedule in shown.items():
        print(f"{name:30}" + "".join(f"{schedule(t):9.4f}" for t in (0, 10, 25, 50, 99)))
    return _save(plot_schedules(shown, steps), out / "schedules.png")


def batch_sizes_demo(out, epochs=15):
    from .datasets import digits
    from .network import MLP
    from .plotting import plot_history
    from .training import fit

    data = digits(random_state=0)
    n = len(data.X_train)
    runs = {f"batch (B = {n})": (None, 0.5), "mini-batch (B = 32)": (32, 0.05),
            "stochastic (B = 1)": (1, 0.005)}
    histories = {}
    print(f"digits, 64-32-10 ReLU network, SGD, {epochs} epochs from the same weights:")
    for label, (batch_size, lr) in runs.items():
        net = MLP([64, 32, 10], random_state=0)
        start = time.perf_counter()
        history = fit(net, data.X_train, data.y_train, optim.SGD(lr=lr), epochs=epochs,
                      batch_size=batch_size, random_state=0,
                      validation_data=(data.X_val, data.y_val))
        seconds = time.perf_counter() - start
        histories[f"{label}, lr {lr:g}"] = history
        print(f"  {label:22} lr {lr:<6g} {history.steps:6d} updates  loss {history.loss[-1]:.4f}"
              f"  validation accuracy {history.val_accuracy[-1]:.3f}  {seconds:.2f} s")
    fig = plot_history(histories, log=True, title=f"Batch vs mini-batch vs stochastic GD\n"
                       f"digits, 64-32-10 ReLU network, SGD, {epochs} epochs")
    return _save(fig, out / "batch_sizes.png")


def _save(fig, path):
    """Write ``fig`` to ``path`` as the plotting functions do, free it, return [path]."""
    from .plotting._figure import finish, plt

    plt.close(finish(fig, path))
    return [path]


def approximation_demo(out, eps=0.5, learn_epochs=2000):
    """approximation.demo_target on [0, 2 pi]: the target, the tower network
    approximation.approximate builds for ``eps`` and its towers
    (``approximation.png``), and the error as towers are added
    (approximation.error_table, printed and written as ``approximation.md``)."""
    import math
    import pathlib

    from .approximation import approximate, demo_target, error_table
    from .plotting.approximation import plot_approximation
    from .tuning import markdown_table

    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    a, b, lipschitz = 0.0, 2 * math.pi, 1.9
    table = error_table(demo_target, a, b, lipschitz, learn_epochs=learn_epochs)
    net = approximate(demo_target, a, b, eps, lipschitz)
    png, md = out / "approximation.png", out / "approximation.md"
    plot_approximation(demo_target, net, a, b, table=table, path=png)
    md.write_text(markdown_table(table) + "\n")
    print(md.read_text())
    return [png, md]


DEMOS = {
    "boolean": boolean_demo,
    "perceptron": perceptron_demo,
    "optimizers": optimizers_demo,
    "schedules": schedules_demo,
    "batch-sizes": batch_sizes_demo,
    "approximation": approximation_demo,
}
