/**
 * `npm run pretrain`: trains the shipped base model centrally on a pretraining task that differs
 * from the fine-tuning task: Fashion-MNIST classes 0-4 only (T-shirt/top, Trouser, Pullover, Dress,
 * Coat), from training images NOT in the shipped fine-tuning subset. Fine-tuning then uses all 10
 * classes with a fresh head, so the 5 unseen classes need the adapters.
 *
 * Needs the Debian package `dataset-fashion-mnist` (apt-get install dataset-fashion-mnist).
 * Writes resources/models/vit-fmnist-base.safetensors (+ .json model card).
 *   npx tsx scripts/pretrain.ts [--src DIR] [--epochs N] [--out FILE] [--seed N]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/engine/backend';
import { loadIdxImageDataset } from '../src/engine/data/idx';
import type { ImageDataset } from '../src/engine/data/types';
import { evaluate, localTrain } from '../src/engine/fl/client';
import { emptyOptimizerState } from '../src/engine/fl/optimizer';
import { patchDataset } from '../src/engine/model/input';
import { encodeSafetensors } from '../src/engine/model/safetensors';
import type { VitSpec } from '../src/engine/model/types';
import { initVitWeights, VitLora } from '../src/engine/model/vit';
import { Rng } from '../src/engine/rng';
import { pretrainIndices, selectFinetuneSubset, SUBSET_SEED, TRAIN_PER_CLASS } from './fashion-split';

export const BASE_SPEC: Omit<VitSpec, 'numClasses'> = { arch: 'vit', imageSize: 28, channels: 1, patchSize: 7, dim: 64, depth: 4, heads: 4, mlpDim: 128 };
const PRETRAIN_CLASSES = [0, 1, 2, 3, 4];

function subsetOf(ds: ImageDataset, idx: Int32Array, numClasses: number): ImageDataset {
  const per = ds.height * ds.width * ds.channels;
  const pixels = new Uint8Array(idx.length * per), labels = new Int32Array(idx.length);
  idx.forEach((j, i) => { pixels.set(ds.pixels.subarray(j * per, (j + 1) * per), i * per); labels[i] = ds.labels[j]; });
  return { ...ds, pixels, labels, n: idx.length, numClasses };
}

async function main() {
  const { values } = parseArgs({ options: {
    src: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
    epochs: { type: 'string', default: '6' },
    out: { type: 'string', default: 'resources/models/vit-fmnist-base.safetensors' },
    seed: { type: 'string', default: '1' },
  } });
  const epochs = Number(values.epochs), seed = Number(values.seed);
  const backend = await initBackend('auto');
  const read = (f: string) => {
    const p = path.join(values.src!, f);
    if (!fs.existsSync(p)) throw new Error(`${p} not found: install it with \`apt-get install dataset-fashion-mnist\` or pass --src`);
    return { bytes: new Uint8Array(fs.readFileSync(p)), p };
  };
  const load = (img: string, lab: string) => {
    const i = read(img), l = read(lab);
    return loadIdxImageDataset(i.bytes, l.bytes, { images: i.p, labels: l.p }, 10);
  };
  const train = load('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz');
  const test = load('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz');
  const excluded = selectFinetuneSubset(train.labels, TRAIN_PER_CLASS, Rng.fromSeed(SUBSET_SEED).child('subset'));
  const trainIdx = pretrainIndices(train.labels, excluded, PRETRAIN_CLASSES);
  const testIdx = pretrainIndices(test.labels, new Int32Array(0), PRETRAIN_CLASSES);
  const spec: VitSpec = { ...BASE_SPEC, numClasses: PRETRAIN_CLASSES.length };
  const trainP = patchDataset(subsetOf(train, trainIdx, spec.numClasses), spec);
  const testP = patchDataset(subsetOf(test, testIdx, spec.numClasses), spec);
  process.stderr.write(`pretraining on ${trainP.n} images of classes ${PRETRAIN_CLASSES} (backend ${backend.name}), ${epochs} epochs\n`);

  const rng = Rng.fromSeed(seed);
  const model = new VitLora(spec, initVitWeights(spec, rng.child('init')), { rank: 1, alpha: 1, targets: [] }, 'full', rng.child('lora'));
  let opt = emptyOptimizerState();
  const all = Int32Array.from({ length: trainP.n }, (_, i) => i);
  const t0 = Date.now();
  let acc = 0;
  for (let e = 0; e < epochs; e++) {
    const lr = 1e-3 * 0.5 * (1 + Math.cos((Math.PI * e) / epochs)); // cosine decay per epoch
    const res = await localTrain(model, await model.getTrainable(), trainP, all, { optimizer: { name: 'adam', lr, momentum: 0 }, batchSize: 64, localEpochs: 1, localSteps: null }, opt, rng.child('epoch').child(e));
    opt = res.optState;
    acc = (await evaluate(model, testP, 256)).acc;
    process.stderr.write(`epoch ${e + 1}/${epochs} loss ${res.meanLoss.toFixed(4)} test acc (classes 0-4) ${(acc * 100).toFixed(2)}% ${((Date.now() - t0) / 1000).toFixed(0)}s\n`);
  }
  const weights = await model.mergedWeights();
  const card = {
    name: 'vit-fmnist-base', spec, format: 'safetensors F32, metadata "fedlora.spec" (architecture JSON) and "fedlora.card" (this)',
    pretraining: {
      task: 'Fashion-MNIST classes 0-4 (T-shirt/top, Trouser, Pullover, Dress, Coat), 5-way classification',
      trainImages: trainP.n, testImages: testP.n, excluded: `the ${excluded.length} images of the shipped fine-tuning subset`,
      epochs, optimizer: 'Adam, lr 1e-3 cosine-decayed per epoch, batch 64', seed, backend: backend.name,
      testAccuracy: Number(acc.toFixed(4)), wallSeconds: Math.round((Date.now() - t0) / 1000),
      command: `npx tsx scripts/pretrain.ts --epochs ${epochs} --seed ${seed}`, date: new Date().toISOString().slice(0, 10),
    },
    licence: 'weights: MIT (this project); trained on Fashion-MNIST (MIT, Zalando SE)',
  };
  fs.mkdirSync(path.dirname(values.out!), { recursive: true });
  fs.writeFileSync(values.out!, encodeSafetensors(weights, { 'fedlora.spec': JSON.stringify(spec), 'fedlora.card': JSON.stringify(card) }));
  fs.writeFileSync(values.out!.replace(/\.safetensors$/, '.json'), JSON.stringify(card, null, 2) + '\n');
  process.stderr.write(`wrote ${values.out} (${(fs.statSync(values.out!).size / 1e6).toFixed(2)} MB)\n`);
  model.dispose();
}

main().catch((e) => { process.stderr.write(`pretrain: ${e instanceof Error ? e.message : e}\n`); process.exit(1); });
