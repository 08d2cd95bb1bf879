"""Sparse input (issue 17): scipy.sparse X in fastnn.fit, the MLP's methods and
the estimators, through the sparse kernels of every backend (layer 1 sparse x
dense, the dense matrix never formed), against the dense kernels on the
densified X, the NumPy reference, and scikit-learn's estimator checks."""
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import fastnn as fn
from fastnn._kernels import UPDATES, codes, get_backend, layout
from fastnn._kernels import reference as ref
from fastnn._kernels.sparse import sparse_work_size
from fastnn._kernels.values import network, optimizer_state
from fastnn.estimators import MLPClassifier, MLPRegressor, Perceptron

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
BACKENDS = list(fn.available_backends())
OUTPUTS = {"softmax": codes.LOSS_SOFTMAX_CE, "sigmoid": codes.LOSS_BCE,
           "linear": codes.LOSS_SQUARED, "exp": codes.LOSS_POISSON}
TOL = {np.float32: 2e-5, np.float64: 1e-12}
SIZES = [12, 5, 4, 3]
N = 17


def sparse_X(n=N, d=SIZES[0], density=0.25, seed=0, dtype=np.float64):
    """A CSR matrix with an empty row and an empty column (the cases a
    sparse kernel can get wrong), values in [-1, 1]."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, random_state=seed, format="csr", dtype=np.float64)
    X.data = rng.uniform(-1, 1, X.data.size)
    X = X.tolil()
    X[2, :] = 0
    X[:, 3] = 0
    return X.tocsr().astype(dtype)


def targets(output, n=N, k=SIZES[-1], seed=1, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return {"softmax": np.eye(k)[rng.integers(0, k, n)],
            "sigmoid": rng.integers(0, 2, (n, k)),
            "linear": rng.standard_normal((n, k)),
            "exp": rng.poisson(2.0, (n, k))}[output].astype(dtype)


def kernel_net(output, dtype, seed=2):
    net = network(SIZES, [codes.ACT_TANH, codes.ACT_RELU], 0.01, OUTPUTS[output])
    params = (np.random.default_rng(seed).standard_normal(net.param_at[-1]) * 0.4).astype(dtype)
    return net, params


def csr_arrays(X):
    return X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64)


def assert_close(got, want, dtype):
    scale = max(np.abs(want).max(), 1.0) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype] * scale)


def opt_state(code, n, dtype, weight_decay=0.0):
    hp = np.zeros(codes.HP_SIZE)
    hp[[codes.HP_LR, codes.HP_BETA1, codes.HP_BETA2, codes.HP_EPS]] = [0.05, 0.9, 0.999, 1e-8]
    hp[[codes.HP_WEIGHT_DECAY, codes.HP_MU_PRODUCT, codes.HP_MOMENTUM_DECAY]] = [
        weight_decay, 1.0, 0.004]
    used = 0 if code == codes.OPT_SGD else n
    return optimizer_state(code, np.zeros(used, dtype), np.zeros(used, dtype), hp, 0)


# --------------------------------------------------------------------------
# Kernels: sparse against the reference's dense kernels on the densified X
# --------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("weighted", [False, True])
def test_forward_and_loss_and_grad_equal_the_dense_reference(backend, dtype, output, weighted):
    kernels = get_backend(backend)
    net, params = kernel_net(output, dtype)
    X, Y = sparse_X(dtype=dtype), targets(output, dtype=dtype)
    w = (np.random.default_rng(3).uniform(0, 2, N).astype(dtype) if weighted
         else np.empty(0, dtype))
    dense_work = np.empty(layout.work_size(net, N), dtype)
    work = np.empty(sparse_work_size(net, N), dtype)
    want_out = ref.forward(X.toarray(), net, params, np.empty((N, 3), dtype), dense_work)
    got_out = np.empty((N, 3), dtype)
    kernels.forward_sparse(*csr_arrays(X), net, params, got_out, work)
    assert_close(got_out, want_out, dtype)
    want_grads, got_grads = np.full_like(params, np.nan), np.full_like(params, np.nan)
    want = ref.loss_and_grad(X.toarray(), Y, w, net, params, want_grads, dense_work)
    got = kernels.loss_and_grad_sparse(*csr_arrays(X), Y, w, net, params, got_grads, work)
    assert got == pytest.approx(want, rel=TOL[dtype])
    assert_close(got_grads, want_grads, dtype)
    W1_grad = got_grads[:SIZES[1] * SIZES[0]].reshape(SIZES[1], SIZES[0])
    assert np.all(W1_grad[:, 3] == 0)       # the empty column has an exact zero gradient


def sparse_epoch(kernels, X, Y, w, order, batch_size, net, params, code, weight_decay=0.0):
    """One train_epoch(_sparse) from copies of params; returns what it wrote."""
    dtype, sparse = params.dtype, sp.issparse(X)
    params, grads = params.copy(), np.zeros_like(params)
    opt = opt_state(code, params.size, dtype, weight_decay)
    steps = ref.n_steps(len(order), batch_size)
    lrs, betas = np.linspace(0.05, 0.03, steps), np.empty(0)
    losses = np.full(steps, np.nan)
    rows = min(batch_size, len(order))
    size = (sparse_work_size if sparse else layout.work_size)(net, rows)
    args = (Y, w, order, batch_size, net, params, grads, opt, lrs, betas, losses,
            np.empty(size, dtype))
    done = (kernels.train_epoch_sparse(*csr_arrays(X), *args) if sparse
            else kernels.train_epoch(X, *args))
    assert done == steps
    return [params, grads, opt.s1, opt.s2, opt.t, losses]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batch_size", [1, 4, N])
@pytest.mark.parametrize("rule", ["sgd_update", "nag_update", "adam_update", "adadelta_update"])
def test_train_epoch_sparse_float64_equals_the_dense_reference_to_1e12(backend, batch_size,
                                                                        rule):
    """Shuffled order, sample weights, softmax: parameters, last gradient,
    states, t and losses of a whole epoch."""
    code = getattr(codes, "OPT_" + rule.split("_")[0].upper())
    net, params = kernel_net("softmax", np.float64)
    X, Y = sparse_X(), targets("softmax")
    w = np.random.default_rng(4).uniform(0, 2, N)
    order = np.random.default_rng(5).permutation(N)
    want = sparse_epoch(ref, X.toarray(), Y, w, order, batch_size, net, params, code)
    got = sparse_epoch(get_backend(backend), X, Y, w, order, batch_size, net, params, code)
    for g, v in zip(got, want):
        assert_close(g, v, np.float64)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("output", OUTPUTS)
def test_train_epoch_sparse_every_loss_with_weight_decay(backend, output):
    net, params = kernel_net(output, np.float64)
    X, Y = sparse_X(), targets(output)
    order = np.random.default_rng(6).permutation(N)
    for code in (codes.OPT_SGD, codes.OPT_ADAM):
        want = sparse_epoch(ref, X.toarray(), Y, np.empty(0), order, 5, net, params, code, 1e-3)
        got = sparse_epoch(get_backend(backend), X, Y, np.empty(0), order, 5, net, params, code,
                           1e-3)
        for g, v in zip(got, want):
            assert_close(g, v, np.float64)


@pytest.mark.parametrize("backend", BACKENDS)
def test_plain_sgd_changes_only_the_columns_stored_in_the_batches(backend):
    """Two steps of plain SGD over rows whose stored columns are known: every
    other column of W_1 keeps its exact value; with Adam every column moves
    (its moments decay) while the gradient of the absent columns is 0."""
    net, params = kernel_net("softmax", np.float64)
    X, Y = sparse_X(), targets("softmax")
    order = np.array([0, 1, 4, 5], np.int64)
    present = np.unique(X[order].indices)
    absent = np.setdiff1d(np.arange(SIZES[0]), present)
    assert absent.size >= 2 and present.size >= 2
    W0 = params[:SIZES[1] * SIZES[0]].reshape(SIZES[1], SIZES[0])
    sgd = sparse_epoch(get_backend(backend), X, Y, np.empty(0), order, 2, net, params,
                       codes.OPT_SGD)
    W = sgd[0][:W0.size].reshape(W0.shape)
    np.testing.assert_array_equal(W[:, absent], W0[:, absent])
    assert np.all(np.any(W[:, present] != W0[:, present], axis=0))
    adam = sparse_epoch(get_backend(backend), X, Y, np.empty(0), order, 2, net, params,
                        codes.OPT_ADAM)
    last_rows = X[order[2:]]
    untouched = np.setdiff1d(np.arange(SIZES[0]), last_rows.indices)
    assert np.all(adam[1][:W0.size].reshape(W0.shape)[:, untouched] == 0)
    moved = adam[0][:W0.size].reshape(W0.shape)
    assert np.any(moved[:, absent] == W0[:, absent])  # no gradient ever: m = v = 0, no step


# --------------------------------------------------------------------------
# fastnn.fit and the MLP's methods
# --------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("output", OUTPUTS)
def test_fit_on_sparse_equals_fit_on_dense(backend, dtype, output):
    """Shuffled mini-batches with sample weights and validation data; the
    compiled epoch and the per-step path; predictions on CSC and COO."""
    X = sparse_X(n=40, dtype=dtype)
    y = targets(output, n=40, dtype=dtype)
    y = y.argmax(axis=1) if output == "softmax" else y
    w = np.random.default_rng(7).uniform(0.1, 2, 40)
    for fast in (True, False):
        nets = []
        for inputs in (X, X.toarray()):
            net = fn.MLP(SIZES, activation="tanh", output=output, dtype=dtype, random_state=0,
                         backend=backend)
            history = fn.fit(net, inputs, y, optimizer="adam", batch_size=6, epochs=3,
                             random_state=1, sample_weight=w, fast=fast,
                             validation_data=(inputs, y))
            nets.append((net, history))
        (sparse_net, hs), (dense_net, hd) = nets
        assert_close(sparse_net.params, dense_net.params, dtype)
        np.testing.assert_allclose(hs.loss, hd.loss, rtol=TOL[dtype] * 10)
        np.testing.assert_allclose(hs.val_loss, hd.val_loss, rtol=TOL[dtype] * 10)
    for fmt in ("csr", "csc", "coo"):
        assert_close(sparse_net.forward(X.asformat(fmt)), dense_net.forward(X.toarray()), dtype)
        labels = sparse_net.predict(sp.csr_array(X.asformat(fmt)))
        if sparse_net.is_classifier:
            np.testing.assert_array_equal(labels, dense_net.predict(X.toarray()))
    assert sparse_net.score(X, y) == pytest.approx(dense_net.score(X.toarray(), y), rel=1e-6)
    loss_s, grads_s = sparse_net.loss_and_grad(X, y, sample_weight=w)
    grads_s = grads_s.copy()
    loss_d, grads_d = sparse_net.loss_and_grad(X.toarray(), y, sample_weight=w)
    assert loss_s == pytest.approx(loss_d, rel=TOL[dtype] * 10)
    assert_close(grads_s, grads_d, dtype)


@pytest.mark.parametrize("backend", BACKENDS)
def test_line_search_and_plain_sgd_on_sparse_equal_dense(backend):
    X, y = sparse_X(n=30), targets("softmax", n=30).argmax(axis=1)
    results = []
    for inputs in (X, X.toarray()):
        net = fn.MLP(SIZES, dtype="float64", random_state=0, backend=backend)
        fn.fit(net, inputs, y, optimizer="sgd", batch_size=4, epochs=2, random_state=3)
        fn.fit(net, inputs, y, optimizer="sgd", batch_size=7, epochs=1, random_state=3,
               line_search=[0.01, 0.3])
        results.append(net.params)
    assert_close(results[0], results[1], np.float64)


def test_bad_sparse_input_is_refused_at_the_door():
    net = fn.MLP(SIZES, random_state=0, backend="numpy")
    y = np.zeros(N, np.int64)
    with pytest.raises(ValueError, match="X has 11 features per row but the input layer has 12"):
        fn.fit(net, sparse_X(d=11), y)
    bad = sparse_X()
    bad.data[1] = np.nan
    with pytest.raises(ValueError, match="X.data contains NaN or infinity"):
        fn.fit(net, bad, y)
    with pytest.raises(ValueError, match="X.data contains NaN"):
        net.predict(bad)
    with pytest.raises(TypeError, match="X must be numeric, got dtype complex128"):
        net.predict(sparse_X().astype(np.complex128))
    with pytest.raises(ValueError, match="X is empty"):
        net.predict(sp.csr_array((0, SIZES[0])))
    with pytest.raises(ValueError, match="validation_data\\[0\\] has 3 features"):
        fn.fit(net, sparse_X(), y, validation_data=(sp.csr_array((2, 3)), [0, 1]))
    broken = sp.csr_matrix((np.ones(2), np.array([0, 12]), np.array([0, 2])), shape=(1, 12))
    with pytest.raises(ValueError, match="X is not a valid sparse matrix"):
        net.predict(broken)
    with pytest.raises(ValueError, match="y has 16 rows but X has 17"):
        fn.fit(net, sparse_X(), y[1:])


def test_conversion_sorts_indices_sums_duplicates_and_leaves_the_input_alone():
    net = fn.MLP([4, 3, 2], dtype="float64", random_state=0, backend="numpy")
    X = sp.csr_matrix((np.array([1.0, 2.0, 3.0]), np.array([2, 0, 2]), np.array([0, 3])),
                      shape=(1, 4))
    before = X.indices.copy()
    rows = net.check_X(X)
    np.testing.assert_array_equal(rows.indices, [0, 2])
    np.testing.assert_array_equal(rows.data, [2.0, 4.0])
    assert rows.indices.dtype == rows.indptr.dtype == np.int64
    np.testing.assert_array_equal(X.indices, before)
    assert net.check_X(rows) is rows
    single = fn.MLP([4, 3, 2], dtype="float32", random_state=0, backend="numpy").check_X(rows)
    assert single.dtype == np.float32 and single.indices.dtype == np.int64
    np.testing.assert_array_equal(single.data, [2.0, 4.0])
    np.testing.assert_allclose(net.forward(X), net.forward(X.toarray()), rtol=1e-14)


def test_fitting_a_large_sparse_matrix_never_allocates_the_dense_matrix():
    """20000 x 2000 at 0.5 %: the dense float32 matrix is 160 MB; fit, predict
    and the estimator's fit stay under a tenth of it (tracemalloc sees every
    NumPy allocation)."""
    n, d = 20000, 2000
    X = sp.random(n, d, density=0.005, random_state=0, format="csr", dtype=np.float32)
    y = np.random.default_rng(0).integers(0, 3, n)
    dense_bytes = n * d * 4
    net = fn.MLP([d, 8, 3], random_state=0)
    fn.fit(net, X[:50], y[:50], batch_size=10, epochs=1)          # compile outside the trace
    net.predict(X[:50])
    tracemalloc.start()
    try:
        fn.fit(net, X, y, batch_size=200, epochs=1, random_state=0)
        net.predict(X)
        MLPClassifier((8,), max_iter=1, random_state=0).fit(X, y).predict_proba(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < dense_bytes / 10


# --------------------------------------------------------------------------
# Estimators
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [dict(solver="adam"), dict(solver="sgd"), dict(solver="lbfgs"),
                                    dict(early_stopping=True, validation_fraction=0.2),
                                    dict(class_weight="balanced")])
def test_classifier_on_sparse_predicts_as_on_dense(kwargs):
    X = sparse_X(n=80, density=0.3)
    y = np.random.default_rng(8).choice(["a", "b", "c"], 80)
    w = np.random.default_rng(9).uniform(0.5, 2, 80)
    fitted = [MLPClassifier((9,), max_iter=8, random_state=0, dtype="float64", **kwargs)
              .fit(inputs, y, sample_weight=w) for inputs in (X, X.toarray())]
    np.testing.assert_allclose(fitted[0].predict_proba(X.tocsc()),
                               fitted[1].predict_proba(X.toarray()), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(fitted[0].predict(X), fitted[1].predict(X.toarray()))
    assert fitted[0].score(X, y) == fitted[1].score(X.toarray(), y)
    np.testing.assert_allclose(fitted[0].loss_curve_ if kwargs.get("solver") != "lbfgs"
                               else [fitted[0].loss_], fitted[1].loss_curve_
                               if kwargs.get("solver") != "lbfgs" else [fitted[1].loss_],
                               rtol=1e-10)


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_regressor_and_partial_fit_on_sparse_as_on_dense(loss):
    X = sparse_X(n=60, density=0.3)
    y = np.random.default_rng(10).poisson(2.0, 60).astype(float)
    fitted = []
    for inputs in (X.tocoo(), X.toarray()):
        est = MLPRegressor(loss=loss, hidden_layer_sizes=(7,), max_iter=5, random_state=0,
                           dtype="float64")
        est.fit(inputs, y)
        est.partial_fit(inputs, y)
        fitted.append(est)
    np.testing.assert_allclose(fitted[0].predict(X), fitted[1].predict(X.toarray()),
                               rtol=1e-10)


def test_estimators_declare_sparse_input():
    assert MLPClassifier().__sklearn_tags__().input_tags.sparse
    assert MLPRegressor().__sklearn_tags__().input_tags.sparse
    assert not Perceptron().__sklearn_tags__().input_tags.sparse
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError, match="dense data is required"):
            Perceptron().fit(sparse_X(), np.arange(N) % 2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_chunked_sparse_epochs_equal_one_call(backend, monkeypatch):
    """One kernel call per step (every call zeroes dW_1 afresh) trains as one
    call per epoch: chunking never changes results."""
    X, y = sparse_X(n=30), targets("softmax", n=30).argmax(axis=1)
    results = []
    for flops in (1.0, 1e12):
        monkeypatch.setattr(fn.training, "CHUNK_FLOPS", flops)
        net = fn.MLP(SIZES, dtype="float64", random_state=0, backend=backend)
        for optimizer in ("sgd", "adam"):
            fn.fit(net, X, y, optimizer=optimizer, batch_size=4, epochs=2, random_state=3)
        results.append(net.params)
    np.testing.assert_array_equal(results[0], results[1])
