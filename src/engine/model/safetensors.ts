/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { string: string } }`,
 * then the raw little-endian tensor bytes. We read F32, F64, F16 and BF16 (converted to float32)
 * and write F32; other dtypes (integer buffers such as BERT's position_ids) are an error, or with
 * `{ nonFloat: 'skip' }` are listed in `skipped` (a name map then reports a needed one by name).
 * The format is small enough that a parser is shorter than a dependency.
 */
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

export function parseSafetensors(bytes: Uint8Array, file: string, opts: { nonFloat?: 'error' | 'skip' } = {}): SafetensorsFile {
  if (bytes.length < 8) throw new ModelFileError(file, `too short for a safetensors file (${bytes.length} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n > bytes.length - 8 || n > 100 * 1024 * 1024) {
    throw new ModelFileError(file, `header length ${n} exceeds the file (${bytes.length} bytes): not a safetensors file or truncated`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new ModelFileError(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new ModelFileError(file, 'header must be a JSON object');
  const dataStart = 8 + n, dataLen = bytes.length - dataStart;
  const tensors: WeightMap = {};
  const skipped: Record<string, string> = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') { metadata = entry as Record<string, string>; continue; }
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
