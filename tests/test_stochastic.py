"""train_epoch at batch size 1 (the stochastic path) on networks whose first
layer is large enough to be split between threads: every optimizer rule
against the NumPy reference (float64 within 1e-12, float32 within the kernels'
tolerance), with and without sample weights and weight decay; a stop at a
non-finite loss; chunked calls equal one call; 1 and 2 threads bit for bit
(separate processes, OMP_NUM_THREADS)."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn._kernels import available_backends, codes, get_backend, layout
from fastnn._kernels import reference as ref
from fastnn._kernels.values import network, optimizer_state

COMPILED = [name for name in available_backends() if name != "numpy"]
OPTS = [codes.OPT_SGD, codes.OPT_MOMENTUM, codes.OPT_NAG, codes.OPT_ADAGRAD,
        codes.OPT_RMSPROP, codes.OPT_ADADELTA, codes.OPT_ADAM, codes.OPT_ADAMAX,
        codes.OPT_MAXPROP, codes.OPT_NADAM]
STATES = {codes.OPT_SGD: 0, codes.OPT_MOMENTUM: 1, codes.OPT_NAG: 1, codes.OPT_ADAGRAD: 1,
          codes.OPT_RMSPROP: 1, codes.OPT_ADADELTA: 2, codes.OPT_ADAM: 2, codes.OPT_ADAMAX: 2,
          codes.OPT_MAXPROP: 1, codes.OPT_NADAM: 2}
# 200 x 96 = 19200 entries of W_0: above the Cython backend's threshold for a row split,
# in 4 blocks of 24 rows; 98 rows make blocks of 24 and 25.
SIZES = np.array([200, 96, 10], np.int64)
UNEVEN = np.array([200, 98, 10], np.int64)
TOL = {np.float32: 1e-5, np.float64: 1e-12}


def make_case(dtype, n, code, torch=0, weight_decay=0.0, weighted=False, seed=0, sizes=SIZES):
    """(X, Y, w, order, net, params, opt, lrs, betas): a ReLU/softmax network
    of ``sizes`` with about a third of its hidden units dead on each sample."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0])).astype(dtype)
    X[rng.random(X.shape) < 0.1] = 0
    Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], n)]
    w = rng.uniform(0, 2, n).astype(dtype) if weighted else np.empty(0, dtype)
    if weighted:
        w[::4] = 0
    net = network(sizes, [codes.ACT_RELU], 0.01, codes.LOSS_SOFTMAX_CE)
    params = np.concatenate([rng.standard_normal(sizes[1] * sizes[0]) / np.sqrt(sizes[0]),
                             rng.standard_normal(sizes[1]) * 0.1,
                             rng.standard_normal(sizes[2] * sizes[1]) / np.sqrt(sizes[1]),
                             np.zeros(sizes[2])]).astype(dtype)
    hp = np.zeros(codes.HP_SIZE)
    hp[[codes.HP_LR, codes.HP_BETA1, codes.HP_BETA2, codes.HP_EPS]] = [0.01, 0.9, 0.999, 1e-8]
    hp[[codes.HP_WEIGHT_DECAY, codes.HP_TORCH]] = [weight_decay, torch]
    hp[[codes.HP_MU_PRODUCT, codes.HP_MOMENTUM_DECAY]] = [1.0, 0.004]
    s1, s2 = (np.zeros(params.size if i < STATES[code] else 0, dtype) for i in range(2))
    opt = optimizer_state(code, s1, s2, hp, 2)
    lrs = rng.uniform(0.001, 0.01, n) if code != codes.OPT_ADADELTA else np.ones(n)
    betas = rng.uniform(0.8, 0.95, n)
    return X, Y, w, rng.permutation(n), net, params, opt, lrs, betas


def run(module, X, Y, w, order, net, params, opt, lrs, betas, chunks=1):
    """train_epoch(batch_size=1) over ``order`` in ``chunks`` consecutive calls;
    returns the updates applied and every buffer written."""
    p, g = params.copy(), np.zeros_like(params)
    opt = opt._replace(s1=opt.s1.copy(), s2=opt.s2.copy(), hp=opt.hp.copy(), t=opt.t.copy())
    losses = np.full(order.size, -1.0)
    work = np.empty(layout.work_size(net, 1), p.dtype)
    done = 0
    for part in np.array_split(np.arange(order.size), chunks):
        lo, hi = part[0], part[-1] + 1
        step = module.train_epoch(X, Y, w, order[lo:hi], 1, net, p, g, opt, lrs[lo:hi],
                                  betas[lo:hi], losses[lo:hi], work)
        done += step
        if step < hi - lo:
            break
    return done, [p, g, opt.s1, opt.s2, opt.hp, opt.t, losses]


def assert_close(got, want, rtol):
    """Each buffer within rtol of each entry plus rtol of its largest finite magnitude."""
    for g, w in zip(got, want):
        finite = np.abs(w[np.isfinite(w)])
        scale = finite.max() if finite.size else 0.0
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * scale)



@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("code", OPTS)
@pytest.mark.parametrize("torch, weight_decay, weighted", [(0, 0.0, False), (1, 1e-3, True)])
def test_every_rule_matches_the_reference(backend, dtype, code, torch, weight_decay, weighted):
    """40 samples, each its own step. In float32 the rules whose update divides
    by the gradient's size amplify rounding (a gradient entry at rounding level
    moves its weight by about eta either way): within 1e-4, as over the
    benchmark's 200 steps below."""
    args = make_case(dtype, 40, code, torch, weight_decay, weighted)
    done_ref, want = run(ref, *args)
    done, got = run(get_backend(backend), *args)
    assert done == done_ref == 40
    if dtype == np.float32 and code not in (codes.OPT_SGD, codes.OPT_MOMENTUM, codes.OPT_NAG):
        assert_close(got, want, 1e-4)
    else:
        assert_close(got, want, TOL[dtype])


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("code", [codes.OPT_ADAM, codes.OPT_NADAM])
def test_blocks_of_uneven_size_match_the_reference(backend, code):
    args = make_case(np.float64, 40, code, sizes=UNEVEN)
    done_ref, want = run(ref, *args)
    done, got = run(get_backend(backend), *args)
    assert done == done_ref == 40
    assert_close(got, want, TOL[np.float64])


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("code", [codes.OPT_SGD, codes.OPT_ADAM])
def test_float32_adam_and_sgd_stay_close_to_the_reference(backend, code):
    """The benchmark's rules in float32 over 200 steps: within 1e-4."""
    args = make_case(np.float32, 200, code)
    done_ref, want = run(ref, *args)
    done, got = run(get_backend(backend), *args)
    assert done == done_ref == 200
    assert_close(got, want, 1e-4)



@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("code", [codes.OPT_SGD, codes.OPT_ADAM])
def test_chunked_calls_equal_one_call(backend, code):
    args = make_case(np.float64, 30, code)
    module = get_backend(backend)
    done, whole = run(module, *args)
    done_parts, parts = run(module, *args, chunks=4)
    assert done == done_parts == 30
    for a, b in zip(parts, whole):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("code", [codes.OPT_SGD, codes.OPT_ADAM])
def test_stops_before_the_update_of_a_non_finite_loss(backend, code):
    """Sample 7 holds an infinity: the loss of step 7 is NaN, the epoch
    returns 7 with t advanced 7 times and the parameters of 7 updates; grads
    hold step 7's (non-finite) gradient, as in the reference."""
    X, Y, w, order, net, params, opt, lrs, betas = make_case(np.float64, 20, code)
    X[order[7], 3] = np.inf
    args = (X, Y, w, order, net, params, opt, lrs, betas)
    with np.errstate(all="ignore"):
        done_ref, want = run(ref, *args)
    done, got = run(get_backend(backend), *args)
    assert done == done_ref == 7 and got[5][0] == 2 + 7
    assert not np.isfinite(got[-1][7]) and np.all(got[-1][8:] == -1)
    assert_close(got, want, 1e-12)


SCRIPT = """
import sys
import numpy as np
sys.path.insert(0, {root!r})
from fastnn._kernels import get_backend
sys.path.insert(0, {tests!r})
from test_stochastic import SIZES, UNEVEN, make_case, run
for sizes in (SIZES, UNEVEN):
    for code in {codes}:
        for dtype in (np.float32, np.float64):
            case = make_case(dtype, 50, code, 1, 1e-3, True, sizes=sizes)
            done, out = run(get_backend({backend!r}), *case)
            sys.stdout.write("".join(a.tobytes().hex() for a in out) + "\\n")
"""


@pytest.mark.parametrize("backend", COMPILED)
def test_one_and_two_threads_are_bit_identical(backend):
    """The same epochs in processes with 1 and 2 threads: the bytes of
    params, grads, states, hp, t and losses are equal."""
    here = Path(__file__).resolve().parent
    script = SCRIPT.format(root=str(Path(fastnn.__file__).resolve().parent.parent), tests=str(here), backend=backend,
                           codes=[codes.OPT_SGD, codes.OPT_ADAM, codes.OPT_NADAM,
                                  codes.OPT_RMSPROP])
    outputs = []
    for threads in ("1", "2"):
        env = {**os.environ, "OMP_NUM_THREADS": threads, "NUMBA_NUM_THREADS": threads}
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
