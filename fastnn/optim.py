r"""Optimizers of the notes (sections 5 and 6), one fused in-place kernel call per step.

An optimizer owns its hyperparameters, in the live float64 vector ``hp`` that
the kernels read (layout ``fastnn._kernels.codes.HP_*``), its step count ``t``
and its state buffers ``s1``, ``s2`` (momentum, moments, accumulators) in the
parameters' shape and dtype. ``step(params, grads)`` validates its arguments
and makes ONE call ``backend.optimizer_step(state, params, grads)``, with
``state`` the kernels' :class:`~fastnn._kernels.values.OptimizerState` (code,
``s1``, ``s2``, ``hp``, ``t``), that updates ``params``, the state and ``t`` in place, whatever the size of the
buffer (the compiled backends in one pass, without temporaries). The compiled
training loops reuse the same kernel with the same ``code``, ``hp`` and
state, so a model trained by ``fastnn.fit`` and one stepped by hand follow
the same rule.

In every rule ``g_t`` is the gradient passed to ``step``, plus ``lambda w_t``
when ``weight_decay`` (lambda) is not 0 (L2 regularisation added to the
gradient, as PyTorch's ``weight_decay``), and ``t = 1, 2, ...`` counts steps.

Example: the same loop for any optimizer of :data:`NAMES`

>>> import numpy as np
>>> from fastnn import optim
>>> target = np.array([1.0, -2.0])
>>> w = np.zeros(2)
>>> opt = optim.get("adam", lr=0.1)
>>> for _ in range(500):
...     opt.step(w, 2 * (w - target))          # gradient of |w - target|^2
>>> np.round(w, 3), opt.t
(array([ 1., -2.]), 500)
"""
import numpy as np

from ._kernels import get_backend, resolve_backend_name
from ._kernels.values import OptimizerState
from ._kernels.codes import (
    HP_BETA1, HP_BETA2, HP_EPS, HP_LR, HP_MOMENTUM_DECAY, HP_MU_PRODUCT, HP_SIZE,
    HP_TORCH, HP_WEIGHT_DECAY, OPT_ADADELTA, OPT_ADAGRAD, OPT_ADAM, OPT_ADAMAX,
    OPT_MAXPROP, OPT_MOMENTUM, OPT_NADAM, OPT_NAG, OPT_RMSPROP, OPT_SGD,
)
from ._validation import (
    check_all_finite, check_buffer, check_float_dtype, check_in_range, check_int,
    check_nonnegative, check_positive,
)

__all__ = ["Optimizer", "SGD", "Momentum", "NAG", "AdaGrad", "RMSprop", "AdaDelta",
           "Adam", "AdaMax", "MaxProp", "NAdam", "NAMES", "get"]


def _check_beta(value, name):
    return check_in_range(value, name, 0.0, 1.0, hi_open=True)


class _Hyperparameter:
    """A hyperparameter stored in the optimizer's ``hp`` vector at ``index``;
    reading gives a float, assigning validates with ``check(value, name)``."""

    def __init__(self, index, name, check, doc):
        self.index, self.name, self.check, self.__doc__ = index, name, check, doc

    def __get__(self, opt, owner=None):
        if opt is None:
            return self
        return float(opt.hp[self.index])

    def __set__(self, opt, value):
        opt.hp[self.index] = self.check(value, self.name)


_LR = _Hyperparameter(HP_LR, "lr", check_positive, "Learning rate eta (> 0).")
_WEIGHT_DECAY = _Hyperparameter(HP_WEIGHT_DECAY, "weight_decay", check_nonnegative,
                                "L2 coefficient lambda (>= 0): the rule sees g + lambda w.")
_BETA = _Hyperparameter(HP_BETA1, "beta", _check_beta, "Decay rate beta, in [0, 1).")
_BETA1 = _Hyperparameter(HP_BETA1, "beta1", _check_beta,
                         "Decay rate beta1 of the first moment, in [0, 1).")
_BETA2 = _Hyperparameter(HP_BETA2, "beta2", _check_beta,
                         "Decay rate beta2 of the second moment (or max-norm), in [0, 1).")
_EPS = _Hyperparameter(HP_EPS, "eps", check_nonnegative,
                       "Epsilon (>= 0) that keeps the denominator away from 0.")
_MOMENTUM_DECAY = _Hyperparameter(HP_MOMENTUM_DECAY, "momentum_decay", check_nonnegative,
                                  "psi of PyTorch's momentum schedule (>= 0).")


class Optimizer:
    """Base class: hyperparameters in ``hp``, step count ``t``, state buffers.

    Subclasses set ``name``, ``code`` (``codes.OPT_*``), ``n_states`` (how
    many of ``s1``, ``s2`` the rule uses), ``hyperparameters`` (the names of
    their properties stored in ``hp``), ``has_torch_variant`` (whether
    ``torch_compatible=True`` selects PyTorch's form of the rule) and the
    hyperparameter properties themselves.

    ``backend`` is a name of :func:`fastnn.available_backends` (default:
    ``$FASTNN_BACKEND``, else the fastest); ``check_finite=True`` makes
    ``step`` refuse gradients holding NaN or infinity, at the cost of one
    extra read of ``grads`` (a BLAS dot).
    """
    name = None
    code = None
    n_states = 0
    hyperparameters = ("lr", "weight_decay")
    has_torch_variant = False
    lr = _LR
    weight_decay = _WEIGHT_DECAY

    def __init__(self, *, backend=None, check_finite=True, torch_compatible=False, **hyper):
        self._hp = np.zeros(HP_SIZE)
        self._hp[HP_TORCH] = 1.0 if torch_compatible else 0.0
        for name, value in hyper.items():
            setattr(self, name, value)
        self.backend_name = resolve_backend_name(backend)
        self.backend = get_backend(self.backend_name)
        self._backend_given = backend is not None
        self.check_finite = bool(check_finite)
        self.reset()

    @property
    def hp(self):
        """The live float64 hyperparameter vector (``codes.HP_*`` layout) read by the kernels."""
        return self._hp

    @property
    def torch_compatible(self):
        """True when this instance follows PyTorch's variant of its rule."""
        return bool(self._hp[HP_TORCH])

    @property
    def t(self):
        """Number of steps taken; the next step is step t + 1."""
        return int(self._steps[0])

    @t.setter
    def t(self, value):
        self._steps[0] = check_int(value, "t", minimum=0)

    def __getstate__(self):
        """Pickle by value: the backend travels by name (modules do not pickle)."""
        state = dict(self.__dict__)
        del state["backend"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.backend = get_backend(self.backend_name)

    def check_backend(self, backend_name, owner):
        """ValueError when this optimizer was created with a backend other than
        ``backend_name``, the backend of ``owner`` (which steps it); an optimizer
        created without ``backend=`` follows its owner."""
        if self._backend_given and self.backend_name != backend_name:
            raise ValueError(f"the optimizer was created with backend={self.backend_name!r} "
                             f"but {owner} uses backend={backend_name!r}; create both with "
                             f"the same backend")

    def reset(self):
        """Forget the state and the step count (hyperparameters are kept)."""
        self._state = None
        self._steps = np.zeros(1, dtype=np.int64)  # t, advanced by the kernels
        self._hp[HP_MU_PRODUCT] = 1.0

    def state_buffers(self, params):
        """``(s1, s2)``: the state buffers for ``params``, created zeroed in its
        shape and dtype on first use; unused buffers are empty arrays of that dtype.
        The kernels update them in place: they are the optimizer's state."""
        check_buffer(params, "params")
        return self.kernel_state(params)[1:3]

    def kernel_state(self, params):
        """The :class:`~fastnn._kernels.values.OptimizerState` the kernels step
        ``params`` with (already-validated ``params``; see :meth:`state_buffers`)."""
        if self._state is None:
            used = [np.zeros(params.shape, params.dtype) for _ in range(self.n_states)]
            unused = [np.empty(0, params.dtype) for _ in range(2 - self.n_states)]
            self._state = self._kernel_state(*used, *unused)
        s1 = self._state.s1
        if s1.dtype != params.dtype or (self.n_states and s1.shape != params.shape):
            raise ValueError(
                f"params has shape {params.shape} and dtype {params.dtype}, but this "
                f"optimizer's state was created for shape {s1.shape} and dtype {s1.dtype}; "
                "call reset() to start a new state")
        return self._state

    def step(self, params, grads):
        """Update ``params`` in place by one step of the rule with gradient ``grads``.

        Both are C-contiguous NumPy arrays of one shape and one dtype (float32
        or float64), ``params`` writable and not sharing memory with ``grads``.
        With ``check_finite`` a NaN or infinity in ``grads`` is a ValueError
        raised before anything changes (one BLAS dot over ``grads``: about 2 us
        plus 1/(3 + 2 k) of the update's memory traffic for k state buffers)."""
        check_buffer(params, "params", writable=True)
        check_buffer(grads, "grads", dtype=params.dtype, shape=params.shape)
        if np.may_share_memory(params, grads):
            raise ValueError("grads must not share memory with params")
        if self.check_finite:
            check_all_finite(grads, "grads")
        self.backend.optimizer_step(self.kernel_state(params), params, grads)

    def state_dict(self):
        """Copies of everything needed to continue: ``{"name", "t", "hp"}`` and,
        once the state exists, ``"s1"``, ``"s2"``. Plain NumPy arrays, ints and
        strings: ``numpy.savez(path, **opt.state_dict())`` stores it without pickle."""
        state = {"name": self.name, "t": self.t, "hp": self._hp.copy()}
        if self._state is not None:
            state["s1"], state["s2"] = self._state.s1.copy(), self._state.s2.copy()
        return state

    def load_state_dict(self, state):
        """Continue from ``state`` (from :meth:`state_dict`, or the arrays of an
        ``.npz`` file it was saved to); the arrays are copied."""
        if str(state["name"]) != self.name:
            raise ValueError(f"state['name'] is {str(state['name'])!r}, "
                             f"but this optimizer is {self.name!r}")
        t = np.asarray(state["t"])
        if t.shape != () or t.dtype.kind not in "iu":
            raise TypeError(f"state['t'] must be an integer, got {state['t']!r}")
        hp = self._checked_hp(state["hp"])
        buffers = self._checked_buffers(state)
        self.t = int(t)
        self._hp[...] = hp
        self._state = None if buffers is None else self._kernel_state(*buffers)

    def _kernel_state(self, s1, s2):
        return OptimizerState(self.code, s1, s2, self._hp, self._steps)

    def _checked_hp(self, hp):
        hp = np.asarray(hp, dtype=np.float64)
        if hp.shape != (HP_SIZE,):
            raise ValueError(f"state['hp'] must have shape ({HP_SIZE},), got {hp.shape}")
        for name in self.hyperparameters:
            attr = getattr(type(self), name)
            attr.check(hp[attr.index], f"state['hp'] {name}")
        if hp[HP_TORCH] not in ((0.0, 1.0) if self.has_torch_variant else (0.0,)):
            raise ValueError(f"state['hp'] has an invalid PyTorch flag {hp[HP_TORCH]!r}")
        check_in_range(hp[HP_MU_PRODUCT], "state['hp'] mu product", 0.0, 1.0)
        return hp

    def _checked_buffers(self, state):
        if "s1" not in state and "s2" not in state:
            return None
        if "s1" not in state or "s2" not in state:
            raise ValueError("state must hold both 's1' and 's2', or neither")
        s1, s2 = (np.array(state[key], order="C") for key in ("s1", "s2"))
        dtype = check_float_dtype(s1.dtype, "state['s1'] dtype")
        if s2.dtype != dtype:
            raise TypeError(f"state['s2'] has dtype {s2.dtype}, state['s1'] has {dtype}")
        used, unused = (s1, s2)[:self.n_states], (s1, s2)[self.n_states:]
        if any(s.shape != used[0].shape for s in used) or any(s.size for s in unused):
            raise ValueError(f"state buffers of shapes {s1.shape}, {s2.shape} do not fit "
                             f"{type(self).__name__} ({self.n_states} state buffers)")
        for key, s in zip(("s1", "s2"), used):
            check_all_finite(s, f"state[{key!r}]")
        return s1, s2

    def __repr__(self):
        names = self.hyperparameters + ("torch_compatible",) * self.has_torch_variant
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    r"""Vanilla gradient descent (notes 3.3, 5.3)::

        w_{t+1} = w_t - eta g_t

    Defaults: ``lr=1e-2`` (eta). PyTorch: ``torch.optim.SGD(params, lr=lr,
    weight_decay=weight_decay)`` gives the same iterates.

    >>> import numpy as np
    >>> from fastnn.optim import SGD
    >>> w = np.array([1.0, -2.0])
    >>> SGD(lr=0.25).step(w, 2 * w)              # gradient of |w|^2
    >>> w
    array([ 0.5, -1. ])
    """
    name, code, n_states = "sgd", OPT_SGD, 0

    def __init__(self, *, lr=1e-2, weight_decay=0.0, backend=None, check_finite=True):
        super().__init__(lr=lr, weight_decay=weight_decay,
                         backend=backend, check_finite=check_finite)


class Momentum(Optimizer):
    r"""Momentum-based gradient descent (notes 5.1)::

        u_t     = beta u_{t-1} + g_t,        u_0 = 0 before the first step
        w_{t+1} = w_t - eta u_t

    Defaults: ``lr=1e-2``, ``beta=0.9`` (Sutskever et al., 2013). State:
    ``s1 = u``. PyTorch: ``torch.optim.SGD(params, lr=lr, momentum=beta,
    dampening=0, weight_decay=weight_decay)`` gives the same iterates.

    >>> import numpy as np
    >>> from fastnn.optim import Momentum
    >>> w, opt = np.zeros(2), Momentum(lr=0.05, beta=0.9)
    >>> for _ in range(300):
    ...     opt.step(w, 2 * (w - [1.0, -2.0]))
    >>> np.round(w, 3)
    array([ 1., -2.])
    """
    name, code, n_states = "momentum", OPT_MOMENTUM, 1
    hyperparameters = ("lr", "beta", "weight_decay")
    beta = _BETA

    def __init__(self, *, lr=1e-2, beta=0.9, weight_decay=0.0, backend=None,
                 check_finite=True):
        super().__init__(lr=lr, beta=beta, weight_decay=weight_decay,
                         backend=backend, check_finite=check_finite)


class NAG(Optimizer):
    r"""Nesterov accelerated gradient descent (notes 5.2), look-ahead form::

        u_t     = beta u_{t-1} + g_t
        w_{t+1} = w_t - eta (beta u_t + g_t)

    The notes take the gradient at the look-ahead point ``w_t - eta beta
    u_{t-1}`` (``u`` is in gradient units, so the look-ahead moves by
    ``eta beta u``). Here the stored parameters ARE the look-ahead point:
    the ``grads`` passed to ``step`` are the gradient at the stored ``w``,
    and substituting ``w~_t = w_t - eta beta u_{t-1}`` into the notes' rule
    gives exactly the two lines above, with no second gradient evaluation.
    At a minimum ``u -> 0`` and both points coincide.

    The notes' "rewritten" NAG, ``m_{t+1} = beta m_t + eta g_{t+1}``,
    ``w_{t+1} = w_t - eta (beta m_{t+1} + g_{t+1})``, as printed multiplies the
    gradient by eta twice (once inside m, once outside); this class implements
    the consistent form above, in which eta appears once.

    Defaults: ``lr=1e-2``, ``beta=0.9``. State: ``s1 = u``. PyTorch:
    ``torch.optim.SGD(params, lr=lr, momentum=beta, dampening=0,
    nesterov=True, weight_decay=weight_decay)`` gives the same iterates.

    >>> import numpy as np
    >>> from fastnn.optim import NAG
    >>> w, opt = np.zeros(2), NAG(lr=0.05, beta=0.9)
    >>> for _ in range(200):
    ...     opt.step(w, 2 * (w - [1.0, -2.0]))
    >>> np.round(w, 3)
    array([ 1., -2.])
    """
    name, code, n_states = "nag", OPT_NAG, 1
    hyperparameters = ("lr", "beta", "weight_decay")
    beta = _BETA

    def __init__(self, *, lr=1e-2, beta=0.9, weight_decay=0.0, backend=None,
                 check_finite=True):
        super().__init__(lr=lr, beta=beta, weight_decay=weight_decay,
                         backend=backend, check_finite=check_finite)


class AdaGrad(Optimizer):
    r"""AdaGrad (notes 6, Duchi et al., 2011)::

        v_t     = v_{t-1} + g_t^2,           v_0 = 0
        w_{t+1} = w_t - eta g_t / sqrt(v_t + eps)          (notes: eps inside the root)
        w_{t+1} = w_t - eta g_t / (sqrt(v_t) + eps)        (torch_compatible=True)

    Defaults: ``lr=1e-2``, ``eps=1e-10`` (PyTorch's values; inside the root
    eps bounds the denominator below by sqrt(eps) = 1e-5). State: ``s1 = v``.

    PyTorch: the notes' rule equals ``torch.optim.Adagrad(params, lr=lr, eps=0,
    initial_accumulator_value=eps, weight_decay=weight_decay)`` (PyTorch's
    accumulator then holds ``v + eps``); with ``torch_compatible=True`` it is
    ``torch.optim.Adagrad(params, lr=lr, eps=eps, weight_decay=weight_decay)``.

    >>> import numpy as np
    >>> from fastnn.optim import AdaGrad
    >>> w, opt = np.zeros(2), AdaGrad(lr=0.5)
    >>> for _ in range(500):
    ...     opt.step(w, 2 * (w - [1.0, -2.0]))
    >>> np.round(w, 3)
    array([ 1., -2.])
    """
    name, code, n_states = "adagrad", OPT_ADAGRAD, 1
    hyperparameters = ("lr", "eps", "weight_decay")
    has_torch_variant = True
    eps = _EPS

    def __init__(self, *, lr=1e-2, eps=1e-10, weight_decay=0.0, torch_compatible=False,
                 backend=None, check_finite=True):
        super().__init__(lr=lr, eps=eps, weight_decay=weight_decay,
                         torch_compatible=torch_compatible,
                         backend=backend, check_finite=check_finite)


class RMSprop(Optimizer):
    r"""RMSprop (notes 6, Tieleman & Hinton, 2012)::

        v_t     = beta v_{t-1} + (1 - beta) g_t^2
        w_{t+1} = w_t - eta g_t / sqrt(v_t + eps)          (notes: eps inside the root)
        w_{t+1} = w_t - eta g_t / (sqrt(v_t) + eps)        (torch_compatible=True)

    Defaults: ``lr=1e-3``, ``beta=0.9`` (Hinton's lecture), ``eps=1e-8``.
    State: ``s1 = v``. PyTorch: with ``torch_compatible=True`` this is
    ``torch.optim.RMSprop(params, lr=lr, alpha=beta, eps=eps,
    weight_decay=weight_decay)`` (PyTorch's defaults are lr=1e-2, alpha=0.99).

    >>> import numpy as np
    >>> from fastnn.optim import RMSprop
    >>> w, opt = np.zeros(2), RMSprop(lr=0.01)
    >>> for _ in range(500):
    ...     opt.step(w, 2 * (w - [1.0, -2.0]))
    >>> np.round(w, 2)
    array([ 1., -2.])
    """
    name, code, n_states = "rmsprop", OPT_RMSPROP, 1
    hyperparameters = ("lr", "beta", "eps", "weight_decay")
    has_torch_variant = True
    beta = _BETA
    eps = _EPS

    def __init__(self, *, lr=1e-3, beta=0.9, eps=1e-8, weight_decay=0.0,
                 torch_compatible=False, backend=None, check_finite=True):
        super().__init__(lr=lr, beta=beta, eps=eps, weight_decay=weight_decay,
                         torch_compatible=torch_compatible,
                         backend=backend, check_finite=check_finite)


class AdaDelta(Optimizer):
    r"""AdaDelta (notes 6, Zeiler, 2012)::

        v_t      = beta v_{t-1} + (1 - beta) g_t^2
        Delta_t  = -sqrt(u_{t-1} + eps) / sqrt(v_t + eps) g_t
        w_{t+1}  = w_t + eta Delta_t
        u_t      = beta u_{t-1} + (1 - beta) Delta_t^2

    The notes' rule has no learning rate: keep ``lr=1.0`` (a different eta
    scales the step as PyTorch's ``lr`` does). Defaults: ``beta=0.95``,
    ``eps=1e-6`` (Zeiler's rho and epsilon). State: ``s1 = v``, ``s2 = u``.
    PyTorch: ``torch.optim.Adadelta(params, lr=lr, rho=beta, eps=eps,
    weight_decay=weight_decay)`` gives the same iterates (its default rho is 0.9).

    >>> import numpy as np
    >>> from fastnn.optim import AdaDelta
    >>> w, opt = np.zeros(2), AdaDelta(eps=1e-2)
    >>> for _ in range(500):
    ...     opt.step(w, 2 * (w - [1.0, -2.0]))
    >>> np.round(w, 2)
    array([ 1., -2.])
    """
    name, code, n_states = "adadelta", OPT_ADADELTA, 2
    hyperparameters = ("lr", "beta", "eps", "weight_decay")
    beta = _BETA
    eps = _EPS

    def __init__(self, *, lr=1.0, beta=0.95, eps=1e-6, weight_decay=0.0, backend=None,
                 check_finite=True):
        super().__init__(lr=lr, beta=beta, eps=eps, weight_decay=weight_decay,
                         backend=backend, check_finite=check_finite)


class Adam(Optimizer):
    r"""Adam (notes 6, Kingma & Ba, 2015, Algorithm 1)::

        m_t     = beta1 m_{t-1} + (1 - beta1) g_t,       m^_t = m_t / (1 - beta1^t)
        v_t     = beta2 v_{t-1} + (1 - beta2) g_t^2,     v^_t = v_t / (1 - beta2^t)
        w_{t+1} = w_t - eta m^_t / (sqrt(v^_t) + eps)

    eps is added to the bias-corrected root, as in the paper, PyTorch and optax
    (not scikit-learn's "epsilon-hat" form). Defaults: ``lr=1e-3``,
    ``beta1=0.9``, ``beta2=0.999``, ``eps=1e-8``. State: ``s1 = m``,
    ``s2 = v``. PyTorch: ``torch.optim.Adam(params, lr=lr, betas=(beta1,
    beta2), eps=eps, weight_decay=weight_decay)`` gives the same iterates.

    >>> import numpy as np
    >>> from fastnn.optim import Adam
    >>> w, opt = np.zeros(2), Adam(lr=0.1)
    >>> for _ in range(500):
    ...     opt.step(w, 2 * (w - [1.0, -2.0]))
    >>> np.round(w, 3)
    array([ 1., -2.])
    """
    name, code, n_states = "adam", OPT_ADAM, 2
    hyperparameters = ("lr", "beta1", "beta2", "eps", "weight_decay")
    beta1 = _BETA1
    beta2 = _BETA2
    eps = _EPS

    def __init__(self, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                 backend=None, check_finite=True):
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                         weight_decay=weight_decay, backend=backend,
                         check_finite=check_finite)


class AdaMax(Optimizer):
    r"""AdaMax (notes 6; Kingma & Ba, 2015, section 7): Adam with the infinity norm::

        m_t     = beta1 m_{t-1} + (1 - beta1) g_t,       m^_t = m_t / (1 - beta1^t)
        v_t     = max(beta2 v_{t-1}, |g_t|)
        w_{t+1} = w_t - eta m^_t / (v_t + eps)

    and with ``torch_compatible=True`` (eps moves into the max)::

        v_t     = max(beta2 v_{t-1}, |g_t| + eps)
        w_{t+1} = w_t - eta m^_t / v_t

    Defaults: ``lr=2e-3``, ``beta1=0.9``, ``beta2=0.999`` (the paper's),
    ``eps=1e-8``. State: ``s1 = m``, ``s2 = v``. PyTorch: with
    ``torch_compatible=True`` this is ``torch.optim.Adamax(params, lr=lr,
    betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)``.

    >>> import numpy as np
    >>> from fastnn.optim import AdaMax
    >>> w, opt = np.zeros(2), AdaMax(lr=0.05)
    >>> for _ in range(500):
    ...     opt.step(w, 2 * (w - [1.0, -2.0]))
    >>> np.round(w, 2)
    array([ 1., -2.])
    """
    name, code, n_states = "adamax", OPT_ADAMAX, 2
    hyperparameters = ("lr", "beta1", "beta2", "eps", "weight_decay")
    has_torch_variant = True
    beta1 = _BETA1
    beta2 = _BETA2
    eps = _EPS

    def __init__(self, *, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                 torch_compatible=False, backend=None, check_finite=True):
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                         weight_decay=weight_decay, torch_compatible=torch_compatible,
                         backend=backend, check_finite=check_finite)


class MaxProp(Optimizer):
    r"""MaxProp (notes 6): RMSprop with a decaying max of |g| instead of a mean square::

        v_t     = max(beta v_{t-1}, |g_t|)
        w_{t+1} = w_t - eta g_t / (v_t + eps)

    Steps have length about eta while the gradient shrinks, so near a
    minimum the iterates settle within about eta of it: lower ``lr`` (or
    schedule it) for a precise optimum. Defaults: ``lr=1e-3``, ``beta=0.9``,
    ``eps=1e-8``. State: ``s1 = v``. PyTorch has no MaxProp.

    >>> import numpy as np
    >>> from fastnn.optim import MaxProp
    >>> w, opt = np.zeros(2), MaxProp(lr=0.01)
    >>> for _ in range(500):
    ...     opt.step(w, 2 * (w - [1.0, -2.0]))
    >>> np.round(w, 1)
    array([ 1., -2.])
    """
    name, code, n_states = "maxprop", OPT_MAXPROP, 1
    hyperparameters = ("lr", "beta", "eps", "weight_decay")
    beta = _BETA
    eps = _EPS

    def __init__(self, *, lr=1e-3, beta=0.9, eps=1e-8, weight_decay=0.0, backend=None,
                 check_finite=True):
        super().__init__(lr=lr, beta=beta, eps=eps, weight_decay=weight_decay,
                         backend=backend, check_finite=check_finite)


class NAdam(Optimizer):
    r"""NAdam (notes 6; Dozat, 2016): Adam with a Nesterov look-ahead on m::

        m_t, v_t, m^_t, v^_t as in Adam
        w_{t+1} = w_t - eta / (sqrt(v^_t) + eps) (beta1 m^_t + (1 - beta1) g_t / (1 - beta1^t))

    With ``torch_compatible=True``, PyTorch's momentum schedule
    ``mu_t = beta1 (1 - 0.5 * 0.96^(t psi))`` (psi = ``momentum_decay``) and its
    running product ``P_t = mu_1 ... mu_t`` (kept in ``hp[HP_MU_PRODUCT]``,
    1.0 after ``reset``)::

        w_{t+1} = w_t - eta / (sqrt(v^_t) + eps)
                  ((1 - mu_t) / (1 - P_t) g_t + mu_{t+1} / (1 - P_t mu_{t+1}) m_t)

    Defaults: ``lr=2e-3``, ``beta1=0.9``, ``beta2=0.999``, ``eps=1e-8``,
    ``momentum_decay=4e-3`` (Dozat's and PyTorch's). State: ``s1 = m``,
    ``s2 = v``. PyTorch: with ``torch_compatible=True`` this is
    ``torch.optim.NAdam(params, lr=lr, betas=(beta1, beta2), eps=eps,
    momentum_decay=momentum_decay, weight_decay=weight_decay)``.

    >>> import numpy as np
    >>> from fastnn.optim import NAdam
    >>> w, opt = np.zeros(2), NAdam(lr=0.1)
    >>> for _ in range(500):
    ...     opt.step(w, 2 * (w - [1.0, -2.0]))
    >>> np.round(w, 3)
    array([ 1., -2.])
    """
    name, code, n_states = "nadam", OPT_NADAM, 2
    hyperparameters = ("lr", "beta1", "beta2", "eps", "weight_decay", "momentum_decay")
    has_torch_variant = True
    beta1 = _BETA1
    beta2 = _BETA2
    eps = _EPS
    momentum_decay = _MOMENTUM_DECAY

    def __init__(self, *, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                 momentum_decay=4e-3, torch_compatible=False, backend=None,
                 check_finite=True):
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                         weight_decay=weight_decay, momentum_decay=momentum_decay,
                         torch_compatible=torch_compatible, backend=backend,
                         check_finite=check_finite)


_CLASSES = {cls.name: cls for cls in (SGD, Momentum, NAG, AdaGrad, RMSprop, AdaDelta,
                                      Adam, AdaMax, MaxProp, NAdam)}
NAMES = tuple(_CLASSES)


def get(name, **kwargs):
    """The optimizer called ``name`` (one of :data:`NAMES`, any case) built with
    ``kwargs``; an :class:`Optimizer` instance (without kwargs) is returned as is.

    >>> from fastnn import optim
    >>> optim.get("momentum", lr=0.1, beta=0.5)
    Momentum(lr=0.1, beta=0.5, weight_decay=0.0)
    """
    if isinstance(name, Optimizer):
        if kwargs:
            raise TypeError(f"cannot apply {', '.join(kwargs)} to an optimizer instance")
        return name
    if not isinstance(name, str):
        raise TypeError(f"optimizer name must be a string, got {name!r}")
    cls = _CLASSES.get(name.lower())
    if cls is None:
        raise ValueError(f"unknown optimizer name={name!r}; valid names are {', '.join(NAMES)}")
    return cls(**kwargs)
