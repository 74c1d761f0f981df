/**
 * Local optimizers with per-client state held as plain arrays between rounds.
 *
 * tfjs optimizers bind their slots to variable names and cannot be swapped per client or
 * checkpointed as data, and every client here trains the same shared variables in turn; so Adam
 * (Kingma & Ba, 2015) and SGD with momentum are written out: a few element-wise ops per tensor.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM, hasKernel, type AdamAttrs } from '../model/kernels';

export interface OptimizerSpec { name: 'adam' | 'sgd'; lr: number; momentum: number }

/** A client's optimizer slots as plain data (checkpointed with the client). */
export interface OptimizerState {
  step: number;
  /** Adam first moment or SGD velocity, per trainable tensor. */
  m: Record<string, Float32Array>;
  /** Adam second moment (empty for SGD). */
  v: Record<string, Float32Array>;
}

export function emptyOptimizerState(): OptimizerState { return { step: 0, m: {}, v: {} }; }

const BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8;

/** Optimizer slots live as tensors while a client trains, and go back to arrays after. */
export class LocalOptimizer {
  private step: number;
  private readonly m = new Map<string, tf.Tensor>();
  private readonly v = new Map<string, tf.Tensor>();

  constructor(readonly spec: OptimizerSpec, private readonly vars: Map<string, tf.Variable>, state: OptimizerState) {
    this.step = state.step;
    for (const [name, variable] of vars) {
      const load = (arr: Float32Array | undefined) => tf.keep(arr ? tf.tensor(arr, variable.shape) : tf.zerosLike(variable));
      this.m.set(name, load(state.m[name]));
      if (spec.name === 'adam') this.v.set(name, load(state.v[name]));
    }
  }

  /**
   * One step: minimise `loss`; returns its value as a kept scalar, for the caller to read (all at
   * once after the steps: a GPU backend reads asynchronously) and dispose. Intermediates are disposed.
   */
  minimize(loss: () => tf.Scalar): tf.Scalar {
    this.step += 1;
    const t = this.step, { lr, momentum } = this.spec;
    const old: tf.Tensor[] = [];
    const fused = hasKernel(ADAM); // one Adam kernel per tensor on wasm/cpu (same arithmetic), three WGSL programs on webgpu
    const value = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(loss, [...this.vars.values()]);
      for (const [name, variable] of this.vars) {
        const g = grads[variable.name];
        const m0 = this.m.get(name)!;
        old.push(m0);
        if (this.spec.name === 'adam') {
          const v0 = this.v.get(name)!;
          old.push(v0);
          const stepSize = (lr * Math.sqrt(1 - BETA2 ** t)) / (1 - BETA1 ** t);
          let m1: tf.Tensor, v1: tf.Tensor;
          if (fused) {
            const attrs: AdamAttrs = { b1: BETA1, c1: 1 - BETA1, b2: BETA2, c2: 1 - BETA2, eps: EPS, step: stepSize };
            const [w1, mm, vv] = tf.engine().runKernel(ADAM, { w: variable, g, m: m0, v: v0 }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
            variable.assign(w1);
            m1 = mm; v1 = vv;
          } else {
            m1 = tf.add(tf.mul(m0, BETA1), tf.mul(g, 1 - BETA1));
            v1 = tf.add(tf.mul(v0, BETA2), tf.mul(tf.square(g), 1 - BETA2));
            variable.assign(tf.sub(variable, tf.mul(tf.div(m1, tf.add(tf.sqrt(v1), EPS)), stepSize)));
          }
          this.m.set(name, tf.keep(m1));
          this.v.set(name, tf.keep(v1));
        } else {
          const m1 = tf.add(tf.mul(m0, momentum), g);
          variable.assign(tf.sub(variable, tf.mul(m1, lr)));
          this.m.set(name, tf.keep(m1));
        }
      }
      return value;
    });
    for (const t0 of old) t0.dispose();
    return value;
  }

  /** Slots back to arrays; the tensors are disposed. */
  async finish(): Promise<OptimizerState> {
    const state: OptimizerState = { step: this.step, m: {}, v: {} };
    for (const [name, t] of this.m) { state.m[name] = await t.data() as Float32Array; t.dispose(); }
    for (const [name, t] of this.v) { state.v[name] = await t.data() as Float32Array; t.dispose(); }
    this.m.clear(); this.v.clear();
    return state;
  }
}
