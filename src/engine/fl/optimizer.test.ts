import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { hasFusedKernels } from '../model/kernels';
import { Rng } from '../rng';
import { emptyOptimizerState, LocalOptimizer } from './optimizer';

describe.each(['wasm', 'cpu'] as const)('LocalOptimizer (adam) on %s', (backend) => {
  beforeAll(async () => { await initBackend(backend); });

  it('the fused Adam kernel gives the bits of the tfjs-op formula, step by step', async () => {
    expect(hasFusedKernels()).toBe(true);
    const rng = new Rng('adam');
    const n = 37; // not a multiple of 4: the scalar tail runs too
    const w0 = rng.child('w').normalArray(n), target = rng.child('t').normalArray(n);
    const w = tf.variable(tf.tensor1d(w0), true, 'adam-test-w');
    const opt = new LocalOptimizer({ name: 'adam', lr: 0.01, momentum: 0 }, new Map([['w', w]]), emptyOptimizerState());
    // reference: the same update written with tfjs ops
    let rw = tf.tensor1d(w0), rm = tf.zeros([n]), rv = tf.zeros([n]);
    const tt = tf.tensor1d(target);
    for (let t = 1; t <= 5; t++) {
      opt.minimize(() => tf.sum(tf.square(tf.sub(w, tt)))).dispose();
      const g = tf.mul(tf.sub(rw, tt), 2);
      rm = tf.add(tf.mul(rm, 0.9), tf.mul(g, 1 - 0.9));
      rv = tf.add(tf.mul(rv, 0.999), tf.mul(tf.square(g), 1 - 0.999));
      const stepSize = (0.01 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
      rw = tf.sub(rw, tf.mul(tf.div(rm, tf.add(tf.sqrt(rv), 1e-8)), stepSize));
      expect(Array.from(w.dataSync())).toEqual(Array.from(rw.dataSync()));
    }
    const state = await opt.finish();
    expect(Array.from(state.m.w)).toEqual(Array.from(rm.dataSync()));
    expect(Array.from(state.v.w)).toEqual(Array.from(rv.dataSync()));
    expect(state.step).toBe(5);
    w.dispose();
  });
});
