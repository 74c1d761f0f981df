/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { string: string } }`,
 * then the raw little-endian tensor bytes. We read F32, F64, F16 and BF16 (converted to float32)
 * and write F32; other dtypes (integer buffers such as BERT's position_ids) are an error, or with
 * `{ nonFloat: 'skip' }` are listed in `skipped` (a name map then reports a needed one by name).
 * The format is small enough that a parser is shorter than a dependency.
 */
import { describeJsonError } from '../data/table';
import type { WeightMap } from './types';

export class ModelFileError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'ModelFileError';
  }
}

const u32 = new Uint32Array(1), f32 = new Float32Array(u32.buffer);
const BYTES: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2 };
const OTHER_BYTES: Record<string, number> = { I64: 8, U64: 8, I32: 4, U32: 4, I16: 2, U16: 2, I8: 1, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1 };

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

export interface SafetensorsFile {
  tensors: WeightMap;
  metadata: Record<string, string>;
  /** Tensors not read because their dtype is not a float: name -> dtype (only with nonFloat 'skip'). */
  skipped: Record<string, string>;
}

/** Largest JSON header accepted (100 MiB; a BERT-Base header is 20 kB). */
export const MAX_HEADER_BYTES = 100 * 2 ** 20;

/**
 * The header length N from a file's first 8 bytes, checked against the file's size (and
 * MAX_HEADER_BYTES) before anything is allocated or decoded for it: a length field of 2^40 in a
 * small file is an error at once. Readers call it on the first 8 bytes before reading the rest.
 */
export function safetensorsHeaderLength(first: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || first.length < 8) throw new ModelFileError(file, `too short for a safetensors file (${fileSize} bytes)`);
  const n = new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) throw new ModelFileError(file, `header length ${n} exceeds the file (${fileSize} bytes): not a safetensors file or truncated`);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new ModelFileError(file, `header length ${n} is more than the ${MAX_HEADER_BYTES} bytes accepted: not a safetensors file?`);
  return Number(n);
}

export function parseSafetensors(bytes: Uint8Array, file: string, opts: { nonFloat?: 'error' | 'skip' } = {}): SafetensorsFile {
  const n = safetensorsHeaderLength(bytes, bytes.length, file);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new ModelFileError(file, `header is not valid JSON (${describeJsonError(e)}): not a safetensors file or corrupt`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new ModelFileError(file, 'header must be a JSON object');
  const dataStart = 8 + n, dataLen = bytes.length - dataStart;
  const tensors: WeightMap = {};
  const skipped: Record<string, string> = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!entry || typeof entry !== 'object' || Array.isArray(entry) || !Object.values(entry).every((v) => typeof v === 'string')) throw new ModelFileError(file, '"__metadata__" must be an object of strings');
      metadata = entry as Record<string, string>;
      continue;
    }
    if (name === '__proto__') throw new ModelFileError(file, 'a tensor named "__proto__" is not accepted');
    const e = entry as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    if (!e || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) {
      throw new ModelFileError(file, `tensor "${name}": entry needs dtype, shape and data_offsets`);
    }
    const width = BYTES[e.dtype];
    if (!width && opts.nonFloat === 'skip' && OTHER_BYTES[e.dtype]) { skipped[name] = e.dtype; continue; }
    if (!width) throw new ModelFileError(file, `tensor "${name}": dtype ${e.dtype} not supported (use F32, F64, F16 or BF16)`);
    if (!e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new ModelFileError(file, `tensor "${name}": bad shape ${JSON.stringify(e.shape)}`);
    const count = e.shape.reduce((a, b) => a * b, 1);
    const [begin, end] = e.data_offsets;
    if (!(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && end >= begin)) throw new ModelFileError(file, `tensor "${name}": bad data_offsets`);
    if (end > dataLen) throw new ModelFileError(file, `tensor "${name}": data ends at byte ${end} but the file has ${dataLen} data bytes (truncated?)`);
    if (end - begin !== count * width) {
      throw new ModelFileError(file, `tensor "${name}": shape [${e.shape}] ${e.dtype} needs ${count * width} bytes, offsets give ${end - begin}`);
    }
    const data = new Float32Array(count);
    const off = dataStart + begin;
    const tdv = new DataView(bytes.buffer, bytes.byteOffset + off, end - begin);
    for (let i = 0; i < count; i++) {
      if (e.dtype === 'F32') data[i] = tdv.getFloat32(4 * i, true);
      else if (e.dtype === 'F64') data[i] = tdv.getFloat64(8 * i, true);
      else if (e.dtype === 'F16') data[i] = f16ToF32(tdv.getUint16(2 * i, true));
      else { u32[0] = tdv.getUint16(2 * i, true) << 16; data[i] = f32[0]; }
    }
    tensors[name] = { shape: e.shape.slice(), data };
  }
  return { tensors, metadata, skipped };
}

/** Serialise float32 tensors (sorted by name, 8-byte aligned header) with string metadata. */
export function encodeSafetensors(tensors: WeightMap, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * t.data.length] };
    offset += 4 * t.data.length;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const name of names) {
    const d = tensors[name].data;
    for (let i = 0; i < d.length; i++, p += 4) dv.setFloat32(p, d[i], true);
  }
  return out;
}
