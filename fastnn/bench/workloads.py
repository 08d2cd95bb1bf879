"""The named workloads of ``fastnn bench``: network, data, batch size, optimizer
and the unit of one timed run, once for the full matrix and once for --quick.

One timed run trains ``epochs`` epochs over the first ``n`` rows of the data in
consecutive batches of ``batch`` rows (no shuffling, n a multiple of batch, so
that every contender sees the same batches and JAX can stage them). A case
with ``target`` is a race: its run is one epoch, repeated (up to ``epochs``
times) until the test accuracy reaches ``target``.
"""
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from .. import datasets

SEED = 1            # initial weights of every contender: fastnn.MLP(random_state=SEED)


@dataclass(frozen=True)
class Case:
    """One workload. ``sizes`` are the layer widths n_0 .. n_L, ``activation``
    the hidden units' g, ``output`` the output function (its loss follows the
    notes' table: softmax -> cross-entropy, sigmoid -> binary cross-entropy,
    linear -> squared error)."""
    name: str
    sizes: tuple
    activation: str
    output: str
    data: str
    n: int
    batch: int
    epochs: int
    optimizer: str
    lr: float
    target: float = None
    check_steps: int = None

    def checked(self):
        """The run whose final weights are cross-checked: the case's own run,
        or its first ``check_steps`` steps where float32 rounding is amplified
        into a different trajectory within the run (see ``wide``)."""
        if self.check_steps is None:
            return self
        return replace(self, n=self.check_steps * self.batch, epochs=1, target=None,
                       check_steps=None)

    @property
    def steps(self):
        """Optimizer steps of one timed run (one epoch for a race)."""
        return (1 if self.target else self.epochs) * self.n // self.batch

    @property
    def is_race(self):
        return self.target is not None

    def describe(self):
        """'784-128-10 relu/softmax, mnist-like, B=32 x 200 steps, sgd lr=0.01'."""
        shape = "-".join(map(str, self.sizes))
        unit = (f"until test accuracy {self.target:.0%} (at most {self.epochs} epochs of "
                f"{self.n // self.batch} steps)" if self.is_race else
                f"{self.epochs} epoch{'s' * (self.epochs > 1)} of {self.n} rows = "
                f"{self.steps} steps")
        return (f"{shape} {self.activation}/{self.output}, {self.data}, B={self.batch}, "
                f"{self.optimizer} lr={self.lr:g}; one run: {unit}")


def _mnist(opt, batch, n):
    lr = {"sgd": 0.01, "adam": 1e-3}[opt]
    label = "full" if batch == n else f"b{batch}"
    return Case(f"mnist-{opt}-{label}", (784, 128, 10), "relu", "softmax", "mnist-like", n,
                batch, 1, opt, lr)


def _tiny(activation, epochs):
    return Case(f"tiny-{activation}", (4, 32, 16, 4), activation, "linear", "tiny", 10000,
                10000, epochs, "adam", 3e-4)


FULL = {c.name: c for c in [
    _tiny("tanh", 20), _tiny("sigmoid", 20), _tiny("relu", 20),
    Case("xor", (2, 4, 1), "sigmoid", "sigmoid", "xor", 4, 4, 10000, "sgd", 0.5),
    Case("digits", (64, 128, 10), "relu", "softmax", "digits", 1152, 32, 10, "adam", 1e-3),
    *[_mnist(opt, b, n) for opt in ("sgd", "adam")
      for b, n in ((1, 2000), (32, 6400), (256, 12800), (60000, 60000))],
    # Its trajectory is chaotic in float32: Adam's first step moves all 1.8M weights by
    # +-eta, flipping ReLU patterns, and a weight whose gradient is at rounding level moves
    # by +-eta either way. In float64 alone, initial weights perturbed by 6e-8 (relative)
    # end 0.005-0.05 apart after 20 steps (by the draw), float32 ends 0.046 from float64,
    # any two float32 runs (backends, BLAS thread counts, peers) 0.05-0.09 apart. Two
    # steps agree to ~3e-3 (JAX), ~5e-5 (PyTorch): the cross-check runs those.
    Case("wide", (784, 1024, 1024, 10), "relu", "softmax", "mnist-like", 2560, 128, 1, "adam",
         1e-3, check_steps=2),
    Case("mnist5k", (784, 128, 10), "relu", "softmax", "mnist5k", 3232, 32, 20, "adam", 1e-3,
         target=0.93),
]}

QUICK = {c.name: c for c in [
    replace(FULL["tiny-tanh"], epochs=5),
    replace(FULL["xor"], epochs=1000),
    replace(FULL["digits"], epochs=2),
    replace(FULL["mnist-sgd-b32"], n=1600),
    replace(FULL["mnist-adam-b1"], n=200),
    replace(FULL["mnist5k"], epochs=3, target=0.91),
]}


def cases(names=None, quick=False):
    """The cases called ``names`` (default: all) of the full or quick matrix."""
    table = QUICK if quick else FULL
    if names is None:
        return list(table.values())
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"unknown case {', '.join(unknown)}; valid: {', '.join(table)}")
    return [table[n] for n in names]


@dataclass(frozen=True)
class Data:
    """Training inputs X (N x n_0, float32) and targets T (N x n_L: one-hot rows
    for softmax, 0/1 for sigmoid, values for linear); test rows for races."""
    X: np.ndarray
    T: np.ndarray
    X_test: np.ndarray = None
    y_test: np.ndarray = None

    @property
    def labels(self):
        """Class labels of the training rows (classification outputs only)."""
        return self.T.argmax(axis=1) if self.T.shape[1] > 1 else self.T[:, 0].astype(np.int64)


def one_hot(y, k):
    T = np.zeros((len(y), k), dtype=np.float32)
    T[np.arange(len(y)), y] = 1
    return T


def tiny_data(n=10000, seed=0):
    """The SimpleChains.jl benchmark's task: x in R^4 read as a 2x2 matrix A,
    target vec(exp(A)) (the matrix exponential), x ~ U(-1, 1)."""
    X = np.random.default_rng(seed).uniform(-1, 1, (n, 4)).astype(np.float32)
    return Data(X, expm2(X.reshape(-1, 2, 2)).reshape(-1, 4).astype(np.float32))


def expm2(A):
    """exp(A) of a stack of 2x2 matrices in closed form (float64): with
    A = tau I + M, tau = tr(A) / 2, M^2 = delta I where delta = -det(M), so
    exp(A) = e^tau (c I + s M) with c = cosh(sqrt(delta)), s = sinh(sqrt(delta))
    / sqrt(delta) (cos and sin of sqrt(-delta) when delta < 0). scipy's expm
    takes seconds on 10,000 float32 matrices."""
    A = np.asarray(A, dtype=np.float64)
    tau = (A[:, 0, 0] + A[:, 1, 1]) / 2
    M = A - tau[:, None, None] * np.eye(2)
    delta = -(M[:, 0, 0] * M[:, 1, 1] - M[:, 0, 1] * M[:, 1, 0])
    r = np.sqrt(np.abs(delta))
    c = np.where(delta >= 0, np.cosh(r), np.cos(r))
    s = np.where(delta >= 0, np.sinh(r), np.sin(r)) / np.where(r > 0, r, 1.0)
    s = np.where(r > 0, s, 1.0)
    return np.exp(tau)[:, None, None] * (c[:, None, None] * np.eye(2) + s[:, None, None] * M)


@lru_cache(maxsize=2)
def load(case):
    """The data of ``case`` (its first ``n`` training rows), built from seeds
    or shipped files; never downloaded."""
    if case.data == "tiny":
        return tiny_data(case.n)
    if case.data == "xor":
        X, y = datasets.boolean_function("xor", dtype="float32")
        return Data(X, y[:, None].astype(np.float32))
    if case.data == "mnist-like":
        X, y = datasets.mnist_like(case.n)
        return Data(X, one_hot(y, 10))
    split = {"digits": datasets.digits, "mnist5k": datasets.mnist5k}[case.data]()
    X, y = split.X_train[:case.n], split.y_train[:case.n]
    return Data(np.ascontiguousarray(X), one_hot(y, case.sizes[-1]), split.X_test, split.y_test)


def save(data, path):
    """``data`` as one .npz file (the parent loads a case once, its workers read it)."""
    np.savez(path, **{k: v for k, v in data.__dict__.items() if v is not None})


def read(path):
    with np.load(path) as f:
        return Data(**{k: f[k] for k in f.files})


def prefix(data, case):
    """``data`` cut to ``case``'s first ``n`` rows (a case's checked run)."""
    return Data(data.X[:case.n], data.T[:case.n], data.X_test, data.y_test)


def initial_weights(case):
    """[(W_k, b_k)] of fastnn.MLP(case's network, random_state=SEED): W_k is
    n_k x n_(k-1) as in a_k = b_k + W_k h_(k-1). Every contender starts here."""
    from ..network import MLP

    net = MLP(list(case.sizes), activation=case.activation, output=case.output,
              dtype="float32", random_state=SEED, backend="numpy")
    return [(layer.W.copy(), layer.b.copy()) for layer in net.layers]


def flat(pairs):
    """[(W, b)] as one vector, layer by layer."""
    return np.concatenate([a.ravel() for pair in pairs for a in pair])


def disagreement(w, w_ref, w0):
    """||w - w_ref|| / ||w_ref - w_0||: how far two runs from w_0 ended apart,
    relative to how far training moved the weights."""
    return float(np.linalg.norm(w - w_ref) / np.linalg.norm(w_ref - w0))


def gemm_shapes(case):
    """The (m, k, n) of every GEMM of one training step, m x k times k x n:
    per layer the forward a = h W^T (B, n_in, n_out), the weight gradient
    dW = d^T h (n_out, B, n_in) and, except for the first layer, the input
    gradient d W (B, n_out, n_in)."""
    B = case.batch
    shapes = []
    for k, (n_in, n_out) in enumerate(zip(case.sizes[:-1], case.sizes[1:])):
        shapes += [(B, n_in, n_out), (n_out, B, n_in)] + ([(B, n_out, n_in)] if k else [])
    return shapes


def flops_per_step(case):
    return sum(2 * m * k * n for m, k, n in gemm_shapes(case))


def n_params(case):
    return sum(o * (i + 1) for i, o in zip(case.sizes[:-1], case.sizes[1:]))


# Bytes per parameter one optimizer step must move: SGD reads w, g and writes
# w; Adam reads w, g, m, v and writes w, m, v (float32).
UPDATE_BYTES = {"sgd": 3 * 4, "adam": 7 * 4}
