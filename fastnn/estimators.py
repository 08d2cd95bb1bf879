"""scikit-learn estimators trained by fastnn's kernels.

``MLPClassifier`` and ``MLPRegressor`` are drop-in replacements for the
estimators of ``sklearn.neural_network``: the same constructor parameters with
the same meaning, the same fitted attributes and methods. ``Perceptron`` is
the notes' perceptron learning algorithm (Algorithm 1) as a classifier.

How scikit-learn's objective maps onto fastnn (per mini-batch of b samples)::

    J = c * L_data + alpha / (2 b) * sum_k ||W_k||^2

with c = 1 for the log-loss of classifiers and c = 1/2 for regression (fastnn's
squared error (1/b) sum_i ||a_i - y_i||^2 is twice scikit-learn's half squared
error, fastnn's Poisson deviance twice scikit-learn's half deviance). The penalty's gradient alpha W / b enters the fused optimizer kernels as
``weight_decay = alpha / (c B)`` (B the batch size; fastnn's kernels follow
grad L_data + weight_decay * w, i.e. J / c), so the minimiser is scikit-learn's;
the optimizers whose step is linear in the gradient (sgd, momentum, nag) also
get ``lr = c * learning_rate_init``, so that they take scikit-learn's steps on
J (the others are invariant to the scale of the gradient, up to epsilon).
Two differences: the kernels decay the biases too (scikit-learn does not;
biases are few and alpha small), and a last partial batch of b < B samples
gets alpha / B instead of alpha / b. ``loss_`` and ``loss_curve_`` report J in
scikit-learn's units; for multi-output regression that is the half squared
error summed over outputs (the objective whose gradient both libraries
follow), where scikit-learn reports its mean over outputs.

Sample weights (``sample_weight`` of ``fit`` / ``partial_fit``, times the
weight ``class_weight`` gives each sample's class): the data loss of a batch is
scikit-learn's weighted mean sum_i w_i l_i / sum_i w_i, computed inside the
kernels, and the penalty's alpha / (2 sum_i w_i) enters as
``weight_decay = alpha / (c B w_bar)``, w_bar the mean weight of the training
set: scikit-learn's alpha / sum_{i in batch} w_i exactly when every batch's
weights sum to B w_bar (full batch, or equal weights). lbfgs uses the exact
alpha / (2 sum_i w_i). The early-stopping split keeps each weight with its row
and weights the validation score.

``solver``: "sgd" is scikit-learn's (``momentum``, ``nesterovs_momentum``
select SGD, Momentum or NAG), "adam" is Adam with ``beta_1``, ``beta_2``,
``epsilon`` (fastnn puts epsilon on the bias-corrected root, as the paper;
scikit-learn on the uncorrected one), "lbfgs" is SciPy's L-BFGS-B on the exact
objective J (biases not decayed), and every other name of ``fastnn.optim``
is that optimizer with ``lr=learning_rate_init`` (momentum, nag: ``beta=momentum``;
adamax, nadam: ``beta_1``, ``beta_2``, ``epsilon``; the others keep
fastnn.optim's defaults). ``learning_rate`` ("constant", "invscaling",
"adaptive") applies to every stochastic solver except "adam", as in
scikit-learn; a fastnn ``schedule`` replaces it.

The optimizer's state (moments, step count) and the shuffling generator
survive ``partial_fit`` and ``warm_start``: ``partial_fit`` N times trains
exactly as ``fit`` with ``max_iter=N`` from the same ``random_state``.
"""
import copy
import numbers
import warnings

import numpy as np
import scipy.optimize
from sklearn import neural_network
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call, type_of_target, unique_labels,
)
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import (
    _check_sample_weight, check_is_fitted, column_or_1d, validate_data,
)

from . import optim, perceptron
from ._kernels import BACKENDS
from ._kernels.layout import layer_views
from ._validation import is_sparse
from .activations import TRAINABLE
from .callbacks import Callback
from .network import MLP
from .schedules import Schedule
from .training import DivergenceError, fit

__all__ = ["MLPClassifier", "MLPRegressor", "Perceptron", "from_sklearn"]

FLOATS = (np.float64, np.float32)
SOLVERS = frozenset(optim.NAMES) | {"lbfgs"}
_OUT_ACTIVATION = {"softmax": "softmax", "sigmoid": "logistic", "linear": "identity",
                   "exp": "exp"}
_ADAM_LIKE = ("adam", "adamax", "nadam")
_LINEAR_IN_GRADIENT = ("sgd", "momentum", "nag")
_SKLEARN_ACTIVATION = {"identity": "identity", "linear": "identity", "logistic": "logistic",
                       "sigmoid": "logistic", "tanh": "tanh", "relu": "relu"}
_SKLEARN_SOLVERS = ("lbfgs", "sgd", "adam")
# What a fitted estimator carries besides its parameters, in both libraries.
_FITTED = ("n_features_in_", "feature_names_in_", "classes_", "_label_binarizer", "n_iter_",
           "t_", "loss_", "loss_curve_", "best_loss_", "validation_scores_",
           "best_validation_score_")


class _BaseMLP(BaseEstimator):
    """Shared by MLPClassifier and MLPRegressor; see the module docstring.

    Beyond scikit-learn's parameters: ``solver`` takes every optimizer name
    of ``fastnn.optim``; ``schedule`` a ``fastnn.schedules.Schedule`` of the
    optimizer step count t (replaces ``learning_rate``); ``backend`` the kernel
    backend (None: ``$FASTNN_BACKEND``, else the fastest); ``dtype``
    "float32" / "float64" (None: float32 input stays float32, anything else
    becomes float64).
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(TRAINABLE))],
        "solver": [StrOptions(set(SOLVERS))],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "power_t": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(numbers.Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_1": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_2": [Interval(numbers.Real, 0, 1, closed="left")],
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left"),
                             Options(numbers.Real, {np.inf})],
        "max_fun": [Interval(numbers.Integral, 1, None, closed="left")],
        "schedule": [Schedule, None],
        "backend": [StrOptions(set(BACKENDS)), None],
        "dtype": [StrOptions({"float32", "float64"}), type, np.dtype, None],
    }

    # -- fitting ----------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train on (X, y) for up to ``max_iter`` epochs (from scratch unless
        ``warm_start``), each sample's loss weighted by ``sample_weight``
        (default all ones); returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, incremental):
        self._validate_params()
        first = not hasattr(self, "_net") or not (self.warm_start or incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first)
        w = self._weights(X, y, sample_weight, incremental)
        if first:
            self._initialize(X, Y)
        X = self._net.check_X(X)
        Y = np.ascontiguousarray(Y, dtype=self._net.dtype)
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, w)
        else:
            self._fit_stochastic(X, Y, w, incremental)
        return self

    def _weights(self, X, y, sample_weight, incremental):
        return _sample_weights(X, y, sample_weight)

    def _initialize(self, X, Y):
        """Build the network with scikit-learn's (Glorot) initialisation:
        W, b ~ U(-r, r), r = sqrt(f / (n_in + n_out)), f = 2 for logistic units, else 6."""
        hidden = np.atleast_1d(self.hidden_layer_sizes).tolist()
        dtype = X.dtype if self.dtype is None else np.dtype(self.dtype)
        self._build([X.shape[1], *hidden, Y.shape[1]], dtype)
        factor = 2.0 if self.activation in ("logistic", "sigmoid") else 6.0
        for layer in self._net.layers:
            r = np.sqrt(factor / sum(layer.W.shape))
            layer.W[...] = self._rng.uniform(-r, r, layer.W.shape)
            layer.b[...] = self._rng.uniform(-r, r, layer.b.shape)
        self.n_iter_ = 0
        self.t_ = 0
        if self.solver != "lbfgs":
            self._start_curves()

    def _build(self, sizes, dtype):
        """A fresh network of layer sizes ``sizes`` and the state that goes with it."""
        self._rng = _generator(self.random_state)
        self._net = MLP(sizes, activation=self.activation, output=self._output(), dtype=dtype,
                        backend=self.backend, random_state=0)
        self._optimizer = None
        self._schedule = copy.deepcopy(self.schedule)
        self.n_layers_ = len(sizes)
        self.n_outputs_ = int(sizes[-1])
        self.out_activation_ = _OUT_ACTIVATION[self._net.output]

    def _start_curves(self):
        """The stochastic solvers' records: loss curve, best loss or validation score."""
        self.loss_curve_ = []
        self._no_improvement_count = 0
        self.best_loss_ = None if self.early_stopping else np.inf
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None
        self._best_params = self._net.params.copy()

    # -- the parameters: views into the network's flat buffer --------------
    @property
    def coefs_(self):
        """coefs_[k] = W_{k+1}^T, shape (n_in, n_out): views into the network's
        flat parameter buffer. Assigning a list of arrays of these shapes
        writes them into it (predictions follow)."""
        return [layer.W.T for layer in self._fitted_layers("coefs_")]

    @coefs_.setter
    def coefs_(self, arrays):
        self._write_layers("coefs_", arrays, [layer.W.T for layer in self._fitted_layers("coefs_")])

    @property
    def intercepts_(self):
        """intercepts_[k] = b_{k+1}, shape (n_out,): views like ``coefs_``, assignable likewise."""
        return [layer.b for layer in self._fitted_layers("intercepts_")]

    @intercepts_.setter
    def intercepts_(self, arrays):
        self._write_layers("intercepts_", arrays,
                           [layer.b for layer in self._fitted_layers("intercepts_")])

    def _fitted_layers(self, name):
        if "_net" not in vars(self):
            raise AttributeError(f"{type(self).__name__} has no {name} before it is fitted")
        return self._net.layers

    @staticmethod
    def _write_layers(name, arrays, views):
        """Check every array of ``arrays`` against its view's shape, then copy them all in."""
        arrays = list(arrays)
        if len(arrays) != len(views):
            raise ValueError(f"{name} needs {len(views)} arrays (one per layer), got {len(arrays)}")
        checked = []
        for k, (array, view) in enumerate(zip(arrays, views)):
            array = np.asarray(array)
            if array.dtype.kind not in "biuf":
                raise TypeError(f"{name}[{k}] must be numeric, got dtype {array.dtype}")
            if array.shape != view.shape:
                raise ValueError(f"{name}[{k}] has shape {array.shape}; the network's layer "
                                 f"{k + 1} needs {view.shape}")
            checked.append(array)
        for array, view in zip(checked, views):
            view[...] = array

    def _fit_stochastic(self, X, Y, w, incremental):
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if not hasattr(self, "loss_curve_"):       # warm start after lbfgs
            self._start_curves()
        X, Y, w, validation = self._split(X, Y, w)
        if self.batch_size == "auto":
            batch = min(200, len(X))
        else:
            if self.batch_size > len(X):
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. "
                              "It is going to be clipped")
            batch = min(self.batch_size, len(X))
        opt = self._prepare_optimizer(incremental)
        mean_weight = 1.0 if w is None else float(w.mean())
        opt.weight_decay = self.alpha / (self._loss_scale * batch * mean_weight)
        rules = _EpochEnd(self, opt, len(X), batch, mean_weight, validation)
        self.n_iter_ = 0
        try:
            history = fit(self._net, X, Y, opt, epochs=1 if incremental else self.max_iter,
                          batch_size=batch, shuffle=self.shuffle, random_state=self._rng,
                          schedule=self._schedule, callbacks=[rules], sample_weight=w)
        except DivergenceError as exc:
            raise ValueError(f"Solver produced non-finite parameter weights: {exc}") from None
        if history.interrupted:
            warnings.warn("Training interrupted by user.")
        if self.early_stopping:
            self._net.params[...] = self._best_params
        if not incremental and not history.stopped_early and self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                          "and the optimization hasn't converged yet.", ConvergenceWarning)

    def _split(self, X, Y, w):
        """(X_train, Y_train, w_train, (X_val, y_val, w_val) or None): scikit-learn's
        early-stopping split (the weights split with their rows)."""
        if not self.early_stopping:
            return X, Y, w, None
        stratify = Y if self._stratify() else None
        arrays = (np.arange(len(X)), Y) if w is None else (np.arange(len(X)), Y, w)
        parts = train_test_split(*arrays, test_size=self.validation_fraction, stratify=stratify,
                                 random_state=int(self._rng.integers(2 ** 31 - 1)))
        train, val, Y, Y_val = parts[:4]
        w, w_val = parts[4:] if w is not None else (None, None)
        if len(val) < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")
        return (_rows(X, train), np.ascontiguousarray(Y), w,
                (_rows(X, val), self._decode(Y_val), w_val))

    def _prepare_optimizer(self, incremental):
        """The fastnn optimizer of ``solver``: kept with its state across
        warm-start fits and partial_fit; a warm-start fit re-reads the
        hyperparameters, partial_fit keeps the (possibly adapted) ones."""
        name, kwargs = self._optimizer_spec()
        opt = self._optimizer
        if opt is None or opt.name != name:
            opt = self._optimizer = optim.get(name, backend=self._net.backend_name, **kwargs)
        elif not incremental:
            for key, value in kwargs.items():
                setattr(opt, key, value)
        return opt

    def _optimizer_spec(self):
        """(fastnn.optim name, constructor keywords) for ``solver``."""
        name = self.solver
        if name == "sgd" and self.momentum > 0:
            name = "nag" if self.nesterovs_momentum else "momentum"
        scale = self._loss_scale if name in _LINEAR_IN_GRADIENT else 1.0
        kwargs = {"lr": scale * self.learning_rate_init}
        if name in ("momentum", "nag"):
            kwargs["beta"] = self.momentum
        if name in _ADAM_LIKE:
            kwargs.update(beta1=self.beta_1, beta2=self.beta_2, eps=self.epsilon)
        return name, kwargs

    def _objective(self, data_loss, steps, n_samples, mean_weight):
        """scikit-learn's loss_ of an epoch: c * L_data + the penalty summed over
        its steps, alpha / (2 n_samples mean_weight) ||W||^2 each (W at the epoch's end)."""
        penalty = sum(float(np.dot(layer.W.ravel(), layer.W.ravel())) for layer in self._net.layers)
        return (self._loss_scale * data_loss
                + 0.5 * self.alpha * penalty * steps / (n_samples * mean_weight))

    def _update_no_improvement_count(self, validation):
        """scikit-learn's rule: an epoch improves when the training loss drops
        by more than tol below the best (or, with early stopping, the
        validation score rises by at least tol above the best)."""
        if validation is None:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])
            return
        score = self._score(*validation)
        self.validation_scores_.append(score)
        if self.verbose:
            print(f"Validation score: {score:f}")
        if score < self.best_validation_score_ + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            self._best_params = self._net.params.copy()

    def _fit_lbfgs(self, X, Y, w):
        """Minimise J = c L_data + alpha / (2 sum_i w_i) sum_k ||W_k||^2 with
        SciPy's L-BFGS-B (L_data the w-weighted mean loss; w_i = 1 without weights)."""
        net = self._net
        decay = np.zeros(net.params.shape)
        for W, _ in layer_views(decay, net.sizes):
            W[...] = self.alpha / (len(X) if w is None else w.sum())
        c = self._loss_scale
        w = net.sample_weights(w, len(X))

        work = net.workspace(len(X), sparse=is_sparse(X))

        def objective(theta):
            net.params[...] = theta
            loss = net.kernel_loss_and_grad(X, Y, w, work)
            return (c * loss + 0.5 * float(np.dot(decay * theta, theta)),
                    c * net.grads.astype(np.float64) + decay * theta)

        result = scipy.optimize.minimize(
            objective, net.params.astype(np.float64), method="L-BFGS-B", jac=True,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol})
        net.params[...] = result.x
        if not np.all(np.isfinite(net.params)):
            raise ValueError("Solver produced non-finite parameter weights. The input data "
                             "may contain large values and need to be preprocessed.")
        if result.status != 0:
            warnings.warn(f"lbfgs failed to converge (status={result.status}): "
                          f"{result.message}", ConvergenceWarning)
        self.n_iter_ = min(int(result.nit), self.max_iter)
        self.loss_ = float(result.fun)

    # -- prediction -------------------------------------------------------
    def _forward(self, X):
        """O(a_L) for the rows of X, checked as scikit-learn does."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=True, dtype=FLOATS, reset=False)
        return self._net.forward(X)

    def _score(self, X, y, w):
        """Accuracy or R^2 of validated data, weighted by w (None: unweighted);
        NaN when predictions are not finite."""
        P = self._net.forward(X)
        if not np.all(np.isfinite(P)):
            return np.nan
        return self._score_function(y, self._decode(P), sample_weight=w)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- scikit-learn's own estimators -------------------------------------
    def to_sklearn(self):
        """The scikit-learn estimator of the same name, fitted: copies of
        ``coefs_`` and ``intercepts_`` and the other fitted attributes, so
        that it predicts what this estimator predicts. Its parameters are
        this estimator's (a solver scikit-learn lacks becomes "adam", which
        matters only if it is refitted). Hidden units scikit-learn lacks
        (leaky_relu) raise a ValueError."""
        check_is_fitted(self)
        if self.activation not in _SKLEARN_ACTIVATION:
            raise ValueError(f"activation={self.activation!r} has no scikit-learn equivalent "
                             f"(it has {', '.join(sorted(set(_SKLEARN_ACTIVATION.values())))})")
        theirs = getattr(neural_network, type(self).__name__)()
        params = {k: v for k, v in self.get_params().items() if k in theirs.get_params()}
        params["activation"] = _SKLEARN_ACTIVATION[self.activation]
        if params["solver"] not in _SKLEARN_SOLVERS:
            params["solver"] = "adam"
        theirs.set_params(**params)
        _copy_fitted(self, theirs)
        theirs.coefs_ = [W.copy() for W in self.coefs_]
        theirs.intercepts_ = [b.copy() for b in self.intercepts_]
        theirs.n_layers_, theirs.n_outputs_ = self.n_layers_, self.n_outputs_
        theirs.out_activation_ = self.out_activation_
        return theirs

    # -- pickling: the network and optimizer hold kernel modules ----------
    def __getstate__(self):
        state = dict(super().__getstate__())  # may be self.__dict__ itself
        if "_net" in state:
            net = state.pop("_net")
            state["_net_state"] = {"sizes": net.sizes, "activation": net.activation,
                                   "output": net.output, "dtype": net.dtype.name,
                                   "params": net.params}
        if state.get("_optimizer") is not None:
            state["_optimizer"] = state["_optimizer"].state_dict()
        return state

    def __setstate__(self, state):
        net_state = state.pop("_net_state", None)
        opt_state = state.get("_optimizer")
        super().__setstate__(state)
        if net_state is None:
            return
        params = net_state.pop("params")
        self._net = MLP(net_state.pop("sizes"), random_state=0, backend=self.backend, **net_state)
        self._net.params[...] = params
        if opt_state is not None:
            self._optimizer = optim.get(str(opt_state["name"]), backend=self._net.backend_name)
            self._optimizer.load_state_dict(opt_state)


class _EpochEnd(Callback):
    """scikit-learn's end-of-epoch bookkeeping inside fastnn.fit: n_iter_, t_,
    loss_ and loss_curve_, the no-improvement count, and the learning-rate rule
    ("invscaling": eta = eta_0 / (t_ + 1)^power_t with t_ the samples seen;
    "adaptive": eta / 5 instead of stopping, until eta <= 1e-6)."""

    def __init__(self, est, opt, n_samples, batch_size, mean_weight, validation):
        self.est, self.opt, self.n_samples, self.validation = est, opt, n_samples, validation
        self.mean_weight = mean_weight
        self.lr0 = est._optimizer_spec()[1]["lr"]
        self.steps = -(-n_samples // batch_size)
        uses_rule = est.solver != "adam" and est._schedule is None
        self.rule = est.learning_rate if uses_rule else "constant"

    def on_epoch_end(self, net, epoch, logs):
        est = self.est
        est.n_iter_ += 1
        est.t_ += self.n_samples
        est.loss_ = est._objective(logs["loss"], self.steps, self.n_samples, self.mean_weight)
        est.loss_curve_.append(est.loss_)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
        est._update_no_improvement_count(self.validation)
        if self.rule == "invscaling":
            self.opt.lr = self.lr0 / (est.t_ + 1) ** est.power_t
        if est._no_improvement_count <= est.n_iter_no_change:
            return False
        if self.rule == "adaptive" and self.opt.lr > 1e-6 * self.lr0 / est.learning_rate_init:
            self.opt.lr /= 5.0
            est._no_improvement_count = 0
            return False
        if est.verbose:
            print(f"{'Validation score' if self.validation else 'Training loss'} did not "
                  f"improve more than tol={est.tol:f} for {est.n_iter_no_change} "
                  "consecutive epochs. Stopping.")
        return True


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier: scikit-learn's MLPClassifier trained
    by fastnn (softmax output for multiclass, logistic units for binary and
    multilabel targets). Parameters and attributes as scikit-learn's; see the
    module docstring for the extras (solver names, schedule, backend, dtype).

    >>> from sklearn.datasets import load_digits
    >>> from fastnn.estimators import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier((64,), max_iter=30, tol=1e-2, random_state=0).fit(X / 16, y)
    >>> clf.score(X / 16, y) > 0.95
    True
    """

    _parameter_constraints = {**_BaseMLP._parameter_constraints,
                              "class_weight": [StrOptions({"balanced"}), dict, None]}
    _loss_scale = 1.0
    _score_function = staticmethod(accuracy_score)

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 class_weight=None, schedule=None, backend=None, dtype=None):
        _keep_arguments(self, locals())

    @available_if(lambda est: est.solver != "lbfgs")
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y) with weights ``sample_weight``; ``classes``
        (every label) is required on the first call."""
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=True, multi_output=True, dtype=FLOATS,
                             reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or not (self.warm_start or incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and set(classes) != set(self.classes_):
                raise ValueError(f"warm_start can only be used where `y` has the same classes "
                                 f"as in the previous call to fit. Previously got "
                                 f"{self.classes_}, `y` has {classes}")
            if len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` "
                                 f"has {self.classes_}. 'y' has {classes}.")
        return X, self._label_binarizer.transform(y)

    def _weights(self, X, y, sample_weight, incremental):
        return _sample_weights(X, y, sample_weight, self.class_weight, incremental)

    def _output(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "sigmoid"

    def _stratify(self):
        return self.n_outputs_ == 1

    def _decode(self, P):
        """Labels from probability rows (or one-hot / 0-1 target rows)."""
        return self._label_binarizer.inverse_transform(P[:, 0] if P.shape[1] == 1 else P)

    def predict(self, X):
        """Predicted class labels (argmax, or probability >= 0.5 per logistic unit)."""
        return self._decode(self._forward(X))

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``."""
        P = self._forward(X)
        if P.shape[1] == 1:
            return np.hstack([1 - P, P])
        return P

    def predict_log_proba(self, X):
        """log(predict_proba(X))."""
        P = self.predict_proba(X)
        return np.log(P, out=P)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's MLPRegressor trained by
    fastnn: ``loss="squared_error"`` (identity output) or ``"poisson"`` (half
    Poisson deviance of an exponential output y_hat = e^{a_L}, computed from
    the logits; targets must be >= 0). Parameters and attributes as
    scikit-learn's; see the module docstring for the extras.

    >>> import numpy as np
    >>> from fastnn.estimators import MLPRegressor
    >>> X = np.linspace(-1, 1, 200).reshape(-1, 1)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", random_state=0)
    >>> reg.fit(X, X[:, 0] ** 2).score(X, X[:, 0] ** 2) > 0.99
    True
    """

    _parameter_constraints = {**_BaseMLP._parameter_constraints,
                              "loss": [StrOptions({"squared_error", "poisson"})]}
    _loss_scale = 0.5
    _score_function = staticmethod(r2_score)

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 schedule=None, backend=None, dtype=None):
        _keep_arguments(self, locals())

    @available_if(lambda est: est.solver != "lbfgs")
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y) with weights ``sample_weight``."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=True, multi_output=True, y_numeric=True,
                             dtype=FLOATS, reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("Some value(s) of y are negative which is not allowed for "
                             "Poisson regression.")
        return X, y.reshape(len(y), -1)

    def _output(self):
        return "exp" if self.loss == "poisson" else "linear"

    def _stratify(self):
        return False

    def _decode(self, P):
        return P[:, 0] if P.shape[1] == 1 else P

    def predict(self, X):
        """Predicted values, shape (n_samples,) or (n_samples, n_outputs)."""
        return self._decode(self._forward(X))


class Perceptron(ClassifierMixin, BaseEstimator):
    """The notes' perceptron learning algorithm (Algorithm 1) as a classifier,
    trained by :func:`fastnn.perceptron.train_perceptron`.

    With x = [1, x_1, ..., x_n] (so w_0 is the bias, the notes' -theta), the
    perceptron says y = 1 iff w . x >= 0. Training starts from random weights
    and visits the samples epoch by epoch in random order: a sample of P
    (label 1) with w . x < 0 gives w = w + x, a sample of N (label 0) with
    w . x >= 0 gives w = w - x. It stops at the first epoch without a
    correction (converged: on linearly separable data this happens after
    finitely many corrections, the notes' proposition) or after ``max_iter``
    epochs, with a ConvergenceWarning.

    Two classes: one perceptron, P = ``classes_[1]``. More: one perceptron per
    class (that class against the rest), predicting the class of largest w . x.

    ``class_weight`` (a dict label -> weight, or "balanced": n_samples /
    (n_classes * count)) scales a sample's corrections, w = w +- c x, by its
    class's weight c; a class of weight 0 is never corrected.

    Attributes: ``coef_`` (n_perceptrons, n_features) = w_1..w_n,
    ``intercept_`` = w_0, ``classes_``, ``n_iter_`` (epochs of the longest
    run), ``converged_`` (per perceptron), ``n_features_in_``.

    >>> from fastnn.datasets import boolean_function
    >>> X, y = boolean_function("and")
    >>> Perceptron(random_state=0).fit(X, y).predict(X)
    array([0, 0, 0, 1])
    """

    _parameter_constraints = {
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "backend": [StrOptions(set(BACKENDS)), None],
    }

    def __init__(self, max_iter=1000, *, random_state=None, warm_start=False, class_weight=None,
                 backend=None):
        _keep_arguments(self, locals())

    def fit(self, X, y):
        """Run the learning algorithm for up to ``max_iter`` epochs; returns self."""
        self._validate_params()
        first = not (self.warm_start and hasattr(self, "coef_"))
        X, y = validate_data(self, X, y, dtype=FLOATS, reset=first)
        if first:
            self.classes_ = unique_labels(y)
        self._learn(X, y, self.max_iter, first, incremental=False)
        if not self.converged_.all():
            warnings.warn(f"The perceptron learning algorithm did not converge in "
                          f"{self.max_iter} epochs: the classes are not linearly separable "
                          "or need more epochs.", ConvergenceWarning)
        return self

    def partial_fit(self, X, y, classes=None):
        """One epoch of the learning algorithm; ``classes`` is required on the first call."""
        self._validate_params()
        first = _check_partial_fit_first_call(self, classes)
        X, y = validate_data(self, X, y, dtype=FLOATS, reset=first)
        if len(np.setdiff1d(unique_labels(y), self.classes_)):
            raise ValueError(f"`y` has classes not in `self.classes_` ({self.classes_})")
        self._learn(X, y, 1, first, incremental=True)
        return self

    def _learn(self, X, y, epochs, first, incremental):
        """Train one perceptron per positive class, from random weights
        (``first``) or from the current ones; every sample's corrections are
        scaled by the weight ``class_weight`` gives its class."""
        if first:
            self._rng = _generator(self.random_state)
        weights = _sample_weights(X, y, None, self.class_weight, incremental)
        positive = self.classes_[-1:] if len(self.classes_) <= 2 else self.classes_
        runs = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", perceptron.ConvergenceWarning)
            for k, c in enumerate(positive):
                w = None if first else np.r_[self.intercept_[k], self.coef_[k]]
                runs.append(perceptron.train_perceptron(
                    X, (y == c).astype(np.int64), w=w, max_epochs=epochs,
                    random_state=self._rng, backend=self.backend, sample_weight=weights))
        W = np.array([run.weights for run in runs])
        self.coef_, self.intercept_ = W[:, 1:], W[:, 0]
        self.converged_ = np.array([run.converged for run in runs])
        self.n_iter_ = max(run.epochs for run in runs)

    def decision_function(self, X):
        """w . x = w_0 + sum_i w_i x_i per perceptron (1-D for two classes)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOATS, reset=False)
        scores = X @ self.coef_.T.astype(X.dtype) + self.intercept_.astype(X.dtype)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        """classes_[1] where w . x >= 0 (two classes), else the class of largest w . x."""
        scores = self.decision_function(X)
        if scores.ndim == 2:
            return self.classes_[scores.argmax(axis=1)]
        return self.classes_[np.minimum(scores >= 0, len(self.classes_) - 1).astype(np.int64)]


def from_sklearn(est, *, backend=None):
    """A fastnn MLPClassifier / MLPRegressor equal to the fitted scikit-learn
    estimator ``est``: its parameters, its fitted attributes, a network of
    ``est.coefs_`` and ``est.intercepts_`` in their dtype; it predicts what
    ``est`` predicts and can continue training (``warm_start``, ``partial_fit``)
    with a fresh optimizer state. ``backend`` picks the kernel backend."""
    kinds = {neural_network.MLPClassifier: MLPClassifier,
             neural_network.MLPRegressor: MLPRegressor}
    cls = next((ours for theirs, ours in kinds.items() if isinstance(est, theirs)), None)
    if cls is None:
        raise TypeError(f"from_sklearn needs a scikit-learn MLPClassifier or MLPRegressor, "
                        f"got {type(est).__name__}")
    check_is_fitted(est)
    ours = cls(**est.get_params(), backend=backend)
    _copy_fitted(est, ours)
    sizes = [est.coefs_[0].shape[0], *(W.shape[1] for W in est.coefs_)]
    ours._build(sizes, est.coefs_[0].dtype)
    ours.coefs_, ours.intercepts_ = est.coefs_, est.intercepts_
    if ours.solver != "lbfgs":
        ours._start_curves()
        _copy_fitted(est, ours)
    return ours


def _copy_fitted(source, target):
    """Copy the attributes of ``_FITTED`` that ``source`` has onto ``target``."""
    for name in _FITTED:
        if hasattr(source, name):
            setattr(target, name, copy.deepcopy(getattr(source, name)))


def _sample_weights(X, y, sample_weight, class_weight=None, incremental=False):
    """Per-sample weights as float64 (>= 0, not all 0): ``sample_weight``
    (default ones) times the weight ``class_weight`` gives each sample's class
    (a dict of label -> weight, or "balanced": n_samples / (n_classes * count
    of the class)); None when both are None (all ones, the unweighted path)."""
    if class_weight is None and sample_weight is None:
        return None
    if incremental and class_weight == "balanced":
        raise ValueError("class_weight='balanced' is not supported by partial_fit: the class "
                         "frequencies of one batch are not those of the data. Pass the dict "
                         "sklearn.utils.class_weight.compute_class_weight('balanced', "
                         "classes=classes, y=y) of a large enough sample instead.")
    w = None if class_weight is None else compute_sample_weight(class_weight, y)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                             ensure_non_negative=True)
        w = sample_weight if w is None else w * sample_weight
    return _check_sample_weight(w, X, dtype=np.float64, ensure_non_negative=True)


def _rows(X, rows):
    """The rows ``rows`` of validated X (an array, or SparseRows)."""
    return X.take(rows) if is_sparse(X) else X[rows]


def _keep_arguments(est, arguments):
    """scikit-learn's constructor convention: every argument stored unchanged
    as the attribute of its name."""
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


def _generator(random_state):
    """A numpy Generator from scikit-learn's random_state (None, int,
    RandomState) or a Generator (used as is)."""
    if isinstance(random_state, np.random.RandomState):
        random_state = random_state.randint(np.iinfo(np.int32).max)
    return np.random.default_rng(random_state)
