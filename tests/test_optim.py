"""Optimizers: every backend against the NumPy reference, against PyTorch, by hand,
and to convergence on a parabola and on Rosenbrock."""
import doctest
import io

import numpy as np
import pytest

from fastnn import optim
from fastnn._kernels import available_backends
from fastnn._kernels.codes import HP_MU_PRODUCT

BACKENDS = available_backends()

# Settings that exercise every branch of every rule (weight decay, both variants).
CONFIGS = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "weight_decay": 0.05}),
    ("momentum", {"lr": 0.05, "beta": 0.9, "weight_decay": 0.05}),
    ("nag", {"lr": 0.05, "beta": 0.9, "weight_decay": 0.05}),
    ("adagrad", {"lr": 0.1, "eps": 1e-3}),
    ("adagrad", {"lr": 0.1, "eps": 1e-3, "torch_compatible": True}),
    ("rmsprop", {"lr": 0.01, "beta": 0.9, "eps": 1e-6, "weight_decay": 0.05}),
    ("rmsprop", {"lr": 0.01, "beta": 0.9, "eps": 1e-6, "torch_compatible": True}),
    ("adadelta", {"lr": 1.0, "beta": 0.9, "eps": 1e-4, "weight_decay": 0.05}),
    ("adam", {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.05}),
    ("adamax", {"lr": 0.01, "eps": 1e-6, "weight_decay": 0.05}),
    ("adamax", {"lr": 0.01, "eps": 1e-6, "torch_compatible": True}),
    ("maxprop", {"lr": 0.01, "beta": 0.9, "eps": 1e-6, "weight_decay": 0.05}),
    ("nadam", {"lr": 0.01, "eps": 1e-6, "weight_decay": 0.05}),
    ("nadam", {"lr": 0.01, "eps": 1e-6, "weight_decay": 0.05, "torch_compatible": True}),
]
CONFIG_IDS = [f"{name}-{'-'.join(map(str, kw.values()))}" for name, kw in CONFIGS]


def gradient_sequence(n_steps, shape, dtype, seed=0):
    """Random gradients with some exact zeros (they hit the max(.) branches)."""
    rng = np.random.default_rng(seed)
    grads = rng.standard_normal((n_steps, *shape)).astype(dtype)
    grads[::3, 0] = 0
    return grads


def run(opt, w, grads):
    for g in grads:
        opt.step(w, g)
    return w


# --------------------------------------------------------------------------
# Every backend against the NumPy reference
# --------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=CONFIG_IDS)
def test_backend_matches_reference(backend, dtype, rtol, name, kwargs):
    # 1-D like a network's flat buffer; 91 is no multiple of a SIMD width
    grads = gradient_sequence(200, (91,), dtype)
    w0 = np.random.default_rng(1).standard_normal((91,)).astype(dtype)
    ref = optim.get(name, backend="numpy", **kwargs)
    opt = optim.get(name, backend=backend, **kwargs)
    w_ref, w = run(ref, w0.copy(), grads), run(opt, w0.copy(), grads)
    state_ref, state = ref.state_dict(), opt.state_dict()
    for key in ("s1", "s2", "hp"):
        scale = max(1.0, np.abs(state_ref[key]).max(initial=0))
        np.testing.assert_allclose(state[key], state_ref[key], rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(w, w_ref, rtol=rtol, atol=rtol * np.abs(w_ref).max())
    assert w.dtype == dtype and opt.t == 200


# --------------------------------------------------------------------------
# Against PyTorch on a replayed gradient sequence
# --------------------------------------------------------------------------

TORCH_CASES = [
    ("sgd", {"lr": 0.1, "weight_decay": 0.05},
     "SGD", {"lr": 0.1, "weight_decay": 0.05}),
    ("momentum", {"lr": 0.05, "beta": 0.9, "weight_decay": 0.05},
     "SGD", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.05}),
    ("nag", {"lr": 0.05, "beta": 0.9, "weight_decay": 0.05},
     "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}),
    ("adagrad", {"lr": 0.1, "eps": 1e-3, "weight_decay": 0.05},
     "Adagrad", {"lr": 0.1, "eps": 0.0, "initial_accumulator_value": 1e-3,
                 "weight_decay": 0.05}),
    ("adagrad", {"lr": 0.1, "eps": 1e-3, "torch_compatible": True},
     "Adagrad", {"lr": 0.1, "eps": 1e-3}),
    ("rmsprop", {"lr": 0.01, "beta": 0.9, "eps": 1e-3, "torch_compatible": True,
                 "weight_decay": 0.05},
     "RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-3, "weight_decay": 0.05}),
    ("adadelta", {"lr": 1.0, "beta": 0.9, "eps": 1e-4, "weight_decay": 0.05},
     "Adadelta", {"lr": 1.0, "rho": 0.9, "eps": 1e-4, "weight_decay": 0.05}),
    ("adam", {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.05},
     "Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05}),
    ("adamax", {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-3,
                "torch_compatible": True, "weight_decay": 0.05},
     "Adamax", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-3, "weight_decay": 0.05}),
    ("nadam", {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6,
               "momentum_decay": 0.1, "torch_compatible": True, "weight_decay": 0.05},
     "NAdam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "momentum_decay": 0.1,
               "weight_decay": 0.05}),
]


@pytest.mark.parametrize("name, kwargs, torch_name, torch_kwargs", TORCH_CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in TORCH_CASES])
def test_matches_pytorch(name, kwargs, torch_name, torch_kwargs):
    torch = pytest.importorskip("torch")
    grads = gradient_sequence(100, (5, 3), np.float64)
    w = np.random.default_rng(1).standard_normal((5, 3))
    p = torch.nn.Parameter(torch.tensor(w))
    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)   # else NAdam keeps its mu product in float32
    try:
        torch_opt = getattr(torch.optim, torch_name)([p], **torch_kwargs)
        opt = optim.get(name, **kwargs)
        for g in grads:
            p.grad = torch.tensor(g)
            torch_opt.step()
            opt.step(w, g)
    finally:
        torch.set_default_dtype(default_dtype)
    np.testing.assert_allclose(w, p.detach().numpy(), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------
# Convergence: one table of optimizers and settings
# --------------------------------------------------------------------------

CURVATURE = np.array([1.0, 10.0])
PARABOLA_MIN = np.array([1.0, -2.0])


def parabola_grad(w):
    """Gradient of sum_i a_i (w_i - c_i)^2 / 2, minimum at c."""
    return CURVATURE * (w - PARABOLA_MIN)


def rosenbrock_grad(w):
    """Gradient of (1 - x)^2 + 100 (y - x^2)^2, minimum at (1, 1)."""
    x, y = w
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


PROBLEMS = {  # gradient, start, minimum, tolerance (max-norm)
    "parabola": (parabola_grad, (0.0, 0.0), PARABOLA_MIN, 1e-3),
    "rosenbrock": (rosenbrock_grad, (0.0, 0.0), (1.0, 1.0), 1e-2),
}

CONVERGENCE = [  # optimizer, problem, settings, steps
    ("sgd", "parabola", {"lr": 0.1}, 150),
    ("sgd", "rosenbrock", {"lr": 2e-3}, 8000),
    ("momentum", "parabola", {"lr": 0.05, "beta": 0.5}, 150),
    ("momentum", "rosenbrock", {"lr": 2e-3, "beta": 0.9}, 1000),
    ("nag", "parabola", {"lr": 0.05, "beta": 0.5}, 150),
    ("nag", "rosenbrock", {"lr": 1e-3, "beta": 0.9}, 1500),
    ("adagrad", "parabola", {"lr": 1.0}, 50),
    ("adagrad", "rosenbrock", {"lr": 0.3}, 6000),
    ("rmsprop", "parabola", {"lr": 0.03}, 200),
    ("rmsprop", "rosenbrock", {"lr": 1e-3}, 6000),
    ("adadelta", "parabola", {"eps": 1e-2}, 50),
    ("adadelta", "rosenbrock", {"lr": 0.1, "eps": 1e-7}, 9000),
    ("adam", "parabola", {"lr": 0.1}, 250),
    ("adam", "rosenbrock", {"lr": 1e-2}, 600),
    ("adamax", "parabola", {"lr": 0.1}, 250),
    ("adamax", "rosenbrock", {"lr": 1e-2}, 1200),
    ("maxprop", "parabola", {"lr": 0.1, "beta": 0.999}, 250),
    ("maxprop", "rosenbrock", {"lr": 1e-3, "beta": 0.999}, 6000),
    ("nadam", "parabola", {"lr": 0.1}, 250),
    ("nadam", "rosenbrock", {"lr": 1e-2}, 800),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, problem, kwargs, steps", CONVERGENCE,
                         ids=[f"{c[0]}-{c[1]}" for c in CONVERGENCE])
def test_reaches_minimum(backend, name, problem, kwargs, steps):
    grad, start, minimum, tol = PROBLEMS[problem]
    w = np.array(start)
    opt = optim.get(name, backend=backend, **kwargs)
    for _ in range(steps):
        opt.step(w, grad(w))
    np.testing.assert_allclose(w, minimum, atol=tol, rtol=0)


# --------------------------------------------------------------------------
# One step from a preset state, computed by hand
# --------------------------------------------------------------------------
# w = 1, g = 2, lr = 0.1 throughout; t0 steps were taken before; s1, s2 are preset.
# Every expected value is worked out in the comment on its line.

HAND_CASES = [  # name, kwargs, t0, s1, s2, expected w, s1, s2 (None: empty), mu product
    # g = 2 + 0.5 * 1 = 2.5; w = 1 - 0.1 * 2.5
    ("sgd", {"weight_decay": 0.5}, 0, None, None, 0.75, None, None),
    # u = 0.5 * 0.5 + 2 = 2.25; w = 1 - 0.1 * 2.25
    ("momentum", {"beta": 0.5}, 3, 0.5, None, 0.775, 2.25, None),
    # u = 2.25; w = 1 - 0.1 * (0.5 * 2.25 + 2) = 1 - 0.3125
    ("nag", {"beta": 0.5}, 3, 0.5, None, 0.6875, 2.25, None),
    # v = 4.75 + 4 = 8.75; w = 1 - 0.1 * 2 / sqrt(8.75 + 0.25) = 1 - 0.2 / 3
    ("adagrad", {"eps": 0.25}, 3, 4.75, None, 1 - 0.2 / 3, 8.75, None),
    # v = 5 + 4 = 9; w = 1 - 0.1 * 2 / (sqrt(9) + 1) = 0.95
    ("adagrad", {"eps": 1.0, "torch_compatible": True}, 3, 5.0, None, 0.95, 9.0, None),
    # v = 0.5 * 2 + 0.5 * 4 = 3; w = 1 - 0.1 * 2 / sqrt(3 + 1) = 0.9
    ("rmsprop", {"beta": 0.5, "eps": 1.0}, 3, 2.0, None, 0.9, 3.0, None),
    # v = 0.5 * 4 + 0.5 * 4 = 4; w = 1 - 0.1 * 2 / (sqrt(4) + 1)
    ("rmsprop", {"beta": 0.5, "eps": 1.0, "torch_compatible": True}, 3, 4.0, None,
     1 - 0.2 / 3, 4.0, None),
    # v = 0.5 * 3.5 + 0.5 * 4 = 3.75; d = -sqrt(8.75 + 0.25) / sqrt(3.75 + 0.25) * 2 = -3;
    # w = 1 + 1 * (-3); u = 0.5 * 8.75 + 0.5 * 9 = 8.875
    ("adadelta", {"lr": 1.0, "beta": 0.5, "eps": 0.25}, 3, 3.5, 8.75, -2.0, 3.75, 8.875),
    # t = 2: m = 0.5 * 1 + 0.5 * 2 = 1.5, m_hat = 1.5 / (1 - 0.25) = 2;
    # v = 0.5 * 2 + 0.5 * 4 = 3, v_hat = 3 / 0.75 = 4; w = 1 - 0.1 * 2 / (2 + 0.5)
    ("adam", {"beta1": 0.5, "beta2": 0.5, "eps": 0.5}, 1, 1.0, 2.0, 0.92, 1.5, 3.0),
    # t = 2: m = 1.5, m_hat = 2; v = max(0.5 * 6, 2) = 3; w = 1 - 0.1 * 2 / (3 + 0.5)
    ("adamax", {"beta1": 0.5, "beta2": 0.5, "eps": 0.5}, 1, 1.0, 6.0,
     1 - 0.2 / 3.5, 1.5, 3.0),
    # t = 2: m_hat = 2; v = max(0.5 * 6, 2 + 0.5) = 3; w = 1 - 0.1 * 2 / 3
    ("adamax", {"beta1": 0.5, "beta2": 0.5, "eps": 0.5, "torch_compatible": True}, 1,
     1.0, 6.0, 1 - 0.2 / 3, 1.5, 3.0),
    # v = max(0.5 * 6, 2) = 3; w = 1 - 0.1 * 2 / (3 + 1) = 0.95
    ("maxprop", {"beta": 0.5, "eps": 1.0}, 3, 6.0, None, 0.95, 3.0, None),
    # t = 2: m = 1.5, m_hat = 2; v = 3, v_hat = 4;
    # w = 1 - 0.1 / (2 + 0.5) * (0.5 * 2 + 0.5 * 2 / (1 - 0.25)) = 1 - 0.04 * 7 / 3
    ("nadam", {"beta1": 0.5, "beta2": 0.5, "eps": 0.5}, 1, 1.0, 2.0,
     1 - 0.28 / 3, 1.5, 3.0),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, kwargs, t0, s1, s2, w_new, s1_new, s2_new", HAND_CASES,
                         ids=[f"{c[0]}-{c[1].get('torch_compatible', False)}"
                              for c in HAND_CASES])
def test_one_step_by_hand(backend, name, kwargs, t0, s1, s2, w_new, s1_new, s2_new):
    w = np.array([1.0])
    opt = optim.get(name, backend=backend, **{"lr": 0.1, **kwargs})
    opt.t = t0
    buffers = opt.state_buffers(w)
    for buf, value in zip(buffers, (s1, s2)):
        if value is not None:
            buf[...] = value
    opt.step(w, np.array([2.0]))
    assert w[0] == pytest.approx(w_new, rel=1e-14)
    for buf, value in zip(opt.state_buffers(w), (s1_new, s2_new)):
        if value is None:
            assert buf.size == 0
        else:
            assert buf[0] == pytest.approx(value, rel=1e-14)
    assert opt.t == t0 + 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_nadam_torch_momentum_schedule_by_hand(backend):
    # psi = 0 makes mu_t = 0.5 * (1 - 0.5) = 0.25 for every t; after one step P = 0.25.
    opt = optim.NAdam(lr=0.1, beta1=0.5, beta2=0.5, eps=0.5, momentum_decay=0.0,
                      torch_compatible=True, backend=backend)
    w = np.array([1.0])
    opt.t = 1
    opt.hp[HP_MU_PRODUCT] = 0.25
    s1, s2 = opt.state_buffers(w)
    s1[0], s2[0] = 1.0, 2.0
    opt.step(w, np.array([2.0]))
    # t = 2: P = 0.0625; m = 1.5; v_hat = 3 / 0.75 = 4, denominator 2 + 0.5;
    # w = 1 - 0.1 / 2.5 * ((1 - 0.25) / (1 - 0.0625) * 2 + 0.25 / (1 - 0.0625 * 0.25) * 1.5)
    #   = 1 - 0.04 * (0.8 * 2 + 16 / 63 * 1.5)
    assert w[0] == pytest.approx(1 - 0.04 * (1.6 + 24 / 63), rel=1e-14)
    assert opt.hp[HP_MU_PRODUCT] == 0.0625


# --------------------------------------------------------------------------
# State: zero size, state_dict round trip, reset, hyperparameters between steps
# --------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_read_only_gradients_are_accepted(backend):
    g = np.ones(4)
    g.flags.writeable = False
    w = np.zeros(4)
    optim.Adam(lr=0.5, backend=backend).step(w, g)
    np.testing.assert_allclose(w, -0.5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", optim.NAMES)
def test_zero_size_parameters(backend, name):
    w = np.empty(0, dtype=np.float32)
    opt = optim.get(name, backend=backend)
    opt.step(w, np.empty(0, dtype=np.float32))
    assert opt.t == 1 and all(s.dtype == np.float32 for s in opt.state_buffers(w))


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=CONFIG_IDS)
def test_state_dict_round_trip_continues_identically(name, kwargs):
    grads = gradient_sequence(20, (4, 3), np.float32)
    original = optim.get(name, **kwargs)
    w = run(original, np.ones((4, 3), np.float32), grads[:10])
    buffer = io.BytesIO()
    np.savez(buffer, **original.state_dict())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as saved:
        restored = optim.get(name)            # default settings: the state restores them
        restored.load_state_dict(dict(saved))
    assert repr(restored) == repr(original)
    w2 = w.copy()
    run(original, w, grads[10:])
    run(restored, w2, grads[10:])
    np.testing.assert_array_equal(w, w2)
    assert restored.t == original.t == 20


def test_state_dict_is_a_copy_and_reset_forgets():
    opt = optim.Adam()
    w = np.ones(3)
    opt.step(w, np.ones(3))
    state = opt.state_dict()
    state["s1"][...] = 7.0
    state["hp"][0] = 7.0
    assert opt.state_buffers(w)[0][0] != 7.0 and opt.lr == 1e-3
    opt.reset()
    assert opt.t == 0 and "s1" not in opt.state_dict()
    assert not opt.state_buffers(w)[0].any()


def test_hyperparameters_change_between_steps():
    opt = optim.Momentum(lr=0.1, beta=0.5)
    w = np.zeros(1)
    opt.step(w, np.ones(1))            # u = 1, w = -0.1
    opt.lr, opt.beta = 1.0, 0.0
    opt.step(w, np.ones(1))            # u = 1, w = -1.1
    assert w[0] == pytest.approx(-1.1) and opt.hp[0] == 1.0
    assert repr(opt) == "Momentum(lr=1.0, beta=0.0, weight_decay=0.0)"


def test_load_state_dict_rejects_wrong_states():
    opt = optim.Adam()
    opt.step(np.ones(3), np.ones(3))
    state = opt.state_dict()
    with pytest.raises(ValueError, match="do not fit SGD"):
        optim.SGD().load_state_dict({**state, "name": "sgd", "s2": np.ones(2)})
    with pytest.raises(ValueError, match="name"):
        optim.NAdam().load_state_dict(state)
    with pytest.raises(ValueError, match="shape"):
        optim.Adam().load_state_dict({**state, "s2": np.ones(2)})
    with pytest.raises(ValueError, match="both"):
        optim.Adam().load_state_dict({k: v for k, v in state.items() if k != "s2"})
    with pytest.raises(ValueError, match=r"state\[.hp.\] beta1"):
        optim.Adam().load_state_dict({**state, "hp": state["hp"] * 2})
    with pytest.raises(ValueError, match="PyTorch"):
        optim.Adam().load_state_dict({**state, "hp": np.r_[state["hp"][:5], 1.0,
                                                           state["hp"][6:]]})


# --------------------------------------------------------------------------
# Bad input at the door
# --------------------------------------------------------------------------

def test_step_rejects_bad_arrays():
    opt = optim.SGD()
    w = np.zeros(4)
    read_only = np.zeros(4)
    read_only.flags.writeable = False
    cases = [
        (TypeError, "params", [0.0] * 4, np.zeros(4)),
        (TypeError, "params", np.zeros(4, int), np.zeros(4)),
        (TypeError, "grads", w, np.zeros(4, np.float32)),
        (ValueError, "grads", w, np.zeros(5)),
        (ValueError, "grads", w, np.zeros((4, 1))),
        (ValueError, "params", read_only, np.zeros(4)),
        (ValueError, "params", np.zeros(8)[::2], np.zeros(4)),
        (ValueError, "grads", w, np.zeros(8)[::2]),
        (ValueError, "share memory", w, w),
        (ValueError, r"grads contains NaN .*index \(2,\)", w, np.array([0, 1, np.nan, 0.0])),
        (ValueError, "grads contains NaN", w, np.array([0, np.inf, 0, 0.0])),
    ]
    for error, message, params, grads in cases:
        with pytest.raises(error, match=message):
            opt.step(params, grads)
    assert opt.t == 0 and not w.any()


@pytest.mark.filterwarnings("ignore:overflow encountered")  # the squares overflow float32
def test_finite_check_can_be_disabled_and_accepts_huge_gradients():
    w = np.zeros(2, np.float32)
    optim.SGD(lr=1e-30).step(w, np.array([1e30, -1e30], np.float32))
    assert np.allclose(w, [-1, 1])
    optim.SGD(check_finite=False).step(w, np.array([np.nan, 0], np.float32))
    assert np.isnan(w[0])


def test_state_shape_is_fixed_after_first_step():
    opt = optim.Adam()
    opt.step(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="reset"):
        opt.step(np.zeros(4), np.ones(4))
    with pytest.raises(ValueError, match="reset"):
        opt.step(np.zeros(3, np.float32), np.ones(3, np.float32))


@pytest.mark.parametrize("name, kwargs, error, message", [
    ("sgd", {"lr": 0.0}, ValueError, "lr must be > 0, got 0.0"),
    ("sgd", {"lr": -1}, ValueError, "lr must be > 0, got -1.0"),
    ("sgd", {"lr": float("nan")}, ValueError, "lr must be finite"),
    ("sgd", {"lr": "0.1"}, TypeError, "lr must be a real number"),
    ("sgd", {"weight_decay": -0.1}, ValueError, "weight_decay must be >= 0, got -0.1"),
    ("momentum", {"beta": 1.0}, ValueError, r"beta must be in \[0.0, 1.0\), got 1.0"),
    ("rmsprop", {"beta": -0.1}, ValueError, "beta must be in"),
    ("adam", {"beta1": 1.5}, ValueError, "beta1 must be in .* got 1.5"),
    ("adam", {"beta2": True}, TypeError, "beta2"),
    ("adam", {"eps": -1e-8}, ValueError, "eps must be >= 0, got -1e-08"),
    ("nadam", {"momentum_decay": -1}, ValueError, "momentum_decay"),
    ("sgd", {"beta": 0.9}, TypeError, "beta"),
    ("adam", {"backend": "fortran"}, ValueError, "backend='fortran'"),
])
def test_bad_hyperparameters(name, kwargs, error, message):
    with pytest.raises(error, match=message):
        optim.get(name, **kwargs)


def test_setters_validate_and_keep_the_old_value():
    opt = optim.Adam()
    with pytest.raises(ValueError, match="lr must be > 0, got -0.5"):
        opt.lr = -0.5
    with pytest.raises(ValueError, match="beta1"):
        opt.beta1 = 1.0
    with pytest.raises(ValueError, match="t must be >= 0"):
        opt.t = -1
    assert opt.lr == 1e-3 and opt.beta1 == 0.9 and opt.t == 0


def test_get_names_and_instances():
    assert optim.NAMES == ("sgd", "momentum", "nag", "adagrad", "rmsprop", "adadelta",
                           "adam", "adamax", "maxprop", "nadam")
    assert all(optim.get(name).name == name for name in optim.NAMES)
    assert isinstance(optim.get("AdaM"), optim.Adam)
    adam = optim.Adam()
    assert optim.get(adam) is adam
    with pytest.raises(ValueError, match="name='adamw'.*valid names are sgd"):
        optim.get("adamw")
    with pytest.raises(TypeError, match="string"):
        optim.get(3)
    with pytest.raises(TypeError, match="lr"):
        optim.get(adam, lr=0.1)


def test_defaults_from_the_literature():
    adam = optim.Adam()
    assert (adam.lr, adam.beta1, adam.beta2, adam.eps) == (1e-3, 0.9, 0.999, 1e-8)
    assert optim.AdaDelta().lr == 1.0
    assert optim.NAdam().hp[HP_MU_PRODUCT] == 1.0 and optim.NAdam().momentum_decay == 4e-3
    assert optim.AdaMax(torch_compatible=True).torch_compatible


def test_docstring_examples_run():
    result = doctest.testmod(optim, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10 and result.failed == 0


# --------------------------------------------------------------------------
# The shared door checks that step() relies on (fastnn._validation)
# --------------------------------------------------------------------------

def test_validation_helpers():
    from fastnn import _validation as v
    assert v.as_float_array([1, 2], "x").dtype == np.float64
    assert v.as_float_array(np.ones((2, 2), np.float32), "x", ndim=2).dtype == np.float32
    assert v.as_float_array(np.ones(3)[::2], "x", dtype="float32").flags.c_contiguous
    assert v.as_float_array([], "x", allow_empty=True).size == 0
    for bad, error, message in [
        (["a"], TypeError, "x must be numeric"),
        ([[1.0], [1.0, 2.0]], TypeError, "x must be a numeric array"),
        ([1.0], ValueError, "x must have 2 dimension"),
        ([[]], ValueError, "x is empty"),
        ([[0.0, np.inf]], ValueError,
         r"x contains NaN or infinity \(1 entries, first at index \(0, 1\)\)"),
    ]:
        with pytest.raises(error, match=message):
            v.as_float_array(bad, "x", ndim=2)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        v.as_float_array([1.0], "x", dtype=np.int64)
    assert v.check_in_range(0.0, "p", 0.0, 1.0) == 0.0
    with pytest.raises(ValueError, match=r"p must be in \(0.0, 1.0\], got 0.0"):
        v.check_in_range(0.0, "p", 0.0, 1.0, lo_open=True)
    with pytest.raises(TypeError, match="n must be an integer, got 2.0"):
        v.check_int(2.0, "n")
    assert v.check_int(np.int64(3), "n", minimum=1) == 3
    assert v.check_positive(np.float32(0.5), "lr") == 0.5
