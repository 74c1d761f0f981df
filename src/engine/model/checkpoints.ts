/**
 * Name maps from foreign checkpoints onto our models (documented in docs/models.md):
 * - timm ViT / DeiT (`vit_tiny_patch16_224`, `deit_tiny_patch16_224`, ...): fused `attn.qkv` is split
 *   into q, k, v; the patch-embedding convolution [d, C, P, P] becomes our [P*P*C, d] matrix
 *   (rows in patch order y, x, channel); layer-norm eps 1e-6.
 * - Hugging Face BERT (`BertModel` / `BertForSequenceClassification`, e.g. BERT-Tiny): post-norm
 *   blocks, the token-type embedding row 0 folded into the position embedding (one segment),
 *   pooler (dense + tanh), layer-norm eps 1e-12.
 * Both store Linear weights [out, in]; ours are x W with W [in, out], so every matrix is transposed.
 * Architecture numbers are read from the tensor shapes; the number of attention heads is not in
 * the weights: it comes from the caller (model.heads / config.json) or the convention of 64-wide
 * heads (ViT-Tiny 192/3, BERT-Tiny 128/2, base models 768/12).
 * The inverse maps (`toTimmVit`, `toHfBert`) write our weights under the foreign names.
 */
import { ModelFileError } from './safetensors';
import { LINEAR_TARGETS, linearName } from './encoder';
import type { TextSpec, VitSpec, WeightMap } from './types';

export type CheckpointFormat = 'fedlora' | 'timm-vit' | 'hf-bert';

export interface Converted<S> { spec: S; weights: WeightMap; /** foreign tensors the map does not use */ ignored: string[] }

/** Which name map fits a checkpoint: our own metadata, timm ViT names, or HF BERT names; null when none. */
export function detectFormat(names: string[], metadata: Record<string, string>): CheckpointFormat | null {
  if (metadata['fedlora.spec']) return 'fedlora';
  const has = (n: string) => names.includes(n);
  if (has('patch_embed.proj.weight') || has('cls_token')) return 'timm-vit';
  if (names.some((n) => /^(bert\.)?embeddings\.word_embeddings\.weight$/.test(n))) return 'hf-bert';
  return null;
}

function transpose(w: { shape: number[]; data: Float32Array }): { shape: number[]; data: Float32Array } {
  const [r, c] = w.shape;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = w.data[i * c + j];
  return { shape: [c, r], data: out };
}

/** Rows [from, to) of a 2-D [rows, cols] tensor or elements of a 1-D one. */
function rows(w: { shape: number[]; data: Float32Array }, from: number, to: number): { shape: number[]; data: Float32Array } {
  const cols = w.shape.length === 2 ? w.shape[1] : 1;
  return { shape: w.shape.length === 2 ? [to - from, cols] : [to - from], data: w.data.slice(from * cols, to * cols) };
}

/** Reads tensors by foreign name with shape checks that name the tensor, the expected shape and the reason. */
class Reader {
  readonly used = new Set<string>();
  constructor(private readonly t: WeightMap, private readonly file: string, private readonly skipped: Record<string, string>, private readonly prefix = '') {}

  has(name: string): boolean { return this.prefix + name in this.t; }

  get(name: string, shape: number[], why: string): { shape: number[]; data: Float32Array } {
    const full = this.prefix + name;
    if (this.skipped[full]) throw new ModelFileError(this.file, `tensor "${full}" has dtype ${this.skipped[full]}; expected a float tensor (F32, F64, F16 or BF16) of shape [${shape}]`);
    const w = this.t[full];
    if (!w) throw new ModelFileError(this.file, `missing tensor "${full}" (expected shape [${shape}]: ${why})`);
    if (w.shape.join(',') !== shape.join(',')) throw new ModelFileError(this.file, `tensor "${full}" has shape [${w.shape}], expected [${shape}] (${why})`);
    this.used.add(full);
    return w;
  }

  /** First of `names` present (old checkpoints call LayerNorm weights gamma/beta). */
  getAny(names: string[], shape: number[], why: string): { shape: number[]; data: Float32Array } {
    return this.get(names.find((n) => this.has(n)) ?? names[0], shape, why);
  }

  ignored(): string[] { return Object.keys(this.t).filter((n) => !this.used.has(n)); }
}

function headsFor(dim: number, heads: number | null | undefined, file: string): number {
  const h = heads ?? (dim % 64 === 0 ? dim / 64 : null);
  if (h === null) throw new ModelFileError(file, `the number of attention heads is not in the weights and dim ${dim} is not a multiple of 64; set model.heads`);
  if (dim % h !== 0) throw new ModelFileError(file, `dim ${dim} is not divisible by model.heads ${h}`);
  return h;
}

function countBlocks(names: string[], re: RegExp): number {
  let n = 0;
  for (const name of names) { const m = re.exec(name); if (m) n = Math.max(n, Number(m[1]) + 1); }
  return n;
}

/** A timm ViT/DeiT checkpoint as our ViT. */
export function fromTimmVit(t: WeightMap, file: string, opts: { heads?: number | null; skipped?: Record<string, string> } = {}): Converted<VitSpec> {
  for (const bad of ['dist_token', 'reg_token', 'fc_norm.weight', 'norm_pre.weight']) {
    if (bad in t) throw new ModelFileError(file, `"${bad}" found: this timm variant (distilled / register tokens / average pooling / pre-norm) is not supported; use a plain class-token ViT or DeiT (e.g. deit_tiny_patch16_224)`);
  }
  const extra = Object.keys(t).find((n) => /\.ls[12]\.gamma$|\.attn\.[qk]_norm\.weight$/.test(n));
  if (extra) throw new ModelFileError(file, `"${extra}" found: layer scale / q-k norm (DeiT III, EVA-style ViTs) is not supported; use a plain ViT or DeiT`);
  const pe = t['patch_embed.proj.weight'];
  if (!pe || pe.shape.length !== 4 || pe.shape[2] !== pe.shape[3]) throw new ModelFileError(file, `missing or malformed "patch_embed.proj.weight" (expected [dim, channels, patch, patch], got ${pe ? `[${pe.shape}]` : 'nothing'})`);
  const [d, C, P] = pe.shape;
  const pos = t['pos_embed'];
  if (!pos || pos.shape.length !== 3 || pos.shape[2] !== d) throw new ModelFileError(file, `missing or malformed "pos_embed" (expected [1, patches + 1, ${d}], got ${pos ? `[${pos.shape}]` : 'nothing'})`);
  const grid = Math.round(Math.sqrt(pos.shape[1] - 1));
  if (grid * grid !== pos.shape[1] - 1) throw new ModelFileError(file, `"pos_embed" has ${pos.shape[1]} positions: not a square patch grid plus one class token`);
  const names = Object.keys(t);
  const depth = countBlocks(names, /^blocks\.(\d+)\./);
  if (!depth) throw new ModelFileError(file, 'no "blocks.N.*" tensors: not a timm ViT');
  const fc1 = t['blocks.0.mlp.fc1.weight'];
  if (!fc1) throw new ModelFileError(file, `missing tensor "blocks.0.mlp.fc1.weight" (expected shape [mlp, ${d}])`);
  const mlpDim = fc1.shape[0];
  const hasHead = 'head.weight' in t;
  const numClasses = hasHead ? t['head.weight'].shape[0] : 1;
  const spec: VitSpec = { arch: 'vit', imageSize: grid * P, channels: C, patchSize: P, dim: d, depth, heads: headsFor(d, opts.heads, file), mlpDim, numClasses, layerNormEps: 1e-6 };
  const r = new Reader(t, file, opts.skipped ?? {});
  const w: WeightMap = {};
  // conv weight [d, C, P, P] -> [P*P*C, d], row (y*P + x)*C + c
  const conv = r.get('patch_embed.proj.weight', [d, C, P, P], 'patch embedding');
  const pw = new Float32Array(P * P * C * d);
  for (let o = 0; o < d; o++) for (let c = 0; c < C; c++) for (let y = 0; y < P; y++) for (let x = 0; x < P; x++) {
    pw[((y * P + x) * C + c) * d + o] = conv.data[((o * C + c) * P + y) * P + x];
  }
  w['patch.w'] = { shape: [P * P * C, d], data: pw };
  w['patch.b'] = r.get('patch_embed.proj.bias', [d], 'patch embedding bias');
  w.cls = { shape: [1, d], data: r.get('cls_token', [1, 1, d], 'class token').data };
  w.pos = { shape: [grid * grid + 1, d], data: r.get('pos_embed', [1, grid * grid + 1, d], 'position embedding').data };
  w['norm.g'] = r.get('norm.weight', [d], 'final norm'); w['norm.b'] = r.get('norm.bias', [d], 'final norm');
  if (hasHead) {
    w['head.w'] = transpose(r.get('head.weight', [numClasses, d], 'classifier [classes, dim]'));
    w['head.b'] = r.get('head.bias', [numClasses], 'classifier bias');
  } else { w['head.w'] = { shape: [d, 1], data: new Float32Array(d) }; w['head.b'] = { shape: [1], data: new Float32Array(1) }; }
  for (let l = 0; l < depth; l++) {
    const b = `blocks.${l}`;
    w[`${b}.ln1.g`] = r.get(`${b}.norm1.weight`, [d], 'pre-attention norm'); w[`${b}.ln1.b`] = r.get(`${b}.norm1.bias`, [d], 'pre-attention norm');
    w[`${b}.ln2.g`] = r.get(`${b}.norm2.weight`, [d], 'pre-MLP norm'); w[`${b}.ln2.b`] = r.get(`${b}.norm2.bias`, [d], 'pre-MLP norm');
    const qkv = r.get(`${b}.attn.qkv.weight`, [3 * d, d], 'fused q, k, v [3*dim, dim]');
    const qkvB = r.get(`${b}.attn.qkv.bias`, [3 * d], 'fused q, k, v bias');
    (['q', 'k', 'v'] as const).forEach((p, i) => {
      w[`${linearName(l, p)}.w`] = transpose(rows(qkv, i * d, (i + 1) * d));
      w[`${linearName(l, p)}.b`] = rows(qkvB, i * d, (i + 1) * d);
    });
    w[`${linearName(l, 'o')}.w`] = transpose(r.get(`${b}.attn.proj.weight`, [d, d], 'attention output [dim, dim]'));
    w[`${linearName(l, 'o')}.b`] = r.get(`${b}.attn.proj.bias`, [d], 'attention output bias');
    w[`${linearName(l, 'fc1')}.w`] = transpose(r.get(`${b}.mlp.fc1.weight`, [mlpDim, d], 'MLP in [mlp, dim]'));
    w[`${linearName(l, 'fc1')}.b`] = r.get(`${b}.mlp.fc1.bias`, [mlpDim], 'MLP in bias');
    w[`${linearName(l, 'fc2')}.w`] = transpose(r.get(`${b}.mlp.fc2.weight`, [d, mlpDim], 'MLP out [dim, mlp]'));
    w[`${linearName(l, 'fc2')}.b`] = r.get(`${b}.mlp.fc2.bias`, [d], 'MLP out bias');
  }
  return { spec, weights: w, ignored: r.ignored() };
}

/** Our ViT weights under timm names (inverse of fromTimmVit). */
export function toTimmVit(spec: VitSpec, w: WeightMap): WeightMap {
  const { dim: d, channels: C, patchSize: P } = spec;
  const out: WeightMap = {};
  const conv = new Float32Array(d * C * P * P);
  for (let o = 0; o < d; o++) for (let c = 0; c < C; c++) for (let y = 0; y < P; y++) for (let x = 0; x < P; x++) {
    conv[((o * C + c) * P + y) * P + x] = w['patch.w'].data[((y * P + x) * C + c) * d + o];
  }
  out['patch_embed.proj.weight'] = { shape: [d, C, P, P], data: conv };
  out['patch_embed.proj.bias'] = w['patch.b'];
  out.cls_token = { shape: [1, 1, d], data: w.cls.data };
  out.pos_embed = { shape: [1, ...w.pos.shape], data: w.pos.data };
  out['norm.weight'] = w['norm.g']; out['norm.bias'] = w['norm.b'];
  out['head.weight'] = transpose(w['head.w']); out['head.bias'] = w['head.b'];
  for (let l = 0; l < spec.depth; l++) {
    const b = `blocks.${l}`;
    out[`${b}.norm1.weight`] = w[`${b}.ln1.g`]; out[`${b}.norm1.bias`] = w[`${b}.ln1.b`];
    out[`${b}.norm2.weight`] = w[`${b}.ln2.g`]; out[`${b}.norm2.bias`] = w[`${b}.ln2.b`];
    const qkv = new Float32Array(3 * d * d), qkvB = new Float32Array(3 * d);
    (['q', 'k', 'v'] as const).forEach((p, i) => {
      qkv.set(transpose(w[`${linearName(l, p)}.w`]).data, i * d * d);
      qkvB.set(w[`${linearName(l, p)}.b`].data, i * d);
    });
    out[`${b}.attn.qkv.weight`] = { shape: [3 * d, d], data: qkv }; out[`${b}.attn.qkv.bias`] = { shape: [3 * d], data: qkvB };
    out[`${b}.attn.proj.weight`] = transpose(w[`${linearName(l, 'o')}.w`]); out[`${b}.attn.proj.bias`] = w[`${linearName(l, 'o')}.b`];
    for (const f of ['fc1', 'fc2'] as const) {
      out[`${b}.mlp.${f}.weight`] = transpose(w[`${linearName(l, f)}.w`]); out[`${b}.mlp.${f}.bias`] = w[`${linearName(l, f)}.b`];
    }
  }
  return out;
}

/** HF BERT names of block l's linears (ours -> theirs, without ".weight"/".bias"). */
const bertLinear = (l: number): Record<(typeof LINEAR_TARGETS)[number], string> => ({
  q: `encoder.layer.${l}.attention.self.query`, k: `encoder.layer.${l}.attention.self.key`, v: `encoder.layer.${l}.attention.self.value`,
  o: `encoder.layer.${l}.attention.output.dense`, fc1: `encoder.layer.${l}.intermediate.dense`, fc2: `encoder.layer.${l}.output.dense`,
});

/** A Hugging Face BERT checkpoint as our text model (post-norm, [CLS] pooling, pooler when present). */
export function fromHfBert(t: WeightMap, file: string, opts: { heads?: number | null; seqLen?: number | null; padId?: number; skipped?: Record<string, string> } = {}): Converted<TextSpec> {
  const prefix = 'bert.embeddings.word_embeddings.weight' in t ? 'bert.' : '';
  const r = new Reader(t, file, opts.skipped ?? {}, prefix);
  const we = t[`${prefix}embeddings.word_embeddings.weight`];
  if (!we || we.shape.length !== 2) throw new ModelFileError(file, `missing or malformed "${prefix}embeddings.word_embeddings.weight" (expected [vocab, dim])`);
  const [vocab, d] = we.shape;
  const pe = t[`${prefix}embeddings.position_embeddings.weight`];
  if (!pe) throw new ModelFileError(file, `missing tensor "${prefix}embeddings.position_embeddings.weight" (expected shape [positions, ${d}])`);
  const maxLen = pe.shape[0];
  const depth = countBlocks(Object.keys(t), /^(?:bert\.)?encoder\.layer\.(\d+)\./);
  if (!depth) throw new ModelFileError(file, `no "${prefix}encoder.layer.N.*" tensors: not a BERT checkpoint`);
  const fc1 = t[`${prefix}encoder.layer.0.intermediate.dense.weight`];
  if (!fc1) throw new ModelFileError(file, `missing tensor "${prefix}encoder.layer.0.intermediate.dense.weight" (expected shape [intermediate, ${d}])`);
  const mlpDim = fc1.shape[0];
  const pooler = r.has('pooler.dense.weight');
  const hasHead = 'classifier.weight' in t;
  const numClasses = hasHead ? t['classifier.weight'].shape[0] : 1;
  const seqLen = Math.min(opts.seqLen ?? 128, maxLen);
  const spec: TextSpec = {
    arch: 'text', vocabSize: vocab, maxLen, seqLen, padId: opts.padId ?? 0, dim: d, depth, heads: headsFor(d, opts.heads, file), mlpDim, numClasses,
    norm: 'post', pooling: 'cls', pooler, layerNormEps: 1e-12,
  };
  const w: WeightMap = {};
  w.tok_emb = r.get('embeddings.word_embeddings.weight', [vocab, d], 'token embedding');
  const pos = r.get('embeddings.position_embeddings.weight', [maxLen, d], 'position embedding');
  const posData = Float32Array.from(pos.data);
  if (r.has('embeddings.token_type_embeddings.weight')) {
    const tt = t[`${prefix}embeddings.token_type_embeddings.weight`];
    r.get('embeddings.token_type_embeddings.weight', [tt.shape[0], d], 'token-type embedding [types, dim]');
    for (let p = 0; p < maxLen; p++) for (let j = 0; j < d; j++) posData[p * d + j] += tt.data[j];
  }
  w.pos = { shape: [maxLen, d], data: posData };
  const ln = (base: string, why: string) => [r.getAny([`${base}.weight`, `${base}.gamma`], [d], why), r.getAny([`${base}.bias`, `${base}.beta`], [d], why)];
  [w['emb_norm.g'], w['emb_norm.b']] = ln('embeddings.LayerNorm', 'embedding norm');
  for (let l = 0; l < depth; l++) {
    const names = bertLinear(l);
    for (const tgt of LINEAR_TARGETS) {
      const [din, dout] = tgt === 'fc1' ? [d, mlpDim] : tgt === 'fc2' ? [mlpDim, d] : [d, d];
      w[`${linearName(l, tgt)}.w`] = transpose(r.get(`${names[tgt]}.weight`, [dout, din], `Linear weight [out, in] = [${dout}, ${din}]`));
      w[`${linearName(l, tgt)}.b`] = r.get(`${names[tgt]}.bias`, [dout], 'Linear bias');
    }
    [w[`blocks.${l}.ln1.g`], w[`blocks.${l}.ln1.b`]] = ln(`encoder.layer.${l}.attention.output.LayerNorm`, 'post-attention norm');
    [w[`blocks.${l}.ln2.g`], w[`blocks.${l}.ln2.b`]] = ln(`encoder.layer.${l}.output.LayerNorm`, 'post-MLP norm');
  }
  if (pooler) {
    w['pooler.w'] = transpose(r.get('pooler.dense.weight', [d, d], 'pooler dense [dim, dim]'));
    w['pooler.b'] = r.get('pooler.dense.bias', [d], 'pooler bias');
  }
  if (hasHead) {
    const head = new Reader(t, file, opts.skipped ?? {});
    w['head.w'] = transpose(head.get('classifier.weight', [numClasses, d], 'classifier [classes, dim]'));
    w['head.b'] = head.get('classifier.bias', [numClasses], 'classifier bias');
    head.used.forEach((n) => r.used.add(n));
  } else { w['head.w'] = { shape: [d, 1], data: new Float32Array(d) }; w['head.b'] = { shape: [1], data: new Float32Array(1) }; }
  // position_ids and other integer buffers are expected and not reported
  return { spec, weights: w, ignored: r.ignored() };
}

/** Our post-norm text weights under HF BERT names (inverse of fromHfBert; token types: one zero row). */
export function toHfBert(spec: TextSpec, w: WeightMap, prefix = 'bert.'): WeightMap {
  if (spec.norm !== 'post') throw new Error('toHfBert: BERT is post-norm; this model is pre-norm');
  const out: WeightMap = {};
  const d = spec.dim;
  out[`${prefix}embeddings.word_embeddings.weight`] = w.tok_emb;
  out[`${prefix}embeddings.position_embeddings.weight`] = w.pos;
  out[`${prefix}embeddings.token_type_embeddings.weight`] = { shape: [2, d], data: new Float32Array(2 * d) };
  out[`${prefix}embeddings.LayerNorm.weight`] = w['emb_norm.g']; out[`${prefix}embeddings.LayerNorm.bias`] = w['emb_norm.b'];
  for (let l = 0; l < spec.depth; l++) {
    const names = bertLinear(l);
    for (const tgt of LINEAR_TARGETS) {
      out[`${prefix}${names[tgt]}.weight`] = transpose(w[`${linearName(l, tgt)}.w`]);
      out[`${prefix}${names[tgt]}.bias`] = w[`${linearName(l, tgt)}.b`];
    }
    out[`${prefix}encoder.layer.${l}.attention.output.LayerNorm.weight`] = w[`blocks.${l}.ln1.g`];
    out[`${prefix}encoder.layer.${l}.attention.output.LayerNorm.bias`] = w[`blocks.${l}.ln1.b`];
    out[`${prefix}encoder.layer.${l}.output.LayerNorm.weight`] = w[`blocks.${l}.ln2.g`];
    out[`${prefix}encoder.layer.${l}.output.LayerNorm.bias`] = w[`blocks.${l}.ln2.b`];
  }
  if (spec.pooler) { out[`${prefix}pooler.dense.weight`] = transpose(w['pooler.w']); out[`${prefix}pooler.dense.bias`] = w['pooler.b']; }
  out['classifier.weight'] = transpose(w['head.w']); out['classifier.bias'] = w['head.b'];
  return out;
}
