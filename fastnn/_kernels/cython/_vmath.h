/* Branch-free float32 exp, tanh and the logistic function for loops that GCC
 * vectorises (-O3): only arithmetic, selects and integer bit moves, no calls.
 * Accuracy against libm in float64 (tests/test_vmath.py: every 263rd float32
 * and a dense sweep; ulps of the exact value): fn_expf 0.99 and fn_sigmoidf
 * 2.25 (measured without FMA), fn_tanhf 1.38 (with FMA); NaN in,
 * NaN out; exp overflows to +inf above 88.7228394 and underflows through the
 * subnormals to +0 below -103.972. Cephes' polynomials (expf.c, tanhf.c). */
#ifndef FASTNN_VMATH_H
#define FASTNN_VMATH_H

#include <stdint.h>
#include <string.h>
#include <Python.h>  /* Py_ssize_t */

/* a b + c, fused where the machine has FMA (one rounding), else two roundings */
#ifdef __FMA__
#define FN_MADD(a, b, c) __builtin_fmaf((a), (b), (c))
#else
#define FN_MADD(a, b, c) ((a) * (b) + (c))
#endif

static inline float fn_from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t fn_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* e^x = 2^n e^r, n = round(x / ln 2), r = x - n ln 2 (ln 2 split in two so the
 * product is exact), |r| <= ln 2 / 2: returns e^r and sets *n, read from the bits
 * of the rounding sum (no conversion; a NaN x gives a NaN e^r and any n). */
static inline float fn_exp_reduced(float x, int32_t* n)
{
    const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float shifted = x * 1.44269504f + shifter;
    float k = shifted - shifter;
    float r = x - k * 0.693359375f;
    r = r + k * 2.12194440e-4f;
    float z = r * r;
    float p = 1.9875691500e-4f;
    p = FN_MADD(p, r, 1.3981999507e-3f);
    p = FN_MADD(p, r, 8.3334519073e-3f);
    p = FN_MADD(p, r, 4.1665795894e-2f);
    p = FN_MADD(p, r, 1.6666665459e-1f);
    p = FN_MADD(p, r, 5.0000001201e-1f);
    *n = (int32_t)(fn_to_bits(shifted) - fn_to_bits(shifter));
    return FN_MADD(p, z, r) + 1.0f;
}

/* e^x (fn_exp_reduced), 2^n applied as 2^(n/2) 2^(n - n/2) so that each
 * factor is a normal float for every n in [-150, 128]. */
static inline float fn_expf(float x)
{
    float c = x < 88.7228394f ? x : 89.0f; /* NaN too: replaced at the end */
    c = c > -103.972085f ? c : -104.0f;
    int32_t k;
    float p = fn_exp_reduced(c, &k);
    int32_t k1 = k >> 1;
    float s1 = fn_from_bits((uint32_t)(k1 + 127) << 23);
    float s2 = fn_from_bits((uint32_t)(k - k1 + 127) << 23);
    float e = (p * s1) * s2;
    return x != x ? x : e;
}

/* tanh x = sign(x) t(|x|): t(a) = a + a^3 P(a^2) for a < 0.625, else
 * 1 - 2 e / (1 + e) with e = e^{-2 min(a, 10)} (tanh 10 rounds to 1; n of
 * fn_exp_reduced in [-29, 0], so 2^n is one normal float); the sign is put
 * back as a bit, so tanh(-0) = -0. */
static inline float fn_tanhf(float x)
{
    float a = fn_from_bits(fn_to_bits(x) & 0x7fffffffu);
    float z = a * a;
    float p = -5.70498872745e-3f;
    p = FN_MADD(p, z, 2.06390887954e-2f);
    p = FN_MADD(p, z, -5.37397155531e-2f);
    p = FN_MADD(p, z, 1.33314422036e-1f);
    p = FN_MADD(p, z, -3.33332819422e-1f);
    float small = FN_MADD(p * z, a, a);
    int32_t n;
    float e = fn_exp_reduced(-2.0f * (a > 10.0f ? 10.0f : a), &n); /* NaN stays NaN */
    e = e * fn_from_bits((uint32_t)(n + 127) << 23);
    float big = 1.0f - (e + e) / (1.0f + e);
    float t = a < 0.625f ? small : big;
    return fn_from_bits(fn_to_bits(t) | (fn_to_bits(x) & 0x80000000u));
}

/* sigma(x) = 1 / (1 + e^{-x}), as e^{x} / (1 + e^{x}) for x < 0: e = e^{-|x|} <= 1
 * never overflows. n of fn_exp_reduced is in [-150, 0], so 2^n is applied as
 * 2^(n+24), a normal float (exact), then 2^-24 (e's one rounding, into the
 * subnormals): the bits of fn_expf(-|x|) (every third float32 compared) in
 * fewer operations. */
static inline float fn_sigmoidf(float x)
{
    float y = fn_from_bits(fn_to_bits(x) | 0x80000000u); /* -|x| */
    int32_t n;
    float p = fn_exp_reduced(y < -103.972085f ? -104.0f : y, &n); /* NaN stays NaN */
    float e = (p * fn_from_bits((uint32_t)(n + 24 + 127) << 23))
              * 5.9604644775390625e-8f; /* 2^-24 */
    return (x < 0 ? e : 1.0f) / (1.0f + e);
}

/* Small dense products in float32, for layers whose widths are at most
 * FN_SMALL_WIDTH: register-blocked loops on GCC's vector extensions (AVX-512: 16
 * floats a vector, AVX: 8, else SSE's 4), no BLAS call. Every sum runs in the order
 * of its index, so results never depend on the thread count. */
#define FN_SMALL_WIDTH 64
#define FN_CHUNK 16         /* columns per pass: FN_NV vectors of FN_VL floats */
#if !defined(__GNUC__)
#define FN_VL 1             /* no vector extensions (MSVC): plain floats */
#elif defined(__AVX512F__)
#define FN_VL 16
#elif defined(__AVX__)
#define FN_VL 8
#else
#define FN_VL 4
#endif
#define FN_NV (FN_CHUNK / FN_VL)
#define FN_ROWS 4           /* rows per pass: FN_ROWS x FN_NV accumulators */
#define FN_BLOCK 512        /* rows of both operands per pass of fn_small_gram (in L2) */
#if FN_VL == 1
typedef float fn_vec;
#else
typedef float fn_vec __attribute__((vector_size(FN_VL * 4)));
#endif
/* acc + u v for a float u and vectors v, acc: one FMA where the machine has it */
#if defined(__FMA__) && FN_VL == 16
#include <immintrin.h>
#define FN_VMADD(u, v, acc) ((fn_vec)_mm512_fmadd_ps(_mm512_set1_ps(u), (__m512)(v), (__m512)(acc)))
#elif defined(__FMA__) && FN_VL == 8
#include <immintrin.h>
#define FN_VMADD(u, v, acc) ((fn_vec)_mm256_fmadd_ps(_mm256_set1_ps(u), (__m256)(v), (__m256)(acc)))
#else
#define FN_VMADD(u, v, acc) ((acc) + (u) * (v))
#endif

static inline fn_vec fn_load(const float* p) { fn_vec v; memcpy(&v, p, sizeof v); return v; }

/* out[0:w] = the first w of the FN_CHUNK floats in acc (w >= FN_CHUNK: all). */
static inline void fn_store(float* out, const fn_vec* acc, Py_ssize_t w)
{
    if (w >= FN_CHUNK) {
        for (int k = 0; k < FN_NV; k++) memcpy(out + k * FN_VL, &acc[k], sizeof acc[k]);
        return;
    }
    float t[FN_CHUNK];
    for (int k = 0; k < FN_NV; k++) memcpy(t + k * FN_VL, &acc[k], sizeof acc[k]);
    for (Py_ssize_t j = 0; j < w; j++) out[j] = t[j];
}

static inline Py_ssize_t fn_padded(Py_ssize_t n) { return (n + FN_CHUNK - 1) / FN_CHUNK * FN_CHUNK; }

/* Out = U V (B x n) for U (B x m) and V (m x n) stored with rows of
 * fn_padded(n) floats, zero beyond n: out_r = sum_i u_ri v_i in order of i,
 * FN_ROWS rows and FN_CHUNK columns per pass, the accumulators in registers. */
static inline void fn_small_product(const float* U, const float* V, Py_ssize_t B, Py_ssize_t m,
                             Py_ssize_t n, float* Out)
{
    Py_ssize_t ld = fn_padded(n);
    for (Py_ssize_t r = 0; r < B; r += FN_ROWS) {
        Py_ssize_t row[FN_ROWS];
        for (int q = 0; q < FN_ROWS; q++) row[q] = r + q < B ? r + q : r;
        for (Py_ssize_t j0 = 0; j0 < ld; j0 += FN_CHUNK) {
            fn_vec acc[FN_ROWS][FN_NV] = {{0}};
            for (Py_ssize_t i = 0; i < m; i++) {
                fn_vec v[FN_NV];
                for (int k = 0; k < FN_NV; k++) v[k] = fn_load(V + i * ld + j0 + k * FN_VL);
                for (int q = 0; q < FN_ROWS; q++) {
                    float u = U[row[q] * m + i];
                    for (int k = 0; k < FN_NV; k++) acc[q][k] = FN_VMADD(u, v[k], acc[q][k]);
                }
            }
            for (int q = 0; q < FN_ROWS && r + q < B; q++)
                fn_store(Out + (r + q) * n + j0, acc[q], n - j0);
        }
    }
}

/* P = A (m x n), or A^T when transposed, with rows of fn_padded(row length)
 * floats, zero beyond it: the V of fn_small_product. */
static inline void fn_padded_copy(const float* A, Py_ssize_t m, Py_ssize_t n, int transposed, float* P)
{
    Py_ssize_t ld = fn_padded(transposed ? m : n);
    memset(P, 0, (transposed ? n : m) * ld * sizeof(float));
    for (Py_ssize_t i = 0; i < m; i++)
        for (Py_ssize_t j = 0; j < n; j++) {
            if (transposed) P[j * ld + i] = A[i * n + j];
            else P[i * ld + j] = A[i * n + j];
        }
}

/* R = P^T Q (p x q) for P (B x p) and Q (B x q), q a multiple of FN_CHUNK:
 * R_a = sum_r p_ra q_r, summed in order of r over blocks of FN_BLOCK rows,
 * FN_ROWS values of a and FN_CHUNK columns per pass. */
static inline void fn_small_gram(const float* P, const float* Q, Py_ssize_t B, Py_ssize_t p,
                          Py_ssize_t q, float* R)
{
    memset(R, 0, p * q * sizeof(float));
    for (Py_ssize_t r0 = 0; r0 < B; r0 += FN_BLOCK) {
        Py_ssize_t r1 = r0 + FN_BLOCK < B ? r0 + FN_BLOCK : B;
        for (Py_ssize_t a = 0; a < p; a += FN_ROWS) {
            Py_ssize_t col[FN_ROWS];
            for (int c = 0; c < FN_ROWS; c++) col[c] = a + c < p ? a + c : a;
            for (Py_ssize_t j0 = 0; j0 < q; j0 += FN_CHUNK) {
                fn_vec acc[FN_ROWS][FN_NV] = {{0}};
                for (Py_ssize_t r = r0; r < r1; r++) {
                    fn_vec v[FN_NV];
                    for (int k = 0; k < FN_NV; k++) v[k] = fn_load(Q + r * q + j0 + k * FN_VL);
                    for (int c = 0; c < FN_ROWS; c++) {
                        float u = P[r * p + col[c]];
                        for (int k = 0; k < FN_NV; k++) acc[c][k] = FN_VMADD(u, v[k], acc[c][k]);
                    }
                }
                for (int c = 0; c < FN_ROWS && a + c < p; c++)
                    for (int k = 0; k < FN_NV; k++) {
                        float* out = R + (a + c) * q + j0 + k * FN_VL;
                        fn_vec sum = fn_load(out) + acc[c][k];
                        memcpy(out, &sum, sizeof sum);
                    }
            }
        }
    }
}

#endif
