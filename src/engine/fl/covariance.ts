/**
 * The covariance effect of separate averaging (docs/method.md section 1): with client factors (A_k, B_k)
 * and weights n_k, mean_k(A_k B_k) = Abar Bbar + C with
 *   C = (1 / sum n_k) sum_k n_k (A_k - Abar)(B_k - Bbar)        (x W convention, [d_in, d_out]).
 * Reported relative to the product update it perturbs: ||C||_F / ||mean_k(A_k B_k) - A B||_F,
 * summed over layers (squared norms) before the ratio.
 */
import { frobenius, mat, matmul, type Mat } from '../compress/linalg';
import type { LoraLayer } from '../compress/types';
import type { WeightMap } from '../model/types';

export interface ClientFactors { weight: number; factors: WeightMap }

function factors(layer: LoraLayer, w: WeightMap): { a: Mat; b: Mat } {
  const { name, din, dout, rank: r } = layer;
  return { a: mat(din, r, Float64Array.from(w[`${name}.lora_a`].data)), b: mat(r, dout, Float64Array.from(w[`${name}.lora_b`].data)) };
}

function axpy(y: Mat, x: Mat, s: number): void { for (let i = 0; i < y.data.length; i++) y.data[i] += s * x.data[i]; }

/** Per layer: C, mean of products, and product of means. */
export function covarianceTerms(layer: LoraLayer, clients: ClientFactors[]): { C: Mat; meanOfProducts: Mat; productOfMeans: Mat } {
  const W = clients.reduce((s, c) => s + c.weight, 0);
  const f = clients.map((c) => factors(layer, c.factors));
  const aBar = mat(layer.din, layer.rank), bBar = mat(layer.rank, layer.dout);
  f.forEach(({ a, b }, k) => { axpy(aBar, a, clients[k].weight / W); axpy(bBar, b, clients[k].weight / W); });
  const C = mat(layer.din, layer.dout), meanOfProducts = mat(layer.din, layer.dout);
  f.forEach(({ a, b }, k) => {
    const da = mat(a.rows, a.cols), db = mat(b.rows, b.cols);
    for (let i = 0; i < da.data.length; i++) da.data[i] = a.data[i] - aBar.data[i];
    for (let i = 0; i < db.data.length; i++) db.data[i] = b.data[i] - bBar.data[i];
    axpy(C, matmul(da, db), clients[k].weight / W);
    axpy(meanOfProducts, matmul(a, b), clients[k].weight / W);
  });
  return { C, meanOfProducts, productOfMeans: matmul(aBar, bBar) };
}

/**
 * ||C||_F / ||mean_k(A_k B_k) - A B||_F over all layers (0 when nothing moved). `applied`: the
 * factors the server actually set; C is then mean_k(A_k B_k) - A_applied B_applied, which equals the
 * covariance term when the server applied the weighted means (`compression.aggregate: all`) and is
 * the error it made otherwise (`senders`: each entry averaged over the clients that sent it).
 */
export function relativeCovarianceNorm(layers: LoraLayer[], global: WeightMap, clients: ClientFactors[], applied?: WeightMap): number {
  let num = 0, den = 0;
  for (const layer of layers) {
    const terms = covarianceTerms(layer, clients);
    const { meanOfProducts } = terms;
    let C = terms.C;
    if (applied) {
      const p = factors(layer, applied);
      const prod = matmul(p.a, p.b);
      C = mat(layer.din, layer.dout);
      for (let i = 0; i < C.data.length; i++) C.data[i] = meanOfProducts.data[i] - prod.data[i];
    }
    const g = factors(layer, global);
    const base = matmul(g.a, g.b);
    num += frobenius(C) ** 2;
    for (let i = 0; i < base.data.length; i++) den += (meanOfProducts.data[i] - base.data[i]) ** 2;
  }
  return den > 0 ? Math.sqrt(num / den) : 0;
}
