/**
 * Small dense linear algebra on row-major Float64Arrays, for the SVD baseline and for measuring
 * reconstruction errors. Hand-written because no maintained JS package offers a truncated SVD with
 * an operation count we can charge to the simulated clock; the methods are textbook:
 * one-sided Jacobi SVD (Hestenes 1958) and the randomized range finder with power iterations
 * (Halko, Martinsson & Tropp 2011).
 */
import type { Rng } from '../rng';

export interface Mat { rows: number; cols: number; data: Float64Array }

export const mat = (rows: number, cols: number, data = new Float64Array(rows * cols)): Mat => ({ rows, cols, data });

export function fromF32(rows: number, cols: number, d: Float32Array): Mat {
  return mat(rows, cols, Float64Array.from(d));
}

/** C = A B (optionally transposing A or B). */
export function matmul(A: Mat, B: Mat, tA = false, tB = false): Mat {
  const m = tA ? A.cols : A.rows, k = tA ? A.rows : A.cols;
  const k2 = tB ? B.cols : B.rows, n = tB ? B.rows : B.cols;
  if (k !== k2) throw new Error(`matmul: inner dims ${k} != ${k2}`);
  const C = mat(m, n);
  const a = A.data, b = B.data, c = C.data;
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = tA ? a[p * A.cols + i] : a[i * A.cols + p];
      if (av === 0) continue;
      const row = i * n;
      if (tB) for (let j = 0; j < n; j++) c[row + j] += av * b[j * B.cols + p];
      else { const off = p * B.cols; for (let j = 0; j < n; j++) c[row + j] += av * b[off + j]; }
    }
  }
  return C;
}

export function frobenius(A: Mat | Float64Array | Float32Array): number {
  const d = 'data' in A ? A.data : A;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i] * d[i];
  return Math.sqrt(s);
}

/**
 * Orthonormalise the columns of A in place (Gram-Schmidt with re-orthogonalisation); a column that
 * is numerically dependent on the earlier ones becomes zero. Returns A.
 */
export function orthonormalizeColumns(A: Mat): Mat {
  const { rows: m, cols: n, data: a } = A;
  for (let j = 0; j < n; j++) {
    let n0 = 0;
    for (let r = 0; r < m; r++) n0 += a[r * n + j] ** 2;
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < j; i++) {
        let dot = 0;
        for (let r = 0; r < m; r++) dot += a[r * n + i] * a[r * n + j];
        for (let r = 0; r < m; r++) a[r * n + j] -= dot * a[r * n + i];
      }
    }
    let nrm = 0;
    for (let r = 0; r < m; r++) nrm += a[r * n + j] ** 2;
    const keep = nrm > 1e-20 * n0 && nrm > 0;
    nrm = Math.sqrt(nrm);
    for (let r = 0; r < m; r++) a[r * n + j] = keep ? a[r * n + j] / nrm : 0;
  }
  return A;
}

export interface Svd { U: Mat; S: Float64Array; V: Mat }

/**
 * Thin SVD of A (m x n) by one-sided Jacobi on the columns: A V = U S. Singular values sorted
 * descending. Exact to round-off; O(sweeps * n^2 * m).
 */
export function svdJacobi(A: Mat, maxSweeps = 60): Svd {
  const { rows: m, cols: n } = A;
  const W = mat(m, n, Float64Array.from(A.data)), w = W.data;
  const V = mat(n, n), v = V.data;
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let rotated = false;
    for (let i = 0; i < n - 1; i++) {
      for (let j = i + 1; j < n; j++) {
        let alpha = 0, beta = 0, gamma = 0;
        for (let r = 0; r < m; r++) { const x = w[r * n + i], y = w[r * n + j]; alpha += x * x; beta += y * y; gamma += x * y; }
        if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta) || gamma === 0) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), s = c * t;
        for (let r = 0; r < m; r++) { const x = w[r * n + i], y = w[r * n + j]; w[r * n + i] = c * x - s * y; w[r * n + j] = s * x + c * y; }
        for (let r = 0; r < n; r++) { const x = v[r * n + i], y = v[r * n + j]; v[r * n + i] = c * x - s * y; v[r * n + j] = s * x + c * y; }
      }
    }
    if (!rotated) break;
  }
  const S = new Float64Array(n);
  for (let j = 0; j < n; j++) { let s = 0; for (let r = 0; r < m; r++) s += w[r * n + j] ** 2; S[j] = Math.sqrt(s); }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => S[b] - S[a]);
  const U = mat(m, n), Vs = mat(n, n), Ss = new Float64Array(n);
  order.forEach((j, k) => {
    Ss[k] = S[j];
    for (let r = 0; r < m; r++) U.data[r * n + k] = S[j] > 1e-300 ? w[r * n + j] / S[j] : 0;
    for (let r = 0; r < n; r++) Vs.data[r * n + k] = v[r * n + j];
  });
  return { U, S: Ss, V: Vs };
}

/**
 * Rank-k truncated SVD of X (m x n): randomized range finder with `oversample` extra columns and
 * `powerIters` power iterations, then an exact Jacobi SVD of the small projected matrix.
 * Exact (to round-off) when rank(X) <= k + oversample.
 */
export function truncatedSvd(X: Mat, k: number, rng: Rng, oversample = 8, powerIters = 2): Svd {
  const l = Math.min(k + oversample, X.rows, X.cols);
  const Omega = mat(X.cols, l);
  for (let i = 0; i < Omega.data.length; i++) Omega.data[i] = rng.normal();
  let Q = orthonormalizeColumns(matmul(X, Omega));
  for (let q = 0; q < powerIters; q++) {
    const Z = orthonormalizeColumns(matmul(X, Q, true, false)); // n x l
    Q = orthonormalizeColumns(matmul(X, Z)); // m x l
  }
  const Bt = matmul(X, Q, true, false); // (Q^T X)^T = X^T Q, n x l
  const { U: Ub, S, V: J } = svdJacobi(Bt); // Bt J = Ub S  =>  Q^T X = J S Ub^T
  const Ufull = matmul(Q, J); // m x l
  const kk = Math.min(k, l);
  const U = mat(X.rows, kk), V = mat(X.cols, kk);
  for (let r = 0; r < X.rows; r++) for (let c = 0; c < kk; c++) U.data[r * kk + c] = Ufull.data[r * l + c];
  for (let r = 0; r < X.cols; r++) for (let c = 0; c < kk; c++) V.data[r * kk + c] = Ub.data[r * l + c];
  return { U, S: S.slice(0, kk), V };
}

/** Floating-point operations of truncatedSvd (multiply-adds count 2), for the simulated clock. */
export function truncatedSvdFlops(m: number, n: number, k: number, oversample = 8, powerIters = 2, sweeps = 10): number {
  const l = Math.min(k + oversample, m, n);
  const products = (2 + 2 * powerIters) * 2 * m * n * l;
  const orth = (2 + 2 * powerIters) * 2 * Math.max(m, n) * l * l;
  return products + orth + sweeps * 3 * n * l * l + 2 * m * l * l;
}
