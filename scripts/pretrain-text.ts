/**
 * `npm run pretrain-text`: pretrains the shipped text encoder `text-wordnet-base` by masked-word
 * prediction (BERT's masked language model, Devlin et al. 2019) on WordNet 3.0 definitions, with
 * no class labels: nouns (all classes), verbs, adjectives and adverbs, minus every definition of
 * the shipped test split (resources/data/wordnet-nouns/test.csv). Fine-tuning then learns the 8
 * noun classes with a fresh head.
 *
 * Masking: 15% of the word tokens of each definition (at least one); of those 80% become [MASK],
 * 10% a random word, 10% stay; the loss is the cross-entropy of the masked positions' original
 * words, predicted by the output embedding tied to the input embedding (logits = h E^T + b).
 *
 * Tokenizer: a word-level vocabulary (src/engine/data/text.ts buildWordTokenizer, written as a
 * whole-word WordPiece tokenizer.json) of the most frequent words of the pretraining definitions
 * (never the test split), stored inside the model file.
 *
 * Needs the Debian package `wordnet-base` and the shipped dataset (npm run build-text-data).
 * Writes resources/models/text-wordnet-base.safetensors (+ .json model card).
 *   npx tsx scripts/pretrain-text.ts [--src DIR] [--epochs N] [--texts N] [--vocab N] [--out FILE] [--seed N]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/backend';
import { readCsvTable } from '../src/engine/data/table';
import { buildWordTokenizer, loadTokenizer, SPECIAL_TOKENS, tokenizeTexts } from '../src/engine/data/text';
import { encodeSafetensors } from '../src/engine/model/safetensors';
import { initTextWeights, TextLora } from '../src/engine/model/text';
import type { TextSpec } from '../src/engine/model/types';
import { Rng } from '../src/engine/rng';
import { readGlosses, WORDNET_SRC } from './wordnet';

export const TEXT_BASE_SPEC: TextSpec = {
  arch: 'text', vocabSize: 6000, maxLen: 32, seqLen: 32, padId: 0, dim: 64, depth: 2, heads: 4, mlpDim: 128, numClasses: 1,
  norm: 'pre', pooling: 'mean', pooler: false,
};
const MASK_ID = SPECIAL_TOKENS.indexOf('[MASK]'), FIRST_WORD = SPECIAL_TOKENS.length;

/** Mask a batch of token rows in place; returns the selection (row index into the batch's tokens) and original ids of the masked positions. */
function maskBatch(ids: Float32Array, T: number, rng: Rng, vocab: number): { pos: number[]; target: number[] } {
  const pos: number[] = [], target: number[] = [];
  for (let s = 0; s < ids.length / T; s++) {
    const words: number[] = [];
    for (let j = 0; j < T; j++) if (ids[s * T + j] >= FIRST_WORD || ids[s * T + j] === 1) words.push(s * T + j);
    if (!words.length) continue;
    const k = Math.max(1, Math.round(0.15 * words.length));
    for (const w of rng.sample(words.length, k).map((i) => words[i])) {
      pos.push(w); target.push(ids[w]);
      const u = rng.uniform();
      ids[w] = u < 0.8 ? MASK_ID : u < 0.9 ? FIRST_WORD + rng.int(vocab - FIRST_WORD) : ids[w];
    }
  }
  return { pos, target };
}

async function main() {
  const { values } = parseArgs({ options: {
    src: { type: 'string', default: WORDNET_SRC },
    data: { type: 'string', default: 'resources/data/wordnet-nouns' },
    epochs: { type: 'string', default: '6' },
    texts: { type: 'string', default: '30000' },
    vocab: { type: 'string', default: String(TEXT_BASE_SPEC.vocabSize) },
    out: { type: 'string', default: 'resources/models/text-wordnet-base.safetensors' },
    seed: { type: 'string', default: '1' },
  } });
  const epochs = Number(values.epochs), seed = Number(values.seed);
  const backend = await initBackend('auto');
  const testFile = path.join(values.data!, 'test.csv');
  if (!fs.existsSync(testFile)) throw new Error(`${testFile} not found: run \`npm run build-text-data\` first`);
  const held = new Set(readCsvTable(fs.readFileSync(testFile, 'utf8'), testFile, { textColumn: 'text', labelColumn: 'label' }).texts);
  const pool = readGlosses(values.src).map((g) => g.text).filter((t) => !held.has(t));
  const rng = Rng.fromSeed(seed);
  const corpus = rng.child('corpus').sample(pool.length, Math.min(Number(values.texts), pool.length)).map((i) => pool[i]);
  const nHeld = 1000, heldOut = corpus.slice(0, nHeld), train = corpus.slice(nHeld);
  const spec: TextSpec = { ...TEXT_BASE_SPEC, vocabSize: Number(values.vocab) }, T = spec.seqLen;
  const tokJson = buildWordTokenizer(train, spec.vocabSize);
  const tok = loadTokenizer(tokJson, 'built vocabulary');
  const trainIds = tokenizeTexts(tok, train, T, spec.padId).ids, heldIds = tokenizeTexts(tok, heldOut, T, spec.padId).ids;
  process.stderr.write(`MLM pretraining on ${train.length} of ${pool.length} WordNet definitions (backend ${backend.name}), ${epochs} epochs\n`);

  const model = new TextLora(spec, initTextWeights(spec, rng.child('init')), { rank: 1, alpha: 1, targets: [] }, 'full', rng.child('lora'));
  const outBias = tf.variable(tf.zeros([spec.vocabSize]), true, 'mlm.b');
  const vars = [...model.vars.values(), outBias];
  const E = model.vars.get('tok_emb')!;
  /** Masked-word loss and accuracy of a batch of token rows (masked in place). */
  const step = (ids: Float32Array, b: number, r: Rng) => {
    const { pos, target } = maskBatch(ids, T, r, spec.vocabSize);
    const sel = new Float32Array(pos.length * b * T);
    pos.forEach((p, i) => { sel[i * b * T + p] = 1; });
    return () => tf.tidy(() => {
      const { h } = model.encode(tf.tensor2d(ids, [b * T, 1]), b);
      const hm = tf.matMul(tf.tensor2d(sel, [pos.length, b * T]), h);
      const logits = tf.add(tf.matMul(hm, tf.transpose(E)), outBias);
      const y = tf.oneHot(tf.tensor1d(target, 'int32'), spec.vocabSize);
      return { loss: tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar, hits: tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), tf.tensor1d(target, 'int32')), 'float32')), n: pos.length };
    });
  };
  const heldAcc = () => {
    let hits = 0, n = 0;
    const r = new Rng('held-out-masks');
    for (let s = 0; s < heldOut.length; s += 250) {
      const b = Math.min(250, heldOut.length - s);
      const f = step(heldIds.slice(s * T, (s + b) * T), b, r)();
      hits += f.hits.dataSync()[0]; n += f.n;
      f.loss.dispose(); f.hits.dispose();
    }
    return hits / n;
  };
  const batch = 64, t0 = Date.now();
  let acc = 0;
  const opt = tf.train.adam(1e-3);
  const order = Array.from({ length: train.length }, (_, i) => i);
  for (let e = 0; e < epochs; e++) {
    const lr = 2e-3 * 0.5 * (1 + Math.cos((Math.PI * e) / epochs));
    (opt as unknown as { learningRate: number }).learningRate = lr;
    const perm = rng.child('epoch').child(e).shuffle(order.slice()) as number[];
    let lossSum = 0, steps = 0;
    for (let s = 0; s + batch <= perm.length; s += batch) {
      const ids = new Float32Array(batch * T);
      for (let i = 0; i < batch; i++) ids.set(trainIds.subarray(perm[s + i] * T, (perm[s + i] + 1) * T), i * T);
      const f = step(ids, batch, rng.child('mask').child(e).child(s));
      const loss = opt.minimize(() => { const o = f(); o.hits.dispose(); return o.loss; }, true, vars);
      lossSum += (await loss!.data())[0]; loss!.dispose(); steps++;
    }
    acc = heldAcc();
    process.stderr.write(`epoch ${e + 1}/${epochs} masked-word loss ${(lossSum / steps).toFixed(4)} held-out masked-word acc ${(acc * 100).toFixed(2)}% ${((Date.now() - t0) / 1000).toFixed(0)}s\n`);
  }
  const weights = await model.mergedWeights();
  weights['head.w'] = { shape: [spec.dim, 1], data: new Float32Array(spec.dim) };
  weights['head.b'] = { shape: [1], data: new Float32Array(1) };
  const card = {
    name: 'text-wordnet-base', spec, format: 'safetensors F32, metadata "fedlora.spec" (architecture JSON), "fedlora.tokenizer" (tokenizer.json) and "fedlora.card" (this); no classification head (a zero placeholder: fine-tuning adds a fresh one)',
    tokenizer: `word-level: [PAD] [UNK] [CLS] [SEP] [MASK] and the ${spec.vocabSize - FIRST_WORD} most frequent lowercased words (BERT normaliser and pre-tokenizer) of the pretraining definitions; written as a whole-word WordPiece tokenizer.json`,
    pretraining: {
      task: 'masked-word prediction (15% of words; 80% [MASK], 10% random, 10% kept; output embedding tied to the input embedding) on WordNet 3.0 definitions of nouns, verbs, adjectives and adverbs, no labels; the shipped test split excluded',
      texts: train.length, heldOutTexts: heldOut.length, epochs, optimizer: 'Adam, lr 2e-3 cosine-decayed per epoch, batch 64, every weight trained', seed, backend: backend.name,
      heldOutMaskedWordAccuracy: Number(acc.toFixed(4)), wallSeconds: Math.round((Date.now() - t0) / 1000),
      command: `npx tsx scripts/pretrain-text.ts --epochs ${epochs} --texts ${values.texts} --vocab ${spec.vocabSize} --seed ${seed}`, date: new Date().toISOString().slice(0, 10),
    },
    licence: 'weights: MIT (this project); trained on WordNet 3.0 (WordNet 3.0 licence, Princeton University)',
  };
  fs.mkdirSync(path.dirname(values.out!), { recursive: true });
  fs.writeFileSync(values.out!, encodeSafetensors(weights, { 'fedlora.spec': JSON.stringify(spec), 'fedlora.tokenizer': JSON.stringify(tokJson), 'fedlora.card': JSON.stringify(card) }));
  fs.writeFileSync(values.out!.replace(/\.safetensors$/, '.json'), JSON.stringify(card, null, 2) + '\n');
  process.stderr.write(`wrote ${values.out} (${(fs.statSync(values.out!).size / 1e6).toFixed(2)} MB)\n`);
  model.dispose(); outBias.dispose();
}

main().catch((e) => { process.stderr.write(`pretrain-text: ${e instanceof Error ? e.stack : e}\n`); process.exit(1); });
