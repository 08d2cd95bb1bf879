"""The perceptron (the notes' sections 2.2-2.5): y = 1 iff w . x >= 0 with
x = [1, x_1, ..., x_n] (w_0 = -theta is the bias), its learning algorithm
(Algorithms 1 and 2), the convergence bound, and the network of 2^n hidden
perceptrons that represents any Boolean function of n inputs.
"""
import math
import warnings
from dataclasses import dataclass

import numpy as np

from ._kernels import get_backend
from ._validation import as_float_array, check_int
from .boolean import check_table, inputs

# Epochs of random order handed to one kernel call: at most this many indices.
_ORDER_CHUNK = 1 << 20


class ConvergenceWarning(UserWarning):
    """The perceptron learning algorithm stopped at max_epochs without converging."""


def augment(X):
    """Rows x = [1, x_1, ..., x_n] (x_0 = 1 carries the bias w_0)."""
    return np.hstack([np.ones((X.shape[0], 1), dtype=X.dtype), X])


def perceptron_output(w, X):
    """y = 1 iff w_0 + sum_i w_i x_i >= 0, for each row of ``X`` (uint8 0/1)."""
    w = as_float_array(w, "w", ndim=1)
    X = as_float_array(X, "X", dtype=w.dtype, ndim=2)
    if X.shape[1] + 1 != w.shape[0]:
        raise ValueError(f"w must have X.shape[1] + 1 = {X.shape[1] + 1} entries, got {w.shape[0]}")
    return (augment(X) @ w >= 0).astype(np.uint8)


def _modified_inputs(X, y):
    """The notes' P' = P u N^- with every p scaled to ||p|| = 1 (Algorithm 2):
    rows x = [1, x_1, ..., x_n], negated where y = 0, divided by their norm."""
    P = augment(X)
    P[y == 0] *= -1
    return P / np.linalg.norm(P, axis=1, keepdims=True)


def _check_labels(y, n_samples):
    y = np.asarray(y)
    if y.dtype.kind not in "biu":
        raise TypeError(f"y must hold 0/1 integers or bools, got dtype {y.dtype}")
    if y.shape != (n_samples,):
        raise ValueError(f"y must have shape ({n_samples},) to match X, got {y.shape}")
    if np.any((y != 0) & (y != 1)):
        raise ValueError("y must contain only 0 (N) and 1 (P)")
    return y.astype(np.int64)


@dataclass
class PerceptronResult:
    """What the learning algorithm did: ``converged`` (every input classified
    correctly), ``k`` corrections, ``epochs`` run, the final ``weights``
    [w_0, ..., w_n] and, when recorded, ``history`` (the weights before the
    first epoch and after each epoch, one row each)."""
    converged: bool
    k: int
    epochs: int
    weights: np.ndarray
    history: np.ndarray = None


def train_perceptron(X, y, *, algorithm=1, w=None, max_epochs=100, random_state=None,
                     dtype=None, record=False, backend=None, sample_weight=None):
    """The perceptron learning algorithm on inputs ``X`` (N x n) with labels
    ``y`` (1: x in P, 0: x in N).

    * ``algorithm=1`` (the notes' Algorithm 1): pick x in P u N;
      x in P and w . x < 0 -> w = w + x; x in N and w . x >= 0 -> w = w - x.
    * ``algorithm=2`` (Algorithm 2): the single set P' = P u N^- (the
      inputs of N negated), every p normalised to ||p|| = 1; pick p in P';
      w . p < 0 -> w = w + p.

    The picks are random: each epoch visits every input once, in an order
    drawn from ``random_state``, and the algorithm has converged after the
    first epoch with no correction (all inputs then pass the same w). ``w``
    is the initial weight vector (default: drawn at random, as the notes do).
    Every backend gives the same result for the same seed. On data that are
    not linearly separable (XOR) it stops after ``max_epochs`` with
    ``converged=False`` and a :class:`ConvergenceWarning`.
    ``record=True`` keeps the weights after every epoch in ``history``.
    ``sample_weight`` (algorithm 1): c_i >= 0 per input, a correction adds or
    subtracts c_i x instead of x. That is the algorithm run on the inputs
    c_i x, which lie on the same side of every hyperplane through 0 as x;
    inputs of weight 0 are left out (never corrected: as if dropped)."""
    X = as_float_array(X, "X", dtype=dtype, ndim=2)
    y = _check_labels(y, X.shape[0])
    if algorithm not in (1, 2):
        raise ValueError(f"algorithm must be 1 or 2, got {algorithm!r}")
    max_epochs = check_int(max_epochs, "max_epochs", minimum=1)
    kernel = get_backend(backend).perceptron_train
    rng = np.random.default_rng(random_state)
    n = X.shape[1]
    if w is None:
        w = rng.standard_normal(n + 1).astype(X.dtype)
    else:
        w = as_float_array(w, "w", dtype=X.dtype, ndim=1).copy()
        if w.shape != (n + 1,):
            raise ValueError(f"w must have shape ({n + 1},) (w_0, ..., w_n), got {w.shape}")
    if algorithm == 1:
        P = augment(X)
        if sample_weight is not None:
            P, y = _weighted_inputs(P, y, sample_weight)
    elif sample_weight is not None:
        raise ValueError("sample_weight needs algorithm=1: algorithm 2 normalises every input")
    else:
        P, y = _modified_inputs(X, y), np.ones_like(y)
    chunk = 1 if record else max(1, _ORDER_CHUNK // P.shape[0])
    history = [w.copy()] if record else None
    converged, k, epochs = False, 0, 0
    while not converged and epochs < max_epochs:
        n_epochs = min(chunk, max_epochs - epochs)
        order = np.argsort(rng.random((n_epochs, P.shape[0])), axis=1, kind="stable")
        converged, k_chunk, e_chunk = kernel(P, y, order, w)
        k, epochs = k + int(k_chunk), epochs + int(e_chunk)
        if record:
            history.append(w.copy())
    if not converged:
        warnings.warn(f"the perceptron did not converge in {max_epochs} epochs ({k} corrections);"
                      " the data may not be linearly separable", ConvergenceWarning, stacklevel=2)
    return PerceptronResult(bool(converged), k, epochs, w,
                            None if history is None else np.array(history))


def _weighted_inputs(P, y, sample_weight):
    """(c_i p_i, y_i) for the inputs of weight c_i > 0."""
    c = as_float_array(sample_weight, "sample_weight", dtype=P.dtype, ndim=1)
    if c.shape != (P.shape[0],):
        raise ValueError(f"sample_weight has shape {c.shape}; X has {P.shape[0]} rows")
    if np.any(c < 0) or not np.any(c > 0):
        raise ValueError("sample_weight must be >= 0 with at least one weight > 0")
    keep = c > 0
    return np.ascontiguousarray(P[keep] * c[keep, None]), y[keep]


def correction_bound(delta, w_star=None, w0=None):
    """The largest number of corrections k allowed by the notes' convergence
    proof of Algorithm 2 on normalised inputs (||p|| = 1), for a unit solution
    ``w_star`` with margin delta = min_p w* . p > 0 and initial weights ``w0``.

    The proof gives w* . w_k >= a + k delta with a = w* . w0 and
    ||w_k||^2 <= c + k with c = ||w0||^2, so cos(beta) <= 1 requires
    a + k delta <= sqrt(c + k) whenever a + k delta >= 0, that is
    delta^2 k^2 + (2 a delta - 1) k + a^2 - c <= 0, hence

        k <= (1 - 2 a delta + sqrt(1 - 4 a delta + 4 delta^2 c)) / (2 delta^2)

    (the case a + k delta < 0 gives k < -a/delta, which is smaller). For
    w0 = 0 this is k <= 1 / delta^2."""
    if not delta > 0:
        raise ValueError(f"delta must be > 0 (a margin of separable data), got {delta!r}")
    a = 0.0 if w0 is None else float(np.dot(w_star, w0))
    c = 0.0 if w0 is None else float(np.dot(w0, w0))
    root = math.sqrt(1 - 4 * a * delta + 4 * delta ** 2 * c)
    return (1 - 2 * a * delta + root) / (2 * delta ** 2)


@dataclass
class PerceptronNetwork:
    """The notes' network of section 2.5 for a Boolean function of n inputs:
    inputs mapped to +-1 (True = +1, False = -1), 2^n hidden perceptrons,
    hidden j with weights p_j (the j-th input row in +-1 form) and bias -n,
    so that p_j . s - n >= 0 only for s = p_j (otherwise p_j . s <= n - 2):
    exactly one hidden perceptron fires for each input. The output perceptron
    fires iff sum_j v_j h_j + v_0 >= 0."""
    hidden_weights: np.ndarray
    hidden_bias: np.ndarray
    output_weights: np.ndarray
    output_bias: float

    def hidden(self, X):
        """h_j = 1 iff p_j . s - n >= 0, s = 2x - 1, for the 0/1 input rows X."""
        X = np.asarray(X)
        n = self.hidden_weights.shape[1]
        if X.ndim != 2 or X.shape[1] != n or np.any((X != 0) & (X != 1)):
            raise ValueError(f"X must be 0/1 rows of {n} Boolean inputs, got shape {X.shape}")
        S = 2.0 * X - 1.0
        return (S @ self.hidden_weights.T + self.hidden_bias >= 0).astype(np.uint8)

    def predict(self, X):
        """y = 1 iff sum_j v_j h_j + v_0 >= 0 (uint8 0/1 per input row)."""
        return (self.hidden(X) @ self.output_weights + self.output_bias >= 0).astype(np.uint8)


def perceptron_network(table, *, learn=False, max_epochs=1000, random_state=None, backend=None):
    """The network of 2^n hidden perceptrons computing the truth table ``table``
    (rows of :func:`fastnn.boolean.inputs`). Hidden perceptron j fires on row j,
    as in the notes' Table 3 (the figure's caption lists h_2 and h_3 the other
    way round). Output weights: by construction v_j = +1 where f = 1 and -1
    where f = 0, v_0 = 0; or, with ``learn=True``, learned from w = 0 by the
    perceptron learning algorithm on the hidden outputs (always separable,
    since exactly one h_j is 1 for each input)."""
    table, n = check_table(table)
    S = 2.0 * inputs(n) - 1.0
    net = PerceptronNetwork(S, np.full(2 ** n, -float(n)),
                            np.where(table == 1, 1.0, -1.0), 0.0)
    if learn:
        H = net.hidden(inputs(n)).astype(np.float64)
        result = train_perceptron(H, table, w=np.zeros(2 ** n + 1), max_epochs=max_epochs,
                                  random_state=random_state, backend=backend)
        net.output_bias, net.output_weights = float(result.weights[0]), result.weights[1:]
    return net
