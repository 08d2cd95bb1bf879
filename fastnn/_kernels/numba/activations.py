"""Activations h = g(a) and their backward pass dL/da = dL/dh * g'(a),
elementwise over arrays of any shape (one loop per activation code)."""
from ..codes import ACT_LEAKY_RELU, ACT_LINEAR, ACT_RELU, ACT_SIGMOID, ACT_STEP, ACT_TANH
from ._jit import kernel, scalar
from .vmath import sigmoid, tanh


@kernel
def activation_forward(Z, act, alpha, H_out):
    """h = g(a): linear a; sigmoid; tanh (float32: vmath's vectorised ones); relu max(0, a); leaky relu a if a > 0
    else alpha a; step 1 if a >= 0 else 0."""
    z, h = Z.reshape(-1), H_out.reshape(-1)
    zero, one, slope = scalar(0, Z), scalar(1, Z), scalar(alpha, Z)
    if act == ACT_LINEAR:
        for i in range(z.size):
            h[i] = z[i]
    elif act == ACT_SIGMOID:
        for i in range(z.size):
            h[i] = sigmoid(z[i])
    elif act == ACT_TANH:
        for i in range(z.size):
            h[i] = tanh(z[i])
    elif act == ACT_RELU:
        for i in range(z.size):
            h[i] = z[i] if z[i] > 0 else zero
    elif act == ACT_LEAKY_RELU:
        for i in range(z.size):
            h[i] = z[i] if z[i] > 0 else slope * z[i]
    elif act == ACT_STEP:
        for i in range(z.size):
            h[i] = one if z[i] >= 0 else zero
    return H_out


@kernel
def activation_backward(Z, H, dH, act, alpha, dZ_out):
    """dL/da = dL/dh * g'(a): sigmoid h(1-h), tanh 1-h^2, relu [a > 0],
    leaky relu 1 or alpha, linear 1, step 0. ``dZ_out`` may be ``dH``."""
    z, h, dh, dz = Z.reshape(-1), H.reshape(-1), dH.reshape(-1), dZ_out.reshape(-1)
    zero, one, slope = scalar(0, Z), scalar(1, Z), scalar(alpha, Z)
    if act == ACT_LINEAR:
        for i in range(z.size):
            dz[i] = dh[i]
    elif act == ACT_SIGMOID:
        for i in range(z.size):
            dz[i] = dh[i] * (h[i] * (one - h[i]))
    elif act == ACT_TANH:
        for i in range(z.size):
            dz[i] = dh[i] * (one - h[i] * h[i])
    elif act == ACT_RELU:
        for i in range(z.size):
            dz[i] = dh[i] if z[i] > 0 else zero
    elif act == ACT_LEAKY_RELU:
        for i in range(z.size):
            dz[i] = dh[i] if z[i] > 0 else slope * dh[i]
    elif act == ACT_STEP:
        for i in range(z.size):
            dz[i] = zero
    return dZ_out
