/**
 * `npm run build-data`: builds the compact Fashion-MNIST subset shipped in
 * resources/data/fashion-mnist/ from the Debian package `dataset-fashion-mnist`:
 * 1200 images per class from the 60k training set, 200 per class from the 10k test set,
 * class-balanced and seeded, written as gzipped IDX files with the licence.
 *   npx tsx scripts/build-fashion-subset.ts [--src DIR] [--out DIR]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { encodeIdx, loadIdxImageDataset } from '../src/engine/data/idx';
import type { ImageDataset } from '../src/engine/data/types';
import { Rng, selectFinetuneSubset, SUBSET_SEED, TEST_PER_CLASS, TRAIN_PER_CLASS } from './fashion-split';

function pick(ds: ImageDataset, idx: Int32Array): { images: Uint8Array; labels: Uint8Array } {
  const per = ds.height * ds.width;
  const images = new Uint8Array(idx.length * per), labels = new Uint8Array(idx.length);
  idx.forEach((j, i) => { images.set(ds.pixels.subarray(j * per, (j + 1) * per), i * per); labels[i] = ds.labels[j]; });
  return { images, labels };
}

function main(): void {
  const { values } = parseArgs({ options: {
    src: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
    out: { type: 'string', default: 'resources/data/fashion-mnist' },
  } });
  const src = values.src!, out = values.out!;
  const read = (f: string) => {
    const p = path.join(src, f);
    if (!fs.existsSync(p)) throw new Error(`${p} not found: apt-get install dataset-fashion-mnist, or pass --src`);
    return { bytes: new Uint8Array(fs.readFileSync(p)), p };
  };
  const load = (a: string, b: string) => { const i = read(a), l = read(b); return loadIdxImageDataset(i.bytes, l.bytes, { images: i.p, labels: l.p }); };
  const train = load('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz');
  const test = load('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz');
  const rng = Rng.fromSeed(SUBSET_SEED);
  const trainIdx = selectFinetuneSubset(train.labels, TRAIN_PER_CLASS, rng.child('subset'));
  const testIdx = selectFinetuneSubset(test.labels, TEST_PER_CLASS, rng.child('subset-test'));
  fs.mkdirSync(out, { recursive: true });
  for (const [split, ds, idx] of [['train', train, trainIdx], ['t10k', test, testIdx]] as const) {
    const { images, labels } = pick(ds, idx);
    fs.writeFileSync(path.join(out, `${split}-images-idx3-ubyte.gz`), encodeIdx([idx.length, 28, 28], images, true));
    fs.writeFileSync(path.join(out, `${split}-labels-idx1-ubyte.gz`), encodeIdx([idx.length], labels, true));
  }
  const copyright = '/usr/share/doc/dataset-fashion-mnist/copyright';
  const licence = fs.existsSync(copyright) ? fs.readFileSync(copyright, 'utf8') : '';
  fs.writeFileSync(path.join(out, 'LICENSE'), `Fashion-MNIST is released under the MIT licence.\nCopyright (c) 2017 Zalando SE\n\n${licence || MIT}`);
  fs.writeFileSync(path.join(out, 'README.md'), `# Fashion-MNIST subset (shipped default data)

Class-balanced subset of Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, https://github.com/zalandoresearch/fashion-mnist), MIT licence (see LICENSE).

- train: ${trainIdx.length} images (${TRAIN_PER_CLASS} per class) from the 60k training set
- test (t10k): ${testIdx.length} images (${TEST_PER_CLASS} per class) from the 10k test set
- format: gzipped IDX, as the original
- made by \`npm run build-data\` (scripts/build-fashion-subset.ts, seed ${SUBSET_SEED}) from the Debian package \`dataset-fashion-mnist\`

Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.
The shipped base model was pretrained on classes 0-4 from training images *not* in this subset.
`);
  const size = fs.readdirSync(out).reduce((a, f) => a + fs.statSync(path.join(out, f)).size, 0);
  process.stderr.write(`wrote ${out}: ${trainIdx.length} train, ${testIdx.length} test, ${(size / 1e6).toFixed(2)} MB\n`);
}

const MIT = `Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the "Software"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
`;

main();
