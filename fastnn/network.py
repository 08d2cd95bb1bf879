"""Feed-forward networks (the notes' section 4) over one flat parameter buffer."""
import math
import numbers
import os
import warnings
from dataclasses import dataclass

import numpy as np

from . import _npzfile, activations, losses
from ._files import atomic_writer
from ._kernels import codes, get_backend, resolve_backend_name
from ._kernels.layout import layer_views, work_size
from ._kernels.sparse import sparse_work_size
from ._kernels.values import network
from ._validation import (
    as_array, as_float_array, as_sample_weight, as_sparse_rows, check_all_finite, check_choice,
    check_random_state, check_real, is_sparse,
)

FORMAT = "fastnn-mlp"
FORMAT_VERSION = 1
INITS = ("auto", "random", "xavier", "he")
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class Layer:
    """One layer's views into the network's flat buffers: a = b + W h."""
    W: np.ndarray
    b: np.ndarray
    activation: str


class MLP:
    """A multilayer network: a_k = b_k + W_k h_{k-1}, h_k = g(a_k) for the hidden
    layers and y_hat = O(a_L) at the output (the notes' Algorithm 5).

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[n_0, n_1, ..., n_L]``: inputs, hidden widths, outputs (each >= 1).
    activation : str or sequence of str
        Hidden activation g, one name for all hidden layers or one per layer:
        sigmoid (logistic), tanh, relu, leaky_relu, linear (identity), step
        (forward only: the threshold cannot be trained by gradients).
    output : {"softmax", "sigmoid", "linear", "exp"}
        Output function O ("exp": y_hat = e^{a}, the mean of a Poisson count).
    loss : str, optional
        Defaults to the notes' table: softmax -> cross_entropy, sigmoid ->
        binary_cross_entropy, linear -> squared_error; exp -> poisson.
    init : {"auto", "random", "xavier", "he"}
        "random": W ~ N(0, 0.01^2) (the notes' "initialize randomly");
        "xavier": W ~ U(-r, r), r = sqrt(6 / (n_in + n_out)) (Glorot);
        "he": W ~ N(0, 2 / n_in); "auto": he for (leaky) ReLU layers, xavier
        otherwise. Biases start at 0.
    dtype : {"float32", "float64"}
    random_state : int or None
        Seed of the one ``np.random.Generator`` used for initialisation.
    backend : {"numpy", "numba", "cython"} or None
        Kernel backend (default: ``$FASTNN_BACKEND``, else the fastest).
    alpha : float
        Slope of leaky ReLU for negative inputs.

    Examples
    --------
    >>> import numpy as np, fastnn as fn
    >>> net = fn.MLP([4, 8, 3], random_state=0)
    >>> net.predict_proba(np.ones((2, 4), dtype=np.float32)).shape
    (2, 3)
    """

    def __init__(self, layer_sizes, activation="relu", output="softmax", loss=None,
                 init="auto", dtype="float32", random_state=None, backend=None, alpha=0.01):
        self.sizes = _check_sizes(layer_sizes)
        self.activation = _hidden_activations(activation, len(self.sizes) - 2)
        self.acts = np.array([activations.code(a) for a in self.activation], dtype=np.int64)
        self.output = output
        self.loss, self.loss_code = losses.loss_code(output, loss)
        self.init = init
        self.alpha = _check_alpha(alpha)
        self.dtype = _check_dtype(dtype)
        self.backend_name = resolve_backend_name(backend)
        n = n_parameters(self.sizes)
        self.params = np.zeros(n, dtype=self.dtype)
        self.grads = np.zeros(n, dtype=self.dtype)
        self._bind()
        self.initialize(init, random_state)

    def __getstate__(self):
        """Pickle by value: the backend travels by name (modules do not pickle)."""
        state = dict(self.__dict__)
        del state["backend"], state["layers"], state["description"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._bind()

    def _bind(self):
        """The backend module, the kernels' description of the network and the
        per-layer views into ``params``."""
        self.backend = get_backend(self.backend_name)
        self.description = network(self.sizes, self.acts, self.alpha, self.loss_code)
        self.layers = [Layer(W, b, a) for (W, b), a in
                       zip(layer_views(self.params, self.sizes), self.activation + [self.output])]

    # -- construction -----------------------------------------------------
    def initialize(self, init="auto", random_state=None):
        """(Re)draw W of every layer by ``init`` from ``random_state``; b = 0."""
        check_choice(init, "init", INITS)
        rng = check_random_state(random_state)
        for k, layer in enumerate(self.layers):
            n_out, n_in = layer.W.shape
            rule = init
            if rule == "auto":
                hidden = self.acts[k] if k < len(self.acts) else codes.ACT_LINEAR
                rule = "he" if hidden in (codes.ACT_RELU, codes.ACT_LEAKY_RELU) else "xavier"
            if rule == "random":
                W = rng.normal(0.0, 0.01, (n_out, n_in))
            elif rule == "xavier":
                r = np.sqrt(6.0 / (n_in + n_out))
                W = rng.uniform(-r, r, (n_out, n_in))
            else:
                W = rng.normal(0.0, np.sqrt(2.0 / n_in), (n_out, n_in))
            layer.W[...] = W
            layer.b[...] = 0
        return self

    @property
    def n_layers(self):
        """L, the number of weight layers."""
        return len(self.layers)

    @property
    def n_outputs(self):
        return int(self.sizes[-1])

    @property
    def is_classifier(self):
        return self.output in ("softmax", "sigmoid")

    def __repr__(self):
        hidden = self.activation[0] if len(set(self.activation)) == 1 else self.activation
        return (f"MLP({list(map(int, self.sizes))}, activation={hidden!r}, output={self.output!r}, "
                f"loss={self.loss!r}, dtype={self.dtype.name!r}, backend={self.backend_name!r})")

    # -- the door ---------------------------------------------------------
    def check_X(self, X, name="X"):
        """X as a C-contiguous 2-D array of the network's dtype (one conversion at most),
        or, for a SciPy sparse array or matrix of any format, as the
        :class:`~fastnn._kernels.sparse.SparseRows` (CSR, never densified)
        that the sparse kernels take."""
        if is_sparse(X):
            return as_sparse_rows(X, name, self.dtype, int(self.sizes[0]))
        X = as_float_array(X, name, dtype=self.dtype, ndim=2)
        if X.shape[1] != self.sizes[0]:
            raise ValueError(f"{name} has {X.shape[1]} features per row but the input layer "
                             f"has {self.sizes[0]}")
        return X

    def targets(self, y, n_samples, name="y"):
        """Targets as the (N, k) float array the losses take: integer labels
        become one-hot rows for softmax; 1-D targets of a one-output network
        become a column."""
        k = self.n_outputs
        y_arr = as_array(y, name)
        if y_arr.ndim not in (1, 2):
            raise ValueError(f"{name} must be 1-D (labels or values) or 2-D (one row per sample), "
                             f"got shape {y_arr.shape}")
        if len(y_arr) != n_samples:
            raise ValueError(f"{name} has {len(y_arr)} rows but X has {n_samples}")
        if self.output == "softmax" and y_arr.ndim == 1:
            labels = _check_labels(y_arr, name, k)
            Y = np.zeros((n_samples, k), dtype=self.dtype)
            Y[np.arange(n_samples), labels] = 1
            return Y
        if y_arr.ndim == 1 and k == 1:
            y_arr = y_arr.reshape(-1, 1)
        Y = as_float_array(y_arr, name, dtype=self.dtype, ndim=2)
        if Y.shape[1] != k:
            raise ValueError(f"{name} has {Y.shape[1]} columns but the output layer has {k}")
        if self.output == "exp" and Y.min() < 0:
            raise ValueError(f"{name} must hold counts >= 0 for output='exp' (Poisson)")
        if self.is_classifier and (Y.min() < 0 or Y.max() > 1):
            raise ValueError(f"{name} must hold probabilities in [0, 1] for output={self.output!r}")
        return Y

    def sample_weights(self, sample_weight, n_samples, name="sample_weight"):
        """Per-sample weights as the kernels take them: a 1-D array of the
        network's dtype, or an empty one for None (unweighted, nothing to read)."""
        if sample_weight is None:
            return np.empty(0, dtype=self.dtype)
        return as_sample_weight(sample_weight, name, n_samples, self.dtype)

    # -- forward, loss, backward ------------------------------------------
    def decision_function(self, X):
        """The logits a_L for the rows of X. Finite X giving non-finite logits
        (float overflow: X or the weights too large for the dtype) is a
        ValueError, never NaN predictions."""
        X = self.check_X(X)
        out = self.logits(X)
        try:
            check_all_finite(out, "the network's output")
        except ValueError as exc:
            raise ValueError(f"X overflows {self.dtype.name} in the forward pass ({exc}; "
                             f"max |X| = {_max_abs(X):.3g}): scale X down or use "
                             f"dtype='float64'") from None
        return out

    def logits(self, X):
        """The logits a_L of already-validated X (dense, or SparseRows through the
        sparse kernels), in a new array."""
        out = np.empty((len(X), self.n_outputs), dtype=self.dtype)
        work = self.workspace(len(X), sparse=is_sparse(X))
        if is_sparse(X):
            self.backend.forward_sparse(*X.arrays, self.description, self.params, out, work)
        else:
            self.backend.forward(X, self.description, self.params, out, work)
        return out

    def forward(self, X):
        """y_hat = O(a_L): softmax probabilities, sigmoid probabilities, values
        (linear) or Poisson means e^{a_L} (exp)."""
        A = self.decision_function(X)
        if self.output == "softmax":
            return self.backend.softmax(A, A)
        if self.output == "sigmoid":
            return self.backend.activation_forward(A, codes.ACT_SIGMOID, 0.0, A)
        if self.output == "exp":
            return np.exp(A, out=A)
        return A

    def predict_proba(self, X):
        """Class probabilities (softmax rows, or sigmoid outputs per column)."""
        if not self.is_classifier:
            raise ValueError("predict_proba needs output='softmax' or 'sigmoid'")
        return self.forward(X)

    def predict(self, X):
        """Labels (argmax for softmax, y_hat >= 0.5 for sigmoid) or values (linear, exp)."""
        Y = self.forward(X)
        if self.output == "softmax":
            return Y.argmax(axis=1)
        if self.output == "sigmoid":
            labels = (Y >= 0.5).astype(np.int64)
            return labels[:, 0] if self.n_outputs == 1 else labels
        return Y[:, 0] if self.n_outputs == 1 else Y

    def score(self, X, y):
        """Accuracy for classifiers, the coefficient of determination R^2 otherwise;
        y is checked as in :meth:`loss_and_grad`."""
        X = self.check_X(X)
        Y = self.targets(y, len(X))
        if self.is_classifier:
            return self.accuracy(X, Y)
        Y = Y.astype(np.float64)
        resid = ((self.forward(X) - Y) ** 2).sum()
        total = ((Y - Y.mean(axis=0)) ** 2).sum()
        return float(1.0 - resid / total) if total > 0 else 0.0

    def accuracy(self, X, Y):
        """Fraction of correct predictions on validated (X, Y) from :meth:`targets`:
        argmax rows for softmax, each output thresholded at 1/2 for sigmoid."""
        P = self.forward(X)
        if self.output == "softmax":
            return float(np.mean(P.argmax(axis=1) == Y.argmax(axis=1)))
        return float(np.mean((P >= 0.5) == (Y >= 0.5)))

    def loss_value(self, X, Y, w=None):
        """The loss of already-validated (X, Y) (weighted by the kernels' weights
        ``w``, default unweighted) without touching ``grads``; a sparse X of any
        SciPy format is converted (once) as by :meth:`check_X`."""
        A = self.logits(self.check_X(X) if is_sparse(X) else X)
        w = np.empty(0, dtype=self.dtype) if w is None else w
        return self.backend.loss_grad(self.loss_code, A, Y, w, np.empty_like(A))

    def loss_and_grad(self, X, y, sample_weight=None):
        """(L, dL/dtheta) on (X, y) by the notes' Algorithms 5 and 6, L the mean
        loss over the rows, or with ``sample_weight`` w the weighted mean
        sum_i w_i L_i / sum_i w_i. The gradient is the network's own buffer
        ``grads`` (params' layout), overwritten by the next call."""
        self.check_trainable()
        X = self.check_X(X)
        Y = self.targets(y, len(X))
        w = self.sample_weights(sample_weight, len(X))
        loss = self.kernel_loss_and_grad(X, Y, w, self.workspace(len(X), sparse=is_sparse(X)))
        if not math.isfinite(loss):
            warnings.warn(f"the loss is {loss} although X and y are finite: {self.dtype.name} "
                          f"overflowed (max |X| = {_max_abs(X):.3g}, max |w| = "
                          f"{np.abs(self.params).max():.3g})", RuntimeWarning, stacklevel=2)
        return loss, self.grads

    def kernel_loss_and_grad(self, X, Y, w, work):
        """The backend's loss_and_grad (loss_and_grad_sparse for SparseRows X) on
        validated (X, Y, w), writing ``grads``; returns the loss."""
        if is_sparse(X):
            return self.backend.loss_and_grad_sparse(*X.arrays, Y, w, self.description,
                                                     self.params, self.grads, work)
        return self.backend.loss_and_grad(X, Y, w, self.description, self.params, self.grads,
                                          work)

    def workspace(self, rows, sparse=False):
        """A work buffer for the network kernels, for batches of up to ``rows`` rows
        (layout.py; ``sparse``: for the sparse kernels, without the X batch region);
        a training loop allocates one and reuses it for every step."""
        size = (sparse_work_size if sparse else work_size)(self.description, rows)
        return np.empty(size, dtype=self.dtype)

    def check_trainable(self):
        if "step" in self.activation:
            raise ValueError("activation='step' has no useful derivative: a network with step "
                             "units can run forward but cannot be trained by gradient descent")

    # -- other tools (fastnn.export) --------------------------------------
    def to_torch(self):
        """A ``torch.nn.Sequential`` with the same outputs; see :func:`fastnn.export.to_torch`."""
        from .export import to_torch
        return to_torch(self)

    @classmethod
    def from_torch(cls, module, output=None, backend=None):
        """The MLP of a ``torch.nn.Sequential`` of Linear and activation layers;
        see :func:`fastnn.export.from_torch` (how the output function is read)."""
        from .export import from_torch
        return from_torch(module, output=output, backend=backend)

    # -- persistence ------------------------------------------------------
    def save(self, path):
        """Write the architecture and parameters to a versioned ``.npz`` file,
        atomically (see :func:`fastnn._files.atomic_writer`): ``path`` afterwards
        holds the old file or the new one, never a part; its mode follows the umask."""
        path = _check_path(path)
        with atomic_writer(path, suffix=".npz") as f:
            np.savez(f, format=np.array(FORMAT), version=np.array(FORMAT_VERSION),
                     sizes=self.sizes, activation=np.array(self.activation, dtype=str),
                     output=np.array(self.output), loss=np.array(self.loss),
                     alpha=np.array(self.alpha), dtype=np.array(self.dtype.name),
                     params=self.params)
        return path

    @classmethod
    def load(cls, path, backend=None):
        """Read a network written by :meth:`save`. Nothing is unpickled and no
        array is read before its header (shape, dtype) matches the architecture
        the file declares, which must be within :data:`MAX_LAYERS` layers and
        :data:`MAX_PARAMETERS` parameters; any other entry, a missing one, or
        a NaN or infinite parameter is a ValueError."""
        path = _check_path(path)
        try:
            with _npzfile.Archive(path) as archive:
                if "format" not in archive.names or archive.read_text("format") != FORMAT:
                    raise ValueError(f"{path!r} is not a fastnn model file (its 'format' "
                                     f"entry is not {FORMAT!r})")
                return cls._from_archive(archive, backend)
        except FileNotFoundError:
            raise FileNotFoundError(f"no model file at {path!r}") from None
        except _npzfile.Archive.Invalid as exc:
            raise ValueError(f"{path!r} is not a readable fastnn model file: {exc}") from None

    @classmethod
    def _from_archive(cls, archive, backend):
        invalid = archive.Invalid
        version = int(archive.read("version", "iu", shape=()))
        if not 1 <= version <= FORMAT_VERSION:
            raise invalid(f"format version {version}; this fastnn reads 1 to {FORMAT_VERSION}")
        archive.require(FILE_KEYS)
        sizes = archive.read("sizes", "iu", max_size=MAX_LAYERS + 1)
        activation = archive.read("activation", "U", shape=(max(len(sizes) - 2, 0),))
        dtype = archive.read_text("dtype")
        try:
            n = n_parameters(_check_sizes(sizes.tolist()))
            settings = dict(activation=[str(a) for a in activation],
                            output=archive.read_text("output"), loss=archive.read_text("loss"),
                            dtype=_check_dtype(dtype),
                            alpha=_check_alpha(archive.read("alpha", "f", shape=())[()]))
        except (TypeError, ValueError) as exc:
            raise invalid(f"it declares an invalid network ({exc})") from None
        params = archive.read("params", "f", shape=(n,), itemsize=settings["dtype"].itemsize)
        try:
            net = cls(sizes.tolist(), backend=backend, init="random", **settings)
        except (TypeError, ValueError) as exc:
            raise invalid(f"it declares an invalid network ({exc})") from None
        if not np.all(np.isfinite(params)):
            raise invalid("'params' holds NaN or infinity")
        net.params[...] = params
        return net


FILE_KEYS = ("format", "version", "sizes", "activation", "output", "loss", "alpha", "dtype",
             "params")
MAX_LAYERS = 1024           # weight layers of a network
MAX_PARAMETERS = 2 ** 28    # weights and biases of a network (1 GiB in float32)


def n_parameters(sizes):
    """Weights and biases of a network of layer sizes ``sizes``: sum of n_out (n_in + 1)."""
    return sum(int(o) * (int(i) + 1) for i, o in zip(sizes[:-1], sizes[1:]))


def _max_abs(X):
    """max |x_ij| of validated X (dense, or the stored values of SparseRows)."""
    values = X.data if is_sparse(X) else X
    return float(np.abs(values).max()) if values.size else 0.0


def _check_path(path):
    try:
        return os.fspath(path)
    except TypeError:
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}") from None


def _check_dtype(dtype):
    """float32 or float64, from a name ("float32", "f8", ...), a numpy dtype or a type."""
    dt = None
    if isinstance(dtype, (str, np.dtype, type)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                dt = np.dtype(dtype)
            except (TypeError, ValueError):
                pass
    if dt is None or dt.name not in DTYPES:
        raise ValueError(f"dtype={dtype!r} is not supported; use float32 or float64")
    return dt


def _check_sizes(layer_sizes):
    """Layer sizes as int64: integers >= 1, within MAX_LAYERS and MAX_PARAMETERS."""
    if isinstance(layer_sizes, (str, bytes)) or not np.iterable(layer_sizes):
        raise TypeError(f"layer_sizes={layer_sizes!r} must be a sequence of integers")
    sizes = []
    for value in layer_sizes:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"layer_sizes={layer_sizes!r} must be a sequence of integers")
        if not isinstance(value, numbers.Integral) and not float(value).is_integer():
            raise ValueError(f"layer_sizes={layer_sizes!r} must hold integers >= 1")
        sizes.append(int(value))
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes={layer_sizes!r} needs at least an input and an output size")
    if any(s < 1 for s in sizes):
        raise ValueError(f"layer_sizes={layer_sizes!r} must hold integers >= 1")
    if len(sizes) > MAX_LAYERS + 1:
        raise ValueError(f"layer_sizes has {len(sizes) - 1} layers; at most {MAX_LAYERS}")
    n = n_parameters(sizes)
    if n > MAX_PARAMETERS:
        raise ValueError(f"layer_sizes={sizes} needs {n} parameters; at most {MAX_PARAMETERS}")
    return np.array(sizes, dtype=np.int64)


def _hidden_activations(activation, n_hidden):
    if isinstance(activation, str):
        names = [activation] * n_hidden
    elif np.iterable(activation):
        names = list(activation)
    else:
        raise TypeError(f"activation={activation!r} must be a name or a sequence of names")
    if len(names) != n_hidden:
        raise ValueError(f"activation lists {len(names)} names for {n_hidden} hidden layers")
    for name in names:
        activations.code(name)
    return names


def _check_labels(y, name, n_classes):
    """Integer class labels in [0, n_classes) as an int64 array."""
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{name} contains NaN or infinity")
        if np.any(y != np.floor(y)):
            raise ValueError(f"{name} must hold integer class labels, got non-integer values")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name} holds labels outside [0, {n_classes}): "
                         f"min {y.min()}, max {y.max()}")
    return y.astype(np.int64)


def _check_alpha(alpha):
    alpha = check_real(alpha, "alpha")
    if alpha < 0:
        raise ValueError(f"alpha={alpha!r} must be a finite slope >= 0")
    return alpha
