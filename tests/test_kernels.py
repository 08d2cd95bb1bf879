"""Kernel agreement: every compiled backend against the NumPy reference, and
the reference itself against independent truth (finite differences, SciPy,
exact values at extreme logits).

Tolerances: float64 1e-12 relative for single kernels and 1e-10 for whole
networks and epochs; float32 1e-5. Comparisons are scaled by the largest
expected magnitude, so that sums (GEMM, bias gradients) that cancel are
judged against their inputs' size.
"""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fastnn._kernels import available_backends, codes, get_backend, layout
from fastnn._kernels import reference as ref
from fastnn._kernels.values import network, optimizer_state

COMPILED = [name for name in available_backends() if name != "numpy"]
ALL = list(available_backends())
ACTS = [codes.ACT_LINEAR, codes.ACT_SIGMOID, codes.ACT_TANH, codes.ACT_RELU,
        codes.ACT_LEAKY_RELU, codes.ACT_STEP]
SMOOTH_ACTS = [codes.ACT_LINEAR, codes.ACT_SIGMOID, codes.ACT_TANH]
LOSSES = [codes.LOSS_SQUARED, codes.LOSS_BCE, codes.LOSS_SOFTMAX_CE, codes.LOSS_POISSON]
NO_WEIGHTS = np.empty(0)
OPTS = [codes.OPT_SGD, codes.OPT_MOMENTUM, codes.OPT_NAG, codes.OPT_ADAGRAD,
        codes.OPT_RMSPROP, codes.OPT_ADADELTA, codes.OPT_ADAM, codes.OPT_ADAMAX,
        codes.OPT_MAXPROP, codes.OPT_NADAM]
# How many of the state buffers s1, s2 each optimizer uses (the others are empty).
N_STATES = {codes.OPT_SGD: 0, codes.OPT_MOMENTUM: 1, codes.OPT_NAG: 1, codes.OPT_ADAGRAD: 1,
            codes.OPT_RMSPROP: 1, codes.OPT_ADADELTA: 2, codes.OPT_ADAM: 2,
            codes.OPT_ADAMAX: 2, codes.OPT_MAXPROP: 1, codes.OPT_NADAM: 2}
TOL = {np.float32: 1e-5, np.float64: 1e-12}
ALPHA = 0.01

few = settings(max_examples=25, deadline=None)
dtypes = st.sampled_from([np.float32, np.float64])
dims = st.integers(1, 33)
seeds = st.integers(0, 2**32 - 1)


def assert_close(actual, expected, rtol):
    """Elementwise |a - e| <= rtol * (|e| + max |e|); NaN/inf must match."""
    expected = np.asarray(expected)
    finite = np.abs(expected[np.isfinite(expected)])
    scale = finite.max() if finite.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def normal(rng, shape, dtype, scale=1.0):
    """N(0, scale^2) entries of dtype, a tenth of them exactly 0 (the kinks)."""
    x = rng.standard_normal(shape) * scale
    x[rng.random(shape) < 0.1] = 0
    return x.astype(dtype)


def targets(rng, loss, n_rows, n_out, dtype):
    """Targets for ``loss``: reals (squared), {0, 1} and probabilities (BCE),
    one-hot rows (softmax CE), counts (Poisson)."""
    if loss == codes.LOSS_SQUARED:
        return rng.standard_normal((n_rows, n_out)).astype(dtype)
    if loss == codes.LOSS_POISSON:
        return rng.poisson(2.0, (n_rows, n_out)).astype(dtype)
    if loss == codes.LOSS_BCE:
        Y = rng.random((n_rows, n_out))
        Y[:, ::2] = Y[:, ::2] > 0.5
        return Y.astype(dtype)
    return np.eye(n_out, dtype=dtype)[rng.integers(0, n_out, n_rows)]


def sample_weights(rng, n, dtype, weighted=True):
    """n sample weights in [0, 2) with every third exactly 0, or the empty
    array of an unweighted call."""
    if not weighted:
        return np.empty(0, dtype)
    w = rng.uniform(0, 2, n)
    w[::3] = 0
    return w.astype(dtype)


def random_net(rng, sizes, dtype):
    """A flat parameter buffer with W_k ~ N(0, 1/n_{k-1}) and b_k ~ N(0, 0.01)."""
    parts = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        parts += [rng.standard_normal(n_out * n_in) / np.sqrt(n_in),
                  rng.standard_normal(n_out) * 0.1]
    return np.concatenate(parts).astype(dtype)


def run_both(backend, fn_name, *args):
    """Call kernel ``fn_name`` of the reference and of ``backend`` on copies of
    the same arguments; returns (reference result, args), (backend result, args)."""
    out = []
    for module in (ref, get_backend(backend)):
        copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        out.append((getattr(module, fn_name)(*copies), copies))
    return out


# --------------------------------------------------------------------------
# Single kernels: compiled backends == reference
# --------------------------------------------------------------------------

@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("act", ACTS)
@few
@given(dtype=dtypes, rows=dims, cols=dims, seed=seeds)
def test_activations_match_reference(backend, act, dtype, rows, cols, seed):
    rng = np.random.default_rng(seed)
    Z = normal(rng, (rows, cols), dtype, scale=3.0)
    Z[0, 0] = 40.0  # saturates sigmoid/tanh
    dH = normal(rng, (rows, cols), dtype)
    (_, (_, _, _, H_ref)), (_, (_, _, _, H)) = run_both(
        backend, "activation_forward", Z, act, ALPHA, np.empty_like(Z))
    assert_close(H, H_ref, TOL[dtype])
    (_, r_args), (_, b_args) = run_both(
        backend, "activation_backward", Z, H_ref, dH, act, ALPHA, np.empty_like(Z))
    assert_close(b_args[-1], r_args[-1], TOL[dtype])


@pytest.mark.parametrize("backend", COMPILED)
@few
@given(dtype=dtypes, batch=dims, n_in=dims, n_out=dims, act=st.sampled_from(ACTS),
       seed=seeds)
def test_dense_forward_matches_reference(backend, dtype, batch, n_in, n_out, act, seed):
    rng = np.random.default_rng(seed)
    X, W = normal(rng, (batch, n_in), dtype), normal(rng, (n_out, n_in), dtype)
    b = normal(rng, n_out, dtype)
    buffers = [np.empty((batch, n_out), dtype) for _ in range(2)]
    (_, r_args), (_, b_args) = run_both(backend, "dense_forward", X, W, b, act, ALPHA, *buffers)
    for got, want in zip(b_args[-2:], r_args[-2:]):
        assert_close(got, want, TOL[dtype])
    if act == codes.ACT_LINEAR:  # one buffer for A and H
        Z = np.empty((batch, n_out), dtype)
        get_backend(backend).dense_forward(X, W, b, act, ALPHA, Z, Z)
        assert_close(Z, r_args[-2], TOL[dtype])


@pytest.mark.parametrize("backend", COMPILED)
@few
@given(dtype=dtypes, batch=dims, n_in=dims, n_out=dims, act=st.sampled_from(ACTS),
       need_dX=st.booleans(), in_place=st.booleans(), seed=seeds)
def test_dense_backward_matches_reference(backend, dtype, batch, n_in, n_out, act, need_dX,
                                          in_place, seed):
    rng = np.random.default_rng(seed)
    X, W = normal(rng, (batch, n_in), dtype), normal(rng, (n_out, n_in), dtype)
    Z, dH = normal(rng, (batch, n_out), dtype), normal(rng, (batch, n_out), dtype)
    H = ref.activation_forward(Z, act, ALPHA, np.empty_like(Z))
    results = []
    for module in (ref, get_backend(backend)):
        d = dH.copy()
        dZ = d if in_place else np.empty_like(d)
        dW, db, dX = np.empty_like(W), np.empty(n_out, dtype), np.zeros_like(X)
        module.dense_backward(X, W, Z, H, d, act, ALPHA, dZ, dW, db, dX, need_dX)
        results.append((dZ, dW, db, dX))
    for got, want in zip(*results[::-1]):
        assert_close(got, want, TOL[dtype])


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_layer_large_shapes_match_reference(backend, dtype):
    """Shapes past BLAS's blocking sizes, forward and backward."""
    rng = np.random.default_rng(0)
    batch, n_in, n_out = 257, 785, 131
    X, W = normal(rng, (batch, n_in), dtype), normal(rng, (n_out, n_in), dtype)
    b, dH = normal(rng, n_out, dtype), normal(rng, (batch, n_out), dtype)
    results = []
    for module in (ref, get_backend(backend)):
        Z, H = np.empty((batch, n_out), dtype), np.empty((batch, n_out), dtype)
        module.dense_forward(X, W, b, codes.ACT_TANH, ALPHA, Z, H)
        dZ, dW, db, dX = np.empty_like(Z), np.empty_like(W), np.empty_like(b), np.empty_like(X)
        module.dense_backward(X, W, Z, H, dH, codes.ACT_TANH, ALPHA, dZ, dW, db, dX, True)
        results.append((Z, H, dZ, dW, db, dX))
    for got, want in zip(*results[::-1]):
        assert_close(got, want, TOL[dtype])


@pytest.mark.parametrize("backend", COMPILED)
@few
@given(dtype=dtypes, rows=dims, cols=dims, seed=seeds)
def test_softmax_matches_reference(backend, dtype, rows, cols, seed):
    rng = np.random.default_rng(seed)
    Z = normal(rng, (rows, cols), dtype, scale=30.0)
    if cols > 1:
        Z[0, 1] = -np.inf
    (P_ref, _), (P, _) = run_both(backend, "softmax", Z, np.empty_like(Z))
    assert_close(P, P_ref, TOL[dtype])


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("loss", LOSSES)
@few
@given(dtype=dtypes, rows=dims, cols=dims, seed=seeds, weighted=st.booleans())
def test_loss_grad_matches_reference(backend, loss, dtype, rows, cols, seed, weighted):
    rng = np.random.default_rng(seed)
    Z = normal(rng, (rows, cols), dtype, scale=5.0)
    Y = targets(rng, loss, rows, cols, dtype)
    w = sample_weights(rng, rows, dtype, weighted)
    (value_ref, r_args), (value, b_args) = run_both(backend, "loss_grad", loss, Z, Y, w,
                                                    np.empty_like(Z))
    assert isinstance(value, float)
    assert value == pytest.approx(value_ref, rel=TOL[dtype], abs=TOL[dtype])
    assert_close(b_args[-1], r_args[-1], TOL[dtype])


def optimizer_run(module, opt, torch, dtype, n, weight_decay, seed, steps=50):
    """``steps`` updates of a random w by ``opt`` with random gradients (some
    exactly 0); returns w, s1, s2 and hp afterwards."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(n).astype(dtype)
    states = [np.zeros(n if i < N_STATES[opt] else 0, dtype) for i in range(2)]
    hp = np.zeros(codes.HP_SIZE)
    hp[[codes.HP_LR, codes.HP_BETA1, codes.HP_BETA2, codes.HP_EPS]] = [0.01, 0.9, 0.999, 1e-8]
    hp[[codes.HP_WEIGHT_DECAY, codes.HP_TORCH]] = [weight_decay, torch]
    hp[[codes.HP_MU_PRODUCT, codes.HP_MOMENTUM_DECAY]] = [1.0, 0.004]
    state = optimizer_state(opt, *states, hp)
    for _ in range(steps):
        g = normal(rng, n, dtype)
        module.optimizer_step(state, w, g)
    return [w, *states, hp, state.t]


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("torch", [0, 1])
@pytest.mark.parametrize("opt", OPTS)
@settings(max_examples=4, deadline=None)
@given(dtype=dtypes, n=dims, weight_decay=st.sampled_from([0.0, 0.01]), seed=seeds)
def test_optimizer_step_matches_reference(backend, opt, torch, dtype, n, weight_decay, seed):
    want = optimizer_run(ref, opt, torch, dtype, n, weight_decay, seed)
    got = optimizer_run(get_backend(backend), opt, torch, dtype, n, weight_decay, seed)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)  # the same arithmetic: bit for bit


@pytest.mark.parametrize("backend", COMPILED)
def test_n_steps_matches_reference(backend):
    n_steps = get_backend(backend).n_steps
    for n in (1, 2, 7, 32, 33, 60000):
        for b in (1, 2, 3, 32, 60000, 70000):
            assert n_steps(n, b) == ref.n_steps(n, b)


# --------------------------------------------------------------------------
# Whole networks and epochs: compiled backends == reference
# --------------------------------------------------------------------------

@st.composite
def networks(draw, dtype):
    """(sizes, acts, loss): 0-3 hidden layers of odd and unit widths; in float32
    only smooth activations, so that no pre-activation rounds across a kink."""
    sizes = draw(st.lists(st.integers(1, 9), min_size=2, max_size=5))
    acts = ACTS if dtype == np.float64 else SMOOTH_ACTS
    hidden = draw(st.lists(st.sampled_from(acts), min_size=len(sizes) - 2,
                           max_size=len(sizes) - 2))
    loss = draw(st.sampled_from(LOSSES))
    return np.array(sizes, np.int64), np.array(hidden, np.int64), loss


def network_case(data, dtype):
    """A random network, its parameters and a batch of data with targets."""
    sizes, acts, loss = data.draw(networks(dtype))
    rng = np.random.default_rng(data.draw(seeds))
    batch = data.draw(st.integers(1, 12))
    X = rng.standard_normal((batch, sizes[0])).astype(dtype)
    Y = targets(rng, loss, batch, sizes[-1], dtype)
    return sizes, acts, loss, random_net(rng, sizes, dtype), X, Y


NET_TOL = {np.float32: 1e-5, np.float64: 1e-10}


@pytest.mark.parametrize("backend", COMPILED)
@few
@given(dtype=dtypes, data=st.data())
def test_forward_and_loss_and_grad_match_reference(backend, dtype, data):
    sizes, acts, loss, params, X, Y = network_case(data, dtype)
    net = network(sizes, acts, ALPHA, loss)
    out = np.empty((X.shape[0], sizes[-1]), dtype)
    work = np.empty(layout.work_size(net, X.shape[0]), dtype)
    (logits_ref, _), (logits, _) = run_both(backend, "forward", X, net, params, out, work)
    assert_close(logits, logits_ref, NET_TOL[dtype])
    w = sample_weights(np.random.default_rng(len(X)), len(X), dtype, data.draw(st.booleans()))
    (value_ref, r_args), (value, b_args) = run_both(
        backend, "loss_and_grad", X, Y, w, net, params, np.empty_like(params), work)
    assert value == pytest.approx(value_ref, rel=NET_TOL[dtype])
    assert_close(b_args[-2], r_args[-2], NET_TOL[dtype])


def epoch_run(module, X, Y, w, order, batch_size, sizes, acts, loss, params, opt, hp, lrs,
              betas, t0):
    """One train_epoch from copies of the given state; returns its result and
    every buffer it may write."""
    p, g, hp = params.copy(), np.zeros_like(params), hp.copy()
    s1, s2 = (np.zeros(p.size if i < N_STATES[opt] else 0, p.dtype) for i in range(2))
    losses = np.full(lrs.size, -1.0)
    net = network(sizes, acts, ALPHA, loss)
    state = optimizer_state(opt, s1, s2, hp, t0)
    work = np.empty(layout.work_size(net, min(batch_size, order.size)), p.dtype)
    done = module.train_epoch(X, Y, w, order, batch_size, net, p, g, state, lrs, betas, losses,
                              work)
    return done, [p, g, s1, s2, hp, losses, state.t]


def hyperparameters(torch, weight_decay=0.0):
    """An hp vector (codes.HP_*) with eta 0.05, betas 0.9/0.999, eps 1e-8."""
    hp = np.zeros(codes.HP_SIZE)
    hp[[codes.HP_LR, codes.HP_BETA1, codes.HP_BETA2, codes.HP_EPS]] = [0.05, 0.9, 0.999, 1e-8]
    hp[[codes.HP_WEIGHT_DECAY, codes.HP_TORCH]] = [weight_decay, torch]
    hp[[codes.HP_MU_PRODUCT, codes.HP_MOMENTUM_DECAY]] = [1.0, 0.004]
    return hp


def assert_same_epoch(backend, dtype, *args):
    done_ref, want = epoch_run(ref, *args)
    done, got = epoch_run(get_backend(backend), *args)
    assert done == done_ref
    for g, w in zip(got, want):
        assert_close(g, w, NET_TOL[dtype])


def epoch_data(rng, sizes, loss, n, dtype):
    X = rng.standard_normal((n, sizes[0])).astype(dtype)
    return X, targets(rng, loss, n, sizes[-1], dtype), rng.permutation(n)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("torch", [0, 1])
@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("batch_size", [1, 4])
def test_train_epoch_every_optimizer_matches_reference(backend, opt, torch, dtype, batch_size):
    """11 samples: B = 1 (the stochastic path) and B = 4 (a partial last batch
    of 3), a betas array, t0 > 0, weight decay and sample weights with the
    PyTorch variants only."""
    rng = np.random.default_rng(opt * 2 + torch)
    sizes = np.array([5, 6, 4, 3], np.int64)
    acts = np.array([codes.ACT_RELU, codes.ACT_TANH], np.int64)
    X, Y, order = epoch_data(rng, sizes, codes.LOSS_SOFTMAX_CE, 11, dtype)
    steps = ref.n_steps(11, batch_size)
    lrs, betas = rng.uniform(0.001, 0.02, steps), rng.uniform(0.5, 0.95, steps)
    params = random_net(rng, sizes, dtype)
    w = sample_weights(rng, 11, dtype, weighted=torch == 1)
    assert_same_epoch(backend, dtype, X, Y, w, order, batch_size, sizes, acts,
                      codes.LOSS_SOFTMAX_CE, params, opt, hyperparameters(torch, 1e-3 * torch),
                      lrs, betas, 3)


@pytest.mark.parametrize("backend", COMPILED)
@few
@given(dtype=dtypes, data=st.data())
def test_train_epoch_matches_reference(backend, dtype, data):
    """Random networks, losses, sizes and batch sizes (from 1 to more than N);
    in float32 the optimizers without normalisation by the gradient's size,
    whose updates amplify no rounding difference."""
    sizes, acts, loss = data.draw(networks(dtype))
    rng = np.random.default_rng(data.draw(seeds))
    n, batch_size = data.draw(st.integers(1, 20)), data.draw(st.integers(1, 24))
    X, Y, order = epoch_data(rng, sizes, loss, n, dtype)
    steps = ref.n_steps(n, batch_size)
    lrs = rng.uniform(0.001, 0.02, steps)
    betas = rng.uniform(0.5, 0.95, steps) if data.draw(st.booleans()) else np.empty(0)
    opts = OPTS if dtype == np.float64 else [codes.OPT_SGD, codes.OPT_MOMENTUM, codes.OPT_NAG]
    opt, torch = data.draw(st.sampled_from(opts)), data.draw(st.sampled_from([0, 1]))
    weight_decay = data.draw(st.sampled_from([0.0, 1e-3]))
    w = sample_weights(rng, n, dtype, data.draw(st.booleans()))
    args = (X, Y, w, order, batch_size, sizes, acts, loss, random_net(rng, sizes, dtype), opt,
            hyperparameters(torch, weight_decay), lrs, betas, data.draw(st.integers(0, 5)))
    with np.errstate(all="ignore"):
        params = epoch_run(ref, *args)[1][0]
    assume(np.abs(params).max() < 1e3)  # diverging runs amplify rounding differences
    assert_same_epoch(backend, dtype, *args)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_train_epoch_stops_at_first_non_finite_loss(backend, batch_size, dtype):
    """A learning rate of 1e3 diverges: both stop at the same step, before its
    update, with the same losses and parameters up to there."""
    rng = np.random.default_rng(0)
    sizes = np.array([3, 4, 2], np.int64)
    acts = np.array([codes.ACT_LINEAR], np.int64)
    X, Y, order = epoch_data(rng, sizes, codes.LOSS_SQUARED, 300, dtype)
    steps = ref.n_steps(300, batch_size)
    args = (X, Y, np.empty(0, dtype), order, batch_size, sizes, acts, codes.LOSS_SQUARED,
            random_net(rng, sizes, dtype), codes.OPT_SGD, hyperparameters(0),
            np.full(steps, 1e3), np.empty(0), 0)
    with np.errstate(over="ignore", invalid="ignore"):
        done_ref, (p_ref, *_, losses_ref, _) = epoch_run(ref, *args)
    done, (p, *_, losses, t) = epoch_run(get_backend(backend), *args)
    assert 0 < done_ref < steps
    assert done == done_ref
    assert not np.isfinite(losses[done])
    assert t[0] == done
    assert np.all(losses[done + 1:] == -1.0)
    assert_close(losses[:done], losses_ref[:done], 1e-3 if dtype == np.float32 else 1e-8)
    assert_close(p, p_ref, 1e-3 if dtype == np.float32 else 1e-8)


@pytest.mark.skipif("numba" not in COMPILED, reason="numba backend not available")
@pytest.mark.parametrize("batch_size", [1, 7])
def test_numba_train_epoch_allocates_nothing(batch_size):
    """The work buffer is passed in: an epoch of 10 samples and one of 200 make
    the same NRT allocations, one per array argument (the meminfo with which
    Numba adopts an array at the call), none in the kernel."""
    nrt = pytest.importorskip("numba.core.runtime._nrt_python")
    from numba.core.runtime import rtsys
    nrt.memsys_enable_stats()
    rng = np.random.default_rng(0)
    sizes, acts = np.array([6, 5, 4, 3], np.int64), np.array([codes.ACT_RELU, codes.ACT_TANH])
    X, Y, _ = epoch_data(rng, sizes, codes.LOSS_SOFTMAX_CE, 200, np.float32)
    params = random_net(rng, sizes, np.float32)
    counts = []
    for n in (10, 200):
        steps = ref.n_steps(n, batch_size)
        args = (X, Y, np.empty(0, np.float32), np.arange(n), batch_size, sizes, acts,
                codes.LOSS_SOFTMAX_CE, params,
                codes.OPT_ADAM, hyperparameters(0), np.full(steps, 0.01), np.empty(0), 0)
        epoch_run(get_backend("numba"), *args)  # compiled and warm
        before = rtsys.get_allocation_stats().alloc
        epoch_run(get_backend("numba"), *args)
        counts.append(rtsys.get_allocation_stats().alloc - before)
    arrays = 18  # X Y w order, net: sizes acts param_at unit_at, params grads,
    #              opt: s1 s2 hp t, lrs betas losses work
    assert counts == [arrays, arrays]


# --------------------------------------------------------------------------
# The reference against independent truth
# --------------------------------------------------------------------------

def central_difference(f, x, h=1e-6):
    """d f / d x_i for every entry of x (f returns an array or a float)."""
    grads = []
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        grads.append((np.asarray(f(up)) - np.asarray(f(down))) / (2 * h))
    return np.array(grads)


@pytest.mark.parametrize("act", [a for a in ACTS if a != codes.ACT_STEP])
def test_reference_activation_derivatives_are_finite_differences(act):
    rng = np.random.default_rng(act)
    Z = rng.uniform(-4, 4, (1, 41))
    Z = np.where(np.abs(Z) < 1e-3, 0.5, Z)  # away from the kink of (leaky) ReLU
    def g(z):
        return ref.activation_forward(z, act, ALPHA, np.empty_like(z))

    dZ = ref.activation_backward(Z, g(Z), np.ones_like(Z), act, ALPHA, np.empty_like(Z))
    h = 1e-6
    np.testing.assert_allclose(dZ, (g(Z + h) - g(Z - h)) / (2 * h), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("weighted", [False, True])
def test_reference_loss_gradients_are_finite_differences(loss, weighted):
    rng = np.random.default_rng(loss)
    Z = rng.standard_normal((3, 4)) * 2
    Y = targets(rng, loss, 3, 4, np.float64)
    w = sample_weights(rng, 3, np.float64, weighted)
    dZ = np.empty_like(Z)
    ref.loss_grad(loss, Z, Y, w, dZ)
    numeric = central_difference(lambda z: ref.loss_grad(loss, z, Y, w, np.empty_like(z)), Z)
    np.testing.assert_allclose(dZ.ravel(), numeric, rtol=1e-6, atol=1e-9)


def test_reference_softmax_cross_entropy_is_scipy_logsumexp():
    special = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((6, 5)) * 50
    labels = rng.integers(0, 5, 6)
    value = ref.loss_grad(codes.LOSS_SOFTMAX_CE, Z, np.eye(5)[labels], NO_WEIGHTS, np.empty_like(Z))
    expected = np.mean(special.logsumexp(Z, axis=1) - Z[np.arange(6), labels])
    assert value == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(ref.softmax(Z, np.empty_like(Z)), special.softmax(Z, axis=1),
                               rtol=1e-12, atol=1e-300)


def test_reference_small_cases_by_hand():
    """Squared error of (1, 2) against 0 is 5 with gradient (2, 4); BCE at logit 0
    is log 2 with gradient (0.5 - y) / B."""
    Z, dZ = np.array([[1.0, 2.0]]), np.empty((1, 2))
    assert ref.loss_grad(codes.LOSS_SQUARED, Z, np.zeros((1, 2)), NO_WEIGHTS, dZ) == 5.0
    np.testing.assert_array_equal(dZ, [[2.0, 4.0]])
    Z, dZ = np.zeros((2, 1)), np.empty((2, 1))
    value = ref.loss_grad(codes.LOSS_BCE, Z, np.array([[1.0], [0.0]]), NO_WEIGHTS, dZ)
    assert value == pytest.approx(np.log(2))
    np.testing.assert_allclose(dZ, [[-0.25], [0.25]])


# Extreme logits: (Z row, target row, loss, gradient of the row times B).
EXTREME_CE = [
    ([1e4, -1e4, 0.0], [1, 0, 0], 0.0, [0, 0, 0]),
    ([1e4, -1e4, 0.0], [0, 1, 0], 2e4, [1, -1, 0]),
    ([-1e4, 1e4, -1e4], [0, 1, 0], 0.0, [0, 0, 0]),
    ([0.0, -np.inf, 0.0], [1, 0, 0], np.log(2), [-0.5, 0, 0.5]),
    ([7.0, 7.0, 7.0, 7.0], [0, 0, 1, 0], np.log(4), [0.25, 0.25, -0.75, 0.25]),
]
EXTREME_BCE = [(1e4, 1, 0.0, 0.0), (1e4, 0, 1e4, 1.0), (-1e4, 1, 1e4, -1.0), (-1e4, 0, 0.0, 0.0)]


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("z, y, loss, grad", EXTREME_CE)
def test_softmax_cross_entropy_at_extreme_logits(backend, dtype, z, y, loss, grad):
    Z = np.array([z, z], dtype)
    dZ = np.empty_like(Z)
    value = get_backend(backend).loss_grad(codes.LOSS_SOFTMAX_CE, Z, np.array([y, y], dtype),
                                          np.empty(0, dtype), dZ)
    assert value == pytest.approx(loss, rel=1e-6, abs=1e-6)
    np.testing.assert_allclose(dZ, np.array([grad, grad]) / 2, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("z, y, loss, grad", EXTREME_BCE)
def test_binary_cross_entropy_at_extreme_logits(backend, dtype, z, y, loss, grad):
    Z = np.array([[z], [0.0]], dtype)
    dZ = np.empty_like(Z)
    value = get_backend(backend).loss_grad(codes.LOSS_BCE, Z, np.array([[y], [0.5]], dtype),
                                          np.empty(0, dtype), dZ)
    assert value == pytest.approx((loss + np.log(2)) / 2, rel=1e-6)
    np.testing.assert_allclose(dZ, [[grad / 2], [0.0]], atol=1e-7)


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_saturates_without_overflow(backend, dtype):
    Z = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]], dtype)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        H = get_backend(backend).activation_forward(Z, codes.ACT_SIGMOID, ALPHA, np.empty_like(Z))
    np.testing.assert_allclose(H, [[0.0, np.exp(-50.0), 0.5, 1.0, 1.0]], rtol=1e-6, atol=1e-30)
