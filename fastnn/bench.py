"""The benchmark suite behind ``fastnn bench``: fastnn against its peers and the limit.

The fixed workload (keep it fixed so that reports stay comparable): a
784-128-10 ReLU network with softmax cross-entropy in float32 on
``X = rng.random((60000, 784), dtype=np.float32)``, ``y = rng.integers(0, 10,
60000)`` with ``rng = np.random.default_rng(0)``; SGD (eta = 0.01) and Adam
(eta = 1e-3); one epoch at B = 32 and B = 256, one full-batch step, and B = 1
on the first 6000 samples (scaled by 10 to an epoch).

Contenders run interleaved (A B C, B C A, ...) for several rounds from the
same initial weights; the report quotes medians and the median of the
per-round ratios against PyTorch (shared machines are noisy). ``run`` also
measures the limit (float32 GEMM rate, copy bandwidth), cold start and peak
memory in fresh processes, and the batch-size / width scaling, then writes
BENCHMARKS.md, benchmarks.png and benchmarks.json.
"""
import gc
import importlib
import importlib.metadata
import itertools
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Callable, NamedTuple
from pathlib import Path
from statistics import median

import numpy as np

from ._kernels import available_backends, get_backend
from ._kernels.codes import (
    ACT_RELU, HP_BETA1, HP_BETA2, HP_EPS, HP_LR, HP_SIZE, HP_TORCH, LOSS_SOFTMAX_CE, OPT_ADAM,
    OPT_SGD,
)
from ._kernels.epoch import n_steps
from ._kernels.layout import layer_views, work_size
from ._kernels.values import network, optimizer_state
from .datasets import mnist_like

N_SAMPLES, N_FEATURES, N_HIDDEN, N_CLASSES = 60000, 784, 128, 10
B1_SAMPLES = 6000
LEARNING_RATES = {"sgd": 0.01, "adam": 1e-3}
OPT_CODES = {"sgd": OPT_SGD, "adam": OPT_ADAM}
TORCH = "PyTorch eager"
TORCH_THREADS = 2
PREFERENCE = ("cython", "numba", "numpy")   # fastest first, for the scaling runs
# target name -> (case label, minimum speedup over PyTorch); full batch also
# has to be within FULL_BATCH_BOUND x of the GEMM bound.
TARGETS = {"B=1 SGD": ("SGD B=1", 20.0), "B=32 SGD": ("SGD B=32", 3.0),
           "B=32 Adam": ("Adam B=32", 3.0), "full batch SGD": ("SGD full", 1.0)}
FULL_BATCH_BOUND = 1.2


# --------------------------------------------------------------------------
# The workload
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One timed unit: the first ``n`` samples in steps of ``batch`` rows with
    optimizer ``opt``; seconds per epoch are the unit's seconds x n_epoch / n."""
    opt: str
    batch: int
    n: int
    n_epoch: int = N_SAMPLES
    hidden: int = N_HIDDEN

    @property
    def mode(self):
        return "full" if self.batch >= self.n else f"B={self.batch}"

    @property
    def label(self):
        return f"{'SGD' if self.opt == 'sgd' else 'Adam'} {self.mode}"

    @property
    def steps(self):
        return n_steps(self.n, self.batch)

    @property
    def sizes(self):
        return np.array([N_FEATURES, self.hidden, N_CLASSES], dtype=np.int64)


@dataclass
class Data:
    """Inputs X (N x 784, float32), labels y (int64) and their one-hot rows Y."""
    X: np.ndarray
    y: np.ndarray
    Y: np.ndarray


def workload(n_samples=N_SAMPLES):
    """The fixed workload (:func:`fastnn.datasets.mnist_like`; with fewer
    samples X is the first rows of the full X)."""
    return with_labels(*mnist_like(n_samples))


def with_labels(X, y):
    Y = np.zeros((len(y), N_CLASSES), dtype=X.dtype)
    Y[np.arange(len(y)), y] = 1
    return Data(X, y, Y)


def teacher_data(X, seed=2):
    """A learnable variant of the workload for loss curves (its labels are
    noise): inputs centred, x - 1/2, so that a per-sample SGD step is stable
    (eta ||x||^2 = 0.01 * 784/12 < 2, where uncentred inputs give 2.6), and
    labels y = argmax_j (x - 1/2) . t_j of a random linear teacher T."""
    Xc = X - np.float32(0.5)
    T = np.random.default_rng(seed).standard_normal((N_FEATURES, N_CLASSES), dtype=np.float32)
    return with_labels(Xc, np.argmax(Xc @ T, axis=1))


@dataclass(frozen=True)
class Plan:
    """How much to measure: samples of the workload, samples at B=1, rounds of
    the main cases and of the scaling runs, the step cap and grids of the
    scaling runs, and the training seconds per loss curve."""
    samples: int
    b1_samples: int
    rounds: int
    scaling_rounds: int
    scaling_steps: int
    batches: tuple
    widths: tuple
    loss_budget_s: float


FULL = Plan(N_SAMPLES, B1_SAMPLES, 5, 3, 2000, (1, 4, 16, 32, 64, 256, 1024, 4096, N_SAMPLES),
            (32, 64, 128, 256, 512, 1024), 3.0)
QUICK = Plan(3000, 200, 2, 1, 100, (1, 32, 256, N_SAMPLES), (32, 128, 512), 0.2)


def plan(quick=False):
    return QUICK if quick else FULL


def cases(p=FULL):
    """The eight timed cases: SGD and Adam x (B=1, B=32, B=256, full batch)."""
    return [Case(opt, min(batch, p.samples), p.b1_samples if batch == 1 else p.samples)
            for opt in ("sgd", "adam") for batch in (1, 32, 256, N_SAMPLES)]


def initial_params(hidden=N_HIDDEN, seed=1):
    """Flat float32 [W_1, b_1, W_2, b_2]: W ~ U(-r, r), r = sqrt(6 / (n_in + n_out)), b = 0."""
    sizes = [N_FEATURES, hidden, N_CLASSES]
    flat = np.zeros(sum(o * (i + 1) for i, o in zip(sizes[:-1], sizes[1:])), dtype=np.float32)
    rng = np.random.default_rng(seed)
    for W, _ in layer_views(flat, sizes):
        r = np.sqrt(6.0 / sum(W.shape))
        W[...] = rng.uniform(-r, r, W.shape)
    return flat


def unflatten(params, hidden):
    """Copies of (W_1, b_1, W_2, b_2) from the flat layout."""
    return [a.copy() for layer in layer_views(params, [N_FEATURES, hidden, N_CLASSES])
            for a in layer]


def flops_per_sample(hidden=N_HIDDEN):
    """GEMM FLOPs of one sample's forward and backward pass:
    forward 2*784*h + 2*h*10; backward dW_2 2*10*h, dh_1 2*10*h, dW_1 2*h*784
    (no input gradient for layer 1) = 4*784*h + 6*h*10."""
    return 4 * N_FEATURES * hidden + 6 * hidden * N_CLASSES


# --------------------------------------------------------------------------
# Contenders: prepare(case, data, params0) does the setup (untimed) and
# returns a Job whose run() trains the case from fresh state.
# --------------------------------------------------------------------------

class Job(NamedTuple):
    """``run()`` is what is timed; ``weights()`` gives the trained parameters in
    fastnn's flat layout [W_1, b_1, W_2, b_2] (to check contenders agree)."""
    run: Callable
    weights: Callable


@dataclass(frozen=True)
class Contender:
    name: str
    kind: str           # "fast path", "per step" or "peer"
    prepare: Callable   # (case, data, params0) -> Job


def flat(arrays):
    return np.concatenate([np.asarray(a, dtype=np.float32).ravel() for a in arrays])


def kernel_state(case, params0):
    """(params, grads, optimizer state) for the kernel contract: a copy of params0,
    Adam's moments m, v zeroed (SGD has no state) and PyTorch's Adam defaults."""
    params = params0.copy()
    empty = np.empty(0, params.dtype)
    adam = case.opt == "adam"
    s1, s2 = (np.zeros_like(params), np.zeros_like(params)) if adam else (empty, empty)
    hp = np.zeros(HP_SIZE)
    hp[HP_LR] = LEARNING_RATES[case.opt]
    hp[[HP_BETA1, HP_BETA2, HP_EPS, HP_TORCH]] = 0.9, 0.999, 1e-8, 1.0
    return params, np.zeros_like(params), optimizer_state(OPT_CODES[case.opt], s1, s2, hp)


def kernel_network(case, rows):
    """(network description, work buffer for ``rows`` rows) of the workload."""
    net = network(case.sizes, [ACT_RELU], 0.0, LOSS_SOFTMAX_CE)
    return net, np.empty(work_size(net, rows), np.float32)


def prepare_train_epoch(backend, case, data, params0):
    """The kernel fast path: one ``train_epoch`` call, no validation."""
    kernels = get_backend(backend)
    params, grads, state = kernel_state(case, params0)
    net, work = kernel_network(case, case.batch)
    run = partial(kernels.train_epoch, data.X, data.Y, np.empty(0, data.X.dtype),
                  np.arange(case.n, dtype=np.int64), case.batch, net, params, grads, state,
                  np.full(case.steps, LEARNING_RATES[case.opt]), np.empty(0),
                  np.empty(case.steps), work)
    return Job(run, params.copy)


def fastnn_net(case, params0, backend):
    import fastnn
    net = fastnn.MLP(case.sizes, activation="relu", output="softmax", dtype="float32",
                     random_state=0, backend=backend)
    net.params[...] = params0
    return net, fastnn.optim.get(case.opt, lr=LEARNING_RATES[case.opt], backend=backend)


def prepare_fit(backend, case, data, params0):
    """The public fast path: ``fastnn.fit`` for one epoch, samples in order."""
    import fastnn
    net, opt = fastnn_net(case, params0, backend)
    return Job(partial(fastnn.fit, net, data.X[:case.n], data.y[:case.n], optimizer=opt,
                       epochs=1, batch_size=case.batch, shuffle=False), net.params.copy)


def prepare_step_loop(backend, case, data, params0):
    """The per-step path: a Python loop of ``net.loss_and_grad`` + ``opt.step``."""
    net, opt = fastnn_net(case, params0, backend)
    X, y, B = data.X[:case.n], data.y[:case.n], case.batch

    def epoch():
        for s in range(0, case.n, B):
            _, grads = net.loss_and_grad(X[s:s + B], y[s:s + B])
            opt.step(net.params, grads)
    return Job(epoch, net.params.copy)


def prepare_torch(case, data, params0):
    """A plain nn.Sequential + torch.optim loop on 2 threads (eager mode)."""
    import torch
    torch.set_num_threads(TORCH_THREADS)
    model = torch.nn.Sequential(torch.nn.Linear(N_FEATURES, case.hidden), torch.nn.ReLU(),
                                torch.nn.Linear(case.hidden, N_CLASSES))
    with torch.no_grad():
        for p, a in zip(model.parameters(), unflatten(params0, case.hidden)):
            p.copy_(torch.from_numpy(a))
    make = torch.optim.SGD if case.opt == "sgd" else torch.optim.Adam
    opt = make(model.parameters(), lr=LEARNING_RATES[case.opt])
    loss_fn = torch.nn.CrossEntropyLoss()
    X, y, B = torch.from_numpy(data.X[:case.n]), torch.from_numpy(data.y[:case.n]), case.batch

    def epoch():
        for s in range(0, case.n, B):
            opt.zero_grad()
            loss_fn(model(X[s:s + B]), y[s:s + B]).backward()
            opt.step()
    return Job(epoch, lambda: flat(p.detach().numpy() for p in model.parameters()))


def prepare_sklearn(case, data, params0):
    """MLPClassifier.partial_fit: one epoch, same hyperparameters (no L2, no
    momentum, no shuffling), its layers initialised (untimed) to ours and its
    optimizer created afresh by the timed call."""
    from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(case.hidden,), solver=case.opt, alpha=0.0,
                        learning_rate_init=LEARNING_RATES[case.opt], batch_size=case.batch,
                        momentum=0.0, nesterovs_momentum=False, shuffle=False, random_state=0)
    X, y = data.X[:case.n], data.y[:case.n]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(X[:1], y[:1], classes=np.arange(N_CLASSES))
    W1, b1, W2, b2 = unflatten(params0, case.hidden)
    clf.coefs_, clf.intercepts_ = [W1.T.copy(), W2.T.copy()], [b1, b2]
    del clf._optimizer
    return Job(partial(clf.partial_fit, X, y),
               lambda: flat([clf.coefs_[0].T, clf.intercepts_[0], clf.coefs_[1].T,
                             clf.intercepts_[1]]))


def numpy_grads(params, x, y):
    """Backprop of the mean softmax cross-entropy through a_1 = x W_1^T + b_1,
    h = max(a_1, 0), a_2 = h W_2^T + b_2: d_2 = (softmax(a_2) - e_y) / B,
    d_1 = (d_2 W_2) [a_1 > 0]; returns [d_1^T x, sum d_1, d_2^T h, sum d_2]."""
    W1, b1, W2, b2 = params
    a1 = x @ W1.T + b1
    h = np.maximum(a1, 0)
    a2 = h @ W2.T + b2
    p = np.exp(a2 - a2.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    p /= np.float32(len(y))
    d1 = p @ W2
    d1 *= a1 > 0
    return [d1.T @ x, d1.sum(axis=0), p.T @ h, p.sum(axis=0)]


def numpy_sgd(lr):
    """SGD: w -= eta g."""
    def update(params, grads):
        for w, g in zip(params, grads):
            w -= np.float32(lr) * g
    return update


def numpy_adam(params, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam: m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
    w -= eta (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)."""
    m = [np.zeros_like(w) for w in params]
    v = [np.zeros_like(w) for w in params]
    steps = itertools.count(1)

    def update(params, grads):
        t = next(steps)
        c1, c2 = np.float32(1 - beta1 ** t), np.float32(1 - beta2 ** t)
        for w, g, mi, vi in zip(params, grads, m, v):
            mi *= np.float32(beta1)
            mi += np.float32(1 - beta1) * g
            vi *= np.float32(beta2)
            vi += np.float32(1 - beta2) * (g * g)
            w -= np.float32(lr) * (mi / c1) / (np.sqrt(vi / c2) + np.float32(eps))
    return update


def prepare_numpy(case, data, params0):
    """A hand-written NumPy training loop (what one writes without a framework)."""
    params = unflatten(params0, case.hidden)
    lr = LEARNING_RATES[case.opt]
    update = numpy_sgd(lr) if case.opt == "sgd" else numpy_adam(params, lr)
    X, y, B = data.X[:case.n], data.y[:case.n], case.batch

    def epoch():
        for s in range(0, case.n, B):
            update(params, numpy_grads(params, X[s:s + B], y[s:s + B]))
    return Job(epoch, lambda: flat(params))


PEERS = (("torch", Contender(TORCH, "peer", prepare_torch)),
         ("sklearn", Contender("scikit-learn MLPClassifier", "peer", prepare_sklearn)),
         ("numpy", Contender("NumPy loop", "peer", prepare_numpy)))


def contenders(backends=None, peers=True):
    """(contenders, notes): fastnn per backend (fit, train_epoch, step loop) and
    the installed peers; the notes say what was skipped and why."""
    found, notes = [], []
    for b in backend_names(backends, notes):
        found += [Contender(f"fastnn[{b}] fit", "fast path", partial(prepare_fit, b)),
                  Contender(f"fastnn[{b}] train_epoch", "fast path",
                            partial(prepare_train_epoch, b)),
                  Contender(f"fastnn[{b}] step loop", "per step", partial(prepare_step_loop, b))]
    for module, contender in PEERS if peers else ():
        if importable(module):
            found.append(contender)
        else:
            notes.append(f"{contender.name}: `import {module}` failed, not measured")
    if peers and not importable("jax"):
        notes.append("JAX (jit, lax.scan): not installed, not measured")
    return found, notes


def backend_names(backends, notes):
    """The requested backends that import here (all that do by default)."""
    here = available_backends()
    wanted = here if backends is None else tuple(backends)
    for b in wanted:
        if b not in here:
            notes.append(f"backend {b!r} is not available here, not measured")
    return [b for b in wanted if b in here]


def importable(module):
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------
# Timing: interleaved rounds
# --------------------------------------------------------------------------

def time_once(contender, case, data, params0):
    """Seconds of one run of ``case`` (setup untimed, garbage collected first)."""
    run = contender.prepare(case, data, params0).run
    gc.collect()
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def warm_case(case):
    """A few steps of the case: compiles and caches what the case needs."""
    batch = min(case.batch, 1024)
    return replace(case, batch=batch, n=min(case.n, max(4 * batch, 64)))


def time_case(contenders, case, data, rounds):
    """{"times": {name: [seconds per round]}, "failed": {name: error}}; round r
    runs the contenders in the order rotated by r. The heap that exists before
    is frozen meanwhile, so that the collection before each run is cheap."""
    params0 = initial_params(case.hidden)
    times, failed = {}, {}
    gc.collect()
    gc.freeze()
    try:
        for c in contenders:
            try:
                time_once(c, warm_case(case), data, params0)
                times[c.name] = []
            except Exception as exc:  # a contender's failure is reported, not fatal
                failed[c.name] = f"{type(exc).__name__}: {exc}"
        live = [c for c in contenders if c.name in times]
        for r in range(rounds):
            k = r % max(len(live), 1)
            for c in live[k:] + live[:k]:
                times[c.name].append(time_once(c, case, data, params0))
    finally:
        gc.unfreeze()
    return {**asdict(case), "label": case.label, "mode": case.mode, "steps": case.steps,
            "times": times, "failed": failed, "load": load_average()}


def epoch_seconds(result, name):
    """Median seconds of the runs scaled to an epoch: t * n_epoch / n."""
    return median(result["times"][name]) * result["n_epoch"] / result["n"]


def speedups(result, name, ref=TORCH):
    """Per-round t_ref / t_name (None without the reference)."""
    times = result["times"]
    if ref not in times or name not in times:
        return None
    return [r / t for r, t in zip(times[ref], times[name])]


# --------------------------------------------------------------------------
# The limit: GEMM rate, copy bandwidth, optimizer update
# --------------------------------------------------------------------------

def median_seconds(fn, repeats):
    """Median seconds of ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return median(times)


def gemm_steps(X, batch, steps, hidden=N_HIDDEN):
    """A callable doing the five GEMMs of ``steps`` training steps at ``batch``
    rows (a_1 = x W_1^T, a_2 = h W_2^T, dW_2 = d_2^T h, d_1 = d_2 W_2,
    dW_1 = d_1^T x) into preallocated outputs: what BLAS alone needs."""
    rng = np.random.default_rng(3)
    W1 = rng.random((hidden, N_FEATURES), dtype=np.float32)
    W2 = rng.random((N_CLASSES, hidden), dtype=np.float32)
    H, D1 = np.empty((batch, hidden), np.float32), np.empty((batch, hidden), np.float32)
    A2 = np.empty((batch, N_CLASSES), np.float32)
    dW1, dW2 = np.empty_like(W1), np.empty_like(W2)

    def epoch():
        for s in range(steps):
            x = X[s * batch:(s + 1) * batch]
            np.dot(x, W1.T, out=H)
            np.dot(H, W2.T, out=A2)
            np.dot(A2.T, H, out=dW2)
            np.dot(A2, W2, out=D1)
            np.dot(D1.T, x, out=dW1)
    return epoch


def gemm_step_seconds(X, batch, max_steps=200, repeats=5):
    """Median seconds per step of :func:`gemm_steps`."""
    steps = min(max_steps, len(X) // batch)
    return median_seconds(gemm_steps(X, batch, steps), repeats) / steps


def copy_rate(n_floats, repeats=20):
    """Memory-copy bandwidth in bytes/s (read + write = 2 * 4 * n bytes per copy)."""
    src = np.ones(n_floats, dtype=np.float32)
    dst = np.empty_like(src)
    return 8 * n_floats / median_seconds(partial(np.copyto, dst, src), repeats)


def update_seconds(kernels, opt, n_params, calls=200):
    """Seconds of one fused optimizer update of ``n_params`` float32 weights."""
    case = Case(opt, 1, 1)
    params, grads, state = kernel_state(case, np.ones(n_params, np.float32))
    grads[...] = 1e-3

    def many():
        for _ in range(calls):
            kernels.optimizer_step(state, params, grads)
    return median_seconds(many, 3) / calls


def measure_limit(data, update_backend):
    """GEMM rate at the full-batch shapes, the GEMM floor per batch size, the
    epoch's FLOPs and bound, copy bandwidth and the B=1 memory floor."""
    n = len(data.X)
    full = gemm_step_seconds(data.X, n) * N_SAMPLES / n
    flops = flops_per_sample() * N_SAMPLES
    n_params = len(initial_params())
    limit = {"flops_per_epoch": flops, "gemm_flops_per_s": flops / full, "bound_s": full,
             "gemm_floor_s": {f"B={b}": gemm_step_seconds(data.X, b) * n_steps(N_SAMPLES, b)
                              for b in (32, 256)},
             "n_params": n_params, "copy_model_bytes_per_s": copy_rate(n_params),
             "copy_dram_bytes_per_s": copy_rate(2 ** 24, 5)}
    limit["gemm_floor_s"]["full"] = full
    if update_backend is not None:
        kernels = get_backend(update_backend)
        limit["update_backend"] = update_backend
        limit["update_s"] = {opt: update_seconds(kernels, opt, n_params) for opt in OPT_CODES}
    return limit


# Bytes an update must move per step, in model-size copies (read + write of w;
# Adam also reads and writes m and v).
COPIES_PER_UPDATE = {"sgd": 1, "adam": 3}


def floor_s(limit, result):
    """A lower bound on an epoch of a timed case: its GEMMs at its shapes (the
    FLOP bound where those were not measured: B=1) plus, per update step, k
    model-size copies at the cache-resident copy bandwidth (k = 1 SGD, 3 Adam)."""
    copy_s = 8 * limit["n_params"] / limit["copy_model_bytes_per_s"]
    steps = result["steps"] * result["n_epoch"] / result["n"]
    gemm = limit["gemm_floor_s"].get(result["mode"], limit["bound_s"])
    return gemm + steps * COPIES_PER_UPDATE[result["opt"]] * copy_s


# --------------------------------------------------------------------------
# Fresh processes: cold start and peak memory
# --------------------------------------------------------------------------

COLD_START = """
import json, time
t0 = time.perf_counter()
import fastnn
t1 = time.perf_counter()
from sklearn.datasets import load_digits
X, y = load_digits(return_X_y=True)
X = (X / 16).astype("float32")
t2 = time.perf_counter()
net = fastnn.MLP([64, 128, 10], random_state=0, backend={backend!r})
fastnn.fit(net, X, y, optimizer=fastnn.optim.SGD(lr=0.01, backend={backend!r}), batch_size=32)
t3 = time.perf_counter()
fastnn.fit(net, X, y, optimizer=fastnn.optim.SGD(lr=0.01, backend={backend!r}), batch_size=32)
t4 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "first_fit_s": t3 - t2, "next_fit_s": t4 - t3}}))
"""


def child_env(**extra):
    """The environment for a fresh process that imports this fastnn."""
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def run_child(code, env):
    """(wall seconds, the JSON the child printed last) of ``python -c code``."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


def cold_start(backends, cold=True):
    """Per backend: a fresh process imports fastnn and fits one epoch of digits
    (B=32), first with an empty Numba cache, then with the cache it left
    (``cold=False``: once, with the user's own caches)."""
    rows = []
    for b in backends:
        code = COLD_START.format(backend=b)
        with tempfile.TemporaryDirectory() as cache:
            env = child_env(NUMBA_CACHE_DIR=cache) if cold else child_env()
            for state in ("cold", "warm") if cold else ("warm",):
                rows.append({"backend": b, "cache": state, **child_row(code, env)})
    return rows


def child_row(code, env):
    try:
        wall, out = run_child(code, env)
    except (RuntimeError, ValueError) as exc:
        return {"error": str(exc)}
    return {"process_s": wall, **out}


PEAK_MEMORY = """
from fastnn.bench import peak_memory_here
peak_memory_here({name!r}, {backends!r}, {n!r})
"""


def peak_memory_here(name, backends, n):
    """Print the memory of one SGD B=32 epoch of contender ``name`` on the
    first n samples, after a short warm-up run: the process's peak RSS (imports,
    data and all), and during the timed epoch the Python-heap peak
    (tracemalloc: sees NumPy buffers, not PyTorch's) and peak RSS minus RSS
    before it (Linux: the peak is reset through /proc/self/clear_refs)."""
    everyone = [c for _, c in PEERS] + contenders(backends, peers=False)[0]
    contender = next(c for c in everyone if c.name == name)
    case = Case("sgd", 32, n, n_epoch=n)
    data, params0 = workload(n), initial_params()
    contender.prepare(warm_case(case), data, params0).run()   # imports, compiles, caches
    run = contender.prepare(case, data, params0).run
    tracemalloc.start()
    peak_before = proc_status_kb("VmHWM")
    Path("/proc/self/clear_refs").write_text("5")     # peak RSS := RSS now
    before = proc_status_kb("VmRSS")
    run()
    peak = proc_status_kb("VmHWM")
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(json.dumps({"process_peak_bytes": 1024 * max(peak_before, peak),
                      "traced_bytes": traced, "rss_growth_bytes": 1024 * (peak - before)}))


def proc_status_kb(field):
    """A memory field of /proc/self/status (VmRSS, VmHWM: kB)."""
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE).group(1))


def peak_memory(names, backends, n):
    """One fresh process per contender (see :func:`peak_memory_here`)."""
    return [{"name": name, **child_row(PEAK_MEMORY.format(name=name, backends=backends, n=n),
                                       child_env())}
            for name in names]


# --------------------------------------------------------------------------
# Scaling: batch size, hidden width, loss reached per second
# --------------------------------------------------------------------------

def capped(case, max_steps):
    """The case on at most ``max_steps`` steps (seconds are scaled to an epoch)."""
    return replace(case, n=min(case.n, case.batch * max_steps))


def time_scaling(contenders, data, p):
    """SGD epoch seconds vs batch size (h = 128) and vs width (B = 32)."""
    n = len(data.X)
    by_batch = [Case("sgd", min(b, n), n) for b in p.batches]
    by_width = [Case("sgd", 32, n, hidden=h) for h in p.widths]
    return {name: [time_case(contenders, capped(c, p.scaling_steps), data, p.scaling_rounds)
                   for c in grid]
            for name, grid in (("batch", by_batch), ("width", by_width))}


def loss_curve(kernels, data, batch, budget, opt="sgd", eval_rows=2000):
    """[(training seconds, loss on the first eval_rows samples)] of ``opt``
    (the workload's eta) at batch size ``batch`` for ``budget`` seconds of training,
    in chunks of steps that double up to an epoch (log-spaced points); the
    evaluations are not timed."""
    n = len(data.X)
    case = Case(opt, batch, n)
    params, grads, state = kernel_state(case, initial_params())
    Xe, Ye = data.X[:eval_rows], data.Y[:eval_rows]
    net, work = kernel_network(case, max(eval_rows, batch))
    curve, spent, t, chunk = [], 0.0, 0, min(n, max(batch, 64))
    while True:
        curve.append((spent, kernels.loss_and_grad(Xe, Ye, np.empty(0, Xe.dtype), net, params,
                                                   np.empty_like(params), work)))
        if spent >= budget:
            return curve
        order = (t * batch + np.arange(chunk, dtype=np.int64)) % n
        steps = n_steps(chunk, batch)
        lrs, losses = np.full(steps, LEARNING_RATES[opt]), np.empty(steps)
        tick = time.perf_counter()
        kernels.train_epoch(data.X, data.Y, np.empty(0, data.X.dtype), order, batch, net, params,
                            grads, state, lrs, np.empty(0), losses, work)
        spent += time.perf_counter() - tick
        t += steps
        chunk = min(n, 2 * chunk)


def loss_curves(backend, X, budget):
    """Loss vs seconds of SGD and Adam per batch size on the teacher data (the
    notes' trade-off between batch, mini-batch and stochastic gradient descent)."""
    data = teacher_data(X)
    kernels = get_backend(backend)
    loss_curve(kernels, data, 32, 1e-9)          # one chunk: compiles before the clock runs
    cases = [Case(opt, b, len(X)) for opt in OPT_CODES for b in (1, 32, 256, len(X))]
    return {"backend": backend, "budget_s": budget,
            "curves": {c.label: loss_curve(kernels, data, c.batch, budget, c.opt) for c in cases}}


# --------------------------------------------------------------------------
# The machine
# --------------------------------------------------------------------------

def cpu():
    """(model name, the SIMD flags that matter here) from /proc/cpuinfo on Linux."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine(), []

    def field(key):
        return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith(key)), "")
    flags = field("flags").split()
    return field("model name"), [f for f in ("avx2", "fma", "avx512f") if f in flags]


def thread_pools():
    """BLAS and OpenMP libraries loaded in this process and their threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["threadpoolctl not installed"]
    pools = []
    for p in threadpool_info():
        arch = f" ({p['architecture']})" if p.get("architecture") else ""
        name = " ".join(filter(None, (p["prefix"], p.get("version"))))
        pools.append(f"{name}{arch}: {p['num_threads']} threads")
    return pools


def versions():
    """Installed versions (read from package metadata: nothing is imported)."""
    names = ("numpy", "scipy", "numba", "Cython", "scikit-learn", "torch", "jax",
             "threadpoolctl", "fastnn")
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    if found["fastnn"] == "not installed":
        found["fastnn"] = f"source tree {Path(__file__).resolve().parent.parent}"
    return found


def load_average():
    """The 1-minute load average (None where the OS has none)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def machine(load_at_start):
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    model, flags = cpu()
    return {"cpu": model, "cores": os.cpu_count(), "usable_cores": affinity,
            "load": [load_at_start, load_average()], "flags": flags, "platform": platform.platform(), "threads": thread_pools(),
            "versions": versions()}


def command(quick, out_dir, backends, peers):
    """The ``fastnn bench`` command line equivalent to ``run``'s arguments."""
    parts = ["fastnn bench"] + (["--quick"] if quick else [])
    parts += [f"--out {out_dir}"] if str(out_dir) != "." else []
    parts += ["--backends", *backends] if backends else []
    return " ".join(parts + ([] if peers else ["--no-peers"]))


# --------------------------------------------------------------------------
# The whole suite
# --------------------------------------------------------------------------

def say(message):
    print(f"[fastnn bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fastest(backends):
    """The fastest of ``backends`` by PREFERENCE (None when there is none)."""
    return next((b for b in PREFERENCE if b in backends), None)


def run(quick=False, out_dir=".", backends=None, peers=True):
    """Run the suite and write BENCHMARKS.md, benchmarks.png and benchmarks.json
    into ``out_dir``; returns the report (a JSON-able dict).

    ``quick`` runs the QUICK plan (3000 samples, B=1 on 200, fewer rounds;
    cold start with warm caches and peak memory for the fastest backend only)
    and finishes in under a minute on an idle machine; ``backends`` limits the fastnn backends (default: all that
    import); ``peers=False`` skips PyTorch & co."""
    started, p, load = time.perf_counter(), plan(quick), load_average()
    found, notes = contenders(backends, peers)
    names = backend_names(backends, [])
    best = fastest(names)
    say(f"workload ({p.samples} samples), {len(found)} contenders, {p.rounds} rounds")
    data = workload(p.samples)
    report = {"command": command(quick, out_dir, backends, peers), "quick": quick,
              "plan": asdict(p), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
              "contenders": [{"name": c.name, "kind": c.kind} for c in found], "notes": notes}
    say("limit: GEMM rate, copy bandwidth")
    report["limit"] = measure_limit(data, best)
    report["cases"] = []
    for case in cases(p):
        say(f"{case.label}: {case.steps} steps x {p.rounds} rounds")
        report["cases"].append(time_case(found, case, data, p.rounds))
    say("scaling: batch size and width")
    scalers = [c for c in found if c.name in (f"fastnn[{best}] fit", TORCH)]
    report["scaling"] = time_scaling(scalers, data, p)
    if best is not None:
        say("loss reached per second")
        report["loss_curves"] = loss_curves(best, data.X, p.loss_budget_s)
    say("cold start and peak memory in fresh processes")
    report["cold_start"] = cold_start([b for b in names if b == best or not quick],
                                      cold=not quick)
    memory_names = [c.name for c in found if c.name.endswith(" fit") or c.kind == "peer"]
    if quick:   # fresh processes are slow: the fastest backend and PyTorch only
        memory_names = [n for n in memory_names if n in (f"fastnn[{best}] fit", TORCH)]
    report["memory"] = peak_memory(memory_names, names, p.samples)
    report["machine"] = machine(load)   # last: lists every thread pool the run loaded
    report["elapsed_s"] = time.perf_counter() - started
    write(report, Path(out_dir))
    say(f"done in {report['elapsed_s']:.0f} s: {Path(out_dir) / 'BENCHMARKS.md'}")
    return report


def write(report, out_dir):
    """BENCHMARKS.md, benchmarks.png and benchmarks.json in ``out_dir``."""
    from .plotting.bench import plot_bench
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "benchmarks.json").write_text(json.dumps(report, indent=1))
    fig = plot_bench(report, out_dir / "benchmarks.png")
    import matplotlib.pyplot as plt
    plt.close(fig)
    (out_dir / "BENCHMARKS.md").write_text(render(report, "benchmarks.png"))


# --------------------------------------------------------------------------
# The report (Markdown)
# --------------------------------------------------------------------------

def fmt(x, digits=3):
    """``x`` to ``digits`` significant digits (fixed notation from 1e-3 to 1e6)."""
    if x is None:
        return "n/a"
    if x != 0 and not 1e-3 <= abs(x) < 1e6:
        return f"{x:.{digits - 1}e}"
    decimals = digits - 1 - int(np.floor(np.log10(abs(x)))) if x else 0
    return f"{x:.{max(decimals, 0)}f}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


def by_label(report, label):
    return next((c for c in report["cases"] if c["label"] == label), None)


def speedup_text(result, name):
    """'12.3x [11.9-13.0]': the median of the per-round ratios and their range."""
    ratios = speedups(result, name)
    if not ratios:
        return "n/a"
    lo, mid, hi = min(ratios), median(ratios), max(ratios)
    spread = f" [{fmt(lo)}-{fmt(hi)}]" if len(ratios) > 1 else ""
    return f"{fmt(mid)}x{spread}"


def verdict(value, need, unit="x", higher_is_better=True):
    """'met: 24.1x (needs >= 20x)' or '**missed** by 1.54x: 13.0x (needs >= 20x)'."""
    if value is None:
        return "n/a"
    ok = value >= need if higher_is_better else value <= need
    sign = ">=" if higher_is_better else "<="
    if ok:
        return f"met: {fmt(value)}{unit} (needs {sign} {fmt(need)}{unit})"
    short = need / value if higher_is_better else value / need
    return f"**missed** by {fmt(short)}x: {fmt(value)}{unit} (needs {sign} {fmt(need)}{unit})"


def target_table(report):
    """One row per target of issue 8, one column per fastnn fast path; the
    ceiling is the speed-up a run at the case's floor would have."""
    fast = [c["name"] for c in report["contenders"] if c["kind"] == "fast path"]
    rows = []
    for target, (label, need) in TARGETS.items():
        result = by_label(report, label)
        floor = floor_s(report["limit"], result)
        ceiling = epoch_seconds(result, TORCH) / floor if TORCH in result["times"] else None
        cells = [verdict(median(speedups(result, n)) if speedups(result, n) else None, need)
                 for n in fast]
        rows.append([f"{target} vs PyTorch", fmt(floor), fmt(ceiling), *cells])
    full = by_label(report, TARGETS["full batch SGD"][0])
    bound = report["limit"]["bound_s"]
    rows.append(["full batch SGD vs GEMM bound", fmt(bound), "-",
                 *[verdict(epoch_seconds(full, n) / bound if n in full["times"] else None,
                           FULL_BATCH_BOUND, unit="x bound", higher_is_better=False)
                   for n in fast]])
    return table(["target", "floor s/epoch", "ceiling vs PyTorch", *fast], rows)


def grid(report, cell):
    """Contenders x cases, each cell ``cell(result, name)``."""
    labels = [c["label"] for c in report["cases"]]
    names = [c["name"] for c in report["contenders"]]
    rows = [[n, *[cell(r, n) if n in r["times"] else "-" for r in report["cases"]]]
            for n in names]
    return table(["contender", *labels], rows)


def case_details(report, result):
    """A case's heading (samples, steps, floor) and its table of contenders."""
    bound = report["limit"]["bound_s"]
    rows = []
    for c in report["contenders"]:
        name = c["name"]
        if name not in result["times"]:
            continue
        t = median(result["times"][name])
        epoch = epoch_seconds(result, name)
        rows.append([name, c["kind"], fmt(t), fmt(epoch), fmt(result["steps"] / t),
                     fmt(1e6 * t / result["steps"]), speedup_text(result, name),
                     f"{fmt(100 * bound / epoch, 2)}%"])
    scale = result["n_epoch"] / result["n"]
    head = (f"### {result['label']}: {result['n']} samples, {result['steps']} steps"
            + (f" (epoch = x{fmt(scale)})" if scale != 1 else "")
            + f"; floor {fmt(floor_s(report['limit'], result))} s/epoch"
            + f"; load average after it {fmt(result['load'])}")
    header = ["contender", "kind", f"s ({result['n']} samples)", "s/epoch", "steps/s",
              "us/step", "speed-up vs PyTorch", "of GEMM bound"]
    return f"{head}\n\n{table(header, rows)}"


def limit_section(report):
    lim = report["limit"]
    gb = 1e9
    lines = [
        f"- One epoch is {fmt(lim['flops_per_epoch'] / gb, 4)} GFLOP of GEMM: per sample "
        f"forward 2*784*128 + 2*128*10, backward 2*10*128 (dW_2) + 2*10*128 (dh_1) + "
        f"2*128*784 (dW_1), no input gradient for layer 1.",
        f"- numpy float32 GEMM at the full-batch shapes: {fmt(lim['gemm_flops_per_s'] / gb)} "
        f"GFLOP/s, so the **GEMM bound is {fmt(lim['bound_s'])} s per epoch**.",
        "- GEMM floor at the mini-batch shapes (the five GEMMs of each step, nothing else): "
        + ", ".join(f"{m}: {fmt(s)} s/epoch" for m, s in lim["gemm_floor_s"].items()) + ".",
        f"- Copy bandwidth (read + write): model-size buffer ({lim['n_params']} float32, "
        f"{fmt(4 * lim['n_params'] / 1e3)} kB) {fmt(lim['copy_model_bytes_per_s'] / gb)} GB/s, "
        f"large buffer {fmt(lim['copy_dram_bytes_per_s'] / gb)} GB/s. An update moves at least "
        f"one model-size copy per SGD step (read and write w) and three per Adam step (w, m, v): "
        f"at B=1 this memory traffic, not arithmetic, is the limit.",
        "- Floor of each case, an estimate (GEMMs at its shapes + its updates' memory traffic "
        "at the copy bandwidth, itself noisy): "
        + ", ".join(f"{r['label']} {fmt(floor_s(lim, r))} s" for r in report["cases"]) + ".",
    ]
    if "update_s" in lim:
        copy_s = 8 * lim["n_params"] / lim["copy_model_bytes_per_s"]
        lines.append(
            f"- Fused optimizer update of the whole model ({lim['update_backend']} backend): "
            + ", ".join(f"{opt.upper() if opt == 'sgd' else 'Adam'} {fmt(1e6 * s)} us "
                        f"({fmt(s / (COPIES_PER_UPDATE[opt] * copy_s))}x its copy floor)"
                        for opt, s in lim["update_s"].items())
            + "; benchmarks/bench_optim.py sweeps every optimizer and size.")
    return "\n".join(lines)


def cold_start_section(report):
    rows = [[r["backend"], r["cache"], *(fmt(r.get(k)) for k in
                                         ("process_s", "import_s", "first_fit_s", "next_fit_s"))]
            if "error" not in r else [r["backend"], r["cache"], f"failed: {r['error']}", "", "", ""]
            for r in report["cold_start"]]
    return table(["backend", "Numba cache", "process s", "import s", "first fit s",
                  "second fit s"], rows)


def memory_section(report):
    rows = [[r["name"], f"failed: {r['error']}", "", ""] if "error" in r else
            [r["name"], *(fmt(r[k] / 1e6) for k in
                          ("process_peak_bytes", "traced_bytes", "rss_growth_bytes"))]
            for r in report["memory"]]
    return table(["contender", "process peak RSS MB", "fit: heap peak MB (tracemalloc)",
                  "fit: peak RSS growth MB"], rows)


def scaling_table(results, head, x_of, report):
    """One row per x: epoch seconds per contender, speed-ups over PyTorch and
    the GEMM bound (epoch FLOPs at that width / measured GEMM rate)."""
    names = list(dict.fromkeys(n for r in results for n in r["times"]))
    others = [n for n in names if n != TORCH] if TORCH in names else []
    rate = report["limit"]["gemm_flops_per_s"]
    rows = [[x_of(r), *[fmt(epoch_seconds(r, n)) if n in r["times"] else "-" for n in names],
             *[speedup_text(r, n) for n in others],
             fmt(flops_per_sample(r["hidden"]) * r["n_epoch"] / rate), fmt(r["load"])]
            for r in results]
    return table([head, *[f"{n} s/epoch" for n in names], *[f"{n} vs PyTorch" for n in others],
                  "GEMM bound s", "load average"], rows)


def loss_section(report):
    lc = report["loss_curves"]
    rows = []
    for mode, curve in lc["curves"].items():
        quarter = next(loss for t, loss in curve if t >= lc["budget_s"] / 4)
        rows.append([mode, fmt(curve[0][1]), fmt(quarter), fmt(curve[-1][1]),
                     fmt(curve[-1][0])])
    return (f"Training loss (on 2000 samples) vs training seconds, fastnn[{lc['backend']}] "
            f"train_epoch, on a learnable variant of the workload: inputs centred (x - 1/2), "
            f"labels of a random linear teacher (argmax_j (x - 1/2) . t_j):\n\n"
            + table(["case", "loss at 0 s", f"after {fmt(lc['budget_s'] / 4)} s",
                     f"after {fmt(lc['budget_s'])} s", "trained s"], rows))


WORKLOAD_TEXT = """\
784-128-10 MLP, ReLU, softmax cross-entropy, float32, on
`rng = np.random.default_rng(0); X = rng.random((60000, 784), dtype=np.float32);
y = rng.integers(0, 10, 60000)`; SGD eta = 0.01 and Adam eta = 1e-3; B=1 on the
first 6000 samples (x10 per epoch), B=32 and B=256 one epoch each, full batch one
step. Every contender starts from the same weights and visits the samples in order;
the contenders run interleaved (the order rotates every round) and the tables quote
medians; speed-ups are medians of per-round ratios t_PyTorch / t (range in brackets)."""


def contended(load, cores):
    """True when a 1-minute load average says other work competed for the
    cores (the suite alone keeps at most every core busy: a load up to ``cores``)."""
    return load is not None and load > cores + 0.5


def load_text(report):
    """The load average at the start and the end of the run and after each
    timed case, with a warning naming the cases that shared the CPU."""
    m = report["machine"]
    start, end = m["load"]
    if start is None:
        return "- Load average: not available on this OS"
    timed = report["cases"] + report["scaling"]["batch"] + report["scaling"]["width"]
    shared = [f"{r['label']} (h = {r['hidden']})" for r in timed if contended(r["load"], m["cores"])]
    text = (f"- Load average (1 min) at start {fmt(start)}, end {fmt(end)}, highest after a case "
            f"{fmt(max(r['load'] for r in timed))}, on {m['cores']} cores")
    if start > 0.5 * m["cores"] or contended(end, m["cores"]) or shared:
        text += (": **other processes competed for the CPU** (multi-threaded BLAS and OpenMP "
                 "then wait for their threads and timings become unreliable)"
                 + (f" during {', '.join(shared)}" if shared else ""))
    return text


def machine_section(report):
    m = report["machine"]
    torch_threads = any(c["name"] == TORCH for c in report["contenders"])
    return "\n".join([
        f"- CPU: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), "
        f"{' '.join(m['flags'])}; {m['platform']}",
        "- Thread pools: " + "; ".join(m["threads"])
        + (f"; PyTorch set to {TORCH_THREADS} threads" if torch_threads else ""),
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        load_text(report)])


def render(report, plot_name):
    """The BENCHMARKS.md text of ``report``."""
    p = report["plan"]
    quick = (f" (quick mode: {p['samples']} samples, B=1 on {p['b1_samples']}; not comparable "
             f"to a full run)") if report["quick"] else ""
    parts = [
        "# fastnn benchmarks",
        f"Command: `{report['command']}`{quick}  \nRun {report['date']}, took "
        f"{fmt(report['elapsed_s'])} s.",
        "## Machine", machine_section(report),
        "## Workload", WORKLOAD_TEXT,
        "## Targets (fastnn vs PyTorch eager)", target_table(report),
        "## Seconds per epoch", grid(report, lambda r, n: fmt(epoch_seconds(r, n))),
        "## Speed-up over PyTorch eager", grid(report, speedup_text),
        "## The limit", limit_section(report),
        "## Details per case", *[case_details(report, r) for r in report["cases"]],
        "## Scaling", f"![scaling]({plot_name})",
        "Epoch seconds (SGD) vs batch size, h = 128:",
        scaling_table(report["scaling"]["batch"], "batch", lambda r: r["mode"], report),
        "Epoch seconds (SGD, B=32) vs hidden width:",
        scaling_table(report["scaling"]["width"], "hidden width", lambda r: r["hidden"], report),
    ]
    if "loss_curves" in report:
        parts += ["### Loss reached per second", loss_section(report)]
    parts += ["## Cold start",
              "A fresh `python -c \"import fastnn; ...\"` fits one epoch (B=32) of scikit-learn's "
              "digits; cold = empty `NUMBA_CACHE_DIR`, warm = the cache the cold run left.",
              cold_start_section(report),
              "## Peak memory of a fit",
              f"SGD B=32, one epoch on {p['samples']} samples (X is "
              f"{fmt(p['samples'] * N_FEATURES * 4 / 1e6)} MB), a fresh process per contender "
              "after a warm-up run of a few steps: the process's peak, then what the timed "
              "epoch added.",
              memory_section(report)]
    timed = report["cases"] + report["scaling"]["batch"] + report["scaling"]["width"]
    failures = [f"{r['label']} (h = {r['hidden']}): {n} failed: {e}" for r in timed
                for n, e in r["failed"].items()]
    notes = report["notes"] + failures
    if notes:
        parts += ["## Notes", "\n".join(f"- {n}" for n in notes)]
    return "\n\n".join(parts) + "\n"
