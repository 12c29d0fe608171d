#include "maxpool.h"
#include "lanes.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Max pooling's window searches and routings (see maxpool.h), one plane
   after another, on two paths:
   - the 2x2 window of stride 2 without padding (VGG's pools): each input
     value lies in one window at most, so the outputs are written, not
     accumulated, and the loop over a row's windows is vectorised, every
     comparison a select (a separate copy compiled for AVX-512, 16 windows
     per vector, chosen at run time);
   - any other window: the windows in row-major order, accumulating into
     the zeroed output; the 3x3 windows of stride 2 (ResNet's stem pool)
     searched 16 at a time on AVX-512 away from the borders.
   The value `0.0f + t` where the general path would add `t` to a zero
   keeps both paths bit for bit equal (-0 becomes +0 there too). */

/* Whether `v` replaces the running maximum `best`: larger, or NaN. */
#define TAKES(v, best) ((v) > (best) || (v) != (v))

/* The argmax (flat index in the plane) of `p` over rows i0..<i1 and columns
   j0..<j1, and with `magnitudes` that of |p|; the first one in row-major
   order, a NaN winning. */
static inline __attribute__((always_inline)) void window_argmax(const float *p, long w, long i0, long i1, long j0,
                                                                long j1, int magnitudes, long *index,
                                                                long *absolute_index) {
    long bi = i0 * w + j0, ai = bi;
    float best = p[bi], best_absolute = fabsf(best);
    for (long i = i0; i < i1; i++)
        for (long j = j0; j < j1; j++) {
            long q = i * w + j;
            float v = p[q], a = fabsf(v);
            if (TAKES(v, best)) { best = v; bi = q; }
            if (magnitudes && TAKES(a, best_absolute)) { best_absolute = a; ai = q; }
        }
    *index = bi;
    *absolute_index = ai;
}

/* `s_o` of window `o` (maxpool.h). */
static inline __attribute__((always_inline)) float window_factor(const float *v, const float *y, long o, int divides,
                                                                 float epsilon) {
    return divides ? v[o] / (fabsf(y[o]) + epsilon) : v[o];
}

#if defined(__x86_64__)
/* `TAKES` on 16 lanes: the lanes where `v` replaces `best`. */
#define TAKES16(v, best) \
    (_mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q))

/* `window_argmax` of `n` <= 16 neighbouring 3x3 windows of stride 2 that
   lie inside the plane's columns (the first one starting at column x0),
   over rows i0..<i1: the candidates in the same row-major order, 16
   windows per vector (a row's columns x0 + 2j, + 1, + 2 deinterleaved from
   two loads), into `index` and `absolute_index`. */
__attribute__((target("avx512f"))) static void stride2_argmax16(const float *p, long w, long i0, long i1, long x0,
                                                                 long n, int magnitudes, long *index,
                                                                 long *absolute_index) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    /* elements 0..<2n of the row from x0 (columns x0 + 2j, x0 + 2j + 1), and 0..<2n-1 from x0 + 2 */
    __mmask16 first = (__mmask16)(n >= 8 ? 0xffffu : (1u << (2 * n)) - 1);
    __mmask16 second = (__mmask16)(n <= 8 ? 0u : (1u << (2 * (n - 8))) - 1);
    __mmask16 shifted_first = (__mmask16)(2 * n - 1 >= 16 ? 0xffffu : (1u << (2 * n - 1)) - 1);
    __mmask16 shifted_second = (__mmask16)(2 * n - 1 <= 16 ? 0u : (1u << (2 * n - 1 - 16)) - 1);
    __m512 best = _mm512_setzero_ps(), best_absolute = best;
    __m512i bi = _mm512_setzero_si512(), ai = bi;
    const __m512i step = _mm512_slli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1);
    int started = 0;
    for (long i = i0; i < i1; i++) {
        const float *r = p + i * w + x0;
        __m512 l0 = _mm512_maskz_loadu_ps(first, r), l1 = _mm512_maskz_loadu_ps(second, r + 16);
        __m512 m0 = _mm512_maskz_loadu_ps(shifted_first, r + 2), m1 = _mm512_maskz_loadu_ps(shifted_second, r + 18);
        __m512 column[3] = {_mm512_permutex2var_ps(l0, even, l1), _mm512_permutex2var_ps(l0, odd, l1),
                            _mm512_permutex2var_ps(m0, even, m1)};
        for (int c = 0; c < 3; c++) {
            __m512 v = column[c], a = _mm512_abs_ps(v);
            __m512i q = _mm512_add_epi32(_mm512_set1_epi32((int)(i * w + x0 + c)), step);
            if (!started) {
                best = v; bi = q; best_absolute = a; ai = q;
                started = 1;
                continue;
            }
            __mmask16 t = TAKES16(v, best);
            best = _mm512_mask_mov_ps(best, t, v);
            bi = _mm512_mask_mov_epi32(bi, t, q);
            if (magnitudes) {
                __mmask16 u = TAKES16(a, best_absolute);
                best_absolute = _mm512_mask_mov_ps(best_absolute, u, a);
                ai = _mm512_mask_mov_epi32(ai, u, q);
            }
        }
    }
    int indices[16], absolute_indices[16];
    _mm512_storeu_si512(indices, bi);
    _mm512_storeu_si512(absolute_indices, ai);
    for (long j = 0; j < n; j++) {
        index[j] = indices[j];
        absolute_index[j] = absolute_indices[j];
    }
}
#endif

/* Any window, one plane: the forward (`forward`: writes `y`) or the
   routing into the plane `out` (zeroed here first), windows in row-major
   order. With `wide` (AVX-512) the 3x3 windows of stride 2 inside the
   columns are searched 16 at a time (`stride2_argmax16`), the routing
   still one window after another (overlapping windows accumulate in the
   same order). */
static inline __attribute__((always_inline)) void general_plane(const float *p, const float *v, const float *y,
                                                                float *out, long h, long w, long k, long stride,
                                                                long padding, long oh, long ow, int forward,
                                                                cvm_maxpool_routing routing, int divides,
                                                                float epsilon, float *forward_out, int wide) {
    int magnitudes = !forward && routing != CVM_MAXPOOL_GRADIENT;
    if (!forward) memset(out, 0, (size_t)(h * w) * sizeof(float));
    /* the windows inside the columns: x0 = 2 ox - padding >= 0 and x0 + 3 <= w */
    long inner_first = (padding + 1) / 2, inner_end = w + padding >= 3 ? (w + padding - 3) / 2 + 1 : 0;
    if (inner_end > ow) inner_end = ow;
    int searches16 = wide && k == 3 && stride == 2;
    for (long oy = 0; oy < oh; oy++) {
        long y0 = oy * stride - padding, i0 = y0 < 0 ? 0 : y0, i1 = y0 + k > h ? h : y0 + k;
        for (long ox = 0; ox < ow;) {
            long index[16], absolute_index[16], n = 1;
#if defined(__x86_64__)
            if (searches16 && ox >= inner_first && ox < inner_end) {
                n = inner_end - ox < 16 ? inner_end - ox : 16;
                stride2_argmax16(p, w, i0, i1, 2 * ox - padding, n, magnitudes, index, absolute_index);
            } else
#endif
            {
                long x0 = ox * stride - padding, j0 = x0 < 0 ? 0 : x0, j1 = x0 + k > w ? w : x0 + k;
                window_argmax(p, w, i0, i1, j0, j1, magnitudes, index, absolute_index);
            }
            for (long j = 0; j < n; j++) {
                long o = oy * ow + ox + j, i = index[j], a = absolute_index[j];
                if (forward) {
                    forward_out[o] = p[i];
                    continue;
                }
                float s = window_factor(v, y, o, divides, epsilon);
                switch (routing) {
                case CVM_MAXPOOL_GRADIENT: out[i] += s; break;
                case CVM_MAXPOOL_ABSOLUTE_GRADIENT: out[a] += s; break;
                case CVM_MAXPOOL_CONTRIBUTIONS:
                    out[i] += p[i] * s;
                    out[a] += fabsf(p[a]) * s;
                    break;
                }
            }
            ox += n;
        }
    }
}

/* Which of a, b, c, d (0..3, a window's values in row-major order) is its
   argmax (`window_argmax`). */
static inline __attribute__((always_inline)) int argmax4(float a, float b, float c, float d) {
    float best = a;
    int which = 0, t;
    t = TAKES(b, best); best = t ? b : best; which = t ? 1 : which;
    t = TAKES(c, best); best = t ? c : best; which = t ? 2 : which;
    t = TAKES(d, best); which = t ? 3 : which;
    return which;
}

/* 2x2 windows of stride 2: windows `from..<ow` of one row of windows
   (input rows r0, r1; output rows o0, o1, or the forward's row fr). */
static inline __attribute__((always_inline)) void pairs_row(const float *r0, const float *r1, const float *vr,
                                                            const float *yr, float *o0, float *o1, float *fr,
                                                            long from, long ow, int forward,
                                                            cvm_maxpool_routing routing, int divides, float epsilon) {
    for (long ox = from; ox < ow; ox++) {
        float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
        int which = argmax4(a, b, c, d);
        if (forward) {
            fr[ox] = which == 0 ? a : which == 1 ? b : which == 2 ? c : d;
            continue;
        }
        float s = divides ? vr[ox] / (fabsf(yr[ox]) + epsilon) : vr[ox];
        float ca, cb, cc, cd;
        if (routing == CVM_MAXPOOL_GRADIENT) {
            ca = which == 0 ? s : 0.0f; cb = which == 1 ? s : 0.0f;
            cc = which == 2 ? s : 0.0f; cd = which == 3 ? s : 0.0f;
        } else {
            float aa = fabsf(a), ab = fabsf(b), ac = fabsf(c), ad = fabsf(d);
            int absolute = argmax4(aa, ab, ac, ad);
            if (routing == CVM_MAXPOOL_ABSOLUTE_GRADIENT) {
                ca = absolute == 0 ? s : 0.0f; cb = absolute == 1 ? s : 0.0f;
                cc = absolute == 2 ? s : 0.0f; cd = absolute == 3 ? s : 0.0f;
            } else {
                ca = (0.0f + (which == 0 ? a * s : 0.0f)) + (absolute == 0 ? aa * s : 0.0f);
                cb = (0.0f + (which == 1 ? b * s : 0.0f)) + (absolute == 1 ? ab * s : 0.0f);
                cc = (0.0f + (which == 2 ? c * s : 0.0f)) + (absolute == 2 ? ac * s : 0.0f);
                cd = (0.0f + (which == 3 ? d * s : 0.0f)) + (absolute == 3 ? ad * s : 0.0f);
            }
        }
        o0[2 * ox] = 0.0f + ca; o0[2 * ox + 1] = 0.0f + cb;
        o1[2 * ox] = 0.0f + cc; o1[2 * ox + 1] = 0.0f + cd;
    }
}

#if defined(__x86_64__)
/* Which lane masks hold the argmax (0..3) of 16 windows' a, b, c, d. */
__attribute__((target("avx512f"))) static inline void argmax4_16(__m512 a, __m512 b, __m512 c, __m512 d,
                                                                  __mmask16 is[4], __m512 *best) {
    __m512 m = a;
    __mmask16 t1 = TAKES16(b, m);
    m = _mm512_mask_mov_ps(m, t1, b);
    __mmask16 t2 = TAKES16(c, m);
    m = _mm512_mask_mov_ps(m, t2, c);
    __mmask16 t3 = TAKES16(d, m);
    *best = _mm512_mask_mov_ps(m, t3, d);
    is[3] = t3;
    is[2] = t2 & ~t3;
    is[1] = t1 & ~t2 & ~t3;
    is[0] = ~t1 & ~t2 & ~t3;
}

/* `pairs_row` on 16 windows per step (the last step masked): the same
   arithmetic lane by lane, so the same values bit for bit. */
__attribute__((target("avx512f"))) static void pairs_row_avx512(const float *r0, const float *r1, const float *vr,
                                                                 const float *yr, float *o0, float *o1, float *fr,
                                                                 long ow, int forward, cvm_maxpool_routing routing,
                                                                 int divides, float epsilon) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512i low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512 zero = _mm512_setzero_ps(), eps = _mm512_set1_ps(epsilon);
    for (long ox = 0; ox < ow; ox += 16) {
        long n = ow - ox < 16 ? ow - ox : 16;
        __mmask16 windows = (__mmask16)((1u << n) - 1);
        __mmask16 first = (__mmask16)(n >= 8 ? 0xffffu : (1u << (2 * n)) - 1);
        __mmask16 second = (__mmask16)(n <= 8 ? 0u : (1u << (2 * (n - 8))) - 1);
        __m512 p0 = _mm512_maskz_loadu_ps(first, r0 + 2 * ox), p1 = _mm512_maskz_loadu_ps(second, r0 + 2 * ox + 16);
        __m512 q0 = _mm512_maskz_loadu_ps(first, r1 + 2 * ox), q1 = _mm512_maskz_loadu_ps(second, r1 + 2 * ox + 16);
        __m512 a = _mm512_permutex2var_ps(p0, even, p1), b = _mm512_permutex2var_ps(p0, odd, p1);
        __m512 c = _mm512_permutex2var_ps(q0, even, q1), d = _mm512_permutex2var_ps(q0, odd, q1);
        __mmask16 is[4];
        __m512 best;
        argmax4_16(a, b, c, d, is, &best);
        if (forward) {
            _mm512_mask_storeu_ps(fr + ox, windows, best);
            continue;
        }
        __m512 s = _mm512_maskz_loadu_ps(windows, vr + ox);
        if (divides) s = _mm512_div_ps(s, _mm512_add_ps(_mm512_abs_ps(_mm512_maskz_loadu_ps(windows, yr + ox)), eps));
        __m512 ca, cb, cc, cd;
        if (routing == CVM_MAXPOOL_GRADIENT) {
            ca = _mm512_maskz_mov_ps(is[0], s); cb = _mm512_maskz_mov_ps(is[1], s);
            cc = _mm512_maskz_mov_ps(is[2], s); cd = _mm512_maskz_mov_ps(is[3], s);
        } else {
            __m512 aa = _mm512_abs_ps(a), ab = _mm512_abs_ps(b), ac = _mm512_abs_ps(c), ad = _mm512_abs_ps(d), unused;
            __mmask16 absolute[4];
            argmax4_16(aa, ab, ac, ad, absolute, &unused);
            if (routing == CVM_MAXPOOL_ABSOLUTE_GRADIENT) {
                ca = _mm512_maskz_mov_ps(absolute[0], s); cb = _mm512_maskz_mov_ps(absolute[1], s);
                cc = _mm512_maskz_mov_ps(absolute[2], s); cd = _mm512_maskz_mov_ps(absolute[3], s);
            } else {
#define CONTRIBUTION(k, x, ax) \
    _mm512_add_ps(_mm512_add_ps(zero, _mm512_maskz_mul_ps(is[k], x, s)), _mm512_maskz_mul_ps(absolute[k], ax, s))
                ca = CONTRIBUTION(0, a, aa); cb = CONTRIBUTION(1, b, ab);
                cc = CONTRIBUTION(2, c, ac); cd = CONTRIBUTION(3, d, ad);
#undef CONTRIBUTION
            }
        }
        ca = _mm512_add_ps(zero, ca); cb = _mm512_add_ps(zero, cb);
        cc = _mm512_add_ps(zero, cc); cd = _mm512_add_ps(zero, cd);
        _mm512_mask_storeu_ps(o0 + 2 * ox, first, _mm512_permutex2var_ps(ca, low, cb));
        _mm512_mask_storeu_ps(o0 + 2 * ox + 16, second, _mm512_permutex2var_ps(ca, high, cb));
        _mm512_mask_storeu_ps(o1 + 2 * ox, first, _mm512_permutex2var_ps(cc, low, cd));
        _mm512_mask_storeu_ps(o1 + 2 * ox + 16, second, _mm512_permutex2var_ps(cc, high, cd));
    }
}
#endif

/* 2x2 windows of stride 2, one plane (`wide`: on AVX-512); the rows and
   columns no window reaches (an odd extent) are zeroed. */
static inline __attribute__((always_inline)) void pairs_plane(const float *p, const float *v, const float *y,
                                                              float *out, long h, long w, long oh, long ow,
                                                              int forward, cvm_maxpool_routing routing,
                                                              int divides, float epsilon, float *forward_out,
                                                              int wide) {
    for (long oy = 0; oy < oh; oy++) {
        const float *r0 = p + 2 * oy * w, *r1 = r0 + w;
        const float *vr = forward ? 0 : v + oy * ow, *yr = divides ? y + oy * ow : 0;
        float *o0 = forward ? 0 : out + 2 * oy * w, *o1 = forward ? 0 : o0 + w;
        float *fr = forward ? forward_out + oy * ow : 0;
#if defined(__x86_64__)
        if (wide) {
            pairs_row_avx512(r0, r1, vr, yr, o0, o1, fr, ow, forward, routing, divides, epsilon);
        } else
#endif
            pairs_row(r0, r1, vr, yr, o0, o1, fr, 0, ow, forward, routing, divides, epsilon);
        if (!forward && w > 2 * ow) { o0[w - 1] = 0; o1[w - 1] = 0; }
    }
    if (!forward && h > 2 * oh) memset(out + 2 * oh * w, 0, (size_t)((h - 2 * oh) * w) * sizeof(float));
}

/* All planes; `pairs` selects the 2x2 path. */
static inline __attribute__((always_inline)) void pool_planes(const float *x, const float *v, const float *y,
                                                              float *out, float *forward_out, long planes, long h,
                                                              long w, long k, long stride, long padding, long oh,
                                                              long ow, int forward, cvm_maxpool_routing routing,
                                                              int divides, float epsilon, int pairs, int wide) {
    for (long plane = 0; plane < planes; plane++) {
        const float *p = x + plane * h * w;
        const float *vp = forward ? 0 : v + plane * oh * ow, *yp = divides ? y + plane * oh * ow : 0;
        float *op = forward ? 0 : out + plane * h * w, *fp = forward ? forward_out + plane * oh * ow : 0;
        if (pairs)
            pairs_plane(p, vp, yp, op, h, w, oh, ow, forward, routing, divides, epsilon, fp, wide);
        else
            general_plane(p, vp, yp, op, h, w, k, stride, padding, oh, ow, forward, routing, divides, epsilon, fp, wide);
    }
}

/* One copy of the 2x2 path per routing (and the forward), each compiled
   twice: for AVX-512 (16 windows per vector) and for the baseline. */
#define PAIRS_VARIANT(name, forward, routing, divides, wide)                                                         \
    static void name(const float *x, const float *v, const float *y, float *out, float *f, long planes, long h,     \
                     long w, long oh, long ow, float epsilon) {                                                      \
        pool_planes(x, v, y, out, f, planes, h, w, 2, 2, 0, oh, ow, forward, routing, divides, epsilon, 1, wide);    \
    }
#define PAIRS_VARIANTS(suffix, attribute, wide)                                                                     \
    attribute PAIRS_VARIANT(forward_##suffix, 1, CVM_MAXPOOL_GRADIENT, 0, wide)                                     \
    attribute PAIRS_VARIANT(gradient_##suffix, 0, CVM_MAXPOOL_GRADIENT, 0, wide)                                    \
    attribute PAIRS_VARIANT(absolute_##suffix, 0, CVM_MAXPOOL_ABSOLUTE_GRADIENT, 0, wide)                           \
    attribute PAIRS_VARIANT(contributions_##suffix, 0, CVM_MAXPOOL_CONTRIBUTIONS, 0, wide)                          \
    attribute PAIRS_VARIANT(ratio_contributions_##suffix, 0, CVM_MAXPOOL_CONTRIBUTIONS, 1, wide)

#if defined(__x86_64__)
PAIRS_VARIANTS(avx512, __attribute__((target("avx512f"))), 1)
#endif
PAIRS_VARIANTS(baseline, , 0)

typedef void (*pairs_function)(const float *, const float *, const float *, float *, float *, long, long, long, long,
                               long, float);

/* The 2x2 variant for this call, or NULL when the geometry is another. */
static pairs_function pairs_variant(long k, long stride, long padding, int forward, cvm_maxpool_routing routing,
                                    int divides) {
    if (k != 2 || stride != 2 || padding != 0 || (divides && routing != CVM_MAXPOOL_CONTRIBUTIONS)) return 0;
    int index = forward ? 0 : routing == CVM_MAXPOOL_GRADIENT ? 1 : routing == CVM_MAXPOOL_ABSOLUTE_GRADIENT ? 2
              : divides ? 4 : 3;
#if defined(__x86_64__)
    if (cvm_vector_width() == 16) {
        static const pairs_function wide[] = {forward_avx512, gradient_avx512, absolute_avx512, contributions_avx512,
                                              ratio_contributions_avx512};
        return wide[index];
    }
#endif
    static const pairs_function narrow[] = {forward_baseline, gradient_baseline, absolute_baseline,
                                            contributions_baseline, ratio_contributions_baseline};
    return narrow[index];
}

void cvm_maxpool_forward(const float *x, float *y, long planes, long h, long w, long k, long stride, long padding,
                         long oh, long ow) {
    pairs_function pairs = pairs_variant(k, stride, padding, 1, CVM_MAXPOOL_GRADIENT, 0);
    if (pairs)
        pairs(x, 0, 0, 0, y, planes, h, w, oh, ow, 0);
    else
        pool_planes(x, 0, 0, 0, y, planes, h, w, k, stride, padding, oh, ow, 1, CVM_MAXPOOL_GRADIENT, 0, 0, 0,
                    cvm_vector_width() == 16);
}

void cvm_maxpool_backward(const float *x, const float *v, const float *y, float *out, long planes, long h, long w,
                          long k, long stride, long padding, long oh, long ow, cvm_maxpool_routing routing,
                          int divides, float epsilon) {
    pairs_function pairs = pairs_variant(k, stride, padding, 0, routing, divides);
    if (pairs) {
        pairs(x, v, y, out, 0, planes, h, w, oh, ow, epsilon);
        return;
    }
    int wide = cvm_vector_width() == 16;
    switch (routing) {
    case CVM_MAXPOOL_GRADIENT:
        pool_planes(x, v, y, out, 0, planes, h, w, k, stride, padding, oh, ow, 0, CVM_MAXPOOL_GRADIENT, divides,
                    epsilon, 0, wide);
        break;
    case CVM_MAXPOOL_ABSOLUTE_GRADIENT:
        pool_planes(x, v, y, out, 0, planes, h, w, k, stride, padding, oh, ow, 0, CVM_MAXPOOL_ABSOLUTE_GRADIENT,
                    divides, epsilon, 0, wide);
        break;
    case CVM_MAXPOOL_CONTRIBUTIONS:
        if (divides)
            pool_planes(x, v, y, out, 0, planes, h, w, k, stride, padding, oh, ow, 0, CVM_MAXPOOL_CONTRIBUTIONS, 1,
                        epsilon, 0, wide);
        else
            pool_planes(x, v, y, out, 0, planes, h, w, k, stride, padding, oh, ow, 0, CVM_MAXPOOL_CONTRIBUTIONS, 0,
                        epsilon, 0, wide);
        break;
    }
}
