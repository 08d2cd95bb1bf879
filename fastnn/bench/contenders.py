"""The contenders: fastnn on each backend and its peers (PyTorch eager and with
fused Adam, JAX with a jitted step and with a whole run in one ``lax.scan``,
scikit-learn, and a training loop written by hand in NumPy).

Each one builds the case's network from the same initial weights
(:func:`workloads.initial_weights`), the same loss (the notes' table, mean
over the batch), the same optimizer rule (SGD ``w -= eta g``; Adam as in the
paper's Algorithm 1, eps added to the bias-corrected root) and visits the
same consecutive batches. A job has ``reset()`` (back to the initial weights
and a fresh optimizer state; untimed), ``run()`` (one timed run: the case's
epochs), ``weights()`` ([(W, b)] now, for the cross-check) and
``predict(X)`` (class labels, for the races).
"""
import importlib.util
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Contender:
    name: str
    kind: str                   # "fastnn" or "peer"
    needs: str                  # the module it imports
    make: Callable              # (case, data, init, threads) -> job
    applies: Callable = lambda case: True
    eps_hat: bool = False       # its Adam adds eps in the "epsilon-hat" form

    def available(self):
        return importlib.util.find_spec(self.needs) is not None


# --------------------------------------------------------------------------
# fastnn, through its public API
# --------------------------------------------------------------------------

class Fastnn:
    """``fastnn.fit`` on one backend: one call per timed run."""

    def __init__(self, backend, case, data, init, threads):
        import fastnn
        self.fn, self.backend, self.case, self.data, self.init = fastnn, backend, case, data, init
        self.net = fastnn.MLP(list(case.sizes), activation=case.activation, output=case.output,
                              dtype="float32", backend=backend)
        self.reset()

    def reset(self):
        for layer, (W, b) in zip(self.net.layers, self.init):
            layer.W[...], layer.b[...] = W, b
        self.opt = self.fn.optim.get(self.case.optimizer, lr=self.case.lr, backend=self.backend)

    def run(self):
        epochs = 1 if self.case.is_race else self.case.epochs
        self.fn.fit(self.net, self.data.X, self.data.T, optimizer=self.opt, epochs=epochs,
                    batch_size=self.case.batch, shuffle=False)

    def weights(self):
        return [(layer.W.copy(), layer.b.copy()) for layer in self.net.layers]

    def predict(self, X):
        return self.net.predict(X)


# --------------------------------------------------------------------------
# PyTorch
# --------------------------------------------------------------------------

class Torch:
    """nn.Sequential + torch.optim in eager mode; ``fused`` Adam when asked."""

    def __init__(self, case, data, init, threads, fused=False):
        import torch
        torch.set_num_threads(threads)
        self.torch, self.case, self.init, self.fused = torch, case, init, fused
        act = {"tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU}
        layers = []
        for k, (W, _) in enumerate(init):
            layers += [torch.nn.Linear(W.shape[1], W.shape[0])]
            layers += [act[case.activation]()] if k < len(init) - 1 else []
        self.model = torch.nn.Sequential(*layers)
        self.loss = torch_loss(torch, case.output)
        B = case.batch
        X, T = torch.from_numpy(data.X), torch.from_numpy(data.T)
        self.batches = [(X[s:s + B], T[s:s + B]) for s in range(0, case.n, B)]
        self.reset()

    def reset(self):
        with self.torch.no_grad():
            for layer, (W, b) in zip(self.model[::2], self.init):
                layer.weight.copy_(self.torch.from_numpy(W))
                layer.bias.copy_(self.torch.from_numpy(b))
        params, lr = self.model.parameters(), self.case.lr
        if self.case.optimizer == "sgd":
            self.opt = self.torch.optim.SGD(params, lr=lr)
        else:
            self.opt = self.torch.optim.Adam(params, lr=lr, eps=1e-8, fused=self.fused or None)

    def run(self):
        for _ in range(1 if self.case.is_race else self.case.epochs):
            for x, t in self.batches:
                self.opt.zero_grad()
                self.loss(self.model(x), t).backward()
                self.opt.step()

    def weights(self):
        return [(layer.weight.detach().numpy().copy(), layer.bias.detach().numpy().copy())
                for layer in self.model[::2]]

    def predict(self, X):
        with self.torch.no_grad():
            return self.model(self.torch.from_numpy(X)).argmax(dim=1).numpy()


def torch_loss(torch, output):
    """The notes' loss of the logits a, mean over the batch's rows."""
    F = torch.nn.functional
    if output == "softmax":
        return lambda a, t: -(t * F.log_softmax(a, dim=1)).sum(dim=1).mean()
    if output == "sigmoid":
        return lambda a, t: (F.softplus(a) - t * a).sum(dim=1).mean()
    return lambda a, t: ((a - t) ** 2).sum(dim=1).mean()


# --------------------------------------------------------------------------
# JAX (optax for the optimizers)
# --------------------------------------------------------------------------

class Jax:
    """A jitted training step (``scan=False``: called from Python once per
    batch) or the whole run inside one jitted ``lax.scan`` over batches staged
    on the device beforehand (``scan=True``)."""

    def __init__(self, case, data, init, threads, scan=False):
        import jax
        import jax.numpy as jnp
        import optax
        use_compile_cache(jax)
        self.jax, self.case, self.init = jax, case, init
        act = {"tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu}[case.activation]
        loss_of = jax_loss(jax, case.output)

        def forward(params, x):
            for W, b in params[:-1]:
                x = act(x @ W.T + b)
            W, b = params[-1]
            return x @ W.T + b

        self.optimizer = (optax.sgd(case.lr) if case.optimizer == "sgd" else
                          optax.adam(case.lr, b1=0.9, b2=0.999, eps=1e-8))

        def step(carry, batch):
            params, state = carry
            x, t = batch
            grads = jax.grad(lambda p: loss_of(forward(p, x), t))(params)
            updates, state = self.optimizer.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), None

        steps, B = case.n // case.batch, case.batch
        xb = jnp.asarray(data.X.reshape(steps, B, -1))
        tb = jnp.asarray(data.T.reshape(steps, B, -1))
        epochs = 1 if case.is_race else case.epochs
        if scan:
            def whole_run(carry):
                def epoch(c, _):
                    return jax.lax.scan(step, c, (xb, tb))[0], None
                return jax.lax.scan(epoch, carry, None, length=epochs)[0]
            self.run_fn = jax.jit(whole_run)
        else:
            jitted = jax.jit(lambda carry, x, t: step(carry, (x, t))[0])
            batches = [(xb[i], tb[i]) for i in range(steps)]

            def python_loop(carry):
                for _ in range(epochs):
                    for x, t in batches:
                        carry = jitted(carry, x, t)
                return carry
            self.run_fn = python_loop
        self.forward = jax.jit(forward)
        self.reset()

    def reset(self):
        params = [(self.jax.device_put(W), self.jax.device_put(b)) for W, b in self.init]
        self.carry = (params, self.optimizer.init(params))
        self.jax.block_until_ready(self.carry)

    def run(self):
        self.carry = self.jax.block_until_ready(self.run_fn(self.carry))

    def weights(self):
        return [(np.asarray(W), np.asarray(b)) for W, b in self.carry[0]]

    def predict(self, X):
        return np.asarray(self.forward(self.carry[0], X).argmax(axis=1))


def use_compile_cache(jax):
    """JAX's persistent compilation cache in the user's cache folder: a second
    ``fastnn bench`` skips XLA's compiles (seconds per case; never timed)."""
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    jax.config.update("jax_compilation_cache_dir", os.path.join(home, "fastnn", "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def jax_loss(jax, output):
    """The notes' loss of the logits a, mean over the batch's rows."""
    if output == "softmax":
        return lambda a, t: -(t * jax.nn.log_softmax(a, axis=1)).sum(axis=1).mean()
    if output == "sigmoid":
        return lambda a, t: (jax.nn.softplus(a) - t * a).sum(axis=1).mean()
    return lambda a, t: ((a - t) ** 2).sum(axis=1).mean()


# --------------------------------------------------------------------------
# scikit-learn
# --------------------------------------------------------------------------

class ScikitLearn:
    """MLPClassifier / MLPRegressor with the case's solver, no L2 penalty, no
    momentum, no shuffling, no early stop (its count of epochs without
    improvement outlives a reset, so it must never trigger); its layers set to the initial
    weights. A run is ``fit`` (warm start, a fresh optimizer, the case's
    epochs) after a reset, else one ``partial_fit`` per epoch (a race). Its
    Adam adds eps in the "epsilon-hat" form, and its squared-error gradient is
    half the notes' (same steps for Adam, which is scale-invariant but for
    eps)."""

    def __init__(self, case, data, init, threads):
        from sklearn.neural_network import MLPClassifier, MLPRegressor
        classifier = case.output != "linear"
        self.case, self.init, self.X = case, init, data.X
        self.y = data.labels if classifier else data.T
        make = MLPClassifier if classifier else MLPRegressor
        epochs = 1 if case.is_race else case.epochs
        self.clf = make(hidden_layer_sizes=case.sizes[1:-1],
                        activation={"sigmoid": "logistic"}.get(case.activation, case.activation),
                        solver=case.optimizer, alpha=0.0, batch_size=case.batch,
                        learning_rate_init=case.lr, max_iter=epochs, shuffle=False,
                        n_iter_no_change=sys.maxsize, momentum=0.0, nesterovs_momentum=False,
                        epsilon=1e-8, warm_start=True, random_state=0)
        classes = {"classes": np.arange(max(2, case.sizes[-1]))} if classifier else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.clf.partial_fit(self.X, self.y, **classes)    # builds its layers
        self.reset()

    def reset(self):
        self.clf.coefs_ = [W.T.copy() for W, _ in self.init]
        self.clf.intercepts_ = [b.copy() for _, b in self.init]
        self.fresh = True

    def run(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # ConvergenceWarning: max_iter is the plan
            (self.clf.fit if self.fresh else self.clf.partial_fit)(self.X, self.y)
        self.fresh = False

    def weights(self):
        return [(W.T.copy(), b.copy()) for W, b in zip(self.clf.coefs_, self.clf.intercepts_)]

    def predict(self, X):
        return self.clf.predict(X)


# --------------------------------------------------------------------------
# A peer written by hand in NumPy
# --------------------------------------------------------------------------

class NumpyByHand:
    """A PEER, not fastnn: the training loop one writes without a framework,
    vectorised over the batch. Forward a_k = h_(k-1) W_k^T + b_k, h_k = g(a_k);
    output delta d_L = dL/da_L (softmax/sigmoid: y_hat - t, linear: 2 (a - t),
    over B); back d_(k-1) = (d_k W_k) g'(a_(k-1)); gradients d_k^T h_(k-1) and
    sum d_k. SGD and Adam written out below."""

    ACT = {"tanh": (np.tanh, lambda h: 1 - h * h),
           "sigmoid": (lambda a: 1 / (1 + np.exp(-a)), lambda h: h * (1 - h)),
           "relu": (lambda a: np.maximum(a, 0), lambda h: h > 0)}

    def __init__(self, case, data, init, threads):
        self.case, self.init = case, init
        self.g, self.dg = self.ACT[case.activation]
        B = case.batch
        self.batches = [(data.X[s:s + B], data.T[s:s + B]) for s in range(0, case.n, B)]
        self.reset()

    def reset(self):
        self.params = [(W.copy(), b.copy()) for W, b in self.init]
        self.m = [(np.zeros_like(W), np.zeros_like(b)) for W, b in self.init]
        self.v = [(np.zeros_like(W), np.zeros_like(b)) for W, b in self.init]
        self.t = 0

    def forward(self, x):
        hs = [x]
        for W, b in self.params[:-1]:
            hs.append(self.g(hs[-1] @ W.T + b))
        W, b = self.params[-1]
        return hs, hs[-1] @ W.T + b

    def gradients(self, x, t):
        hs, a = self.forward(x)
        if self.case.output == "softmax":
            d = np.exp(a - a.max(axis=1, keepdims=True))
            d /= d.sum(axis=1, keepdims=True)
            d -= t
        elif self.case.output == "sigmoid":
            d = 1 / (1 + np.exp(-a)) - t
        else:
            d = 2 * (a - t)
        d /= np.float32(len(x))
        grads = []
        for k in range(len(self.params) - 1, -1, -1):
            grads.append((d.T @ hs[k], d.sum(axis=0)))
            if k:
                d = (d @ self.params[k][0]) * self.dg(hs[k])
        return grads[::-1]

    def step(self, grads):
        lr = np.float32(self.case.lr)
        if self.case.optimizer == "sgd":
            for p, g in zip(self.params, grads):
                for w, gw in zip(p, g):
                    w -= lr * gw
            return
        self.t += 1
        b1, b2, eps = np.float32(0.9), np.float32(0.999), np.float32(1e-8)
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            for w, gw, mw, vw in zip(p, g, m, v):
                mw *= b1
                mw += (1 - b1) * gw
                vw *= b2
                vw += (1 - b2) * gw * gw
                w -= lr * (mw / c1) / (np.sqrt(vw / c2) + eps)

    def run(self):
        for _ in range(1 if self.case.is_race else self.case.epochs):
            for x, t in self.batches:
                self.step(self.gradients(x, t))

    def weights(self):
        return [(W.copy(), b.copy()) for W, b in self.params]

    def predict(self, X):
        return self.forward(X)[1].argmax(axis=1)


def _fastnn(backend):
    return Contender(f"fastnn[{backend}]", "fastnn", "fastnn",
                     lambda case, data, init, threads: Fastnn(backend, case, data, init, threads))


def _adam_only(case):
    return case.optimizer == "adam"


PEERS = [
    Contender("PyTorch eager", "peer", "torch", Torch),
    Contender("PyTorch fused Adam", "peer", "torch",
              lambda *args: Torch(*args, fused=True), _adam_only),
    Contender("JAX jit step", "peer", "jax", Jax),
    Contender("JAX lax.scan", "peer", "jax", lambda *args: Jax(*args, scan=True)),
    Contender("scikit-learn", "peer", "sklearn", ScikitLearn, eps_hat=True),
    Contender("NumPy by hand", "peer", "numpy", NumpyByHand),
]


def everyone():
    """Every contender: fastnn per available backend, then the peers (those
    whose library is not installed included: see :meth:`Contender.available`)."""
    from .._kernels import available_backends
    return [_fastnn(b) for b in available_backends()] + PEERS


def by_name(name):
    """The contender called ``name``; a peer's worker never imports fastnn's
    compiled backends, a fastnn worker only its own."""
    peer = next((c for c in PEERS if c.name == name), None)
    if peer is not None:
        return peer
    from .._kernels import BACKENDS
    backend = name.removeprefix("fastnn[").removesuffix("]")
    if name != f"fastnn[{backend}]" or backend not in BACKENDS:
        raise ValueError(f"unknown contender {name!r}")
    return _fastnn(backend)


def reference_name():
    """The contender every ratio and weight check is taken against: fastnn on
    its default (fastest available) backend."""
    from .._kernels import resolve_backend_name
    return f"fastnn[{resolve_backend_name()}]"
