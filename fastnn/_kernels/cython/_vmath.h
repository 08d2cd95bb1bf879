/* Branch-free float32 exp, tanh and the logistic function for loops that GCC
 * vectorises (-O3): only arithmetic, selects and integer bit moves, no calls.
 * Accuracy against libm in float64 (tests/test_vmath.py: every 263rd float32
 * and a dense sweep; measured without FMA): fn_expf 0.99 ulp, fn_tanhf 1.27 ulp,
 * fn_sigmoidf 2.25 ulp (ulps of the exact value); NaN in,
 * NaN out; exp overflows to +inf above 88.7228394 and underflows through the
 * subnormals to +0 below -103.972. Cephes' polynomials (expf.c, tanhf.c). */
#ifndef FASTNN_VMATH_H
#define FASTNN_VMATH_H

#include <stdint.h>
#include <string.h>

static inline float fn_from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t fn_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* e^x = 2^n e^r, n = round(x / ln 2), r = x - n ln 2 (ln 2 split in two so the
 * product is exact), |r| <= ln 2 / 2; 2^n applied as 2^(n/2) 2^(n - n/2) so
 * that each factor is a normal float for every n in [-150, 128]. */
static inline float fn_expf(float x)
{
    const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float c = x < 88.7228394f ? x : 89.0f; /* NaN too: replaced at the end */
    c = c > -103.972085f ? c : -104.0f;
    float n = (c * 1.44269504f + shifter) - shifter;
    float r = c - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float z = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * z + r + 1.0f;
    int32_t k = (int32_t)n;
    int32_t k1 = k >> 1;
    float s1 = fn_from_bits((uint32_t)(k1 + 127) << 23);
    float s2 = fn_from_bits((uint32_t)(k - k1 + 127) << 23);
    float e = (p * s1) * s2;
    return x != x ? x : e;
}

/* tanh x = sign(x) t(|x|): t(a) = a + a^3 P(a^2) for a < 0.625, else
 * 1 - 2 / (e^{2a} + 1), which is 1 once e^{2a} overflows; the sign is put back
 * as a bit, so tanh(-0) = -0. */
static inline float fn_tanhf(float x)
{
    float a = fn_from_bits(fn_to_bits(x) & 0x7fffffffu);
    float z = a * a;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = p * z * a + a;
    float big = 1.0f - 2.0f / (fn_expf(a + a) + 1.0f);
    float t = a < 0.625f ? small : big;
    return fn_from_bits(fn_to_bits(t) | (fn_to_bits(x) & 0x80000000u));
}

/* sigma(x) = 1 / (1 + e^{-x}), as e^{x} / (1 + e^{x}) for x < 0: e = e^{-|x|} <= 1
 * never overflows. */
static inline float fn_sigmoidf(float x)
{
    float a = fn_from_bits(fn_to_bits(x) & 0x7fffffffu);
    float e = fn_expf(-a);
    float num = x < 0 ? e : 1.0f;
    return num / (1.0f + e);
}

#endif
