"""Single neurons of the notes: the McCulloch-Pitts neuron (section 2.1) and
the sigmoid neuron with its squared-error loss, gradients, error surface and
gradient descent (section 3). The perceptron is in :mod:`fastnn.perceptron`.
"""
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from ._kernels import reference
from ._validation import as_float_array, check_int, check_positive, check_real
from .boolean import check_table, inputs


# --------------------------------------------------------------------------
# McCulloch-Pitts neuron
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class MPNeuron:
    """McCulloch-Pitts neuron on n Boolean inputs: y = 0 if any inhibitory input
    is 1, else y = 1 iff g(x) = sum_i x_i >= theta. ``inhibitory`` holds the
    0-based positions of the inhibitory inputs."""
    n_inputs: int
    theta: int
    inhibitory: tuple = ()

    def __post_init__(self):
        inhibitory = tuple(check_int(i, "inhibitory") for i in self.inhibitory)
        object.__setattr__(self, "inhibitory", inhibitory)
        check_int(self.n_inputs, "n_inputs", minimum=0)
        check_int(self.theta, "theta")
        if any(not 0 <= i < self.n_inputs for i in self.inhibitory):
            raise ValueError(f"inhibitory must hold positions in [0, {self.n_inputs}), "
                             f"got {self.inhibitory!r}")

    def __call__(self, X):
        """y for one input vector (length n) or for each row of an (N, n) array."""
        X = np.asarray(X)
        if X.shape[-1:] != (self.n_inputs,) or np.any((X != 0) & (X != 1)):
            raise ValueError(f"X must hold 0/1 vectors of {self.n_inputs} inputs, "
                             f"got shape {X.shape}")
        blocked = X[..., list(self.inhibitory)].any(axis=-1)
        return np.where(blocked, 0, X.sum(axis=-1) >= self.theta).astype(np.uint8)

    def truth_table(self):
        """y on every row of :func:`fastnn.boolean.inputs`."""
        return self(inputs(self.n_inputs))


def mp_and(n=2):
    """AND: theta = n (every input must be on)."""
    return MPNeuron(n, n)


def mp_or(n=2):
    """OR: theta = 1 (one input on suffices)."""
    return MPNeuron(n, 1)


def mp_nor(n=2):
    """NOR: every input inhibitory, theta = 0 (fires only when all are off)."""
    return MPNeuron(n, 0, tuple(range(n)))


def mp_not():
    """NOT: one inhibitory input, theta = 0."""
    return MPNeuron(1, 0, (0,))


def mp_tautology(n=2):
    """Tautology (always on): theta = 0."""
    return MPNeuron(n, 0)


def find_threshold(table, inhibitory=()):
    """The smallest theta in 0..n+1 for which the McCulloch-Pitts neuron with
    these ``inhibitory`` inputs has truth table ``table``, or None when no
    theta does. Sums are integers in 0..n, so thetas outside 0..n+1 add nothing."""
    table, n = check_table(table)
    for theta in range(n + 2):
        if np.array_equal(MPNeuron(n, theta, tuple(inhibitory)).truth_table(), table):
            return theta
    return None


def find_mp_neuron(table):
    """A McCulloch-Pitts neuron computing ``table`` (fewest inhibitory inputs,
    then smallest theta), or None when no choice of inhibitory inputs and
    theta does (XOR, for example)."""
    table, n = check_table(table)
    for size in range(n + 1):
        for inhibitory in combinations(range(n), size):
            theta = find_threshold(table, inhibitory)
            if theta is not None:
                return MPNeuron(n, theta, inhibitory)
    return None


# --------------------------------------------------------------------------
# Sigmoid neuron: f(x) = 1 / (1 + exp(-(w . x + b)))
# --------------------------------------------------------------------------

def sigmoid(z):
    """1 / (1 + e^{-z}), as e^{z} / (1 + e^{z}) for z < 0 so that exp never overflows."""
    return reference.sigmoid(np.asarray(z, dtype=np.float64))


def _as_data(x, y):
    """x as an (N, m) float64 array (a vector x is N inputs of one feature), y as (N,)."""
    x = as_float_array(x, "x", dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"x must be a vector or an (N, m) array, got shape {x.shape}")
    y = as_float_array(y, "y", dtype=np.float64, ndim=1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"y must have {x.shape[0]} entries to match x, got {y.shape[0]}")
    return x, y


def _as_weights(w, name="w"):
    """A scalar w as a float, a vector w as a 1-D float64 array."""
    if np.ndim(w) == 0:
        return check_real(w, name)
    return as_float_array(w, name, dtype=np.float64, ndim=1)


def _as_params(w, b, m):
    """[w_1, ..., w_m, b] as a new float64 vector."""
    w = np.atleast_1d(_as_weights(w))
    if w.shape != (m,):
        raise ValueError(f"w must have {m} entries (one per feature), got shape {w.shape}")
    return np.r_[w, check_real(b, "b")]


def sigmoid_neuron(x, w, b):
    """f(x) = 1 / (1 + exp(-(w x + b))): for a scalar w and any array x, or in
    vector form for rows x of an (N, m) array and w of length m."""
    x = as_float_array(x, "x", dtype=np.float64).reshape(np.shape(x))
    w = _as_weights(w)
    return sigmoid((x * w if np.ndim(w) == 0 else x @ w) + check_real(b, "b"))


def squared_error(x, y, w, b):
    """L(w, b) = (1/N) sum_i (y_i - f(x_i))^2."""
    x, y = _as_data(x, y)
    return _loss_and_grad(x, y, _as_params(w, b, x.shape[1]))[0]


def _loss_and_grad(x, y, p):
    """L and dL/d[w, b] at p = [w, b] for validated data (see :func:`squared_error_grad`)."""
    f = sigmoid(x @ p[:-1] + p[-1])
    delta = (2 / x.shape[0]) * (f - y) * f * (1 - f)
    return float(np.mean((y - f) ** 2)), np.r_[x.T @ delta, delta.sum()]


def squared_error_grad(x, y, w, b):
    """(dL/dw, dL/db) of L = (1/N) sum_i (y_i - f(x_i))^2: the notes' gradients
    summed over the data, grad w = (2/N) sum_i (f(x_i) - y_i) f(x_i) (1 - f(x_i)) x_i and
    grad b = (2/N) sum_i (f(x_i) - y_i) f(x_i) (1 - f(x_i)). (The notes' per-point
    (f - y) f (1 - f) x is the derivative of (1/2)(f - y)^2; the factor 2/N only
    rescales eta.) dL/dw has w's shape: a float for a scalar w."""
    x, y = _as_data(x, y)
    _, g = _loss_and_grad(x, y, _as_params(w, b, x.shape[1]))
    return (float(g[0]) if np.ndim(w) == 0 else g[:-1]), float(g[-1])


def error_surface(x, y, w_grid, b_grid):
    """L(w, b) of a one-feature sigmoid neuron on every grid point, as an array
    of shape (len(b_grid), len(w_grid)) (rows: b, columns: w), ready for
    ``contour(w_grid, b_grid, L)``."""
    x, y = _as_data(x, y)
    if x.shape[1] != 1:
        raise ValueError(f"error_surface needs one feature (scalar w), got x with {x.shape[1]}")
    w_grid = as_float_array(w_grid, "w_grid", dtype=np.float64, ndim=1)
    b_grid = as_float_array(b_grid, "b_grid", dtype=np.float64, ndim=1)
    z = w_grid[None, :, None] * x[:, 0] + b_grid[:, None, None]
    return np.mean((y - sigmoid(z)) ** 2, axis=-1)


def _descend(x, y, params, steps, update):
    """Run ``update(params, grads)`` ``steps`` times from ``params`` (float64,
    changed in place); returns (path, losses): [w, b] and L before each update
    and after the last, one row each."""
    path = np.empty((steps + 1, params.size))
    losses = np.empty(steps + 1)
    for t in range(steps + 1):
        path[t] = params
        losses[t], g = _loss_and_grad(x, y, params)
        if t < steps:
            update(params, g)
    return path, losses


def gradient_descent(x, y, w, b, lr=1.0, max_iterations=1000):
    """The notes' Algorithm 3: for t < max_iterations,
    w_{t+1} = w_t - eta grad w_t and b_{t+1} = b_t - eta grad b_t
    (gradients of :func:`squared_error_grad`). Returns (path, losses): the
    parameters [w, b] at t = 0..max_iterations, one row each, and L there."""
    x, y = _as_data(x, y)
    lr = check_positive(lr, "lr")
    max_iterations = check_int(max_iterations, "max_iterations", minimum=0)

    def step(params, grads):
        params -= lr * grads

    return _descend(x, y, _as_params(w, b, x.shape[1]), max_iterations, step)


def train_sigmoid_neuron(x, y, optimizer, w, b, steps=1000):
    """Minimise L(w, b) with any optimizer of :mod:`fastnn.optim`: ``steps``
    calls of ``optimizer.step(params, grads)`` on the flat float64 vector
    params = [w, b] with grads = [dL/dw, dL/db]. Returns (path, losses) as
    :func:`gradient_descent` does."""
    x, y = _as_data(x, y)
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"optimizer must have a step(params, grads) method, got {optimizer!r}")
    steps = check_int(steps, "steps", minimum=0)
    return _descend(x, y, _as_params(w, b, x.shape[1]), steps, optimizer.step)
