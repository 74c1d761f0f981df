/** Model registry: one constructor per architecture tag. */
import type { Rng } from '../rng';
import type { LoraModel, LoraSpec, ModelSpec, WeightMap } from './types';
import { TextLora, textForwardFlops, textTrainableShapes } from './text';
import { VitLora, vitForwardFlops, vitTrainableShapes, type TrainMode } from './vit';

/** The architecture tags the registry knows. */
export const ARCHITECTURES = ['vit', 'text'] as const;

const unsupported = (spec: ModelSpec) => new Error(`model: unsupported architecture "${(spec as { arch: string }).arch}" (supported: ${ARCHITECTURES.join(', ')})`);

export function createModel(spec: ModelSpec, base: WeightMap, lora: LoraSpec, mode: TrainMode, rng: Rng): LoraModel {
  switch (spec.arch) {
    case 'vit': return new VitLora(spec, base, lora, mode, rng);
    case 'text': return new TextLora(spec, base, lora, mode, rng);
    default: throw unsupported(spec);
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
    case 'text': return 3 * textForwardFlops(spec, lora);
    default: throw unsupported(spec);
  }
}

/** Shapes of the trainable tensors (LoRA factors + head, head only, or all) without building the model. */
export function trainableShapes(spec: ModelSpec, lora: LoraSpec, mode: TrainMode): Record<string, number[]> {
  switch (spec.arch) {
    case 'vit': return vitTrainableShapes(spec, lora, mode);
    case 'text': return textTrainableShapes(spec, lora, mode);
    default: throw unsupported(spec);
  }
}
