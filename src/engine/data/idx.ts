/**
 * IDX files (the MNIST / Fashion-MNIST format, http://yann.lecun.com/exdb/mnist/): magic
 * 0x00 0x00 <type> <ndims>, then ndims big-endian uint32 sizes, then the data, big-endian.
 * Gzipped files are detected by their magic (1f 8b) and inflated.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ImageDataset } from './types';

export class DataFileError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'DataFileError';
  }
}

type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
const TYPES: Record<number, { dtype: IdxDtype; bytes: number }> = {
  0x08: { dtype: 'uint8', bytes: 1 }, 0x09: { dtype: 'int8', bytes: 1 }, 0x0b: { dtype: 'int16', bytes: 2 },
  0x0c: { dtype: 'int32', bytes: 4 }, 0x0d: { dtype: 'float32', bytes: 4 }, 0x0e: { dtype: 'float64', bytes: 8 },
};

export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** Largest IDX data accepted after inflating (1 GiB; Fashion-MNIST's training images are 47 MB): a small gzip file can inflate without bound. */
export const MAX_IDX_BYTES = 2 ** 30;

const hex = (b: number) => '0x' + b.toString(16).padStart(2, '0');

/** Parse an IDX file (gzipped or not); `maxBytes` bounds the inflated size (tests lower it). */
export function parseIdx(input: Uint8Array, fileLabel: string, maxBytes = MAX_IDX_BYTES): IdxArray {
  let bytes = input;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try { bytes = new Uint8Array(gunzipSync(bytes, { maxOutputLength: maxBytes })); } catch (e) {
      if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new DataFileError(fileLabel, `inflates to more than ${maxBytes} bytes, the most an IDX file may hold`);
      throw new DataFileError(fileLabel, `corrupt gzip stream (${(e as Error).message})`);
    }
  }
  if (bytes.length < 4) throw new DataFileError(fileLabel, `too short for an IDX header (${bytes.length} bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataFileError(fileLabel, `bad magic number: expected 0x0000 followed by a type byte, found ${hex(bytes[0])}${hex(bytes[1]).slice(2)} (not an IDX file?)`);
  }
  const type = TYPES[bytes[2]];
  if (!type) throw new DataFileError(fileLabel, `unknown IDX data type ${hex(bytes[2])} (expected one of 0x08 0x09 0x0b 0x0c 0x0d 0x0e)`);
  const ndims = bytes[3];
  if (ndims === 0) throw new DataFileError(fileLabel, 'IDX header declares zero dimensions');
  const headerLen = 4 + 4 * ndims;
  if (bytes.length < headerLen) throw new DataFileError(fileLabel, `truncated header: ${ndims} dimensions need ${headerLen} bytes, found ${bytes.length}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < ndims; i++) shape.push(dv.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = count * type.bytes, found = bytes.length - headerLen;
  if (found < expected) throw new DataFileError(fileLabel, `truncated data: shape [${shape}] needs ${expected} bytes of data, found ${found}`);
  if (found > expected) throw new DataFileError(fileLabel, `${found - expected} trailing bytes after the data of shape [${shape}]`);
  let data: IdxArray['data'];
  switch (type.dtype) {
    case 'uint8': data = bytes.slice(headerLen); break;
    case 'int8': data = new Int8Array(bytes.slice(headerLen).buffer); break;
    default: {
      const Ctor = { int16: Int16Array, int32: Int32Array, float32: Float32Array, float64: Float64Array }[type.dtype];
      const arr = new Ctor(count);
      for (let i = 0; i < count; i++) {
        const o = headerLen + i * type.bytes;
        arr[i] = type.dtype === 'int16' ? dv.getInt16(o, false) : type.dtype === 'int32' ? dv.getInt32(o, false)
          : type.dtype === 'float32' ? dv.getFloat32(o, false) : dv.getFloat64(o, false);
      }
      data = arr;
    }
  }
  return { dtype: type.dtype, shape, data };
}

/** Encode uint8 data as IDX (optionally gzipped, level 9). */
export function encodeIdx(shape: number[], data: Uint8Array, gzip: boolean): Uint8Array {
  const header = new Uint8Array(4 + 4 * shape.length);
  const dv = new DataView(header.buffer);
  header[2] = 0x08; header[3] = shape.length;
  shape.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  const raw = new Uint8Array(header.length + data.length);
  raw.set(header); raw.set(data, header.length);
  return gzip ? new Uint8Array(gzipSync(raw, { level: 9 })) : raw;
}

/** An image dataset from an IDX images file [N, H, W] (uint8) and a labels file [N] (uint8). */
export function loadIdxImageDataset(imagesBytes: Uint8Array, labelsBytes: Uint8Array, files: { images: string; labels: string }, numClasses = 10): ImageDataset {
  const img = parseIdx(imagesBytes, files.images), lab = parseIdx(labelsBytes, files.labels);
  if (img.dtype !== 'uint8' || img.shape.length !== 3) throw new DataFileError(files.images, `expected uint8 images of shape [N, H, W], found ${img.dtype} [${img.shape}]`);
  if (lab.dtype !== 'uint8' || lab.shape.length !== 1) throw new DataFileError(files.labels, `expected uint8 labels of shape [N], found ${lab.dtype} [${lab.shape}]`);
  if (img.shape[0] !== lab.shape[0]) throw new DataFileError(files.labels, `${lab.shape[0]} labels for ${img.shape[0]} images in ${files.images}`);
  const labels = Int32Array.from(lab.data as Uint8Array);
  const bad = labels.findIndex((l) => l >= numClasses);
  if (bad >= 0) throw new DataFileError(files.labels, `label ${labels[bad]} at index ${bad} is outside [0, ${numClasses})`);
  return { pixels: img.data as Uint8Array, labels, n: img.shape[0], height: img.shape[1], width: img.shape[2], channels: 1, numClasses };
}
