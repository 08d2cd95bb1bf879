"""exp, tanh and the logistic function that LLVM vectorises in float32 loops,
the same branch-free algorithms as the Cython backend's _vmath.h (Cephes'
polynomials; accuracy against libm in tests/test_vmath.py: exp <= 1 ulp, tanh
and sigmoid <= 2 ulp). float64 stays on libm: ``exp``, ``tanh`` and
``sigmoid`` pick the implementation by the argument's type when compiled."""
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from ._jit import kernel

f32 = np.float32
I32 = ir.IntType(32)


@intrinsic
def _scale_pow2(typingctx, p, n):
    """p 2^n for an integral float32 n in [-150, 129], as p 2^(n>>1) 2^(n - n>>1)
    so that both factors are normal floats (subnormal results rounded once)."""
    if p != types.float32 or n != types.float32:
        return None

    def codegen(context, builder, signature, args):
        p, n = args
        k = builder.fptosi(n, I32)
        k1 = builder.ashr(k, I32(1))
        k2 = builder.sub(k, k1)

        def pow2(e):
            return builder.bitcast(builder.shl(builder.add(e, I32(127)), I32(23)), ir.FloatType())

        return builder.fmul(builder.fmul(p, pow2(k1)), pow2(k2))

    return types.float32(types.float32, types.float32), codegen


@intrinsic
def _scale_pow2_low(typingctx, p, n):
    """p 2^(n+24) for an integral float32 n in [-150, 103] (a normal factor)."""
    if p != types.float32 or n != types.float32:
        return None

    def codegen(context, builder, signature, args):
        p, n = args
        e = builder.add(builder.fptosi(n, I32), I32(24 + 127))
        return builder.fmul(p, builder.bitcast(builder.shl(e, I32(23)), ir.FloatType()))

    return types.float32(types.float32, types.float32), codegen


@kernel
def _exp_reduced32(c):
    """(e^r, n) with e^c = 2^n e^r: n = round(c / ln 2), r = c - n ln 2 with
    ln 2 in two parts (the product exact), |r| <= ln 2 / 2."""
    shifter = f32(12582912.0)  # 1.5 * 2^23: adding it rounds to an integer
    n = (c * f32(1.44269504) + shifter) - shifter
    r = c - n * f32(0.693359375)
    r = r + n * f32(2.12194440e-4)
    z = r * r
    p = f32(1.9875691500e-4)
    p = p * r + f32(1.3981999507e-3)
    p = p * r + f32(8.3334519073e-3)
    p = p * r + f32(4.1665795894e-2)
    p = p * r + f32(1.6666665459e-1)
    p = p * r + f32(5.0000001201e-1)
    return p * z + r + f32(1.0), n


@kernel
def exp32(x):
    """e^x (_exp_reduced32): +inf above 88.7228394, through the subnormals to
    +0 below -103.972; NaN stays NaN."""
    c = x if x < f32(88.7228394) else f32(89.0)  # NaN too: put back at the end
    c = c if c > f32(-103.972085) else f32(-104.0)
    p, n = _exp_reduced32(c)
    e = _scale_pow2(p, n)
    return x if x != x else e


@kernel
def tanh32(x):
    """tanh x = sign(x) t(|x|): t(a) = a + a^3 P(a^2) for a < 0.625, else
    1 - 2 e / (1 + e) with e = e^{-2 min(a, 10)} (tanh 10 rounds to 1);
    tanh(-0) = -0."""
    a = abs(x)
    z = a * a
    p = f32(-5.70498872745e-3)
    p = p * z + f32(2.06390887954e-2)
    p = p * z - f32(5.37397155531e-2)
    p = p * z + f32(1.33314422036e-1)
    p = p * z - f32(3.33332819422e-1)
    small = p * z * a + a
    e = exp32(f32(-2.0) * (a if a < f32(10.0) else f32(10.0)))
    big = f32(1.0) - (e + e) / (f32(1.0) + e)
    t = np.copysign(small if a < f32(0.625) else big, x)
    return x if x != x else t


@kernel
def sigmoid32(x):
    """sigma(x) = 1 / (1 + e^{-x}), as e^{x} / (1 + e^{x}) for x < 0: e = e^{-|x|}
    <= 1 never overflows; n in [-150, 0], so 2^n is one scale by 2^(n+24) (a
    normal float) and one by 2^-24 (e's rounding), as in _vmath.h."""
    y = -abs(x)
    p, n = _exp_reduced32(y if y > f32(-103.972085) else f32(-104.0))  # NaN: put back
    e = _scale_pow2_low(p, n) * f32(5.9604644775390625e-8)
    s = (e if x < 0 else f32(1.0)) / (f32(1.0) + e)
    return x if x != x else s


@kernel
def sigmoid64(x):
    """sigma(x) in float64 with libm's exp, stable as sigmoid32."""
    e = np.exp(-abs(x))
    return (e if x < 0 else 1.0) / (1.0 + e)


def exp(x):
    """e^x: exp32 for float32, libm otherwise."""
    return np.exp(x)


def tanh(x):
    """tanh x: tanh32 for float32, libm otherwise."""
    return np.tanh(x)


def sigmoid(x):
    """1 / (1 + e^{-x}): sigmoid32 for float32, sigmoid64 otherwise."""
    return sigmoid64(x)


def _by_type(fast, wide):
    """An overload choosing ``fast`` for a float32 argument, else ``wide``."""
    def choose(x):
        return (lambda x: fast(x)) if x == types.float32 else (lambda x: wide(x))
    return choose


overload(exp)(_by_type(exp32, np.exp))
overload(tanh)(_by_type(tanh32, np.tanh))
overload(sigmoid)(_by_type(sigmoid32, sigmoid64))
