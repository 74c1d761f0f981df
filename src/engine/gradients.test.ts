/**
 * src/engine/vendor/tfjs-core-gradients.cjs (tfjs-core's gradients in one file, made by
 * scripts/bundle-gradients.ts) must match the installed tfjs-core: made from the same version, and
 * every gradient that tfjs-core's own register_all_gradients registers is registered.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';

const core = path.dirname(require.resolve('@tensorflow/tfjs-core/package.json'));
const bundle = path.join(__dirname, 'vendor/tfjs-core-gradients.cjs');

describe('the bundled tfjs-core gradients', () => {
  beforeAll(async () => { await initBackend('cpu'); });

  it('were made from the installed tfjs-core (else: npx tsx scripts/bundle-gradients.ts)', () => {
    const version = (JSON.parse(fs.readFileSync(path.join(core, 'package.json'), 'utf8')) as { version: string }).version;
    expect(fs.readFileSync(bundle, 'utf8').split('\n')[0]).toContain(`from @tensorflow/tfjs-core ${version} `);
  });

  it('register every gradient of tfjs-core\'s register_all_gradients', () => {
    const names = new Map([...fs.readFileSync(path.join(core, 'dist/kernel_names.js'), 'utf8').matchAll(/export const (\w+) = '([^']+)'/g)].map((m) => [m[1], m[2]]));
    const all = fs.readFileSync(path.join(core, 'dist/register_all_gradients.js'), 'utf8');
    const kernels = [...all.matchAll(/from '\.\/gradients\/(\w+)'/g)].map((m) => {
      const src = fs.readFileSync(path.join(core, 'dist/gradients', `${m[1]}.js`), 'utf8');
      const id = /kernelName: (\w+)/.exec(src)![1];
      return names.get(id) ?? id;
    });
    expect(kernels.length).toBeGreaterThan(100);
    expect(kernels.filter((k) => tf.getGradient(k) === undefined)).toEqual([]);
  });

  it('give the gradients training uses (softmax of a product, erf, sqrt)', () => {
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.softmax(tf.matMul(x as tf.Tensor2D, x as tf.Tensor2D)), tf.tensor2d([[1, 0], [0, 2]]))));
    const x = tf.tensor2d([[0.1, 0.2], [0.3, 0.4]]);
    const d = 1e-3, f = (m: tf.Tensor2D) => tf.sum(tf.mul(tf.softmax(tf.matMul(m, m)), tf.tensor2d([[1, 0], [0, 2]]))).dataSync()[0];
    const numeric = [0, 1, 2, 3].map((i) => {
      const e = tf.mul(tf.reshape(tf.oneHot(i, 4), [2, 2]), d);
      return (f(tf.add(x, e)) - f(tf.sub(x, e))) / (2 * d);
    });
    Array.from(g(x).dataSync()).forEach((v, i) => expect(v).toBeCloseTo(numeric[i], 2));
    const h = tf.grad((y: tf.Tensor) => tf.sum(tf.erf(tf.sqrt(y))));
    const y = 0.7, expected = (2 / Math.sqrt(Math.PI)) * Math.exp(-y) / (2 * Math.sqrt(y));
    expect(h(tf.tensor1d([y])).dataSync()[0]).toBeCloseTo(expected, 5);
  });
});
