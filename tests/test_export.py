"""fastnn -> PyTorch -> fastnn and fastnn -> ONNX: the other tool (torch,
onnxruntime) computes the same outputs for every activation, output and dtype."""
import sys

import numpy as np
import pytest

import fastnn as fn
from fastnn import export
from fastnn.estimators import MLPClassifier, MLPRegressor

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"]
OUTPUTS = ["softmax", "sigmoid", "linear"]
DTYPES = ["float32", "float64"]
TOL = {"float32": 1e-6, "float64": 1e-12}


def trained_looking(activation, output, dtype, sizes=(5, 7, 6, 3)):
    """A network with non-zero biases (as after training) and input rows for it."""
    net = fn.MLP(list(sizes), activation=activation, output=output, dtype=dtype,
                 random_state=1, alpha=0.1)
    rng = np.random.default_rng(2)
    for layer in net.layers:
        layer.b[...] = rng.normal(0, 0.5, layer.b.shape)
    return net, rng.standard_normal((11, sizes[0])).astype(dtype)


def torch_forward(module, X):
    with torch.no_grad():
        return module(torch.from_numpy(X)).numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", HIDDEN)
def test_torch_round_trip(activation, output, dtype):
    net, X = trained_looking(activation, output, dtype)
    module = net.to_torch()
    assert all(p.dtype == getattr(torch, dtype) for p in module.parameters())
    np.testing.assert_allclose(torch_forward(module, X), net.forward(X),
                               rtol=TOL[dtype], atol=TOL[dtype])
    back = fn.MLP.from_torch(module)
    assert back.activation == net.activation and back.output == output
    assert back.dtype == net.dtype
    if activation == "leaky_relu":
        assert back.alpha == pytest.approx(net.alpha)
    np.testing.assert_array_equal(back.params, net.params)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", HIDDEN)
def test_onnx_runtime_computes_the_same_outputs(activation, output, dtype, tmp_path):
    net, X = trained_looking(activation, output, dtype)
    path = export.to_onnx(net, tmp_path / "net.onnx")
    model = onnx.load(path)
    assert model.opset_import[0].version == export.ONNX_OPSET
    ops = {node.op_type for node in model.graph.node}
    assert ops <= {"Gemm", "Relu", "Tanh", "Sigmoid", "LeakyRelu", "Softmax"}
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == [export.ONNX_INPUT]
    [Y] = session.run([export.ONNX_OUTPUT], {export.ONNX_INPUT: X})
    assert Y.dtype == net.dtype
    np.testing.assert_allclose(Y, net.forward(X), rtol=1e-5, atol=1e-5)


def test_a_module_built_in_torch_is_read():
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8),
                                 torch.nn.Linear(8, 3, bias=False))
    net = fn.MLP.from_torch(module, output="softmax")     # a model trained on logits
    assert net.activation == ["relu", "linear"] and net.output == "softmax"
    X = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    logits = torch.from_numpy(torch_forward(module, X))
    np.testing.assert_allclose(net.forward(X), torch.softmax(logits, 1).numpy(),
                               rtol=1e-6, atol=1e-6)
    assert fn.MLP.from_torch(module).output == "linear"


@pytest.mark.parametrize("module, message", [
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Dropout(), nn.Linear(3, 1)), "Dropout"),
    (lambda nn: nn.Sequential(nn.ReLU(), nn.Linear(2, 1)), "before the first Linear"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Tanh(), nn.Linear(3, 1)),
     "at most one activation"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1)), "takes 4 inputs"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.ReLU()), "ends with 'relu'"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1), nn.Linear(3, 2)),
     "Softmax between"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=0)), "dim=0"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(0.1), nn.Linear(3, 3),
                              nn.LeakyReLU(0.2), nn.Linear(3, 1)), "different slopes"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3).half()), "float32 or all float64"),
    (lambda nn: nn.Sequential(), "no Linear"),
    (lambda nn: nn.Linear(2, 3), "must be a torch.nn.Sequential"),
])
def test_from_torch_refuses_what_it_cannot_represent(module, message):
    with pytest.raises((ValueError, TypeError), match=message):
        fn.MLP.from_torch(module(torch.nn))


def test_from_torch_output_must_agree_with_the_trailing_layer():
    module = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sigmoid())
    with pytest.raises(ValueError, match="contradicts"):
        fn.MLP.from_torch(module, output="softmax")
    with pytest.raises(ValueError, match="unknown"):
        fn.MLP.from_torch(module, output="tanh")


def test_step_units_do_not_export(tmp_path):
    net = fn.MLP([2, 3, 1], activation="step", output="sigmoid")
    for run in (net.to_torch, lambda: export.to_onnx(net, tmp_path / "x.onnx")):
        with pytest.raises(ValueError, match="step"):
            run()
    assert not list(tmp_path.iterdir())


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", DTYPES)
def test_fitted_estimators_export(dtype, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4)).astype(dtype)
    for est, expected in (
            (MLPClassifier((6,), max_iter=5, dtype=dtype, random_state=0)
             .fit(X, rng.integers(0, 3, 60)), lambda e: e.predict_proba(X)),
            (MLPClassifier((6,), max_iter=5, dtype=dtype, random_state=0)
             .fit(X, rng.integers(0, 2, 60)), lambda e: e.predict_proba(X)[:, 1:]),
            (MLPRegressor(hidden_layer_sizes=(6,), max_iter=5, dtype=dtype, random_state=0)
             .fit(X, rng.standard_normal(60)), lambda e: e.predict(X)[:, None])):
        path = export.to_onnx(est, tmp_path / "est.onnx")
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        np.testing.assert_allclose(session.run(None, {"X": X})[0], expected(est),
                                   rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(torch_forward(export.to_torch(est), X), expected(est),
                                   rtol=TOL[dtype], atol=TOL[dtype])


def test_what_is_not_a_network_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        export.to_onnx(MLPClassifier(), tmp_path / "x.onnx")
    with pytest.raises(TypeError, match="fastnn MLP"):
        export.to_onnx("model.npz", tmp_path / "x.onnx")


def test_onnx_file_is_replaced_atomically(tmp_path, monkeypatch):
    path = tmp_path / "net.onnx"
    path.write_bytes(b"old")
    net, _ = trained_looking("relu", "softmax", "float32")
    monkeypatch.setattr(onnx.ModelProto, "SerializeToString",
                        lambda self: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        export.to_onnx(net, path)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["net.onnx"]


def test_a_missing_optional_package_names_its_extra(monkeypatch, tmp_path):
    net, _ = trained_looking("relu", "softmax", "float32")
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"fastnn\[onnx\]"):
        export.to_onnx(net, tmp_path / "net.onnx")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"fastnn\[torch\]"):
        net.to_torch()
