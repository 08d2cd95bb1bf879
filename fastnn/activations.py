"""Activation functions g of the notes' h = g(a), by name."""
from ._kernels import codes

CODES = {
    "linear": codes.ACT_LINEAR,
    "identity": codes.ACT_LINEAR,
    "sigmoid": codes.ACT_SIGMOID,
    "logistic": codes.ACT_SIGMOID,
    "tanh": codes.ACT_TANH,
    "relu": codes.ACT_RELU,
    "leaky_relu": codes.ACT_LEAKY_RELU,
    "step": codes.ACT_STEP,
}
NAMES = {code: name for name, code in reversed(list(CODES.items()))}
TRAINABLE = frozenset(CODES) - {"step"}


def code(name, argument="activation"):
    """The kernel code of activation ``name``; ValueError naming ``argument`` otherwise."""
    if not isinstance(name, str) or name not in CODES:
        raise ValueError(f"{argument}={name!r} is unknown; valid activations are "
                         f"{', '.join(sorted(CODES))}")
    return CODES[name]
