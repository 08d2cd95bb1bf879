r"""Representation power of one hidden layer of sigmoid neurons (notes 1.2, 3.4):
"a multilayer network of neurons with a single hidden layer can be used to
approximate any continuous function to any desired precision" -- built by hand
with the lectures' towers, with a proven error bound, and compared with the
same network shape learned by gradient descent.

The construction
----------------
Cut [a, b] into n cells of width h = (b - a) / n: edges e_j = a + j h,
midpoints m_i = a + (i - 1/2) h. Tower i is the difference of two steep
sigmoid neurons of steepness k,

    T_i(x) = c_i [sigma(k (x - l_i)) - sigma(k (x - r_i))],    c_i = f(m_i),

with l_i = e_{i-1}, r_i = e_i, except that the two outermost steps move half a
cell out (l_1 = a - h/2, r_n = b + h/2) so that no step sits on an end of the
interval. N(x) = sum_i T_i(x) is ``MLP([1, 2n, 1], activation="sigmoid",
output="linear")``: hidden weights k and biases -k l_i, -k r_i; output weights
c_i, -c_i; output bias 0.

The bound (f L-Lipschitz on [a, b], s = k h)
--------------------------------------------
Regroup N as steps over the edges: N(x) = sum_j D_j sigma(k (x - e_j)), with
jumps D_j = c_{j+1} - c_j at the inner edges (|D_j| <= L h, the midpoints
being h apart) and c_1, -c_n at the outer ones. Take x in [m_j, m_{j+1}],
the span around the inner edge e_j (or a half cell at an end, which has no
nearest inner edge). Every other step is at distance d >= h/2, 3h/2, ... on
either side (the outer ones at d >= h/2), and differs from a hard step by
sigma(-k d) <= e^{-k d}; so N(x) = (1 - w) c_j + w c_{j+1} + R(x) with
w = sigma(k (x - e_j)), and

(1) with u = x - e_j in [-h/2, h/2]:
    |f(x) - (1 - w) c_j - w c_{j+1}| <= L [(1 - w)(h/2 + u) + w (h/2 - u)]
                                      = L [h/2 - u (2w - 1)] <= L h / 2,
    since 2w - 1 has the sign of u: for ANY k, smoothing the nearest step
    costs nothing beyond the staircase error L h / 2;
(2) |R(x)| <= 2 L h sum_{m >= 0} e^{-s (m + 1/2)} + (|c_1| + |c_n|) e^{-s/2}.

Hence, for every x in [a, b],

    |f(x) - N(x)| <= L h / 2 + e^{-s/2} [2 L h / (1 - e^{-s}) + |c_1| + |c_n|].

For a requested eps: n = ceil(L (b - a) / eps) towers make L h / 2 <= eps / 2,
and s = max(1, 2 ln(M / (eps - L h / 2))), M = 2 L h / (1 - e^{-1}) + |c_1| + |c_n|
(1 - e^{-s} >= 1 - e^{-1} once s >= 1), makes the rest <= eps - L h / 2.
"""
import math

import numpy as np

from . import optim
from ._kernels.codes import ACT_SIGMOID
from ._validation import check_int, check_nonnegative, check_positive, check_real
from .network import MLP
from .training import fit

__all__ = ["towers_needed", "steepness_needed", "error_bound", "tower_network", "approximate",
           "tower_outputs", "max_error", "learn", "error_table", "demo_target"]


def towers_needed(lipschitz, a, b, eps):
    """n = ceil(L (b - a) / eps) (at least 1): the staircase error L h / 2 is
    then at most eps / 2."""
    a, b = _interval(a, b)
    lipschitz = check_nonnegative(lipschitz, "lipschitz")
    eps = check_positive(eps, "eps")
    return max(1, math.ceil(lipschitz * (b - a) / eps))


def steepness_needed(f, a, b, n_towers, lipschitz, eps):
    """The steepness k = s / h with s = max(1, 2 ln(M / (eps - L h / 2))) (module
    docstring): with it, :func:`error_bound` of ``n_towers`` towers is <= eps."""
    a, b = _interval(a, b)
    n = check_int(n_towers, "n_towers", minimum=1)
    lipschitz = check_nonnegative(lipschitz, "lipschitz")
    eps = check_positive(eps, "eps")
    h = (b - a) / n
    budget = eps - lipschitz * h / 2
    if budget <= 0:
        raise ValueError(f"{n} towers leave a staircase error L h / 2 = {lipschitz * h / 2:.4g} "
                         f">= eps = {eps:.4g}; use towers_needed() towers")
    M = 2 * lipschitz * h / (1 - math.exp(-1)) + _ends(f, a, b, n)
    s = max(1.0, 2 * math.log(M / budget)) if M > 0 else 1.0
    return s / h


def error_bound(f, a, b, n_towers, steepness, lipschitz):
    """L h / 2 + e^{-s/2} [2 L h / (1 - e^{-s}) + |c_1| + |c_n|], s = k h: the
    bound on max |f - N| over [a, b] proven in the module docstring."""
    a, b = _interval(a, b)
    n = check_int(n_towers, "n_towers", minimum=1)
    k = check_positive(steepness, "steepness")
    lipschitz = check_nonnegative(lipschitz, "lipschitz")
    h = (b - a) / n
    s = k * h
    return lipschitz * h / 2 + math.exp(-s / 2) * (
        2 * lipschitz * h / -math.expm1(-s) + _ends(f, a, b, n))


def tower_network(f, a, b, n_towers, steepness, dtype="float64", backend=None):
    """The tower network N of ``n_towers`` towers of steepness k for f on
    [a, b] (module docstring): an ``MLP([1, 2n, 1], activation="sigmoid",
    output="linear")`` whose weights are set by the construction."""
    a, b = _interval(a, b)
    n = check_int(n_towers, "n_towers", minimum=1)
    k = check_positive(steepness, "steepness")
    h = (b - a) / n
    edges = a + h * np.arange(n + 1)
    left, right = edges[:-1].copy(), edges[1:].copy()
    left[0] -= h / 2
    right[-1] += h / 2
    heights = _values(f, a + h * (np.arange(n) + 0.5))
    net = MLP([1, 2 * n, 1], activation="sigmoid", output="linear", dtype=dtype,
              backend=backend)
    hidden, out = net.layers
    hidden.W[:, 0] = k
    hidden.b[0::2], hidden.b[1::2] = -k * left, -k * right
    out.W[0, 0::2], out.W[0, 1::2] = heights, -heights
    out.b[0] = 0
    return net


def approximate(f, a, b, eps, lipschitz, dtype="float64", backend=None):
    """A tower network with max |f - N| <= eps on [a, b] for an L-Lipschitz f:
    :func:`towers_needed` towers of :func:`steepness_needed` steepness."""
    n = towers_needed(lipschitz, a, b, eps)
    k = steepness_needed(f, a, b, n, lipschitz, eps)
    return tower_network(f, a, b, n, k, dtype=dtype, backend=backend)


def tower_outputs(net, x):
    """T_i(x) for every tower of a tower network: an (n, len(x)) array whose
    column sums are N(x)."""
    sizes = list(net.sizes)
    shape_ok = len(sizes) == 3 and sizes[0] == sizes[2] == 1 and sizes[1] % 2 == 0
    if not shape_ok or net.acts[0] != ACT_SIGMOID or net.output != "linear":
        raise ValueError(f"{net!r} is not a tower network MLP([1, 2n, 1], sigmoid, linear)")
    x = net.check_X(np.reshape(x, (-1, 1)), "x")
    hidden, out = net.layers
    H = x @ hidden.W.T + hidden.b
    net.backend.activation_forward(H, ACT_SIGMOID, net.alpha, H)
    return (H * out.W[0]).reshape(len(x), -1, 2).sum(axis=2).T


def max_error(net, f, a, b, points=10_001):
    """max |f(x) - N(x)| over ``points`` evenly spaced x in [a, b]."""
    a, b = _interval(a, b)
    x = np.linspace(a, b, check_int(points, "points", minimum=2))
    return float(np.max(np.abs(net.predict(x[:, None]) - _values(f, x))))


def learn(f, a, b, hidden=10, epochs=2000, optimizer=None, samples=256, dtype="float64",
          random_state=0, backend=None):
    """The same shape of network, ``MLP([1, hidden, 1], sigmoid, linear)``,
    fitted to f at ``samples`` evenly spaced points of [a, b] by full-batch
    gradient descent on the squared error with ``optimizer`` (default
    ``Adam(lr=0.05)``) from He-initialised weights (Xavier's would start the
    sigmoids of a wide layer with one input in their linear region)."""
    a, b = _interval(a, b)
    x = np.linspace(a, b, check_int(samples, "samples", minimum=2))[:, None]
    net = MLP([1, check_int(hidden, "hidden", minimum=1), 1], activation="sigmoid",
              output="linear", init="he", dtype=dtype, random_state=random_state,
              backend=backend)
    opt = optim.Adam(lr=0.05) if optimizer is None else optimizer
    fit(net, x, _values(f, x[:, 0]), opt, epochs=epochs, random_state=random_state)
    return net


def error_table(f, a, b, lipschitz, towers=(1, 2, 4, 8, 16, 32, 64), learn_epochs=2000,
                random_state=0):
    """Max error on [a, b] as towers are added: for each n of ``towers``, the
    tower network with the steepness that :func:`steepness_needed` gives for
    eps = L h (its bound, and its measured error), and a network of the same
    2n hidden units learned by :func:`learn`. Returns ``{column: array}``."""
    a, b = _interval(a, b)
    lipschitz = check_positive(lipschitz, "lipschitz")
    rows = []
    for n in towers:
        k = steepness_needed(f, a, b, n, lipschitz, lipschitz * (b - a) / n)
        towers_net = tower_network(f, a, b, n, k)
        learned = learn(f, a, b, hidden=2 * n, epochs=learn_epochs, random_state=random_state)
        rows.append((n, 2 * n, k, error_bound(f, a, b, n, k, lipschitz),
                     max_error(towers_net, f, a, b), max_error(learned, f, a, b)))
    names = ("towers", "hidden_units", "steepness", "bound", "max_error", "learned_max_error")
    return {name: np.array(column) for name, column in zip(names, zip(*rows))}


def demo_target(x):
    """f(x) = sin(x) + 0.3 sin(3x) on [0, 2 pi]; |f'| <= 1 + 0.9, so L = 1.9."""
    return np.sin(x) + 0.3 * np.sin(3 * x)


def _interval(a, b):
    a, b = check_real(a, "a"), check_real(b, "b")
    if not a < b:
        raise ValueError(f"the interval [a, b] = [{a}, {b}] needs a < b")
    return a, b


def _values(f, x):
    """f(x) for a float64 array x: an array of x's shape with finite values."""
    if not callable(f):
        raise TypeError(f"f must be a callable mapping an array of x to f(x), got {f!r}")
    y = np.asarray(f(x), dtype=np.float64)
    if y.shape != x.shape:
        raise ValueError(f"f must map an array of shape {x.shape} to one of the same shape, "
                         f"got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("f returned NaN or infinity on [a, b]")
    return y


def _ends(f, a, b, n):
    """|c_1| + |c_n|, the heights of the outermost towers."""
    h = (b - a) / n
    return float(np.abs(_values(f, np.array([a + h / 2, b - h / 2]))).sum())
