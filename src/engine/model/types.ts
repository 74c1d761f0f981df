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

/** Named float32 tensors as plain data (crosses worker boundaries, written to disk). */
export type WeightMap = Record<string, { shape: number[]; data: Float32Array }>;
