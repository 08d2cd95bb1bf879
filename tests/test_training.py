"""fit: steps per epoch, fast path == per-step path == reference, divergence,
interruption, callbacks, schedules, line search."""
import tracemalloc

import numpy as np
import pytest

import fastnn as fn
from fastnn._kernels import codes
from fastnn.training import epoch_order

BACKENDS = fn.available_backends()
COMPILED = [b for b in BACKENDS if b != "numpy"]


def _problem(n=40, d=5, k=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.integers(0, k, n)
    return X, y


@pytest.mark.parametrize("batch_size, steps", [(None, 1), (40, 1), (1, 40), (7, 6), (8, 5),
                                               (100, 1)])
def test_steps_per_epoch_follow_the_notes_table(batch_size, steps):
    X, y = _problem()
    net = fn.MLP([5, 4, 3], random_state=0, backend="numpy")
    hist = fn.fit(net, X, y, fn.optim.SGD(lr=0.1), epochs=3, batch_size=batch_size)
    assert hist.steps == 3 * steps
    assert hist.epochs == 3 and len(hist.loss) == 3


OPTIMIZERS = [fn.optim.SGD(lr=0.1), fn.optim.Momentum(lr=0.05, beta=0.9),
              fn.optim.NAG(lr=0.05, beta=0.9), fn.optim.AdaGrad(lr=0.1),
              fn.optim.RMSprop(lr=0.01), fn.optim.AdaDelta(), fn.optim.Adam(lr=0.01),
              fn.optim.AdaMax(lr=0.01), fn.optim.MaxProp(lr=0.01), fn.optim.NAdam(lr=0.01)]


def _train(backend, opt_template, fast, activation="relu", output="softmax", batch_size=7,
           dtype="float64", epochs=2, **kwargs):
    X, y = _problem(dtype=dtype)
    if output != "softmax":
        y = np.eye(3)[y] if output == "sigmoid" else np.random.default_rng(1).standard_normal((40, 3))
    net = fn.MLP([5, 6, 4, 3], activation=activation, output=output, dtype=dtype,
                 random_state=0, backend=backend)
    opt = fn.optim.get(type(opt_template).__name__.lower(), lr=opt_template.lr)
    hist = fn.fit(net, X, y, opt, epochs=epochs, batch_size=batch_size, random_state=3,
                  fast=fast, **kwargs)
    return net, opt, hist


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("opt", OPTIMIZERS, ids=lambda o: type(o).__name__)
def test_fast_path_equals_per_step_path_and_reference(backend, opt):
    ref, ref_opt, ref_hist = _train("numpy", opt, fast=False)
    slow, _, slow_hist = _train(backend, opt, fast=False)
    fast, fast_opt, fast_hist = _train(backend, opt, fast=True)
    np.testing.assert_allclose(fast.params, slow.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fast.params, ref.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fast_hist.loss, ref_hist.loss, rtol=1e-10)
    assert fast_opt.t == ref_opt.t == 12
    s_fast, s_ref = fast_opt.state_buffers(fast.params), ref_opt.state_buffers(ref.params)
    for a, b in zip(s_fast, s_ref):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("activation, output", [("sigmoid", "sigmoid"), ("tanh", "linear"),
                                                ("leaky_relu", "softmax"), ("linear", "linear")])
def test_fast_path_every_activation_and_loss(backend, activation, output):
    opt = fn.optim.Adam(lr=0.01)
    ref = _train("numpy", opt, fast=False, activation=activation, output=output)[0]
    fast = _train(backend, opt, fast=True, activation=activation, output=output)[0]
    np.testing.assert_allclose(fast.params, ref.params, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", COMPILED)
def test_fast_path_float32_stays_close_to_reference(backend):
    opt = fn.optim.Adam(lr=0.01)
    ref = _train("numpy", opt, fast=False, dtype="float32")[0]
    fast = _train(backend, opt, fast=True, dtype="float32")[0]
    assert fast.params.dtype == np.float32
    np.testing.assert_allclose(fast.params, ref.params, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_seed_is_bit_identical(backend):
    a = _train(backend, fn.optim.Adam(lr=0.01), fast=True, dtype="float32")
    b = _train(backend, fn.optim.Adam(lr=0.01), fast=True, dtype="float32")
    assert np.array_equal(a[0].params, b[0].params)
    assert a[2].loss == b[2].loss


def test_step_schedule_and_momentum_schedule_reach_the_kernel():
    class Halving:
        is_validation_driven = False

        def __call__(self, t):
            return 0.1 * 0.5 ** t

        def values(self, t0, n):
            return np.array([self(t) for t in range(t0, t0 + n)])
    X, y = _problem()
    runs = {}
    for backend in BACKENDS:
        net = fn.MLP([5, 4, 3], random_state=0, dtype="float64", backend=backend)
        opt = fn.optim.Momentum(lr=0.1, beta=0.9)
        hist = fn.fit(net, X, y, opt, epochs=2, batch_size=10, schedule=Halving(),
                      momentum_schedule=Halving(), random_state=0)
        assert hist.lr == [0.1, 0.1 * 0.5 ** 4]
        assert opt.lr == pytest.approx(0.1 * 0.5 ** 7)
        runs[backend] = net.params
    # by hand: the same steps with the rates set one at a time
    net = fn.MLP([5, 4, 3], random_state=0, dtype="float64", backend="numpy")
    opt = fn.optim.Momentum(lr=0.1, beta=0.9)
    t = 0
    for epoch in range(2):
        order = epoch_order(0, epoch, 40)
        for s in range(4):
            idx = order[s * 10:(s + 1) * 10]
            _, g = net.loss_and_grad(X[idx], y[idx])
            opt.lr, opt.beta = 0.1 * 0.5 ** t, 0.1 * 0.5 ** t
            opt.step(net.params, g)
            t += 1
    for params in runs.values():
        np.testing.assert_allclose(params, net.params, rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_shuffling_does_not_copy_X(backend):
    X, y = _problem(n=20000, d=50)
    net = fn.MLP([50, 8, 3], random_state=0, dtype="float64", backend=backend)
    fn.fit(net, X[:64], y[:64], fn.optim.SGD(lr=0.01), batch_size=32)  # warm up compilers
    tracemalloc.start()
    fn.fit(net, X, y, fn.optim.SGD(lr=0.01), batch_size=32, epochs=1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < X.nbytes / 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_divergence_is_a_clear_error_or_a_warning(backend):
    X, y = _problem()
    X *= 1e3
    net = fn.MLP([5, 4, 3], random_state=0, backend=backend, output="linear")
    Y = np.random.default_rng(0).standard_normal((40, 3)) * 1e3
    with pytest.raises(fn.DivergenceError, match=r"epoch \d+, step \d+"):
        fn.fit(net, X, Y, fn.optim.SGD(lr=10.0), epochs=50, batch_size=4)
    net = fn.MLP([5, 4, 3], random_state=0, backend=backend, output="linear")
    with pytest.warns(RuntimeWarning, match="NaN"):
        hist = fn.fit(net, X, Y, fn.optim.SGD(lr=10.0), epochs=50, batch_size=4,
                      callbacks=[fn.TerminateOnNaN()])
    assert hist.epochs < 50
    assert np.all(np.isfinite(net.params))


def test_interrupt_leaves_a_usable_model():
    class Interrupt(fn.Callback):
        def on_epoch_end(self, net, epoch, logs):
            if epoch == 2:
                raise KeyboardInterrupt
    X, y = _problem()
    net = fn.MLP([5, 4, 3], random_state=0)
    hist = fn.fit(net, X, y, fn.optim.SGD(lr=0.1), epochs=10, callbacks=[Interrupt()])
    assert hist.interrupted and hist.epochs == 3
    assert net.predict(X).shape == (40,)


def test_early_stopping_restores_the_best_parameters():
    X, y = _problem(n=60)
    Xv, yv = _problem(n=30, seed=1)
    net = fn.MLP([5, 32, 3], random_state=0, dtype="float64")
    stop = fn.EarlyStopping(patience=2)
    hist = fn.fit(net, X, y, fn.optim.Adam(lr=0.05), epochs=200, batch_size=8,
                  validation_data=(Xv, yv), callbacks=[stop])
    assert hist.stopped_early and hist.epochs < 200
    best = int(np.argmin(hist.val_loss))
    assert net.loss_value(net.check_X(Xv), net.targets(yv, 30)) == pytest.approx(hist.val_loss[best])


def test_validation_history_and_learning():
    """XOR is learned by a small tanh network (the notes' motivating failure of one perceptron)."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0])
    net = fn.MLP([2, 8, 2], activation="tanh", random_state=0, dtype="float64")
    hist = fn.fit(net, X, y, fn.optim.Adam(lr=0.05), epochs=300, validation_data=(X, y))
    assert hist.val_accuracy[-1] == 1.0
    assert hist.loss[-1] < 0.1 < hist.loss[0]
    assert len(hist.val_loss) == len(hist.time) == len(hist.lr) == 300


def test_line_search_is_never_worse_than_the_plain_step():
    X, y = _problem(n=32)
    for opt_name in ("sgd", "momentum"):
        plain = fn.MLP([5, 6, 3], random_state=0, dtype="float64", backend="numpy")
        searched = fn.MLP([5, 6, 3], random_state=0, dtype="float64", backend="numpy")
        fn.fit(plain, X, y, fn.optim.get(opt_name, lr=0.1), shuffle=False)
        fn.fit(searched, X, y, fn.optim.get(opt_name, lr=0.1), shuffle=False,
               line_search=[0.01, 0.3, 1.0, 3.0])
        Xc, Yc = plain.check_X(X), plain.targets(y, 32)
        assert searched.loss_value(Xc, Yc) <= plain.loss_value(Xc, Yc)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(batch_size=2.5), TypeError, "batch_size"),
    (dict(epochs=-1), ValueError, "epochs"),
    (dict(schedule_unit="minute"), ValueError, "schedule_unit"),
    (dict(line_search=[-1.0]), ValueError, "line_search"),
    (dict(momentum_schedule=fn.schedules.Constant(0.9)), ValueError, "momentum_schedule"),
])
def test_fit_rejects_bad_arguments(kwargs, error, match):
    X, y = _problem()
    net = fn.MLP([5, 4, 3], random_state=0)
    with pytest.raises(error, match=match):
        fn.fit(net, X, y, fn.optim.SGD(lr=0.1), **kwargs)


def test_fit_rejects_bad_data():
    X, y = _problem()
    net = fn.MLP([5, 4, 3], random_state=0)
    opt = fn.optim.SGD(lr=0.1)
    with pytest.raises(ValueError, match="X is empty"):
        fn.fit(net, X[:0], y[:0], opt)
    with pytest.raises(ValueError, match="y"):
        fn.fit(net, X, y[:-1], opt)
    with pytest.raises(ValueError, match="y"):
        fn.fit(net, X, y + 3, opt)
    with pytest.raises(ValueError, match="validation_data"):
        fn.fit(net, X, y, opt, validation_data=(X[:, :2], y))
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="X"):
        fn.fit(net, bad, y, opt)
    with pytest.raises(ValueError, match="optimizer"):
        fn.fit(net, X, y, "sgdd")


def test_kernel_codes_cover_every_optimizer_class():
    got = sorted(type(o).code if hasattr(type(o), "code") else o.code for o in OPTIMIZERS)
    assert got == sorted(v for k, v in vars(codes).items() if k.startswith("OPT_"))
