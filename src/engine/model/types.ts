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
  /** Layer-norm epsilon (default 1e-5; timm checkpoints use 1e-6). */
  layerNormEps?: number;
  /** Per-channel input normalisation after scaling pixels to [0, 1]: (p - mean) / std (default none). */
  pixelMean?: number[];
  pixelStd?: number[];
}

/**
 * A transformer encoder for text classification: token + position embeddings, encoder blocks
 * (pre-norm with a final norm, or post-norm as in BERT with a norm after the embeddings), pooled
 * over tokens (the first token, [CLS], or the mean of non-padding tokens), an optional BERT pooler
 * (dense + tanh) and a linear head.
 */
export interface TextSpec {
  arch: 'text';
  vocabSize: number;
  /** Positions the position embedding holds. */
  maxLen: number;
  /** Tokens per sample the model is run with (texts are truncated / padded to it); <= maxLen. */
  seqLen: number;
  /** Token id of padding (masked out of attention and mean pooling). */
  padId: number;
  dim: number;
  depth: number;
  heads: number;
  mlpDim: number;
  numClasses: number;
  norm: 'pre' | 'post';
  pooling: 'cls' | 'mean';
  /** BERT's pooler (dense + tanh on the pooled vector) before the head. */
  pooler: boolean;
  layerNormEps?: number;
}

export interface LoraSpec {
  rank: number;
  alpha: number;
  /** Which projections carry adapters: q, k, v, o (attention), fc1, fc2 (MLP). */
  targets: string[];
}

/** Any model architecture the engine can fine-tune (one `arch` tag per family). */
export type ModelSpec = VitSpec | TextSpec;

/**
 * What the federated loop needs from a model: a forward pass on a batch of input rows, the
 * trainable variables (LoRA factors + head, or everything), and their values as plain data.
 */
export interface LoraModel {
  readonly spec: ModelSpec;
  readonly vars: Map<string, import('@tensorflow/tfjs-core').Variable>;
  /** Logits [batch, classes] for a batch tensor made by `makeBatch` ([batch * tokens, features]; text: [batch * seqLen, 1] token ids). */
  forward(x: import('@tensorflow/tfjs-core').Tensor2D, batch: number): import('@tensorflow/tfjs-core').Tensor2D;
  trainableNames(): string[];
  /** Trainable values as plain arrays (copies; read asynchronously: a GPU backend has no sync read). */
  getTrainable(): Promise<WeightMap>;
  /** The trainable values the model was created with (copies), without reading the backend. */
  initialTrainable(): WeightMap;
  setTrainable(values: WeightMap): void;
  mergedWeights(): Promise<WeightMap>;
  dispose(): void;
}

/** Named float32 tensors as plain data (crosses worker boundaries, written to disk). */
export type WeightMap = Record<string, { shape: number[]; data: Float32Array }>;

/** The linear layers of an encoder block that LoRA (and full fine-tuning) can target. */
export const LINEAR_TARGETS = ['q', 'k', 'v', 'o', 'fc1', 'fc2'] as const;
export type LinearTarget = (typeof LINEAR_TARGETS)[number];

/** Which weights train: LoRA adapters + head, the head alone, or everything. */
export type TrainMode = 'lora' | 'head-only' | 'full';
