/**
 * `npm run pretrain-text`: trains the shipped text encoder `text-wordnet-base` centrally on a task
 * that differs from the fine-tuning task: classifying WordNet noun definitions into the 15 noun
 * classes that are NOT in the shipped dataset (act, attribute, cognition, ...; scripts/wordnet.ts).
 * Fine-tuning then classifies the 8 concrete-noun classes of resources/data/wordnet-nouns with a
 * fresh head, so the encoder must be adapted to them.
 *
 * Tokenizer: a word-level vocabulary (src/engine/data/text.ts buildWordTokenizer, written as a
 * WordPiece tokenizer.json of whole words) of the most frequent words of the pretraining
 * definitions and the shipped train.csv (never test.csv), stored inside the model file.
 *
 * Needs the Debian package `wordnet-base` and the shipped dataset (npm run build-text-data).
 * Writes resources/models/text-wordnet-base.safetensors (+ .json model card).
 *   npx tsx scripts/pretrain-text.ts [--src DIR] [--epochs N] [--out FILE] [--seed N]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/engine/backend';
import { readCsvTable } from '../src/engine/data/table';
import { buildWordTokenizer, loadTokenizer, textDataset, tokenizeTexts } from '../src/engine/data/text';
import { evaluate, localTrain } from '../src/engine/fl/client';
import { emptyOptimizerState } from '../src/engine/fl/optimizer';
import { encodeSafetensors } from '../src/engine/model/safetensors';
import { initTextWeights, TextLora } from '../src/engine/model/text';
import type { TextSpec } from '../src/engine/model/types';
import { Rng } from '../src/engine/rng';
import { PRETRAIN_CLASSES, readNounGlosses, sampleByClass, WORDNET_SEED, WORDNET_SRC, type Gloss } from './wordnet';

export const TEXT_BASE_SPEC: Omit<TextSpec, 'numClasses'> = {
  arch: 'text', vocabSize: 4000, maxLen: 32, seqLen: 32, padId: 0, dim: 64, depth: 2, heads: 4, mlpDim: 128, norm: 'pre', pooling: 'mean', pooler: false,
};
const PER_CLASS = 600, TEST_PER_CLASS = 60;

async function main() {
  const { values } = parseArgs({ options: {
    src: { type: 'string', default: WORDNET_SRC },
    data: { type: 'string', default: 'resources/data/wordnet-nouns' },
    epochs: { type: 'string', default: '8' },
    out: { type: 'string', default: 'resources/models/text-wordnet-base.safetensors' },
    seed: { type: 'string', default: '1' },
  } });
  const epochs = Number(values.epochs), seed = Number(values.seed);
  const backend = await initBackend('auto');
  const picked = sampleByClass(readNounGlosses(values.src), PRETRAIN_CLASSES, PER_CLASS, new Rng(`wordnet/${WORDNET_SEED}`).child('pretrain'));
  const trainG: Gloss[] = [], testG: Gloss[] = [];
  for (const p of picked) { testG.push(...p.slice(0, TEST_PER_CLASS)); trainG.push(...p.slice(TEST_PER_CLASS)); }
  const finetuneTrain = path.join(values.data!, 'train.csv');
  if (!fs.existsSync(finetuneTrain)) throw new Error(`${finetuneTrain} not found: run \`npm run build-text-data\` first`);
  const ftTexts = readCsvTable(fs.readFileSync(finetuneTrain, 'utf8'), finetuneTrain, { textColumn: 'text', labelColumn: 'label' }).texts;
  const tokJson = buildWordTokenizer([...trainG.map((g) => g.text), ...ftTexts], TEXT_BASE_SPEC.vocabSize);
  const tok = loadTokenizer(tokJson, 'built vocabulary');
  const spec: TextSpec = { ...TEXT_BASE_SPEC, numClasses: PRETRAIN_CLASSES.length };
  const toData = (gs: Gloss[]) => textDataset(tokenizeTexts(tok, gs.map((g) => g.text), spec.seqLen, spec.padId).ids, Int32Array.from(gs, (g) => PRETRAIN_CLASSES.indexOf(g.cls)), spec.seqLen, spec.numClasses);
  const trainD = toData(trainG), testD = toData(testG);
  process.stderr.write(`pretraining on ${trainD.n} definitions of ${PRETRAIN_CLASSES.length} classes (backend ${backend.name}), ${epochs} epochs\n`);

  const rng = Rng.fromSeed(seed);
  const model = new TextLora(spec, initTextWeights(spec, rng.child('init')), { rank: 1, alpha: 1, targets: [] }, 'full', rng.child('lora'));
  let opt = emptyOptimizerState();
  const all = Int32Array.from({ length: trainD.n }, (_, i) => i);
  const t0 = Date.now();
  let acc = 0;
  for (let e = 0; e < epochs; e++) {
    const lr = 2e-3 * 0.5 * (1 + Math.cos((Math.PI * e) / epochs));
    const res = localTrain(model, model.getTrainable(), trainD, all, { optimizer: { name: 'adam', lr, momentum: 0 }, batchSize: 64, localEpochs: 1, localSteps: null }, opt, rng.child('epoch').child(e));
    opt = res.optState;
    acc = evaluate(model, testD, 256).acc;
    process.stderr.write(`epoch ${e + 1}/${epochs} loss ${res.meanLoss.toFixed(4)} held-out acc (${PRETRAIN_CLASSES.length} classes) ${(acc * 100).toFixed(2)}% ${((Date.now() - t0) / 1000).toFixed(0)}s\n`);
  }
  const weights = model.mergedWeights();
  const card = {
    name: 'text-wordnet-base', spec, format: 'safetensors F32, metadata "fedlora.spec" (architecture JSON), "fedlora.tokenizer" (tokenizer.json) and "fedlora.card" (this)',
    tokenizer: `word-level: the ${spec.vocabSize - 4} most frequent lowercased words (BERT normaliser and pre-tokenizer) of the pretraining definitions and the shipped train.csv, plus [PAD] [UNK] [CLS] [SEP]; written as a whole-word WordPiece tokenizer.json`,
    pretraining: {
      task: `WordNet 3.0 noun definitions -> noun class, ${PRETRAIN_CLASSES.length}-way: ${PRETRAIN_CLASSES.join(', ')} (none of the shipped dataset's 8 classes)`,
      trainTexts: trainD.n, heldOutTexts: testD.n, epochs, optimizer: 'Adam, lr 2e-3 cosine-decayed per epoch, batch 64, every weight trained', seed, backend: backend.name,
      heldOutAccuracy: Number(acc.toFixed(4)), wallSeconds: Math.round((Date.now() - t0) / 1000),
      command: `npx tsx scripts/pretrain-text.ts --epochs ${epochs} --seed ${seed}`, date: new Date().toISOString().slice(0, 10),
    },
    licence: 'weights: MIT (this project); trained on WordNet 3.0 (WordNet 3.0 licence, Princeton University)',
  };
  fs.mkdirSync(path.dirname(values.out!), { recursive: true });
  fs.writeFileSync(values.out!, encodeSafetensors(weights, { 'fedlora.spec': JSON.stringify(spec), 'fedlora.tokenizer': JSON.stringify(tokJson), 'fedlora.card': JSON.stringify(card) }));
  fs.writeFileSync(values.out!.replace(/\.safetensors$/, '.json'), JSON.stringify(card, null, 2) + '\n');
  process.stderr.write(`wrote ${values.out} (${(fs.statSync(values.out!).size / 1e6).toFixed(2)} MB)\n`);
  model.dispose();
}

main().catch((e) => { process.stderr.write(`pretrain-text: ${e instanceof Error ? e.stack : e}\n`); process.exit(1); });
