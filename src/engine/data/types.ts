/** An in-memory labelled image dataset. Pixels stay uint8 (compact); batches normalise to [0, 1]. */
export interface ImageDataset {
  /** N * height * width * channels bytes, row-major, channels last. */
  pixels: Uint8Array;
  /** N labels in [0, numClasses). */
  labels: Int32Array;
  n: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  classNames?: string[];
}

/** A partition: for each client, the indices of its samples in the training set. */
export type Partition = Int32Array[];

/** Patchified samples: row i is x[i * rowLen .. (i+1) * rowLen), label y[i]. */
export interface PatchedDataset {
  x: Float32Array;
  y: Int32Array;
  n: number;
  /** floats per sample (numPatches * patchDim). */
  rowLen: number;
  numPatches: number;
  numClasses: number;
}
