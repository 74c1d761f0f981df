/*
 * Fused transformer kernels for the tfjs wasm/cpu backends, compiled to WebAssembly with SIMD
 * (scripts/build-kernels.sh; the module is embedded in kernels-wasm.ts). Freestanding: no libc,
 * no static data, no stack, no allocation; every buffer is passed in by the caller (kernels.ts).
 * The module imports its memory: on the wasm backend that is tfjs's own heap, so the kernels work
 * on the tensors in place. The build refuses a module with a data segment or code that reads or
 * writes a global (the stack pointer): either would write into memory it does not own.
 *
 *   layer_norm_fwd / layer_norm_bwd   layer norm over rows of length D, with gain and bias
 *   gelu_fwd / gelu_bwd               exact GELU x * Phi(x)
 *   attn_fwd / attn_bwd               multi-head scaled dot-product attention on 2-D activations
 *                                     (blocked; attn_*_rowwise: the first version, same bits)
 *                                     [B*T, H*hd], optional additive key mask [B, T]
 *   lora_fwd / lora_bwd               a LoRA branch added to a linear layer: y0 + s (x A) B
 *   adam_step                         one Adam update of a tensor
 *   sgemm                             packed, register-blocked matrix product op(A) op(B) (+ bias)
 *
 * Arithmetic is float32. The vector loops run 4 lanes at a time with a scalar tail, so the
 * results depend only on the inputs and the sizes, never on the machine.
 */
#include <wasm_simd128.h>

typedef float f32;
typedef v128_t f4;

#define EXPORT(name) __attribute__((export_name(#name)))

static inline f4 splat(f32 x) { return wasm_f32x4_splat(x); }
static inline f4 ld(const f32 *p) { return wasm_v128_load(p); }
static inline void st(f32 *p, f4 v) { wasm_v128_store(p, v); }
static inline f32 hsum(f4 v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) + (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

/* exp(x) for 4 lanes: x = n ln2 + r, |r| <= ln2/2, Cephes' degree-6 polynomial for exp(r), 2^n
 * from the exponent bits. Inputs are clamped to [-87, 88] (normal float32 results); below -87
 * the result is 0 (so masked attention scores get exactly zero weight); NaN stays NaN. */
static inline f4 exp4(f4 x0) {
  /* pmin/pmax (one x64 instruction each; wasm min/max take several) keep a NaN in x0: the
   * comparison is false and x0 is returned */
  f4 x = wasm_f32x4_pmax(wasm_f32x4_pmin(x0, splat(88.0f)), splat(-87.0f));
  /* n = round-to-nearest-even(x log2 e), by adding 1.5 * 2^23 (|x log2 e| < 2^22, so the sum is
   * rounded to an integer: the same n as f32x4.nearest); the sum's low bits are n + 0x400000,
   * which gives 2^n below without a float-to-int conversion (several x64 instructions) */
  f4 t = wasm_f32x4_add(wasm_f32x4_mul(x, splat(1.44269504088896341f)), splat(12582912.0f));
  f4 n = wasm_f32x4_sub(t, splat(12582912.0f));
  f4 r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, splat(-2.12194440e-4f)));
  f4 p = splat(1.9875691500e-4f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), splat(1.3981999507e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), splat(8.3334519073e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), splat(4.1665795894e-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), splat(1.6666665459e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), splat(5.0000001201e-1f));
  f4 y = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, r), r), r), splat(1.0f));
  /* (bits(t) + 127) << 23 = (0x4B400000 + n + 127) << 23 = (n + 127) << 23 modulo 2^32 */
  v128_t e = wasm_i32x4_shl(wasm_i32x4_add(t, wasm_i32x4_splat(127)), 23);
  /* 0 below -87; a NaN input stays NaN (a diverging client must be seen, not masked) */
  return wasm_v128_andnot(wasm_f32x4_mul(y, e), wasm_f32x4_lt(x0, splat(-87.0f)));
}

static inline f32 exp1(f32 x) { return wasm_f32x4_extract_lane(exp4(splat(x)), 0); }

/* Phi(x) = erfc(-x / sqrt 2) / 2 for 4 lanes; erfc by the Chebyshev fit of Numerical Recipes
 * (2nd ed., 6.2), relative error < 1.2e-7, accurate in both tails. */
static inline f4 phi4(f4 x) {
  f4 z = wasm_f32x4_mul(x, splat(-0.70710678118654752f));
  f4 a = wasm_f32x4_abs(z);
  f4 t = wasm_f32x4_div(splat(1.0f), wasm_f32x4_add(splat(1.0f), wasm_f32x4_mul(splat(0.5f), a)));
  f4 p = splat(0.17087277f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), splat(-0.82215223f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), splat(1.48851587f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), splat(-1.13520398f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), splat(0.27886807f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), splat(-0.18628806f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), splat(0.09678418f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), splat(0.37409196f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), splat(1.00002368f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), splat(-1.26551223f));
  f4 r = wasm_f32x4_mul(t, exp4(wasm_f32x4_sub(p, wasm_f32x4_mul(a, a))));
  /* erfc(z) = r for z >= 0, 2 - r for z < 0 */
  v128_t neg = wasm_f32x4_lt(z, splat(0.0f));
  f4 erfc = wasm_v128_bitselect(wasm_f32x4_sub(splat(2.0f), r), r, neg);
  return wasm_f32x4_mul(erfc, splat(0.5f));
}

/* y = x Phi(x), and Phi(x) itself for the backward pass. Tail elements go through the same vector
 * code (one lane used) so that every element gets the same arithmetic wherever it sits. */
/* The GELU loops run 8 vectors per iteration: their long chains of dependent operations (~55 each)
 * are independent, and V8 interleaves them (one at a time: latency-bound; 4: 1.6x faster than one;
 * 8: a further 1.4x (gelu_fwd 3.4 -> 2.4 ms on [1600, 768]); 12: slower than 8). Written as 8 named
 * variables, not an array, so that clang keeps them out of linear memory (no stack). */
#define GELU_8(F) F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7)
#define GELU_LOAD(j) f4 v##j = ld(x + i + 4 * j);
#define GELU_PHI(j) f4 p##j = phi4(v##j);
#define GELU_STORE(j) st(phi + i + 4 * j, p##j); st(y + i + 4 * j, wasm_f32x4_mul(v##j, p##j));
EXPORT(gelu_fwd) void gelu_fwd(const f32 *x, f32 *y, f32 *phi, int n) {
  int i = 0;
  for (; i + 32 <= n; i += 32) { GELU_8(GELU_LOAD) GELU_8(GELU_PHI) GELU_8(GELU_STORE) }
  for (; i + 4 <= n; i += 4) { f4 v = ld(x + i), p = phi4(v); st(phi + i, p); st(y + i, wasm_f32x4_mul(v, p)); }
  for (; i < n; i++) { f4 v = splat(x[i]), p = phi4(v); phi[i] = wasm_f32x4_extract_lane(p, 0); y[i] = wasm_f32x4_extract_lane(wasm_f32x4_mul(v, p), 0); }
}

/* d/dx x Phi(x) = Phi(x) + x pdf(x) */
static inline f4 gelu_grad4(f4 v, f4 p) {
  f4 pdf = wasm_f32x4_mul(exp4(wasm_f32x4_mul(wasm_f32x4_mul(v, v), splat(-0.5f))), splat(0.39894228040143268f));
  return wasm_f32x4_add(p, wasm_f32x4_mul(v, pdf));
}

EXPORT(gelu_bwd) void gelu_bwd(const f32 *dy, const f32 *x, const f32 *phi, f32 *dx, int n) {
  int i = 0;
#define GELU_GRAD(j) f4 g##j = gelu_grad4(ld(x + i + 4 * j), ld(phi + i + 4 * j));
#define GELU_DX(j) st(dx + i + 4 * j, wasm_f32x4_mul(ld(dy + i + 4 * j), g##j));
  for (; i + 32 <= n; i += 32) { GELU_8(GELU_GRAD) GELU_8(GELU_DX) } /* 8 independent vectors, as gelu_fwd */
  for (; i + 4 <= n; i += 4) st(dx + i, wasm_f32x4_mul(ld(dy + i), gelu_grad4(ld(x + i), ld(phi + i))));
  for (; i < n; i++) dx[i] = wasm_f32x4_extract_lane(wasm_f32x4_mul(splat(dy[i]), gelu_grad4(splat(x[i]), splat(phi[i]))), 0);
}

/* ------------------------------------------------------------------------------------------- */
/* Layer norm over rows of length D. */

static inline f32 row_sum(const f32 *x, int D) {
  f4 acc = splat(0.0f);
  int j = 0;
  for (; j + 4 <= D; j += 4) acc = wasm_f32x4_add(acc, ld(x + j));
  f32 s = hsum(acc);
  for (; j < D; j++) s += x[j];
  return s;
}

EXPORT(layer_norm_fwd) void layer_norm_fwd(const f32 *x, const f32 *g, const f32 *b, f32 *y, f32 *mean, f32 *rstd, int N, int D, f32 eps) {
  for (int n = 0; n < N; n++) {
    const f32 *xr = x + n * D;
    f32 *yr = y + n * D;
    f32 m = row_sum(xr, D) / (f32)D;
    f4 vm = splat(m), acc = splat(0.0f);
    int j = 0;
    for (; j + 4 <= D; j += 4) { f4 c = wasm_f32x4_sub(ld(xr + j), vm); acc = wasm_f32x4_add(acc, wasm_f32x4_mul(c, c)); }
    f32 v = hsum(acc);
    for (; j < D; j++) { f32 c = xr[j] - m; v += c * c; }
    f32 r = 1.0f / __builtin_sqrtf(v / (f32)D + eps);
    /* A variance that overflows float32 leaves nothing of the row: make it NaN, not a silent
     * constant row (the bias), so that a diverging client is seen and dropped. */
    if (!(v < __builtin_inff())) r = __builtin_nanf("");
    mean[n] = m; rstd[n] = r;
    f4 vr = splat(r);
    j = 0;
    for (; j + 4 <= D; j += 4) st(yr + j, wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_sub(ld(xr + j), vm), vr), ld(g + j)), ld(b + j)));
    for (; j < D; j++) yr[j] = (xr[j] - m) * r * g[j] + b[j];
  }
}

/* dx, and dgain/dbias summed over the rows. */
EXPORT(layer_norm_bwd) void layer_norm_bwd(const f32 *dy, const f32 *x, const f32 *g, const f32 *mean, const f32 *rstd, f32 *dx, f32 *dg, f32 *db, int N, int D) {
  for (int j = 0; j < D; j++) { dg[j] = 0.0f; db[j] = 0.0f; }
  for (int n = 0; n < N; n++) {
    const f32 *xr = x + n * D, *dyr = dy + n * D;
    f32 *dxr = dx + n * D;
    f32 m = mean[n], r = rstd[n];
    f4 vm = splat(m), vr = splat(r), sd = splat(0.0f), sdx = splat(0.0f);
    int j = 0;
    for (; j + 4 <= D; j += 4) {
      f4 xh = wasm_f32x4_mul(wasm_f32x4_sub(ld(xr + j), vm), vr), dyv = ld(dyr + j), d = wasm_f32x4_mul(dyv, ld(g + j));
      sd = wasm_f32x4_add(sd, d); sdx = wasm_f32x4_add(sdx, wasm_f32x4_mul(d, xh));
      st(dg + j, wasm_f32x4_add(ld(dg + j), wasm_f32x4_mul(dyv, xh)));
      st(db + j, wasm_f32x4_add(ld(db + j), dyv));
    }
    f32 s1 = hsum(sd), s2 = hsum(sdx);
    for (; j < D; j++) {
      f32 xh = (xr[j] - m) * r, d = dyr[j] * g[j];
      s1 += d; s2 += d * xh; dg[j] += dyr[j] * xh; db[j] += dyr[j];
    }
    s1 /= (f32)D; s2 /= (f32)D;
    f4 v1 = splat(s1), v2 = splat(s2);
    j = 0;
    for (; j + 4 <= D; j += 4) {
      f4 xh = wasm_f32x4_mul(wasm_f32x4_sub(ld(xr + j), vm), vr);
      st(dxr + j, wasm_f32x4_mul(vr, wasm_f32x4_sub(wasm_f32x4_sub(wasm_f32x4_mul(ld(dyr + j), ld(g + j)), v1), wasm_f32x4_mul(xh, v2))));
    }
    for (; j < D; j++) { f32 xh = (xr[j] - m) * r; dxr[j] = r * (dyr[j] * g[j] - s1 - xh * s2); }
  }
}

/* ------------------------------------------------------------------------------------------- */
/* Attention. Row b*T + t of q/k/v/o holds token t of sample b; head h is columns h*hd .. h*hd+hd-1. */

static inline int gemm_min(int a, int b) { return a < b ? a : b; }

static inline f32 dot(const f32 *a, const f32 *b, int n) {
  f4 acc = splat(0.0f);
  int j = 0;
  for (; j + 4 <= n; j += 4) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(ld(a + j), ld(b + j)));
  f32 s = hsum(acc);
  for (; j < n; j++) s += a[j] * b[j];
  return s;
}

/* y += a * x over n values */
static inline void axpy(f32 *y, f32 a, const f32 *x, int n) {
  f4 va = splat(a);
  int j = 0;
  for (; j + 4 <= n; j += 4) st(y + j, wasm_f32x4_add(ld(y + j), wasm_f32x4_mul(va, ld(x + j))));
  for (; j < n; j++) y[j] += a * x[j];
}

/* A row of raw scores q.k to softmax probabilities in place: scale, add the mask row (or none),
 * subtract the max, exponentiate, normalise. */
static void softmax_row(f32 *pr, const f32 *mask, int T, f32 scale) {
  /* Scaling, masking, exponentiating and normalising are elementwise, so 4 lanes at a time give the
   * values of one at a time. The max is the same value in any order (a NaN score is skipped, as
   * `sc > max` skips it; where +0 and -0 tie, either gives the same exp(x - max)). The sum is the
   * 4-lane sum of the vectors, then the tail in order. */
  f4 vscale = splat(scale), vmx = splat(-3.4e38f);
  int s = 0;
  for (; s + 4 <= T; s += 4) {
    f4 sc = wasm_f32x4_mul(ld(pr + s), vscale);
    if (mask) sc = wasm_f32x4_add(sc, ld(mask + s));
    st(pr + s, sc);
    vmx = wasm_f32x4_pmax(vmx, sc); /* vmx < sc ? sc : vmx */
  }
  f32 max = -3.4e38f;
  for (int l = 0; l < 4; l++) { f32 x = wasm_f32x4_extract_lane(vmx, 0); if (x > max) max = x; vmx = wasm_i32x4_shuffle(vmx, vmx, 1, 2, 3, 0); }
  for (int t = s; t < T; t++) {
    f32 sc = pr[t] * scale;
    if (mask) sc += mask[t];
    pr[t] = sc;
    if (sc > max) max = sc;
  }
  f4 vmax = splat(max), vsum = splat(0.0f);
  for (s = 0; s + 4 <= T; s += 4) { f4 e = exp4(wasm_f32x4_sub(ld(pr + s), vmax)); st(pr + s, e); vsum = wasm_f32x4_add(vsum, e); }
  f32 sum = hsum(vsum);
  if (s < T) { /* the tail (1-3 values) in the lanes of one vector */
    f4 x = splat(pr[s]);
    if (s + 1 < T) x = wasm_f32x4_replace_lane(x, 1, pr[s + 1]);
    if (s + 2 < T) x = wasm_f32x4_replace_lane(x, 2, pr[s + 2]);
    f4 e = exp4(wasm_f32x4_sub(x, vmax));
    pr[s] = wasm_f32x4_extract_lane(e, 0); sum += pr[s];
    if (s + 1 < T) { pr[s + 1] = wasm_f32x4_extract_lane(e, 1); sum += pr[s + 1]; }
    if (s + 2 < T) { pr[s + 2] = wasm_f32x4_extract_lane(e, 2); sum += pr[s + 2]; }
  }
  f32 inv = 1.0f / sum;
  f4 vinv = splat(inv);
  for (s = 0; s + 4 <= T; s += 4) st(pr + s, wasm_f32x4_mul(ld(pr + s), vinv));
  for (; s < T; s++) pr[s] *= inv;
}

/* Row at a time (the first version, kept as it was for comparisons and as the tests' bit-exact
 * reference: FEDLORA_ATTENTION=rowwise; attn_fwd and attn_bwd below give the same bits faster).
 * Queries: Tq rows per sample (Tq = T, or 1 when only the first token's output is needed); keys
 * and values: T rows per sample. o [B*Tq, H*hd]; p [B, H, Tq, T] softmax probabilities; mask
 * [B, T] or null. */
EXPORT(attn_fwd_rowwise) void attn_fwd_rowwise(const f32 *q, const f32 *k, const f32 *v, const f32 *mask, f32 *o, f32 *p, int B, int Tq, int T, int H, int hd, f32 scale) {
  int d = H * hd;
  for (int b = 0; b < B; b++) {
    for (int h = 0; h < H; h++) {
      f32 *pb = p + (b * H + h) * Tq * T;
      for (int t = 0; t < Tq; t++) {
        const f32 *qr = q + (b * Tq + t) * d + h * hd;
        f32 *pr = pb + t * T, *orow = o + (b * Tq + t) * d + h * hd;
        f32 max = -3.4e38f;
        for (int s = 0; s < T; s++) {
          f32 sc = dot(qr, k + (b * T + s) * d + h * hd, hd) * scale;
          if (mask) sc += mask[b * T + s];
          pr[s] = sc;
          if (sc > max) max = sc;
        }
        f4 vmax = splat(max), vsum = splat(0.0f);
        int s = 0;
        for (; s + 4 <= T; s += 4) { f4 e = exp4(wasm_f32x4_sub(ld(pr + s), vmax)); st(pr + s, e); vsum = wasm_f32x4_add(vsum, e); }
        f32 sum = hsum(vsum);
        for (; s < T; s++) { f32 e = exp1(pr[s] - max); pr[s] = e; sum += e; }
        f32 inv = 1.0f / sum;
        for (int j = 0; j < hd; j++) orow[j] = 0.0f;
        for (s = 0; s < T; s++) {
          pr[s] *= inv;
          axpy(orow, pr[s], v + (b * T + s) * d + h * hd, hd);
        }
      }
    }
  }
}

/* dq [B*Tq, H*hd], dk, dv [B*T, H*hd]; dps: scratch of T floats. */
EXPORT(attn_bwd_rowwise) void attn_bwd_rowwise(const f32 *dO, const f32 *q, const f32 *k, const f32 *v, const f32 *p, f32 *dq, f32 *dk, f32 *dv, f32 *dps, int B, int Tq, int T, int H, int hd, f32 scale) {
  int d = H * hd;
  for (int i = 0; i < B * T * d; i++) { dk[i] = 0.0f; dv[i] = 0.0f; }
  for (int b = 0; b < B; b++) {
    for (int h = 0; h < H; h++) {
      const f32 *pb = p + (b * H + h) * Tq * T;
      for (int t = 0; t < Tq; t++) {
        int to = (b * Tq + t) * d + h * hd;
        const f32 *pr = pb + t * T, *dor = dO + to, *qr = q + to;
        f32 *dqr = dq + to;
        /* dP[t, s] = dO[t] . v[s]; the softmax backward needs sum_s dP[t, s] P[t, s] */
        f32 sdot = 0.0f;
        for (int s = 0; s < T; s++) { f32 x = dot(dor, v + (b * T + s) * d + h * hd, hd); dps[s] = x; sdot += x * pr[s]; }
        for (int j = 0; j < hd; j++) dqr[j] = 0.0f;
        for (int s = 0; s < T; s++) {
          int so = (b * T + s) * d + h * hd;
          f32 ds = pr[s] * (dps[s] - sdot) * scale;
          axpy(dqr, ds, k + so, hd);
          axpy(dk + so, ds, qr, hd);
          axpy(dv + so, pr[s], dor, hd);
        }
      }
    }
  }
}

/* Blocked attention, the default. Per sample and head, the score products q k^T and dO v^T run 2
 * query rows x 4 key rows at a time with SIMD over the head dimension (8 independent accumulator
 * chains where dot() has one), and the products P v, dS k, dS^T q and P^T dO as register tiles of
 * 4 rows x 8 head columns (SIMD over the head dimension, as the GEMM's tiles). Every element gets
 * the arithmetic of the rowwise kernels above in the same order (a score is dot()'s 4-lane sum;
 * an output is a sequential sum from 0 over the keys, or over the queries), so the results are
 * bit-identical to them (kernels.test.ts). */

/* S[i * ldS + j] = dot(A + i * lda, Bm + j * ldb, n) for i < rows, j < cols */
#define DOT_ACC(r, c) a##r##c = wasm_f32x4_add(a##r##c, wasm_f32x4_mul(x##r, y##c));
#define DOT_TAIL(r, c) s##r##c += A##r[l] * B##c[l];
static void dots(f32 *S, int ldS, const f32 *A, int lda, const f32 *Bm, int ldb, int rows, int cols, int n) {
  int n4 = n & ~3, i = 0;
  for (; i + 2 <= rows; i += 2) {
    const f32 *A0 = A + i * lda, *A1 = A0 + lda;
    f32 *S0 = S + i * ldS, *S1 = S0 + ldS;
    int j = 0;
    for (; j + 4 <= cols; j += 4) {
      const f32 *B0 = Bm + j * ldb, *B1 = B0 + ldb, *B2 = B1 + ldb, *B3 = B2 + ldb;
      f4 a00 = splat(0.0f), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
      for (int l = 0; l < n4; l += 4) {
        f4 x0 = ld(A0 + l), x1 = ld(A1 + l), y0 = ld(B0 + l), y1 = ld(B1 + l), y2 = ld(B2 + l), y3 = ld(B3 + l);
        DOT_ACC(0, 0) DOT_ACC(0, 1) DOT_ACC(0, 2) DOT_ACC(0, 3) DOT_ACC(1, 0) DOT_ACC(1, 1) DOT_ACC(1, 2) DOT_ACC(1, 3)
      }
      f32 s00 = hsum(a00), s01 = hsum(a01), s02 = hsum(a02), s03 = hsum(a03), s10 = hsum(a10), s11 = hsum(a11), s12 = hsum(a12), s13 = hsum(a13);
      for (int l = n4; l < n; l++) { DOT_TAIL(0, 0) DOT_TAIL(0, 1) DOT_TAIL(0, 2) DOT_TAIL(0, 3) DOT_TAIL(1, 0) DOT_TAIL(1, 1) DOT_TAIL(1, 2) DOT_TAIL(1, 3) }
      S0[j] = s00; S0[j + 1] = s01; S0[j + 2] = s02; S0[j + 3] = s03;
      S1[j] = s10; S1[j + 1] = s11; S1[j + 2] = s12; S1[j + 3] = s13;
    }
    for (; j < cols; j++) { S0[j] = dot(A0, Bm + j * ldb, n); S1[j] = dot(A1, Bm + j * ldb, n); }
  }
  for (; i < rows; i++) for (int j = 0; j < cols; j++) S[i * ldS + j] = dot(A + i * lda, Bm + j * ldb, n);
}

/* One tile of products(): R rows (1..4) x 4W columns (W = 1 or 2 vectors). Inlined with constant R
 * and W, the accumulators stay in registers. */
static inline __attribute__((always_inline)) void prod_tile(f32 *C, int ldc, const f32 *P, int pi, int ps, const f32 *V, int ldv, int kn, int R, int W) {
  f4 acc[4][2];
  for (int r = 0; r < R; r++) for (int w = 0; w < W; w++) acc[r][w] = splat(0.0f);
  for (int s = 0; s < kn; s++) {
    f4 b[2];
    for (int w = 0; w < W; w++) b[w] = ld(V + s * ldv + 4 * w);
    for (int r = 0; r < R; r++) {
      f4 a = wasm_v128_load32_splat(P + r * pi + s * ps);
      for (int w = 0; w < W; w++) acc[r][w] = wasm_f32x4_add(acc[r][w], wasm_f32x4_mul(a, b[w]));
    }
  }
  for (int r = 0; r < R; r++) for (int w = 0; w < W; w++) st(C + r * ldc + 4 * w, acc[r][w]);
}

/* C[i * ldc + j] = sum over s < kn, in order from 0, of P(i, s) V[s * ldv + j], for i < rows and
 * j < cols, where P(i, s) = P[i * pi + s * ps] (ps = 1: P row-major; pi = 1: P transposed). */
static void products(f32 *C, int ldc, const f32 *P, int pi, int ps, const f32 *V, int ldv, int rows, int cols, int kn) {
  int c8 = cols & ~7, c4 = cols & ~3;
  for (int i = 0; i < rows; i += 4) {
    int R = gemm_min(4, rows - i);
    f32 *Ci = C + i * ldc;
    const f32 *Pi = P + i * pi;
    for (int j = 0; j < c8; j += 8) {
      if (R == 4) prod_tile(Ci + j, ldc, Pi, pi, ps, V + j, ldv, kn, 4, 2);
      else for (int r = 0; r < R; r++) prod_tile(Ci + r * ldc + j, ldc, Pi + r * pi, pi, ps, V + j, ldv, kn, 1, 2);
    }
    if (c4 > c8) {
      if (R == 4) prod_tile(Ci + c8, ldc, Pi, pi, ps, V + c8, ldv, kn, 4, 1);
      else for (int r = 0; r < R; r++) prod_tile(Ci + r * ldc + c8, ldc, Pi + r * pi, pi, ps, V + c8, ldv, kn, 1, 1);
    }
    for (int r = 0; r < R; r++) for (int j = c4; j < cols; j++) {
      f32 acc = 0.0f;
      for (int s = 0; s < kn; s++) acc += Pi[r * pi + s * ps] * V[s * ldv + j];
      Ci[r * ldc + j] = acc;
    }
  }
}

/* As attn_fwd_rowwise (same arguments, same bits). */
EXPORT(attn_fwd) void attn_fwd(const f32 *q, const f32 *k, const f32 *v, const f32 *mask, f32 *o, f32 *p, int B, int Tq, int T, int H, int hd, f32 scale) {
  int d = H * hd;
  for (int b = 0; b < B; b++) {
    for (int h = 0; h < H; h++) {
      f32 *pb = p + (b * H + h) * Tq * T;
      const f32 *qh = q + b * Tq * d + h * hd, *kh = k + b * T * d + h * hd, *vh = v + b * T * d + h * hd;
      dots(pb, T, qh, d, kh, d, Tq, T, hd);                    /* q k^T */
      for (int t = 0; t < Tq; t++) softmax_row(pb + t * T, mask ? mask + b * T : 0, T, scale);
      products(o + b * Tq * d + h * hd, d, pb, T, 1, vh, d, Tq, hd, T); /* P v */
    }
  }
}

/* As attn_bwd_rowwise (same bits), but ds is scratch of Tq*T floats (dS of one sample and head). */
EXPORT(attn_bwd) void attn_bwd(const f32 *dO, const f32 *q, const f32 *k, const f32 *v, const f32 *p, f32 *dq, f32 *dk, f32 *dv, f32 *ds, int B, int Tq, int T, int H, int hd, f32 scale) {
  int d = H * hd;
  for (int b = 0; b < B; b++) {
    for (int h = 0; h < H; h++) {
      const f32 *pb = p + (b * H + h) * Tq * T;
      int qo = b * Tq * d + h * hd, ko = b * T * d + h * hd;
      dots(ds, T, dO + qo, d, v + ko, d, Tq, T, hd);           /* dP = dO v^T */
      for (int t = 0; t < Tq; t++) {                           /* dS = P (dP - sum_s dP P) scale */
        f32 *r = ds + t * T;
        const f32 *pr = pb + t * T;
        f32 sdot = 0.0f;
        for (int s = 0; s < T; s++) sdot += r[s] * pr[s];
        for (int s = 0; s < T; s++) r[s] = pr[s] * (r[s] - sdot) * scale;
      }
      products(dq + qo, d, ds, T, 1, k + ko, d, Tq, hd, T);    /* dq = dS k */
      products(dk + ko, d, ds, 1, T, q + qo, d, T, hd, Tq);    /* dk = dS^T q */
      products(dv + ko, d, pb, 1, T, dO + qo, d, T, hd, Tq);   /* dv = P^T dO */
    }
  }
}

/* ------------------------------------------------------------------------------------------- */
/* LoRA branch added to a linear layer's output: out = y0 + s (x A) B, with x [N, din], A [din, r],
 * B [r, dout]; u = x A [N, r] is kept for the backward pass. */

/* out[n, :] = y0[n, :] + sum_j c[j] M[j, :] over `cols` columns, with the sum for each group of 4
 * columns held in a register (M is [rows, cols], row-major). */
static inline void combine_rows(f32 *out, const f32 *y0, const f32 *c, const f32 *M, int rows, int cols) {
  int i = 0;
  for (; i + 4 <= cols; i += 4) {
    f4 acc = y0 ? ld(y0 + i) : splat(0.0f);
    for (int j = 0; j < rows; j++) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(splat(c[j]), ld(M + j * cols + i)));
    st(out + i, acc);
  }
  for (; i < cols; i++) {
    f32 acc = y0 ? y0[i] : 0.0f;
    for (int j = 0; j < rows; j++) acc += c[j] * M[j * cols + i];
    out[i] = acc;
  }
}

/* AT [r, din] = A^T for A [din, r] */
static void transpose(f32 *AT, const f32 *A, int din, int r) {
  for (int k = 0; k < din; k++) for (int j = 0; j < r; j++) AT[j * din + k] = A[k * r + j];
}

/* scratch: r*din + r floats (A transposed, and s u[n, :]). */
EXPORT(lora_fwd) void lora_fwd(const f32 *y0, const f32 *x, const f32 *A, const f32 *Bm, f32 *out, f32 *u, f32 *scratch, int N, int din, int r, int dout, f32 s) {
  f32 *AT = scratch, *su = scratch + r * din;
  transpose(AT, A, din, r);
  dots(u, r, x, din, AT, din, N, r, din); /* u[n, j] = dot(x[n, :], A[:, j]), 8 at a time */
  for (int n = 0; n < N; n++) {
    const f32 *ur = u + n * r;
    for (int j = 0; j < r; j++) su[j] = s * ur[j];
    combine_rows(out + n * dout, y0 + n * dout, su, Bm, r, dout);
  }
}

/* M[k, :] += a[k] v for k < rows, M [rows, cols]: with cols = 4, 8, 12 or 16 (a LoRA rank) v stays
 * in registers. */
static inline void add_outer_fixed(f32 *M, const f32 *a, const f32 *v, int rows, int c4) {
  f4 v0 = ld(v), v1 = c4 > 1 ? ld(v + 4) : v0, v2 = c4 > 2 ? ld(v + 8) : v0, v3 = c4 > 3 ? ld(v + 12) : v0;
  int cols = 4 * c4;
  for (int k = 0; k < rows; k++) {
    f32 *m = M + k * cols;
    f4 ak = splat(a[k]);
    st(m, wasm_f32x4_add(ld(m), wasm_f32x4_mul(ak, v0)));
    if (c4 > 1) st(m + 4, wasm_f32x4_add(ld(m + 4), wasm_f32x4_mul(ak, v1)));
    if (c4 > 2) st(m + 8, wasm_f32x4_add(ld(m + 8), wasm_f32x4_mul(ak, v2)));
    if (c4 > 3) st(m + 12, wasm_f32x4_add(ld(m + 12), wasm_f32x4_mul(ak, v3)));
  }
}

static inline void add_outer(f32 *M, const f32 *a, const f32 *v, int rows, int cols) {
  switch (cols) {
    case 4: add_outer_fixed(M, a, v, rows, 1); return;
    case 8: add_outer_fixed(M, a, v, rows, 2); return;
    case 12: add_outer_fixed(M, a, v, rows, 3); return;
    case 16: add_outer_fixed(M, a, v, rows, 4); return;
    default: for (int k = 0; k < rows; k++) axpy(M + k * cols, a[k], v, cols);
  }
}

/* dx [N, din] (the branch's part of the input gradient), dA [din, r], dB [r, dout]; scratch:
 * r*din + r*dout + 2*N*r floats (A transposed, s B transposed, du = s dy B^T and s u, each [N, r]).
 * Each output is a products() call: every element is a sequential sum from 0 (over the columns of
 * dy for du, over the rows n for dB and dA, over the rank for dx), so register tiles of 4 rows run
 * 8 independent sums where a row at a time ran 2. */
EXPORT(lora_bwd) void lora_bwd(const f32 *dy, const f32 *x, const f32 *A, const f32 *Bm, const f32 *u, f32 *dx, f32 *dA, f32 *dB, f32 *scratch, int N, int din, int r, int dout, f32 s) {
  f32 *AT = scratch, *sBT = scratch + r * din, *du = sBT + r * dout, *su = du + N * r;
  transpose(AT, A, din, r);
  transpose(sBT, Bm, r, dout);
  for (int i = 0; i < r * dout; i++) sBT[i] *= s;
  for (int i = 0; i < N * r; i++) su[i] = s * u[i];
  products(du, r, dy, dout, 1, sBT, r, N, r, dout);   /* du = s dy B^T  [N, r] */
  products(dB, dout, su, 1, r, dy, dout, r, dout, N); /* dB = (s u)^T dy [r, dout] */
  products(dA, r, x, 1, din, du, r, din, r, N);       /* dA = x^T du    [din, r] */
  products(dx, din, du, r, 1, AT, din, N, din, r);    /* dx = du A^T    [N, din] */
}

/* ------------------------------------------------------------------------------------------- */
/* Adam (Kingma & Ba, 2015): (w, m, v) -> (w1, m1, v1), the same float32 operations in the same
 * order as the tfjs-op version in fl/optimizer.ts (c1 = 1 - b1, c2 = 1 - b2). */
EXPORT(adam_step) void adam_step(const f32 *w, const f32 *g, const f32 *m, const f32 *v, f32 *w1o, f32 *m1o, f32 *v1o, int n, f32 b1, f32 c1, f32 b2, f32 c2, f32 eps, f32 step) {
  f4 vb1 = splat(b1), vc1 = splat(c1), vb2 = splat(b2), vc2 = splat(c2), veps = splat(eps), vstep = splat(step);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    f4 gi = ld(g + i);
    f4 m1 = wasm_f32x4_add(wasm_f32x4_mul(ld(m + i), vb1), wasm_f32x4_mul(gi, vc1));
    f4 v1 = wasm_f32x4_add(wasm_f32x4_mul(ld(v + i), vb2), wasm_f32x4_mul(wasm_f32x4_mul(gi, gi), vc2));
    st(m1o + i, m1); st(v1o + i, v1);
    st(w1o + i, wasm_f32x4_sub(ld(w + i), wasm_f32x4_mul(wasm_f32x4_div(m1, wasm_f32x4_add(wasm_f32x4_sqrt(v1), veps)), vstep)));
  }
  for (; i < n; i++) {
    f32 m1 = m[i] * b1 + g[i] * c1, v1 = v[i] * b2 + (g[i] * g[i]) * c2;
    m1o[i] = m1; v1o[i] = v1;
    w1o[i] = w[i] - (m1 / (__builtin_sqrtf(v1) + eps)) * step;
  }
}

/* ------------------------------------------------------------------------------------------- */
/* SGEMM: C [M, N] = op(A) op(B) (+ bias [N]), op(A) [M, K] (A stored [M, K], or [K, M] with
 * transA), op(B) [K, N] (B stored [K, N], or [N, K] with transB). Register-blocked and packed:
 * B is packed per block of GEMM_KC rows of op(B) into panels of 8 columns (k-major), A per GEMM_MR
 * rows into panels (k-major), and a GEMM_MR x 8 tile of C is held in GEMM_MR * 2 vector
 * registers while k runs over the block. Edge tiles are zero-padded in the packs and go through a
 * scratch tile, so every element gets the same arithmetic wherever it sits.
 *
 * Summation order: every C[i, j] is ((bias[j] + a_i0 b_0j) + a_i1 b_1j) + ... in k order (0 for
 * no bias; the tile is stored after one k block and reloaded for the next): a plain sequential
 * float32 dot product (separate multiply and add, no fused multiply-add), the same on every machine
 * and for every blocking. It is also the order of XNNPACK's wasm SIMD GEMM that tfjs's matMul
 * runs, so both give the same bits (kernels.test.ts). scratch: gemm_scratch_floats(M, N, K) floats. */

#define GEMM_MR 4   /* rows of a C tile (4 x 2 accumulators: more spill on x64's 16 vector registers) */
#define GEMM_NR 8   /* columns of a C tile: two 4-lane vectors */
#define GEMM_KC 768 /* k per block: a packed A panel (12 KB) and B panel (24 KB) stay in a 48 KB L1; a
                     * K of 768 (ViT-Tiny's MLP) in one block, its C tiles stored once (256: 4-11%
                     * slower on those products, same bits) */


/* Bp [kc, roundup(N, 8)] as panels: panel p holds columns 8p .. 8p+7, row k at Bp + p*kc*8 + k*8 */
static void pack_b(f32 *Bp, const f32 *B, int k0, int kc, int N, int K, int transB) {
  int panels = (N + GEMM_NR - 1) / GEMM_NR;
  for (int p = 0; p < panels; p++) {
    f32 *dst = Bp + p * kc * GEMM_NR;
    int j0 = p * GEMM_NR, nj = gemm_min(GEMM_NR, N - j0);
    if (!transB && nj == GEMM_NR) {
      for (int k = 0; k < kc; k++) {
        const f32 *src = B + (k0 + k) * N + j0;
        st(dst + k * GEMM_NR, ld(src)); st(dst + k * GEMM_NR + 4, ld(src + 4));
      }
    } else {
      for (int k = 0; k < kc; k++) {
        f32 *d = dst + k * GEMM_NR;
        for (int j = 0; j < GEMM_NR; j++)
          d[j] = j < nj ? (transB ? B[(j0 + j) * K + k0 + k] : B[(k0 + k) * N + j0 + j]) : 0.0f;
      }
    }
  }
}

/* Ap [kc, GEMM_MR]: rows i0 .. i0+MR-1 of op(A), row k of the panel at Ap + k*MR */
static void pack_a(f32 *Ap, const f32 *A, int i0, int k0, int kc, int M, int K, int transA) {
  int ni = gemm_min(GEMM_MR, M - i0);
  if (transA && ni == GEMM_MR) {
    for (int k = 0; k < kc; k++) st(Ap + k * GEMM_MR, ld(A + (k0 + k) * M + i0));
    return;
  }
  for (int i = 0; i < GEMM_MR; i++) {
    if (i >= ni) { for (int k = 0; k < kc; k++) Ap[k * GEMM_MR + i] = 0.0f; continue; }
    if (transA) for (int k = 0; k < kc; k++) Ap[k * GEMM_MR + i] = A[(k0 + k) * M + i0 + i];
    else { const f32 *src = A + (i0 + i) * K + k0; for (int k = 0; k < kc; k++) Ap[k * GEMM_MR + i] = src[k]; }
  }
}

/* C tile [MR, 8] (row stride ldc) = (bp ? bp broadcast over the rows : C tile) + Ap Bp over kc;
 * bp: the 8 bias values of the tile's columns, for the first k block */
#define ROW_LOAD(i) c##i##0 = bp ? ld(bp) : ld(C + i * ldc); c##i##1 = bp ? ld(bp + 4) : ld(C + i * ldc + 4);
#define ROW_STEP(i) a = wasm_v128_load32_splat(Ap + i); c##i##0 = wasm_f32x4_add(c##i##0, wasm_f32x4_mul(a, b0)); c##i##1 = wasm_f32x4_add(c##i##1, wasm_f32x4_mul(a, b1));
#define ROW_STORE(i) st(C + i * ldc, c##i##0); st(C + i * ldc + 4, c##i##1);
static inline void gemm_tile(const f32 *Ap, const f32 *Bp, int kc, f32 *C, int ldc, const f32 *bp) {
  f4 c00, c01, c10, c11, c20, c21, c30, c31;
  ROW_LOAD(0) ROW_LOAD(1) ROW_LOAD(2) ROW_LOAD(3)
  for (int k = 0; k < kc; k++) {
    f4 b0 = ld(Bp), b1 = ld(Bp + 4), a;
    ROW_STEP(0) ROW_STEP(1) ROW_STEP(2) ROW_STEP(3)
    Ap += GEMM_MR; Bp += GEMM_NR;
  }
  ROW_STORE(0) ROW_STORE(1) ROW_STORE(2) ROW_STORE(3)
}

/* As gemm_tile, with the tile's four rows of a plain (untransposed) A read in place at A0 + i * lda,
 * one k index for all four: no packed copy of A. At ViT-Tiny's shapes this runs the step's products at
 * 50-53 GFLOP/s against 45-47 with the packed panel (`npm run bench -- gemm`, docs/performance.md);
 * the edge rows and a transposed A still go through pack_a and gemm_tile. The same sums in the same
 * order: the same bits. (How V8 allocates registers in sgemm decides most of the gain: folding both
 * tiles into one function, or either out of line, measured 41-44 GFLOP/s.) */
#define ROW_STEP_IN_PLACE(i) a = wasm_v128_load32_splat(A##i + k); c##i##0 = wasm_f32x4_add(c##i##0, wasm_f32x4_mul(a, b0)); c##i##1 = wasm_f32x4_add(c##i##1, wasm_f32x4_mul(a, b1));
static inline void gemm_tile_rows(const f32 *A0, int lda, const f32 *Bp, int kc, f32 *C, int ldc, const f32 *bp) {
  f4 c00, c01, c10, c11, c20, c21, c30, c31;
  const f32 *A1 = A0 + lda, *A2 = A1 + lda, *A3 = A2 + lda;
  ROW_LOAD(0) ROW_LOAD(1) ROW_LOAD(2) ROW_LOAD(3)
  for (int k = 0; k < kc; k++) {
    f4 b0 = ld(Bp), b1 = ld(Bp + 4), a;
    ROW_STEP_IN_PLACE(0) ROW_STEP_IN_PLACE(1) ROW_STEP_IN_PLACE(2) ROW_STEP_IN_PLACE(3)
    Bp += GEMM_NR;
  }
  ROW_STORE(0) ROW_STORE(1) ROW_STORE(2) ROW_STORE(3)
}

EXPORT(gemm_scratch_floats) int gemm_scratch_floats(int M, int N, int K) {
  int kc = gemm_min(K, GEMM_KC), n8 = (N + GEMM_NR - 1) / GEMM_NR * GEMM_NR;
  (void)M;
  return kc * n8 + kc * GEMM_MR + GEMM_MR * GEMM_NR + n8;
}

EXPORT(sgemm) void sgemm(const f32 *A, const f32 *B, const f32 *bias, f32 *C, f32 *scratch, int M, int N, int K, int transA, int transB) {
  int kcMax = gemm_min(K, GEMM_KC), panels = (N + GEMM_NR - 1) / GEMM_NR;
  f32 *Bp = scratch, *Ap = Bp + kcMax * panels * GEMM_NR, *tile = Ap + kcMax * GEMM_MR, *biasP = tile + GEMM_MR * GEMM_NR;
  for (int j = 0; j < panels * GEMM_NR; j++) biasP[j] = bias && j < N ? bias[j] : 0.0f;
  if (K == 0) {
    for (int i = 0; i < M; i++) for (int j = 0; j < N; j++) C[i * N + j] = biasP[j];
    return;
  }
  for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
    int kc = gemm_min(GEMM_KC, K - k0), first = k0 == 0;
    pack_b(Bp, B, k0, kc, N, K, transB);
    for (int i0 = 0; i0 < M; i0 += GEMM_MR) {
      int ni = gemm_min(GEMM_MR, M - i0);
      int inPlace = !transA && ni == GEMM_MR; /* a packed panel only when a tile needs it */
      if (!inPlace) pack_a(Ap, A, i0, k0, kc, M, K, transA);
      for (int p = 0; p < panels; p++) {
        int j0 = p * GEMM_NR, nj = gemm_min(GEMM_NR, N - j0);
        f32 *c = C + i0 * N + j0;
        const f32 *bp = first ? biasP + j0 : 0;
        if (inPlace && nj == GEMM_NR) { gemm_tile_rows(A + i0 * K + k0, K, Bp + p * kc * GEMM_NR, kc, c, N, bp); continue; }
        if (inPlace) { pack_a(Ap, A, i0, k0, kc, M, K, transA); inPlace = 0; } /* the last columns' edge tile */
        if (ni == GEMM_MR && nj == GEMM_NR) { gemm_tile(Ap, Bp + p * kc * GEMM_NR, kc, c, N, bp); continue; }
        if (!first) for (int i = 0; i < ni; i++) for (int j = 0; j < nj; j++) tile[i * GEMM_NR + j] = c[i * N + j];
        gemm_tile(Ap, Bp + p * kc * GEMM_NR, kc, tile, GEMM_NR, bp);
        for (int i = 0; i < ni; i++) for (int j = 0; j < nj; j++) c[i * N + j] = tile[i * GEMM_NR + j];
      }
    }
  }
}
