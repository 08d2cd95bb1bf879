"""MLP: gradients against finite differences, a hand-worked step, the door, save/load."""
import math
import os

import numpy as np
import pytest

import fastnn as fn

BACKENDS = fn.available_backends()
HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"]
OUTPUTS = ["softmax", "sigmoid", "linear"]


def _data(rng, n, sizes, output):
    X = rng.standard_normal((n, sizes[0]))
    k = sizes[-1]
    if output == "softmax":
        y = rng.integers(0, k, n)
    elif output == "sigmoid":
        y = (rng.random((n, k)) > 0.5).astype(float)
    else:
        y = rng.standard_normal((n, k))
    return X, y


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", HIDDEN)
def test_gradient_matches_finite_differences(backend, activation, output):
    rng = np.random.default_rng(7)
    for sizes in ([3, 4], [3, 5, 4], [4, 3, 5, 2]):
        net = fn.MLP(sizes, activation=activation, output=output, dtype="float64",
                     random_state=1, backend=backend, init="xavier")
        net.params += rng.normal(0, 0.1, net.params.shape)  # nonzero biases too
        X, y = _data(rng, 6, sizes, output)
        _, grad = net.loss_and_grad(X, y)
        grad = grad.copy()
        h = 1e-6
        fd = np.empty_like(grad)
        for i in range(len(fd)):
            keep = net.params[i]
            net.params[i] = keep + h
            up = net.loss_and_grad(X, y)[0]
            net.params[i] = keep - h
            down = net.loss_and_grad(X, y)[0]
            net.params[i] = keep
            fd[i] = (up - down) / (2 * h)
        # ReLU kinks are never hit exactly by these random draws.
        np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-7)


def _sigmoid(z):
    return 1 / (1 + math.exp(-z))


@pytest.mark.parametrize("backend", BACKENDS)
def test_hand_worked_sgd_step(backend):
    """2-2-2 network, sigmoid hidden, softmax output, one sample, one SGD step:
    every intermediate value computed here with scalar arithmetic."""
    net = fn.MLP([2, 2, 2], activation="sigmoid", output="softmax", dtype="float64",
                 backend=backend)
    W1 = [[0.1, -0.2], [0.3, 0.4]]
    b1 = [0.05, -0.05]
    W2 = [[0.5, -0.6], [-0.7, 0.8]]
    b2 = [0.01, 0.02]
    net.layers[0].W[...] = W1
    net.layers[0].b[...] = b1
    net.layers[1].W[...] = W2
    net.layers[1].b[...] = b2
    x, label, eta = [1.0, 2.0], 1, 0.5
    # forward (Algorithm 5)
    a1 = [b1[i] + W1[i][0] * x[0] + W1[i][1] * x[1] for i in range(2)]
    h1 = [_sigmoid(a) for a in a1]
    a2 = [b2[i] + W2[i][0] * h1[0] + W2[i][1] * h1[1] for i in range(2)]
    e = [math.exp(a) for a in a2]
    y_hat = [v / sum(e) for v in e]
    loss = -math.log(y_hat[label])
    # backward (Algorithm 6)
    da2 = [y_hat[i] - (1.0 if i == label else 0.0) for i in range(2)]
    dW2 = [[da2[i] * h1[j] for j in range(2)] for i in range(2)]
    dh1 = [sum(da2[i] * W2[i][j] for i in range(2)) for j in range(2)]
    da1 = [dh1[j] * h1[j] * (1 - h1[j]) for j in range(2)]
    dW1 = [[da1[i] * x[j] for j in range(2)] for i in range(2)]

    value, grad = net.loss_and_grad(np.array([x]), np.array([label]))
    assert value == pytest.approx(loss, rel=1e-13)
    want = [v for row in dW1 for v in row] + da1 + [v for row in dW2 for v in row] + da2
    np.testing.assert_allclose(grad, want, rtol=1e-12)
    fn.fit(net, np.array([x]), np.array([label]), fn.optim.SGD(lr=eta), epochs=1)
    start = [v for row in W1 for v in row] + b1 + [v for row in W2 for v in row] + b2
    np.testing.assert_allclose(net.params, [p - eta * g for p, g in zip(start, want)],
                               rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_flat_buffer_views_and_layout(backend):
    net = fn.MLP([3, 4, 2], random_state=0, backend=backend)
    assert net.params.shape == (3 * 4 + 4 + 4 * 2 + 2,)
    assert net.layers[0].W.shape == (4, 3) and net.layers[1].b.shape == (2,)
    net.layers[1].b[...] = 5
    assert np.all(net.params[-2:] == 5)
    assert np.shares_memory(net.layers[0].W, net.params)


def test_same_seed_same_weights_and_init_statistics():
    a = fn.MLP([50, 400, 3], random_state=3, init="he", dtype="float64")
    b = fn.MLP([50, 400, 3], random_state=3, init="he", dtype="float64")
    assert np.array_equal(a.params, b.params)
    assert np.std(a.layers[0].W) == pytest.approx(math.sqrt(2 / 50), rel=0.05)
    x = fn.MLP([50, 400, 3], random_state=3, init="xavier", dtype="float64")
    r = math.sqrt(6 / 450)
    assert np.abs(x.layers[0].W).max() <= r
    assert np.std(x.layers[0].W) == pytest.approx(r / math.sqrt(3), rel=0.05)
    assert np.all(x.layers[0].b == 0)


def test_forward_outputs_are_the_notes_output_functions():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 3))
    for output in OUTPUTS:
        net = fn.MLP([3, 4, 3], activation="tanh", output=output, dtype="float64",
                     random_state=0, backend="numpy")
        A = X
        for layer in net.layers[:-1]:
            A = np.tanh(A @ layer.W.T + layer.b)
        A = A @ net.layers[-1].W.T + net.layers[-1].b
        if output == "softmax":
            want = np.exp(A) / np.exp(A).sum(axis=1, keepdims=True)
        elif output == "sigmoid":
            want = 1 / (1 + np.exp(-A))
        else:
            want = A
        np.testing.assert_allclose(net.forward(X), want, rtol=1e-12)


def test_predict_and_score():
    net = fn.MLP([2, 2], activation="relu", output="softmax", dtype="float64", backend="numpy")
    net.layers[0].W[...] = [[1, 0], [0, 1]]
    X = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, 4.0]])
    assert net.predict(X).tolist() == [0, 1, 0]
    assert net.score(X, [0, 1, 1]) == pytest.approx(2 / 3)
    reg = fn.MLP([2, 1], output="linear", dtype="float64", backend="numpy")
    reg.layers[0].W[...] = [[1, 1]]
    assert reg.predict(X).tolist() == [3.0, 3.0, 9.0]
    assert reg.score(X, [3.0, 3.0, 9.0]) == 1.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_load_round_trip(tmp_path, dtype):
    net = fn.MLP([3, 5, 4, 2], activation=["tanh", "leaky_relu"], output="sigmoid",
                 dtype=dtype, random_state=2, alpha=0.2)
    path = tmp_path / "model.npz"
    net.save(path)
    back = fn.MLP.load(path)
    assert back.params.dtype == net.params.dtype
    assert np.array_equal(back.params, net.params)
    assert back.activation == net.activation and back.output == "sigmoid" and back.alpha == 0.2
    X = np.random.default_rng(0).standard_normal((4, 3))
    assert np.array_equal(back.predict_proba(X), net.predict_proba(X))
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary left behind


def test_save_is_atomic(tmp_path, monkeypatch):
    net = fn.MLP([2, 2], random_state=0)
    path = tmp_path / "model.npz"
    net.save(path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        fn.MLP([2, 3], random_state=1).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


def test_load_rejects_missing_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        fn.MLP.load(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not a readable fastnn model"):
        fn.MLP.load(bad)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.arange(3))
    with pytest.raises(ValueError, match="not a fastnn model"):
        fn.MLP.load(foreign)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, format=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(ValueError):
        fn.MLP.load(pickled)


@pytest.mark.parametrize("kwargs, match", [
    (dict(layer_sizes=[3]), "at least"),
    (dict(layer_sizes=[3, 0, 2]), ">= 1"),
    (dict(layer_sizes=[3, 2.5, 2]), "integers"),
    (dict(layer_sizes=[3, 4, 2], activation="swish"), "activation='swish'"),
    (dict(layer_sizes=[3, 4, 2], activation=["relu", "tanh"]), "2 names for 1"),
    (dict(layer_sizes=[3, 2], output="softplus"), "output='softplus'"),
    (dict(layer_sizes=[3, 2], output="softmax", loss="squared_error"), "loss='squared_error'"),
    (dict(layer_sizes=[3, 2], init="orthogonal"), "init='orthogonal'"),
    (dict(layer_sizes=[3, 2], dtype="int32"), "dtype='int32'"),
    (dict(layer_sizes=[3, 2], backend="tensorflow"), "backend='tensorflow'"),
    (dict(layer_sizes=[3, 2], alpha=float("nan")), "alpha"),
])
def test_constructor_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fn.MLP(**kwargs)


def test_bad_input_at_the_door():
    net = fn.MLP([3, 4, 2], random_state=0)
    good = np.zeros((5, 3))
    with pytest.raises(ValueError, match="X"):
        net.predict(np.zeros(3))                       # 1-D
    with pytest.raises(ValueError, match="3"):
        net.predict(np.zeros((5, 4)))                  # width
    with pytest.raises(ValueError, match="X"):
        net.predict(np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="X"):
        net.predict(np.full((2, 3), np.inf))
    with pytest.raises(TypeError, match="X"):
        net.predict(np.array([["a", "b", "c"]]))
    with pytest.raises(ValueError, match="y"):
        net.loss_and_grad(good, [0, 1, 2, 0, 1])       # label 2 of 2 classes
    with pytest.raises(ValueError, match="y"):
        net.loss_and_grad(good, [0, 1, -1, 0, 1])
    with pytest.raises(ValueError, match="y"):
        net.loss_and_grad(good, [0, 1, 0])             # length
    with pytest.raises(ValueError, match="y"):
        net.loss_and_grad(good, [0, 1, 0.5, 0, 1])     # not a label
    with pytest.raises(ValueError, match="X"):
        net.loss_and_grad(np.zeros((0, 3)), [])
    step = fn.MLP([3, 4, 2], activation="step")
    assert step.predict(good).shape == (5,)
    with pytest.raises(ValueError, match="step"):
        step.loss_and_grad(good, [0] * 5)


def test_non_contiguous_and_float32_input_is_handled():
    net = fn.MLP([3, 4, 2], random_state=0, dtype="float64", backend="numpy")
    X = np.random.default_rng(0).standard_normal((6, 6))[:, ::2]
    assert not X.flags.c_contiguous
    np.testing.assert_allclose(net.forward(X), net.forward(np.ascontiguousarray(X)))
    np.testing.assert_allclose(net.forward(X.astype(np.float32)),
                               net.forward(X.astype(np.float32).astype(np.float64)))


def test_network_and_optimizer_pickle_by_value():
    import pickle
    net = fn.MLP([3, 4, 2], random_state=0, dtype="float64")
    opt = fn.optim.Adam(lr=0.01)
    X, y = _data(np.random.default_rng(0), 8, [3, 4, 2], "softmax")
    fn.fit(net, X, y, opt, epochs=2, batch_size=4, random_state=0)
    net2, opt2 = pickle.loads(pickle.dumps((net, opt)))
    assert np.shares_memory(net2.layers[0].W, net2.params)
    assert opt2.t == opt.t and np.array_equal(opt2.hp, opt.hp)
    fn.fit(net, X, y, opt, epochs=1, batch_size=4, random_state=1)
    fn.fit(net2, X, y, opt2, epochs=1, batch_size=4, random_state=1)
    assert np.array_equal(net.params, net2.params)
