"""The kernel contract of fastnn/_kernels/__init__.py, crossed over every
optimizer rule x backend x dtype x {standalone, inside train_epoch}:

* the rules are bit for bit the reference's (same arithmetic), standalone,
  called by name, and inside train_epoch on the backend's own gradient;
* whole epochs equal the reference's to 1e-12 (float64), parameters AND
  optimizer state (only BLAS's summation order differs);
* one subnormal rule, identical everywhere;
* unknown codes do the same in every backend, and cannot be reached from the
  public API.
"""
import numpy as np
import pytest

import fastnn as fn
from fastnn._kernels import UPDATES, available_backends, codes, get_backend, layout
from fastnn._kernels import reference as ref
from fastnn._kernels.values import network, optimizer_state

BACKENDS = list(available_backends())
DTYPES = [np.float32, np.float64]
OPTS = {name: getattr(codes, "OPT_" + name.split("_")[0].upper()) for name in UPDATES}
TWO_STATES = {codes.OPT_ADADELTA, codes.OPT_ADAM, codes.OPT_ADAMAX, codes.OPT_NADAM}
SIZES = [4, 5, 3]
ACTS = [codes.ACT_TANH]


def hyperparameters(torch, weight_decay):
    hp = np.zeros(codes.HP_SIZE)
    hp[[codes.HP_LR, codes.HP_BETA1, codes.HP_BETA2, codes.HP_EPS]] = [0.05, 0.9, 0.999, 1e-8]
    hp[[codes.HP_WEIGHT_DECAY, codes.HP_TORCH]] = [weight_decay, torch]
    hp[[codes.HP_MU_PRODUCT, codes.HP_MOMENTUM_DECAY]] = [1.0, 0.004]
    return hp


def state(code, n, dtype, torch=0, weight_decay=0.0, fill=0.0, t=0):
    """An OptimizerState of rule ``code`` over n parameters, its used buffers at ``fill``."""
    used = 2 if code in TWO_STATES else (0 if code == codes.OPT_SGD else 1)
    s1, s2 = (np.full(n if i < used else 0, fill, dtype) for i in range(2))
    return optimizer_state(code, s1, s2, hyperparameters(torch, weight_decay), t)


def snapshot(w, opt):
    return [w.copy(), opt.s1.copy(), opt.s2.copy(), opt.hp.copy(), opt.t.copy()]


def assert_identical(got, want):
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
        assert g.dtype == w.dtype


def data(dtype, n=9, seed=0):
    rng = np.random.default_rng(seed)
    net = network(SIZES, ACTS, 0.01, codes.LOSS_SOFTMAX_CE)
    params = (rng.standard_normal(net.param_at[-1]) * 0.5).astype(dtype)
    X = rng.standard_normal((n, SIZES[0])).astype(dtype)
    Y = np.eye(SIZES[-1], dtype=dtype)[rng.integers(0, SIZES[-1], n)]
    return net, params, X, Y, rng.permutation(n)


# --------------------------------------------------------------------------
# Standalone: every rule, bit for bit
# --------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("torch, weight_decay", [(0, 0.0), (1, 0.01)])
@pytest.mark.parametrize("rule", UPDATES)
def test_every_rule_standalone_is_the_reference_bit_for_bit(backend, dtype, torch, weight_decay,
                                                            rule):
    """30 steps of optimizer_step, and of the rule called by name, from t = 2:
    parameters, both states, hp (NAdam's product) and t equal the reference's."""
    results = []
    for module, by_name in ((ref, False), (get_backend(backend), False),
                            (get_backend(backend), True)):
        rng = np.random.default_rng(1)
        w = rng.standard_normal(23).astype(dtype)
        opt = state(OPTS[rule], 23, dtype, torch, weight_decay, t=2)
        for _ in range(30):
            g = rng.standard_normal(23).astype(dtype)
            g[::4] = 0
            if by_name:
                opt.t[0] += 1
                getattr(module, rule)(w, g, opt.s1, opt.s2, opt.hp, opt.t[0])
            else:
                module.optimizer_step(opt, w, g)
        results.append(snapshot(w, opt))
    assert results[0][-1][0] == 32
    assert_identical(results[1], results[0])
    assert_identical(results[2], results[0])


# --------------------------------------------------------------------------
# Inside train_epoch
# --------------------------------------------------------------------------

def epoch(module, dtype, code, batch_size, torch=0, weight_decay=0.0, n=9):
    """One train_epoch from the same start; returns [params, grads, s1, s2, hp, t,
    losses] and the number of updates."""
    net, params, X, Y, order = data(dtype, n)
    grads = np.zeros_like(params)
    opt = state(code, params.size, dtype, torch, weight_decay, t=3)
    steps = ref.n_steps(n, batch_size)
    lrs, betas = np.linspace(0.01, 0.02, steps), np.linspace(0.8, 0.9, steps)
    losses = np.full(steps, -1.0)
    work = np.empty(layout.work_size(net, min(batch_size, n)), dtype)
    done = module.train_epoch(X, Y, np.empty(0, dtype), order, batch_size, net, params, grads,
                              opt, lrs, betas, losses, work)
    return done, [params, grads, opt.s1, opt.s2, opt.hp, opt.t, losses]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule", UPDATES)
def test_the_update_inside_train_epoch_is_the_reference_rule_bit_for_bit(backend, dtype, rule):
    """A one-step epoch (every row in one batch) against the backend's own
    loss_and_grad followed by the reference's optimizer_step: the same gradient,
    so parameters and optimizer state must be identical."""
    kernels = get_backend(backend)
    code = OPTS[rule]
    for torch, weight_decay in ((0, 0.0), (1, 0.01)):
        done, got = epoch(kernels, dtype, code, batch_size=9, torch=torch,
                          weight_decay=weight_decay)
        net, params, X, Y, order = data(dtype)
        grads = np.zeros_like(params)
        opt = state(code, params.size, dtype, torch, weight_decay, t=3)
        work = np.empty(layout.work_size(net, 9), dtype)
        loss = kernels.loss_and_grad(X[order], Y[order], np.empty(0, dtype), net, params, grads,
                                     work)
        opt.hp[codes.HP_LR], opt.hp[codes.HP_BETA1] = 0.01, 0.8
        ref.optimizer_step(opt, params, grads)
        assert done == 1 and got[-1][0] == loss
        assert_identical(got[:-1], [params, grads, opt.s1, opt.s2, opt.hp, opt.t])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batch_size", [1, 4, 9])
@pytest.mark.parametrize("rule", UPDATES)
def test_train_epoch_float64_equals_the_reference_to_1e12(backend, batch_size, rule):
    """Whole epochs (B = 1, a partial last batch, one batch): parameters,
    gradient, both states, hp, t and the losses within 1e-12 relative to the
    largest magnitude of each."""
    done_ref, want = epoch(ref, np.float64, OPTS[rule], batch_size, torch=1, weight_decay=1e-3)
    done, got = epoch(get_backend(backend), np.float64, OPTS[rule], batch_size, torch=1,
                      weight_decay=1e-3)
    assert done == done_ref == ref.n_steps(9, batch_size)
    for g, w in zip(got, want):
        scale = np.abs(w).max() if w.size else 0.0
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12 * scale)


# --------------------------------------------------------------------------
# Subnormals: one rule everywhere
# --------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule", UPDATES)
def test_subnormal_states_flush_to_zero_standalone(backend, dtype, rule):
    """States just below the flush level tiny / eps, a zero gradient: every
    state entry becomes 0 (the brief's case, momentum 1e-39 in float32, among
    them), and the parameters stay; states just above it are not flushed."""
    tiny = np.finfo(dtype).tiny / np.finfo(dtype).eps
    kernels = get_backend(backend)
    for fill, flushed in ((tiny * dtype(0.5), True), (tiny * dtype(64), False)):
        w = np.ones(7, dtype)
        opt = state(OPTS[rule], 7, dtype, fill=fill)
        opt.hp[codes.HP_BETA1] = opt.hp[codes.HP_BETA2] = 0.9
        kernels.optimizer_step(opt, w, np.zeros(7, dtype))
        for s in (opt.s1, opt.s2):
            assert np.all(s == 0) if flushed else np.all(np.abs(s) >= tiny)
        if OPTS[rule] != codes.OPT_ADADELTA:
            np.testing.assert_array_equal(w, 1)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("rule", UPDATES)
def test_subnormal_states_flush_to_zero_inside_train_epoch(backend, dtype, batch_size, rule):
    """The same rule inside train_epoch: zero parameters and zero targets give
    a zero gradient (squared error), so only the states' decay acts."""
    tiny = np.finfo(dtype).tiny / np.finfo(dtype).eps
    net = network(SIZES, ACTS, 0.01, codes.LOSS_SQUARED)
    params, grads = np.zeros(net.param_at[-1], dtype), np.zeros(net.param_at[-1], dtype)
    X, Y = np.ones((6, SIZES[0]), dtype), np.zeros((6, SIZES[-1]), dtype)
    opt = state(OPTS[rule], params.size, dtype, fill=tiny * dtype(0.5))
    steps = ref.n_steps(6, batch_size)
    work = np.empty(layout.work_size(net, batch_size), dtype)
    done = get_backend(backend).train_epoch(X, Y, np.empty(0, dtype), np.arange(6), batch_size,
                                            net, params, grads, opt, np.full(steps, 0.01), np.full(steps, 0.9),
                                            np.empty(steps), work)
    assert done == steps and opt.t[0] == steps
    assert np.all(opt.s1 == 0) and np.all(opt.s2 == 0)


# --------------------------------------------------------------------------
# Unknown codes
# --------------------------------------------------------------------------

UNKNOWN = 99


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_unknown_codes_do_the_same_in_every_backend(backend, dtype):
    kernels = get_backend(backend)
    Z = np.linspace(-1, 1, 6, dtype=dtype).reshape(2, 3)
    for out in (kernels.activation_forward(Z, UNKNOWN, 0.01, np.full_like(Z, 7)),
                kernels.activation_backward(Z, Z, Z, UNKNOWN, 0.01, np.full_like(Z, 7))):
        np.testing.assert_array_equal(out, 7)
    dZ = np.full_like(Z, 7)
    assert np.isnan(kernels.loss_grad(UNKNOWN, Z, np.zeros_like(Z), np.empty(0, dtype), dZ))
    np.testing.assert_array_equal(dZ, 7)
    w = np.ones(5, dtype)
    opt = optimizer_state(UNKNOWN, np.ones(5, dtype), np.ones(5, dtype), hyperparameters(0, 0), 4)
    kernels.optimizer_step(opt, w, np.ones(5, dtype))
    assert_identical(snapshot(w, opt), [np.ones(5, dtype), np.ones(5, dtype), np.ones(5, dtype),
                                        hyperparameters(0, 0), np.array([4])])


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_unknown_loss_stops_train_epoch_before_any_update(backend):
    net, params, X, Y, order = data(np.float64)
    net = net._replace(loss=UNKNOWN)
    start = params.copy()
    opt = state(codes.OPT_ADAM, params.size, np.float64)
    losses = np.full(3, -1.0)
    done = get_backend(backend).train_epoch(
        X, Y, np.empty(0), order, 3, net, params, np.zeros_like(params), opt, np.full(3, 0.1),
        np.empty(0),        losses, np.empty(layout.work_size(net, 3)))
    assert done == 0 and np.isnan(losses[0]) and np.all(losses[1:] == -1)
    np.testing.assert_array_equal(params, start)
    assert opt.t[0] == 0


def test_unknown_names_are_refused_at_the_door():
    with pytest.raises(ValueError, match="activation"):
        fn.MLP([2, 3, 1], activation="swish")
    with pytest.raises(ValueError, match="output|loss"):
        fn.MLP([2, 3, 1], output="poisson")
    with pytest.raises(ValueError, match="optimizer|unknown"):
        fn.optim.get("lion")


# --------------------------------------------------------------------------
# The Python layer builds the values once and passes them through
# --------------------------------------------------------------------------

def test_fit_steps_the_optimizers_state_and_counts_t_in_the_kernels():
    X = np.random.default_rng(0).standard_normal((10, 4))
    y = np.arange(10) % 3
    for backend in BACKENDS:
        net = fn.MLP([4, 5, 3], dtype="float64", random_state=0, backend=backend)
        opt = fn.optim.Adam(lr=0.01, backend=backend)
        fn.fit(net, X, y, opt, epochs=2, batch_size=4, random_state=0)
        assert opt.t == 6
        assert opt.kernel_state(net.params).t is opt.kernel_state(net.params).t


def test_fit_refuses_an_optimizer_of_another_backend():
    if len(BACKENDS) < 2:
        pytest.skip("one backend only")
    net = fn.MLP([4, 3], backend=BACKENDS[0])
    with pytest.raises(ValueError, match="backend"):
        fn.fit(net, np.zeros((2, 4)), [0, 1], fn.optim.SGD(backend=BACKENDS[1]))
    fn.fit(net, np.zeros((2, 4)), [0, 1], fn.optim.SGD())  # no backend given: follows the net
