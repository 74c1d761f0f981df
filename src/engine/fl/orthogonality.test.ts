import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { loraLayers } from '../compress/types';
import { mat, orthonormalizeColumns } from '../compress/linalg';
import { Rng } from '../rng';
import { orthogonalityPenalty, orthResidual } from './orthogonality';

describe('near-orthogonality regulariser', () => {
  beforeAll(async () => { await initBackend('wasm'); });

  it('is zero for orthogonal components whatever their norms, positive otherwise, and matches the metric', () => {
    const din = 8, dout = 6, r = 3, rng = new Rng('o');
    const qa = orthonormalizeColumns(mat(din, r, Float64Array.from(rng.normalArray(din * r))));
    const qb = orthonormalizeColumns(mat(dout, r, Float64Array.from(rng.normalArray(dout * r))));
    const a = new Float32Array(din * r), b = new Float32Array(r * dout);
    for (let p = 0; p < din; p++) for (let i = 0; i < r; i++) a[p * r + i] = qa.data[p * r + i] * (i + 1);
    for (let i = 0; i < r; i++) for (let q = 0; q < dout; q++) b[i * dout + q] = qb.data[q * r + i] * 3;
    const w = { 'L.lora_a': { shape: [din, r], data: a }, 'L.lora_b': { shape: [r, dout], data: b } };
    expect(orthResidual(w, loraLayers(w))).toBeLessThan(1e-6);
    const vars = new Map([['L.lora_a', tf.variable(tf.tensor2d(a, [din, r]))], ['L.lora_b', tf.variable(tf.tensor2d(b, [r, dout]))]]);
    expect(orthogonalityPenalty(vars, ['L'], 1).dataSync()[0]).toBeLessThan(1e-6);
    const skew = { 'L.lora_a': { shape: [din, r], data: rng.normalArray(din * r) }, 'L.lora_b': { shape: [r, dout], data: rng.normalArray(r * dout) } };
    vars.get('L.lora_a')!.assign(tf.tensor2d(skew['L.lora_a'].data, [din, r]));
    vars.get('L.lora_b')!.assign(tf.tensor2d(skew['L.lora_b'].data, [r, dout]));
    const pen = orthogonalityPenalty(vars, ['L'], 2).dataSync()[0];
    const res = orthResidual(skew, loraLayers(skew));
    expect(res).toBeGreaterThan(0.1);
    // penalty = lambda * (||offA||^2 + ||offB||^2); metric = mean(||offA||, ||offB||)
    expect(pen).toBeGreaterThan(0);
    expect(pen / 2).toBeGreaterThanOrEqual(2 * res * res - 1e-4); // (x^2 + y^2) >= (x + y)^2 / 2
    for (const v of vars.values()) v.dispose();
  });

  it('gradient descent on the penalty drives the residual down', () => {
    const rng = new Rng('gd');
    const a = tf.variable(tf.tensor2d(rng.normalArray(16 * 4), [16, 4]));
    const b = tf.variable(tf.tensor2d(rng.normalArray(4 * 12), [4, 12]));
    const vars = new Map([['L.lora_a', a], ['L.lora_b', b]]);
    const before = orthogonalityPenalty(vars, ['L'], 1).dataSync()[0];
    for (let i = 0; i < 200; i++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => orthogonalityPenalty(vars, ['L'], 1), [a, b]);
        a.assign(tf.sub(a, tf.mul(grads[a.name], 0.05)));
        b.assign(tf.sub(b, tf.mul(grads[b.name], 0.05)));
      });
    }
    const after = orthogonalityPenalty(vars, ['L'], 1).dataSync()[0];
    expect(after).toBeLessThan(before * 0.1);
    a.dispose(); b.dispose();
  });
});
