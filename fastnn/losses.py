"""Output functions and their losses (the notes' Table 4).

The kernels fuse each output function with its loss and work from the
logits a_L, which is what makes softmax cross-entropy and binary
cross-entropy numerically stable.
"""
from ._kernels import codes

OUTPUTS = ("softmax", "sigmoid", "linear", "exp")
# output function -> (default loss name, {accepted loss names: kernel code})
_TABLE = {
    "softmax": ("cross_entropy", {"cross_entropy": codes.LOSS_SOFTMAX_CE}),
    "sigmoid": ("binary_cross_entropy", {"binary_cross_entropy": codes.LOSS_BCE,
                                         "cross_entropy": codes.LOSS_BCE}),
    "linear": ("squared_error", {"squared_error": codes.LOSS_SQUARED}),
    "exp": ("poisson", {"poisson": codes.LOSS_POISSON}),
}


def loss_code(output, loss=None):
    """(loss name, kernel code) for the output function ``output``; ``loss`` None
    follows the notes' table: softmax -> cross-entropy, sigmoid -> binary
    cross-entropy, linear -> squared error; exp (Poisson mean) -> Poisson deviance."""
    if not isinstance(output, str) or output not in _TABLE:
        raise ValueError(f"output={output!r} is unknown; valid outputs are {', '.join(OUTPUTS)}")
    default, accepted = _TABLE[output]
    name = default if loss is None else loss
    if not isinstance(name, str) or name not in accepted:
        raise ValueError(f"loss={loss!r} does not go with output={output!r}; "
                         f"valid: {', '.join(sorted(accepted))}")
    return name, accepted[name]
