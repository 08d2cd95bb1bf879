"""A trained network handed to other tools: PyTorch and ONNX.

Both formats hold the same computation as :meth:`fastnn.MLP.forward`: for
every layer a_k = b_k + W_k h_{k-1} with fastnn's ``W_k`` of shape
(n_out, n_in) (the layout of ``torch.nn.Linear.weight`` and of ONNX ``Gemm``
with ``transB=1``), then the hidden activation g, and at the end the output
function O:

============== =================== ============================
fastnn         PyTorch             ONNX (opset 17)
============== =================== ============================
sigmoid        ``nn.Sigmoid``      ``Sigmoid``
tanh           ``nn.Tanh``         ``Tanh``
relu           ``nn.ReLU``         ``Relu``
leaky_relu     ``nn.LeakyReLU(a)`` ``LeakyRelu(alpha=a)``
linear hidden  ``nn.Identity``     (nothing: Gemm feeds Gemm)
softmax output ``nn.Softmax(1)``   ``Softmax(axis=1)``
sigmoid output ``nn.Sigmoid``      ``Sigmoid``
linear output  (nothing)           (nothing)
============== =================== ============================

Step units (forward only in fastnn) have no standard layer and are refused.
torch and onnx are optional: ``pip install "fastnn[torch]"`` or
``"fastnn[onnx]"``.
"""
import importlib
import os

import numpy as np

from . import activations
from ._files import atomic_writer
from .losses import OUTPUTS
from .network import MLP

__all__ = ["to_torch", "from_torch", "to_onnx", "network_of", "ONNX_OPSET", "ONNX_INPUT",
           "ONNX_OUTPUT"]

ONNX_OPSET = 17
"""The ONNX operator set of :func:`to_onnx` (IR version 8; onnxruntime >= 1.12)."""
ONNX_INPUT = "X"
"""Name of the ONNX graph's input: float rows (N, n_inputs), N free."""
ONNX_OUTPUT = "Y"
"""Name of the ONNX graph's output: ``net.forward(X)``, shape (N, n_outputs)."""
_ONNX_IR_VERSION = 8
_ONNX_OPS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "leaky_relu": "LeakyRelu",
             "softmax": "Softmax"}


def _require(package, extra):
    """``import package``, or an ImportError saying which extra installs it."""
    try:
        return importlib.import_module(package)
    except ImportError:
        raise ImportError(f"this needs the {package} package: pip install "
                          f"'fastnn[{extra}]'") from None


def network_of(model):
    """The fastnn :class:`~fastnn.MLP` of ``model``: the network itself, or
    the fitted network of an estimator (``network_``, or the estimators'
    ``_net``)."""
    if isinstance(model, MLP):
        return model
    for name in ("network_", "_net"):
        net = getattr(model, name, None)
        if isinstance(net, MLP):
            return net
    if hasattr(model, "fit") and hasattr(model, "hidden_layer_sizes"):
        raise ValueError(f"{type(model).__name__} is not fitted yet: call fit before exporting")
    raise TypeError(f"expected a fastnn MLP or a fitted fastnn estimator, got "
                    f"{type(model).__name__}")


def _layers(net):
    """(W, b, activation) per layer, the output function last; refuses step units."""
    if "step" in net.activation:
        raise ValueError("activation='step' has no standard PyTorch or ONNX layer; only "
                         "networks of sigmoid, tanh, relu, leaky_relu and linear units export")
    return [(layer.W, layer.b, _canonical(layer.activation)) for layer in net.layers]


def _canonical(name):
    """The activation's main name (logistic -> sigmoid, identity -> linear);
    output names (softmax) as they are."""
    return activations.NAMES[activations.CODES[name]] if name in activations.CODES else name


# -- PyTorch ---------------------------------------------------------------------

def to_torch(model):
    """A ``torch.nn.Sequential`` computing ``model``'s forward pass: Linear,
    activation, ..., Linear, then Softmax(dim=1) / Sigmoid for those outputs
    (nothing for a linear output), in the network's dtype, with copies of its
    parameters. ``model`` is an MLP or a fitted fastnn estimator."""
    torch = _require("torch", "torch")
    net = network_of(model)
    dtype = getattr(torch, net.dtype.name)
    modules = []
    for k, (W, b, act) in enumerate(_layers(net)):
        linear = torch.nn.Linear(W.shape[1], W.shape[0], dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.array(W)))
            linear.bias.copy_(torch.from_numpy(np.array(b)))
        modules.append(linear)
        if act != "linear" or k < net.n_layers - 1:
            modules.append(_torch_activation(torch.nn, act, net.alpha))
    return torch.nn.Sequential(*modules)


def _torch_activation(nn, act, alpha):
    if act == "leaky_relu":
        return nn.LeakyReLU(alpha)
    if act == "softmax":
        return nn.Softmax(dim=1)
    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "linear": nn.Identity}[act]()


def from_torch(module, output=None, backend=None):
    """A fastnn MLP computing the forward pass of ``module``, a
    ``torch.nn.Sequential`` of ``nn.Linear`` layers, each followed by at most
    one of ``nn.Sigmoid``, ``nn.Tanh``, ``nn.ReLU``, ``nn.LeakyReLU`` (one
    slope for all), ``nn.Identity`` (a Linear followed directly by a Linear is
    a linear hidden layer).

    The output function is read from what follows the last Linear:
    ``nn.Softmax(dim=1)`` (or ``dim=-1``) -> "softmax", ``nn.Sigmoid`` ->
    "sigmoid", nothing or ``nn.Identity`` -> "linear". A model trained on
    logits (with ``nn.CrossEntropyLoss`` or ``nn.BCEWithLogitsLoss``) ends
    with a Linear: pass ``output="softmax"`` (or "sigmoid") to get the
    probabilities its loss implies. ``output`` that contradicts a trailing
    Softmax/Sigmoid is an error, as is any other module. The dtype
    (float32 or float64) is that of the module's parameters."""
    torch = _require("torch", "torch")
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"module must be a torch.nn.Sequential of Linear and activation "
                        f"layers, got {type(module).__name__}")
    if output is not None and output not in OUTPUTS:
        raise ValueError(f"output={output!r} is unknown; valid outputs are {', '.join(OUTPUTS)}")
    linears, follows, slopes = _read_sequential(module, torch)
    inferred = follows[-1]
    if inferred not in OUTPUTS:
        raise ValueError(f"module ends with {inferred!r} after its last Linear; a fastnn output "
                         f"is Softmax(dim=1), Sigmoid or nothing (linear)")
    if output is None:
        output = inferred
    elif inferred != "linear" and output != inferred:
        raise ValueError(f"output={output!r} contradicts the module's trailing {inferred} layer")
    hidden = follows[:-1]
    if "softmax" in hidden:
        raise ValueError("module has a Softmax between Linear layers; fastnn has softmax only "
                         "as the output function")
    if len(set(slopes)) > 1:
        raise ValueError(f"module's LeakyReLU layers have different slopes {sorted(set(slopes))}; "
                         f"a fastnn MLP has one alpha")
    dtypes = {p.dtype for p in module.parameters()}
    names = {str(d).removeprefix("torch.") for d in dtypes}
    if len(names) != 1 or not names <= {"float32", "float64"}:
        raise ValueError(f"module's parameters must all be float32 or all float64, got "
                         f"{sorted(names)}")
    sizes = [linears[0].in_features] + [lin.out_features for lin in linears]
    net = MLP(sizes, activation=hidden, output=output, dtype=names.pop(), random_state=0,
              backend=backend, **({"alpha": slopes[0]} if slopes else {}))
    for layer, linear in zip(net.layers, linears):
        layer.W[...] = linear.weight.detach().cpu().numpy()
        layer.b[...] = 0 if linear.bias is None else linear.bias.detach().cpu().numpy()
    return net


def _read_sequential(module, torch):
    """(Linear layers, the activation name after each, LeakyReLU slopes) of a
    Sequential, with the layer sizes checked to chain."""
    nn = torch.nn
    kinds = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu",
             nn.LeakyReLU: "leaky_relu", nn.Identity: "linear", nn.Softmax: "softmax"}
    linears, follows, slopes = [], [], []
    for i, layer in enumerate(module):
        where = f"module[{i}] ({type(layer).__name__})"
        if isinstance(layer, nn.Linear):
            if linears and layer.in_features != linears[-1].out_features:
                raise ValueError(f"{where} takes {layer.in_features} inputs but the Linear "
                                 f"before it gives {linears[-1].out_features}")
            linears.append(layer)
            follows.append("linear")
            continue
        kind = kinds.get(type(layer))
        if kind is None:
            raise ValueError(f"{where} is not supported; from_torch reads Linear, "
                             f"{', '.join(t.__name__ for t in kinds)}")
        if not linears:
            raise ValueError(f"{where} comes before the first Linear")
        previous = module[i - 1]
        if not isinstance(previous, nn.Linear):
            raise ValueError(f"{where} follows {type(previous).__name__}; each Linear takes "
                             f"at most one activation")
        if kind == "softmax" and layer.dim not in (1, -1):
            raise ValueError(f"{where} has dim={layer.dim}; fastnn's softmax runs over the "
                             f"features of each row (dim=1)")
        if kind == "leaky_relu":
            slopes.append(float(layer.negative_slope))
        follows[-1] = kind
    if not linears:
        raise ValueError("module has no Linear layer")
    return linears, follows, slopes


# -- ONNX ------------------------------------------------------------------------

def to_onnx(model, path):
    """Write ``model`` (an MLP or a fitted fastnn estimator) to ``path`` as an
    ONNX model (opset :data:`ONNX_OPSET`) of standard operators: per layer
    ``Gemm(X, W, b, transB=1)`` and its activation, then ``Softmax(axis=1)``
    or ``Sigmoid`` for those outputs. The input :data:`ONNX_INPUT` ("X") takes
    float rows (N, n_inputs) of the network's dtype; the output
    :data:`ONNX_OUTPUT` ("Y") is ``net.forward(X)`` (for an estimator's
    classifier: one column per class of ``classes_``, or the probability of
    ``classes_[1]`` for two classes). The model is checked by
    ``onnx.checker`` and written atomically; returns ``path``.

    >>> import onnxruntime                                    # doctest: +SKIP
    >>> session = onnxruntime.InferenceSession("model.onnx")  # doctest: +SKIP
    >>> session.run(["Y"], {"X": X.astype(np.float32)})[0]    # doctest: +SKIP
    """
    onnx = _require("onnx", "onnx")
    model_proto = _onnx_model(network_of(model))
    onnx.checker.check_model(model_proto, full_check=True)
    path = os.fspath(path)
    with atomic_writer(path, suffix=".onnx") as f:
        f.write(model_proto.SerializeToString())
    return path


def _onnx_model(net):
    """The ModelProto of ``net`` (see :func:`to_onnx`)."""
    from onnx import helper, numpy_helper

    elem = helper.np_dtype_to_tensor_dtype(net.dtype)
    steps, weights = [], []          # steps: (operator, inputs beyond the first, attributes)
    for k, (W, b, act) in enumerate(_layers(net), start=1):
        weights += [numpy_helper.from_array(np.array(W), f"W{k}"),
                    numpy_helper.from_array(np.array(b), f"b{k}")]
        steps.append(("Gemm", [f"W{k}", f"b{k}"], {"transB": 1}))
        if act in _ONNX_OPS:
            attributes = {"softmax": {"axis": 1}, "leaky_relu": {"alpha": net.alpha}}
            steps.append((_ONNX_OPS[act], [], attributes.get(act, {})))
    names = [ONNX_INPUT, *(f"t{i}" for i in range(1, len(steps))), ONNX_OUTPUT]
    nodes = [helper.make_node(op, [names[i], *more], [names[i + 1]], **attributes)
             for i, (op, more, attributes) in enumerate(steps)]
    graph = helper.make_graph(
        nodes, "fastnn_mlp",
        [helper.make_tensor_value_info(ONNX_INPUT, elem, ["N", int(net.sizes[0])])],
        [helper.make_tensor_value_info(ONNX_OUTPUT, elem, ["N", net.n_outputs])],
        weights)
    return helper.make_model(graph, producer_name="fastnn", ir_version=_ONNX_IR_VERSION,
                             opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                             doc_string=repr(net))
