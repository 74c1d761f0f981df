/** Model registry: one constructor per architecture tag. */
import type { Rng } from '../rng';
import type { LoraModel, LoraSpec, ModelSpec, WeightMap } from './types';
import { VitLora, type TrainMode } from './vit';

export function createModel(spec: ModelSpec, base: WeightMap, lora: LoraSpec, mode: TrainMode, rng: Rng): LoraModel {
  switch (spec.arch) {
    case 'vit': return new VitLora(spec, base, lora, mode, rng);
    default: throw new Error(`model: unsupported architecture "${(spec as { arch: string }).arch}"`);
  }
}

export type { LoraModel, LoraSpec, ModelSpec, WeightMap, TrainMode };
