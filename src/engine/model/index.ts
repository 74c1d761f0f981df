/** Model registry: one constructor per architecture tag. */
import type { Rng } from '../rng';
import type { LoraModel, LoraSpec, ModelSpec, WeightMap } from './types';
import { VitLora, vitForwardFlops, vitTrainableShapes, type TrainMode } from './vit';

export function createModel(spec: ModelSpec, base: WeightMap, lora: LoraSpec, mode: TrainMode, rng: Rng): LoraModel {
  switch (spec.arch) {
    case 'vit': return new VitLora(spec, base, lora, mode, rng);
    default: throw new Error(`model: unsupported architecture "${(spec as { arch: string }).arch}"`);
  }
}

export type { LoraModel, LoraSpec, ModelSpec, WeightMap, TrainMode };

/**
 * Floating-point operations of one training sample (forward + backward, counted as 3x forward):
 * what the simulated clock charges at a device's speed.
 */
export function trainFlopsPerSample(spec: ModelSpec, lora: LoraSpec | undefined): number {
  switch (spec.arch) {
    case 'vit': return 3 * vitForwardFlops(spec, lora);
    default: throw new Error(`model: unsupported architecture "${(spec as { arch: string }).arch}"`);
  }
}

/** Shapes of the trainable tensors (LoRA factors + head, head only, or all) without building the model. */
export function trainableShapes(spec: ModelSpec, lora: LoraSpec, mode: TrainMode): Record<string, number[]> {
  switch (spec.arch) {
    case 'vit': return vitTrainableShapes(spec, lora, mode);
    default: throw new Error(`model: unsupported architecture "${(spec as { arch: string }).arch}"`);
  }
}
