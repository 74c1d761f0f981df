/**
 * SVD truncation baseline (docs/method.md section 2): per layer form dW = B'A' - BA (here, x W
 * convention: A'_x B'_x - A_x B_x, [d_in, d_out]), truncate it to m = ceil(rho r) components by a
 * randomized SVD, and send U S and V. The server adds the weighted mean of the received dW_hat to
 * the product and re-factorises it to rank r (see refactorize). Its operation count (forming dW
 * and the SVD) is charged to the device like any other compressor's.
 */
import type { WeightMap } from '../model/types';
import { fromF32, mat, matmul, truncatedSvd, truncatedSvdFlops, type Mat } from './linalg';
import { copyDense, HEADER_BITS, keptComponents, messageShape, type CompressInput, type CompressOutput, type Compressor, type LoraLayer, type MessageCost, type MessageShape } from './types';
import { f16Round, withValueBits } from './quantize';
import type { CompressorDefinition } from './types';

/** A_x B_x for a layer's factors, optionally with deltas added: [d_in, d_out]. */
export function factorProduct(layer: LoraLayer, w: WeightMap, delta?: WeightMap): Mat {
  const { name, din, dout, rank: r } = layer;
  const a = fromF32(din, r, w[`${name}.lora_a`].data), b = fromF32(r, dout, w[`${name}.lora_b`].data);
  if (delta) {
    const da = delta[`${name}.lora_a`].data, db = delta[`${name}.lora_b`].data;
    for (let i = 0; i < a.data.length; i++) a.data[i] += da[i];
    for (let i = 0; i < b.data.length; i++) b.data[i] += db[i];
  }
  return matmul(a, b);
}

export function subMat(x: Mat, y: Mat): Mat {
  const out = mat(x.rows, x.cols);
  for (let i = 0; i < out.data.length; i++) out.data[i] = x.data[i] - y.data[i];
  return out;
}

export class SvdCompressor implements Compressor {
  readonly name = 'svd';
  constructor(private readonly valueBits: number) {}

  compress({ global, update, layers, rho, rng }: CompressInput): CompressOutput {
    const productUpdate: Record<string, Mat> = {};
    for (const layer of layers) {
      const { name, din, rank: r } = layer;
      const dW = subMat(factorProduct(layer, global, update), factorProduct(layer, global));
      const m = keptComponents(rho, r);
      const { U, S, V } = truncatedSvd(dW, m, rng.child(`svd:${name}`), 2 * r); // rank(dW) <= 2r: exact
      // what is sent: U S [din, m] and V [dout, m]; the server forms dW_hat = (U S) V^T from them
      const US = mat(din, m);
      for (let i = 0; i < din; i++) for (let j = 0; j < m; j++) US.data[i * m + j] = U.data[i * U.cols + j] * S[j];
      if (this.valueBits === 16) { // 16-bit values: the transmitted factors are rounded, not the product
        for (let i = 0; i < US.data.length; i++) US.data[i] = f16Round(US.data[i]);
        for (let i = 0; i < V.data.length; i++) V.data[i] = f16Round(V.data[i]);
      }
      productUpdate[name] = matmul(US, V, false, true);
    }
    const out: WeightMap = {};
    copyDense(update, out);
    return { update: out, productUpdate, ...this.cost(messageShape(update), rho) };
  }

  cost({ layers, denseParams }: MessageShape, rho: number): MessageCost {
    let bits = HEADER_BITS + denseParams * this.valueBits, flops = 0;
    for (const { din, dout, rank: r } of layers) {
      const m = keptComponents(rho, r);
      bits += m * (din + dout) * this.valueBits;
      flops += 2 * 2 * din * dout * r + truncatedSvdFlops(din, dout, m, 2 * r);
    }
    return { bits, flops };
  }
}

/** New rank-r factors whose product is P: A_x = U sqrt(S), B_x = sqrt(S) V^T. */
export function refactorize(P: Mat, r: number, rng: CompressInput['rng']): { a: Float32Array; b: Float32Array } {
  const { U, S, V } = truncatedSvd(P, r, rng, r);
  const din = P.rows, dout = P.cols, k = S.length;
  const a = new Float32Array(din * r), b = new Float32Array(r * dout);
  for (let j = 0; j < k; j++) {
    const s = Math.sqrt(S[j]);
    for (let i = 0; i < din; i++) a[i * r + j] = U.data[i * k + j] * s;
    for (let q = 0; q < dout; q++) b[j * dout + q] = V.data[q * k + j] * s;
  }
  return { a, b };
}

export const svd = {
  name: 'svd',
  summary: 'truncated SVD of the product update B A',
  caps: { needsLora: true, sparsifies: true, usesK: false, errorFeedback: false },
  create: (spec) => withValueBits(new SvdCompressor(spec.valueBits), spec.valueBits),
  note: () => ({
    title: 'SVD baseline',
    text: 'Per layer the product update dW is truncated to m components by a randomized SVD (2r oversampling, 2 power iterations, exact Jacobi SVD) and U S, V are sent; the server re-factorises the averaged product to rank r. Its error feedback does not apply and covNorm is null.',
  }),
} as const satisfies CompressorDefinition<'svd'>;
