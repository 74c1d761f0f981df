/** Architecture of the shipped/loaded ViT. */
export interface VitSpec {
  arch: 'vit';
  imageSize: number;
  channels: number;
  patchSize: number;
  dim: number;
  depth: number;
  heads: number;
  mlpDim: number;
  numClasses: number;
}

export interface LoraSpec {
  rank: number;
  alpha: number;
  /** Which projections carry adapters: q, k, v, o (attention), fc1, fc2 (MLP). */
  targets: string[];
}

/** Any model architecture the engine can fine-tune (one `arch` tag per family). */
export type ModelSpec = VitSpec;

/**
 * What the federated loop needs from a model: a forward pass on a batch of input rows, the
 * trainable variables (LoRA factors + head, or everything), and their values as plain data.
 */
export interface LoraModel {
  readonly spec: ModelSpec;
  readonly vars: Map<string, import('@tensorflow/tfjs-core').Variable>;
  /** Logits [batch, classes] for a batch tensor made by `makeBatch` ([batch * tokens, features]). */
  forward(x: import('@tensorflow/tfjs-core').Tensor2D, batch: number): import('@tensorflow/tfjs-core').Tensor2D;
  trainableNames(): string[];
  getTrainable(): WeightMap;
  setTrainable(values: WeightMap): void;
  mergedWeights(): WeightMap;
  dispose(): void;
}

/** Named float32 tensors as plain data (crosses worker boundaries, written to disk). */
export type WeightMap = Record<string, { shape: number[]; data: Float32Array }>;
