/* The products of the fused narrow-network kernel (_narrow.pyx) in float32,
 * on blocks stored feature-major: a block's values of n units are an n x
 * FN_NARROW_ROWS array, unit-major, so that a vector holds FN_VL rows and
 * every width (4 as well as 64) fills whole vectors. Register-blocked loops on
 * _vmath.h's vectors; every sum runs in a fixed order, so results never
 * depend on the thread count. */
#ifndef FASTNN_NARROW_H
#define FASTNN_NARROW_H

#include "_vmath.h"

#define FN_NARROW_ROWS 128                      /* rows of a block: layout.NARROW_ROWS */
#if FN_VL > 16
#error "layout.narrow_size holds vectors of at most NARROW_LANES = 16 floats"
#endif
#define FN_RV (FN_NARROW_ROWS / FN_VL)          /* vectors in a unit's row of a block */
#if FN_VL == 16                                 /* 32 vector registers */
#define FN_TJ 8                                 /* output units per tile of a product */
#else                                           /* 16: 12 accumulators (4-32-16-4 ReLU on */
#define FN_TJ 6                                 /* a Zen 3: 4 units 26 ms, 5-6 22 ms, 7 25) */
#endif
#define FN_TR 2                                 /* vectors per tile of a product */
#define FN_GJ 2                                 /* units of D per tile of a gram */
#define FN_GI 4                                 /* units of In per tile of a gram */

#if defined(__FMA__) && FN_VL == 16
#define FN_VVMADD(a, b, acc) ((fn_vec)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(acc)))
#elif defined(__FMA__) && FN_VL == 8
#define FN_VVMADD(a, b, acc) ((fn_vec)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(acc)))
#else
#define FN_VVMADD(a, b, acc) ((acc) + (a) * (b))
#endif

/* v is held in a vector register from here on: GCC would otherwise fold its
 * load into each FMA that uses it, one load per use (x86 only). */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && FN_VL > 1
#define FN_IN_REGISTER(v) __asm__("" : "+v"(v))
#else
#define FN_IN_REGISTER(v) ((void)0)
#endif

/* The tiles below are inlined with constant sizes, so that their loops unroll
 * and their accumulators stay in registers. */
#define FN_TILE static inline __attribute__((always_inline))

/* Units j..j+tj-1 and vectors c..c+tr-1 of fn_fm_product (tj <= FN_TJ, tr <= FN_RV). */
FN_TILE void fn_product_tile(const float* Mt, const float* b, Py_ssize_t m, Py_ssize_t n,
                             const float* In, float* Out, Py_ssize_t j, int c, int tj, int tr)
{
    fn_vec acc[FN_TJ][FN_RV];
    for (int q = 0; q < tj; q++)
        for (int t = 0; t < tr; t++) {
            fn_vec zero = {0};
            acc[q][t] = b ? zero + b[j + q] : zero;
        }
    const float* w = Mt + j;
    const float* x = In + c * FN_VL;
    for (Py_ssize_t i = 0; i < n; i++, w += m, x += FN_NARROW_ROWS) {
        fn_vec v[FN_RV];
        for (int t = 0; t < tr; t++) v[t] = fn_load(x + t * FN_VL);
        for (int q = 0; q < tj; q++)
            for (int t = 0; t < tr; t++) acc[q][t] = FN_VMADD(w[q], v[t], acc[q][t]);
    }
    for (int q = 0; q < tj; q++)
        for (int t = 0; t < tr; t++)
            memcpy(Out + (j + q) * FN_NARROW_ROWS + (c + t) * FN_VL, &acc[q][t], sizeof(fn_vec));
}

/* Units j..j+tj-1 of fn_fm_product, tr vectors (tj tr accumulators) per tile. */
FN_TILE void fn_product_units(const float* Mt, const float* b, Py_ssize_t m, Py_ssize_t n,
                              const float* In, float* Out, Py_ssize_t j, int tj, int tr)
{
    for (int c = 0; c < FN_RV; c += tr) fn_product_tile(Mt, b, m, n, In, Out, j, c, tj, tr);
}

/* Out_j = b_j + sum_i M_ji In_i (b NULL: no bias) for j < m, i in order:
 * M is m x n, given as Mt = M^T (n x m row-major, M_ji = Mt[i m + j]); In
 * n x R and Out m x R feature-major. Tiles of FN_TJ units, then one of the
 * m mod FN_TJ units left, with more vectors each (a padded full tile wasted
 * up to half the work of 4-32-16-4). */
static inline void fn_fm_product(const float* Mt, const float* b, Py_ssize_t m, Py_ssize_t n,
                                 const float* In, float* Out)
{
    Py_ssize_t j = 0;
    for (; j + FN_TJ <= m; j += FN_TJ) fn_product_units(Mt, b, m, n, In, Out, j, FN_TJ, FN_TR);
    switch (m - j) {
    case 1: fn_product_units(Mt, b, m, n, In, Out, j, 1, FN_RV < 8 ? FN_RV : 8); break;
    case 2: fn_product_units(Mt, b, m, n, In, Out, j, 2, FN_RV < 4 ? FN_RV : 4); break;
    case 3: fn_product_units(Mt, b, m, n, In, Out, j, 3, FN_RV < 4 ? FN_RV : 4); break;
    case 4: fn_product_units(Mt, b, m, n, In, Out, j, 4, FN_TR); break;
    case 5: fn_product_units(Mt, b, m, n, In, Out, j, 5, FN_TR); break;
#if FN_TJ > 6
    case 6: fn_product_units(Mt, b, m, n, In, Out, j, 6, FN_TR); break;
    case 7: fn_product_units(Mt, b, m, n, In, Out, j, 7, FN_TR); break;
#endif
    }
}

/* Units j..j+FN_GJ-1 of D and i..i+FN_GI-1 of In of fn_fm_gram's G. The units'
 * offsets from the tile's first unit are the constants 0, 1, ... in a full
 * tile (addresses are one pointer plus fixed displacements, which keeps the
 * loop's pointers in registers), clamped to 0 past the matrix's edge in the
 * last tile (computed again, not stored). */
FN_TILE void fn_gram_tile(const float* D, const float* In, Py_ssize_t m, Py_ssize_t n,
                          fn_vec* G, Py_ssize_t j, Py_ssize_t i, int full)
{
    int dr[FN_GJ], hc[FN_GI];
    for (int p = 0; p < FN_GJ; p++) dr[p] = full || j + p < m ? p : 0;
    for (int q = 0; q < FN_GI; q++) hc[q] = full || i + q < n ? q : 0;
    fn_vec* g = G + j * n + i;
    fn_vec acc[FN_GJ][FN_GI];
    for (int p = 0; p < FN_GJ; p++)
        for (int q = 0; q < FN_GI; q++) acc[p][q] = g[dr[p] * n + hc[q]];
    const float* d = D + j * FN_NARROW_ROWS;
    const float* h = In + i * FN_NARROW_ROWS;
#pragma GCC unroll 1
    for (int c = 0; c < FN_RV; c++, d += FN_VL, h += FN_VL) {
        fn_vec dv[FN_GJ], hv[FN_GI];
        for (int p = 0; p < FN_GJ; p++) dv[p] = fn_load(d + dr[p] * FN_NARROW_ROWS);
        for (int q = 0; q < FN_GI; q++) hv[q] = fn_load(h + hc[q] * FN_NARROW_ROWS);
        for (int p = 0; p < FN_GJ; p++) FN_IN_REGISTER(dv[p]);
        for (int q = 0; q < FN_GI; q++) FN_IN_REGISTER(hv[q]);
        for (int p = 0; p < FN_GJ; p++)
            for (int q = 0; q < FN_GI; q++) acc[p][q] = FN_VVMADD(dv[p], hv[q], acc[p][q]);
    }
    for (int p = 0; p < FN_GJ && (full || j + p < m); p++)
        for (int q = 0; q < FN_GI && (full || i + q < n); q++) g[p * n + q] = acc[p][q];
}

/* G_ji += D_j In_i and Gb_j += D_j lane by lane (lane l sums the rows r = l
 * mod FN_VL, in order of r), for D m x R and In n x R feature-major; G is
 * m x n vectors row-major, Gb m vectors. */
static inline void fn_fm_gram(const float* D, const float* In, Py_ssize_t m, Py_ssize_t n,
                              fn_vec* G, fn_vec* Gb)
{
    for (Py_ssize_t j = 0; j < m; j += FN_GJ)
        for (Py_ssize_t i = 0; i < n; i += FN_GI) {
            if (j + FN_GJ <= m && i + FN_GI <= n) fn_gram_tile(D, In, m, n, G, j, i, 1);
            else fn_gram_tile(D, In, m, n, G, j, i, 0);
        }
    for (Py_ssize_t j = 0; j < m; j++)
        for (int c = 0; c < FN_RV; c++) Gb[j] += fn_load(D + j * FN_NARROW_ROWS + c * FN_VL);
}

/* out_t = the sum of G_t's lanes in lane order, for t < n. */
static inline void fn_lane_sums(const fn_vec* G, Py_ssize_t n, float* out)
{
    for (Py_ssize_t t = 0; t < n; t++) {
        float lanes[FN_VL];
        memcpy(lanes, &G[t], sizeof(fn_vec));
        float s = lanes[0];
        for (int l = 1; l < FN_VL; l++) s += lanes[l];
        out[t] = s;
    }
}

#endif
