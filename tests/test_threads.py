"""The Cython backend's blocked and threaded path (``_network.pyx``, the
partitions and blocks of ``layout.py``, the update split between threads)
and its column split (``_columns.pyx``, ``layout.columns``) against the
NumPy reference, and the same bits on one and two threads (for the Numba
backend too, whose threads are BLAS's).

The shapes are chosen so that each branch of the path runs: one block of
one partition (the unblocked path), several blocks of one partition, two
partitions of one or several blocks, PARTS_MAX partitions of uneven blocks;
the column split with an unsplit output layer (its dL/dW cut along its
inputs), a split one, and an unsplit hidden width between split ones.
Thread counts are set per subprocess (OMP_NUM_THREADS is read when OpenMP
starts), which then prints the bytes of everything the kernels wrote.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn._kernels import available_backends, codes, get_backend, layout
from fastnn._kernels import reference as ref
from fastnn._kernels.values import network

from test_kernels import (LOSSES, NET_TOL, assert_close, epoch_run, hyperparameters,
                          sample_weights, targets)

pytestmark = pytest.mark.skipif("cython" not in available_backends(),
                                reason="the Cython backend is not built")

# [200, 64, 10] has blocks of 512 rows and 2 partitions from 128 rows
# (PARTS_MAX from 4096); [40, 8, 3] has blocks of 512 rows and one partition
# below 4845 rows.
WIDE_INPUT = [200, 64, 10]
NARROW = [40, 8, 3]
# Column split at 64 rows: every width split but the output's; every width
# split; a hidden width of 64 unsplit (below 2 COLUMN_WIDTH).
COLUMNS = [300, 256, 200, 10]
SPLIT_OUTPUT = [200, 160, 130]
MIXED = [300, 256, 64, 10]


def plan(sizes, rows):
    """(partitions, blocks of the first partition) of a batch of ``rows`` rows."""
    net = network(sizes, [codes.ACT_RELU] * (len(sizes) - 2), 0.01, codes.LOSS_SQUARED)
    parts = layout.partitions(net, rows)
    return parts, -(-(rows // parts) // layout.block_rows(net))


def test_the_shapes_reach_every_branch():
    assert plan(WIDE_INPUT, 33) == (1, 1)
    assert plan(WIDE_INPUT, 256) == (2, 1)
    assert plan(WIDE_INPUT, 1500) == (2, 2)
    assert plan(WIDE_INPUT, 5000) == (layout.PARTS_MAX, 3)
    assert plan(NARROW, 1000) == (1, 2)


def test_partitions_depend_on_rows_only_and_grow_with_them():
    net = network(WIDE_INPUT, [codes.ACT_RELU], 0.01, codes.LOSS_SQUARED)
    counts = [layout.partitions(net, rows) for rows in range(1, 9000, 13)]
    assert counts == sorted(counts) and set(counts) == {1, 2, layout.PARTS_MAX}
    wide = network([784, 1024, 1024, 10], [codes.ACT_RELU] * 2, 0.01, codes.LOSS_SQUARED)
    assert layout.partitions(wide, 256) == 1  # its reduction would stream 1.9M entries
    assert layout.partitions(wide, 512) == 2


def test_column_split_takes_small_batches_of_wide_layers():
    def columns(sizes, rows):
        net = network(sizes, [codes.ACT_RELU] * (len(sizes) - 2), 0.01, codes.LOSS_SQUARED)
        return layout.columns(net, rows)
    assert all(columns(sizes, 64) for sizes in (COLUMNS, SPLIT_OUTPUT, MIXED))
    assert columns([784, 1024, 1024, 10], 128) and columns([784, 128, 10], 64)
    assert not columns([784, 1024, 1024, 10], 512)    # two row partitions
    assert columns([784, 128, 10], 32) and not columns([784, 128, 10], 16)  # too few rows
    assert not columns(WIDE_INPUT, 100) and not columns(NARROW, 100)
    assert not columns([784, 100, 10], 64)            # its widest layer is not split


@pytest.mark.parametrize("sizes", [COLUMNS, SPLIT_OUTPUT, MIXED, [784, 128, 10]])
def test_column_bounds_cut_each_width_into_aligned_parts(sizes):
    net = network(sizes, [codes.ACT_RELU] * (len(sizes) - 2), 0.01, codes.LOSS_SQUARED)
    bounds = layout.column_bounds(net)
    assert bounds.shape == (len(sizes), layout.COLUMN_PARTS + 1)
    for n, cut in zip(sizes, bounds):
        assert cut[0] == 0 and cut[-1] == n and np.all(np.diff(cut) >= 0)
        if n >= 2 * layout.COLUMN_WIDTH:
            assert np.all(np.diff(cut) > 0) and np.all(cut[:-1] % layout.COLUMN_ALIGN == 0)
        else:
            assert np.all(cut[1:] == n)


@pytest.mark.parametrize("sizes", [WIDE_INPUT, NARROW, [784, 128, 10], [4, 32, 16, 4]])
def test_capacity_inverts_work_size(sizes):
    net = network(sizes, [codes.ACT_TANH] * (len(sizes) - 2), 0.01, codes.LOSS_SQUARED)
    for rows in [0, 1, 2, 31, 32, 33, 255, 256, 4095, 4096, 4097, 10000, 60000]:
        work = np.empty(layout.work_size(net, rows))
        assert layout.capacity(net, work) == rows
        grads, db, narrow = layout.partials(net, work)
        parts = layout.partitions(net, rows)
        assert grads.size == (parts - 1) * net.param_at[-1] and db.size == parts * max(sizes[1:])
        assert narrow.size == parts * layout.narrow_size(net)
        assert (layout.narrow_size(net) > 0) == (max(sizes) <= layout.NARROW_WIDTH)


def test_narrow_scratch_fits_the_kernel():
    """layout.narrow_size's vectors hold as many lanes and its blocks as many
    rows as the compiled narrow kernel's."""
    _narrow = pytest.importorskip("fastnn._kernels.cython._narrow")
    assert _narrow.ROWS == layout.NARROW_ROWS and _narrow.LANES <= layout.NARROW_LANES


def case(sizes, act, loss, rows, dtype, weighted, seed=0):
    rng = np.random.default_rng(seed)
    net = network(sizes, [act] * (len(sizes) - 2), 0.01, loss)
    params = (rng.standard_normal(net.param_at[-1]) * 0.3).astype(dtype)
    X = rng.standard_normal((rows, sizes[0])).astype(dtype)
    Y = targets(rng, loss, rows, sizes[-1], dtype)
    return net, params, X, Y, sample_weights(rng, rows, dtype, weighted)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("sizes,rows", [(WIDE_INPUT, 1), (WIDE_INPUT, 2), (WIDE_INPUT, 33),
                                        (WIDE_INPUT, 256), (WIDE_INPUT, 1500),
                                        (WIDE_INPUT, 5000), (NARROW, 1000), (COLUMNS, 64),
                                        (SPLIT_OUTPUT, 80), (MIXED, 100)])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_and_grad_matches_reference(dtype, loss, sizes, rows, weighted):
    act = codes.ACT_TANH if dtype == np.float32 else codes.ACT_RELU
    net, params, X, Y, w = case(sizes, act, loss, rows, dtype, weighted)
    work = np.empty(layout.work_size(net, rows), dtype)
    g_ref, g = np.empty_like(params), np.empty_like(params)
    value_ref = ref.loss_and_grad(X, Y, w, net, params, g_ref, work.copy())
    value = get_backend("cython").loss_and_grad(X, Y, w, net, params, g, work)
    tol = 1e-12 if dtype == np.float64 else NET_TOL[dtype]
    assert value == pytest.approx(value_ref, rel=tol)
    assert_close(g, g_ref, tol)


# [4, 32, 16, 4] in float32 takes _narrow.pyx's fused kernel: 4 partitions at
# 10000 rows, one of a padded last block at 777. The odd widths of ODD are no
# multiple of a product's tile (6 or 8 units) or a gram's (2 x 4 units); the
# products of TINY and ODD end in tiles of 2 to 5 of 6 units, ODD_ONE's in 1.
TINY = [4, 32, 16, 4]
ODD = [9, 63, 17, 5, 3]
ODD_ONE = [7, 13, 25, 1]


@pytest.mark.parametrize("act", [codes.ACT_TANH, codes.ACT_SIGMOID, codes.ACT_RELU])
@pytest.mark.parametrize("sizes,rows", [(TINY, 777), (TINY, 10000), (ODD, 3001),
                                        (ODD_ONE, 2000)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("loss", LOSSES)
def test_narrow_loss_and_grad_matches_reference(act, sizes, rows, weighted, loss):
    net, params, X, Y, w = case(sizes, act, loss, rows, np.float32, weighted)
    work = np.empty(layout.work_size(net, rows), np.float32)
    g_ref, g = np.empty_like(params), np.empty_like(params)
    value_ref = ref.loss_and_grad(X, Y, w, net, params, g_ref, work.copy())
    value = get_backend("cython").loss_and_grad(X, Y, w, net, params, g, work)
    assert value == pytest.approx(value_ref, rel=NET_TOL[np.float32])
    assert_close(g, g_ref, NET_TOL[np.float32])


@pytest.mark.parametrize("act", [codes.ACT_TANH, codes.ACT_RELU])
def test_narrow_train_epoch_on_shuffled_rows_matches_reference(act):
    """Gathered (shuffled) rows with sample weights, 5 Adam steps of 1000 rows."""
    rng = np.random.default_rng(act)
    sizes, acts = np.array(TINY, np.int64), np.array([act, act], np.int64)
    X = rng.standard_normal((5000, TINY[0])).astype(np.float32)
    Y = rng.standard_normal((5000, TINY[-1])).astype(np.float32)
    w = sample_weights(rng, 5000, np.float32, True)
    params = (rng.standard_normal(network(sizes, acts, 0.01, 0).param_at[-1]) * 0.3).astype(
        np.float32)
    args = (X, Y, w, rng.permutation(5000), 1000, sizes, acts, codes.LOSS_SQUARED, params,
            codes.OPT_ADAM, hyperparameters(0), np.full(5, 1e-2), np.empty(0), 0)
    done_ref, want = epoch_run(ref, *args)
    done, got = epoch_run(get_backend("cython"), *args)
    assert done == done_ref == 5
    for g, e in zip(got, want):
        assert_close(g, e, NET_TOL[np.float32])


def test_zero_weights_in_a_whole_block_give_zero_share():
    net, params, X, Y, w = case(WIDE_INPUT, codes.ACT_RELU, codes.LOSS_SOFTMAX_CE, 700,
                                np.float64, True)
    w[:400] = 0
    g_ref, g = np.empty_like(params), np.empty_like(params)
    work = np.empty(layout.work_size(net, 700))
    value_ref = ref.loss_and_grad(X, Y, w, net, params, g_ref, work.copy())
    value = get_backend("cython").loss_and_grad(X, Y, w, net, params, g, work)
    assert value == pytest.approx(value_ref, rel=1e-12)
    assert_close(g, g_ref, 1e-12)


@pytest.mark.parametrize("opt", [codes.OPT_SGD, codes.OPT_ADAM])
@pytest.mark.parametrize("batch_size", [1, 2, 33, 256, 1000, 1500])
@pytest.mark.parametrize("weighted", [False, True])
def test_train_epoch_matches_reference(opt, batch_size, weighted):
    """Shuffled rows of 1500 of WIDE_INPUT in float64 (at most 40 steps, so
    that rounding does not grow chaotic): every step blocked from B = 256 on,
    partial last batches, SGD's fused path on one-block batches."""
    epoch_against_reference(WIDE_INPUT, opt, batch_size, weighted)


@pytest.mark.parametrize("opt", [codes.OPT_SGD, codes.OPT_ADAM])
@pytest.mark.parametrize("sizes,batch_size", [(COLUMNS, 100), (COLUMNS, 128), (SPLIT_OUTPUT, 80),
                                              (MIXED, 64)])
@pytest.mark.parametrize("weighted", [False, True])
def test_column_split_train_epoch_matches_reference(opt, sizes, batch_size, weighted):
    """The column split's steps (SGD's fused update on all but the last),
    also as the partial last batch after blocked steps (COLUMNS at 128: 1500
    = 11 x 128 + 92) or followed by an unsplit one (80: 18 x 80 + 60)."""
    epoch_against_reference(sizes, opt, batch_size, weighted)


def test_column_split_stops_at_first_non_finite_loss():
    """A learning rate of 1 diverges on fused column steps (linear units): both
    stop at the same step, before its update, as the reference."""
    rng = np.random.default_rng(5)
    sizes = np.array(COLUMNS, np.int64)
    acts = np.array([codes.ACT_LINEAR] * 2, np.int64)
    X = rng.standard_normal((640, sizes[0]))
    Y = targets(rng, codes.LOSS_SQUARED, 640, sizes[-1], np.float64)
    params = rng.standard_normal(network(sizes, acts, 0.01, 0).param_at[-1]) * 0.1
    args = (X, Y, np.empty(0), np.tile(np.arange(640), 3), 64, sizes, acts, codes.LOSS_SQUARED,
            params, codes.OPT_SGD, hyperparameters(0), np.full(30, 1.0), np.empty(0), 0)
    with np.errstate(over="ignore", invalid="ignore"):
        done_ref, (p_ref, *_, losses_ref, _) = epoch_run(ref, *args)
        done, (p, *_, losses, t) = epoch_run(get_backend("cython"), *args)
    assert 0 < done == done_ref < 30 and t[0] == done and not np.isfinite(losses[done])
    assert_close(losses[:done], losses_ref[:done], 1e-8)
    assert_close(p, p_ref, 1e-8)


def epoch_against_reference(sizes, opt, batch_size, weighted):
    """Shuffled rows of 1500 (at most 40 steps of batch_size) in float64 against
    the reference, within 1e-10."""
    rng = np.random.default_rng(batch_size)
    sizes = np.array(sizes, np.int64)
    acts = np.array([codes.ACT_RELU] * (len(sizes) - 2), np.int64)
    X = rng.standard_normal((1500, sizes[0]))
    Y = targets(rng, codes.LOSS_SOFTMAX_CE, 1500, sizes[-1], np.float64)
    w = sample_weights(rng, 1500, np.float64, weighted)
    order = rng.permutation(1500)[:40 * batch_size]
    params = rng.standard_normal(network(sizes, acts, 0.01, 0).param_at[-1]) * 0.1
    steps = ref.n_steps(order.size, batch_size)
    lrs, betas = np.linspace(0.05, 0.01, steps), np.empty(0)
    args = (X, Y, w, order, batch_size, sizes, acts, codes.LOSS_SOFTMAX_CE, params, opt,
            hyperparameters(0), lrs, betas, 0)
    done_ref, want = epoch_run(ref, *args)
    done, got = epoch_run(get_backend("cython"), *args)
    assert done == done_ref == steps
    for g, e in zip(got, want):
        assert_close(g, e, 1e-10)


@pytest.mark.parametrize("opt", [codes.OPT_SGD, codes.OPT_NADAM])
def test_partitioned_step_with_a_non_finite_loss_is_not_taken(opt):
    """The update of a batch of several partitions runs in the reduction: a
    NaN in the third batch stops the epoch there with the parameters, the
    optimizer's t, hp and states of the second step, as in the reference."""
    rng = np.random.default_rng(5)
    sizes = np.array(WIDE_INPUT, np.int64)
    X = rng.standard_normal((1024, sizes[0]))
    Y = targets(rng, codes.LOSS_SOFTMAX_CE, 1024, sizes[-1], np.float64)
    Y[600, 0] = np.nan
    params = rng.standard_normal(network(sizes, [codes.ACT_RELU], 0.01, 0).param_at[-1]) * 0.1
    args = (X, Y, np.empty(0), np.arange(1024), 256, sizes, np.array([codes.ACT_RELU]),
            codes.LOSS_SOFTMAX_CE, params, opt, hyperparameters(1), np.full(4, 0.05),
            np.full(4, 0.8), 0)
    done_ref, want = epoch_run(ref, *args)
    done, got = epoch_run(get_backend("cython"), *args)
    assert done == done_ref == 2 and got[-1][0] == 2
    for name, g, e in zip(["params", "grads", "s1", "s2", "hp", "losses", "t"], got, want):
        assert_close(g, e, 1e-10), name


@pytest.mark.parametrize("batch_size", [256, 1500])
def test_train_epoch_in_chunks_equals_one_call(batch_size):
    """training.py calls train_epoch on consecutive chunks of an epoch's
    steps: the same bits as one call."""
    rng = np.random.default_rng(3)
    net = network(WIDE_INPUT, [codes.ACT_RELU], 0.01, codes.LOSS_SOFTMAX_CE)
    X = rng.standard_normal((3000, WIDE_INPUT[0]))
    Y = targets(rng, codes.LOSS_SOFTMAX_CE, 3000, WIDE_INPUT[-1], np.float64)
    order = rng.permutation(3000)
    start = rng.standard_normal(net.param_at[-1]) * 0.1
    steps = ref.n_steps(3000, batch_size)
    lrs = np.full(steps, 0.05)
    cy = get_backend("cython")
    results = []
    for chunks in ([steps], [1] * steps):
        params, grads, losses = start.copy(), np.zeros_like(start), np.zeros(steps)
        state = _sgd_state(params)
        work = np.empty(layout.work_size(net, batch_size))
        s = 0
        for n in chunks:
            cy.train_epoch(X, Y, np.empty(0), order[s * batch_size:(s + n) * batch_size],
                           batch_size, net, params, grads, state, lrs[s:s + n], np.empty(0),
                           losses[s:s + n], work)
            s += n
        results.append((params, grads, losses))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def _sgd_state(params):
    from fastnn._kernels.values import optimizer_state
    return optimizer_state(codes.OPT_SGD, np.empty(0), np.empty(0), hyperparameters(0))


# --------------------------------------------------------------------------
# One thread and two threads: the same bits
# --------------------------------------------------------------------------

WORKER = r"""
import sys

import numpy as np
from fastnn._kernels import codes, get_backend, layout
from fastnn._kernels.values import network, optimizer_state

cy = get_backend(sys.argv[1])
out = []
TANH, CE = codes.ACT_TANH, codes.LOSS_SOFTMAX_CE
for sizes, rows, batch_size, dtype, weighted, opt, torch, act, loss in [
        ([200, 64, 10], 5000, 5000, np.float32, False, codes.OPT_ADAM, 0, TANH, CE),
        ([200, 64, 10], 5000, 700, np.float64, True, codes.OPT_ADAM, 0, TANH, CE),
        ([200, 64, 10], 1000, 256, np.float32, True, codes.OPT_SGD, 0, TANH, CE),
        ([200, 64, 10], 1000, 32, np.float32, False, codes.OPT_SGD, 0, TANH, CE),
        ([300, 128, 10], 1000, 256, np.float32, False, codes.OPT_ADAM, 0, TANH, CE),
        ([300, 128, 10], 1000, 1000, np.float64, True, codes.OPT_NADAM, 1, TANH, CE),
        # narrow float32 networks: _narrow.pyx's fused kernel
        ([4, 32, 16, 4], 10000, 10000, np.float32, False, codes.OPT_ADAM, 0, TANH, CE),
        ([4, 32, 16, 4], 10000, 10000, np.float32, False, codes.OPT_ADAM, 0, codes.ACT_SIGMOID,
         codes.LOSS_SQUARED),
        ([4, 32, 16, 4], 10000, 4000, np.float32, True, codes.OPT_ADAM, 0, codes.ACT_RELU,
         codes.LOSS_SQUARED),
        ([4, 32, 16, 4], 5000, 5000, np.float32, False, codes.OPT_ADAM, 0, TANH,
         codes.LOSS_SQUARED),
        # column split (_columns.pyx)
        ([300, 256, 200, 10], 1000, 100, np.float32, False, codes.OPT_SGD, 0, TANH, CE),
        ([300, 256, 200, 10], 1000, 80, np.float64, True, codes.OPT_ADAM, 0, TANH, CE),
        ([200, 160, 130], 600, 80, np.float32, True, codes.OPT_ADAM, 0, TANH, CE),
        ([300, 256, 64, 10], 600, 64, np.float64, False, codes.OPT_SGD, 0, TANH, CE),
        ([784, 128, 10], 320, 64, np.float32, False, codes.OPT_SGD, 0, TANH, CE),
        ([784, 128, 10], 320, 32, np.float32, True, codes.OPT_ADAM, 0, TANH, CE)]:
    rng = np.random.default_rng(rows + batch_size)
    net = network(sizes, [act] * (len(sizes) - 2), 0.01, loss)
    X = rng.standard_normal((rows, sizes[0])).astype(dtype)
    Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], rows)]
    w = rng.random(rows).astype(dtype) if weighted else np.empty(0, dtype)
    params = (rng.standard_normal(net.param_at[-1]) * 0.1).astype(dtype)
    grads = np.empty_like(params)
    work = np.empty(layout.work_size(net, batch_size), dtype)
    hp = np.zeros(codes.HP_SIZE)
    hp[[codes.HP_LR, codes.HP_BETA1, codes.HP_BETA2, codes.HP_EPS]] = [1e-3, 0.9, 0.999, 1e-8]
    hp[[codes.HP_TORCH, codes.HP_MU_PRODUCT, codes.HP_MOMENTUM_DECAY]] = [torch, 1.0, 0.004]
    states = (np.zeros_like(params), np.zeros_like(params)) if opt != codes.OPT_SGD else (
        np.empty(0, dtype), np.empty(0, dtype))
    state = optimizer_state(opt, *states, hp)
    steps = -(-rows // batch_size)
    losses = np.zeros(3 * steps)
    for epoch in range(3):
        cy.train_epoch(X, Y, w, rng.permutation(rows), batch_size, net, params, grads, state,
                       np.full(steps, 1e-3), np.empty(0), losses[epoch * steps:], work)
    value = cy.loss_and_grad(X, Y, w, net, params, grads,
                             np.empty(layout.work_size(net, rows), dtype))
    logits = cy.forward(X, net, params, np.empty((rows, sizes[-1]), dtype),
                        np.empty(layout.work_size(net, rows), dtype))
    batch_grads = np.empty_like(params)
    batch = cy.loss_and_grad(X[:batch_size], Y[:batch_size], w[:batch_size], net, params,
                             batch_grads, work)
    out += [params.tobytes().hex(), grads.tobytes().hex(), losses.tobytes().hex(),
            state.s1.tobytes().hex(), hp.tobytes().hex(), repr(value), repr(state.t[0]),
            logits.tobytes().hex(), batch_grads.tobytes().hex(), repr(batch)]
print("\n".join(out))
"""


def run_on_threads(threads, backend):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               NUMBA_NUM_THREADS=str(threads))
    root = Path(fastnn.__file__).resolve().parent.parent   # the fastnn under test
    done = subprocess.run([sys.executable, "-c", WORKER, backend], env=env, cwd=root,
                          capture_output=True, text=True, check=True)
    return done.stdout


@pytest.mark.parametrize("backend", ["cython", "numba"])
def test_one_and_two_threads_give_the_same_bits(backend):
    one, two = run_on_threads(1, backend), run_on_threads(2, backend)
    assert len(one.splitlines()) == 16 * 10
    assert one == two
