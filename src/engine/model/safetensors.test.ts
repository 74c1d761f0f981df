import { describe, expect, it } from 'vitest';
import { encodeSafetensors, parseSafetensors } from './safetensors';

describe('safetensors', () => {
  const tensors = { 'b.w': { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-8, -7]) }, a: { shape: [1], data: Float32Array.from([42]) } };

  it('round-trips float32 tensors and metadata', () => {
    const bytes = encodeSafetensors(tensors, { spec: '{"dim":4}' });
    const r = parseSafetensors(bytes, 'm.safetensors');
    expect(r.metadata.spec).toBe('{"dim":4}');
    expect(r.tensors['b.w'].shape).toEqual([2, 3]);
    expect([...r.tensors['b.w'].data]).toEqual([...tensors['b.w'].data]);
    expect([...r.tensors.a.data]).toEqual([42]);
  });

  it('reads F16 and BF16', () => {
    const header = JSON.stringify({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] }, g: { dtype: 'BF16', shape: [1], data_offsets: [4, 6] } });
    const hb = new TextEncoder().encode(header);
    const bytes = new Uint8Array(8 + hb.length + 6);
    const dv = new DataView(bytes.buffer);
    dv.setBigUint64(0, BigInt(hb.length), true);
    bytes.set(hb, 8);
    dv.setUint16(8 + hb.length, 0x3c00, true); // 1.0
    dv.setUint16(8 + hb.length + 2, 0xc000, true); // -2.0
    dv.setUint16(8 + hb.length + 4, 0x4049, true); // bf16 ~3.140625
    const r = parseSafetensors(bytes, 'x');
    expect([...r.tensors.h.data]).toEqual([1, -2]);
    expect(r.tensors.g.data[0]).toBeCloseTo(3.140625, 6);
  });

  it('names the file and the problem for truncated or malformed files', () => {
    const bytes = encodeSafetensors(tensors);
    expect(() => parseSafetensors(bytes.subarray(0, bytes.length - 4), 'cut.safetensors')).toThrow(/cut\.safetensors: tensor "b\.w".*truncated/);
    expect(() => parseSafetensors(new Uint8Array(4), 'tiny.bin')).toThrow(/tiny\.bin: too short/);
    const junk = new Uint8Array(64); new DataView(junk.buffer).setBigUint64(0, 1000n, true);
    expect(() => parseSafetensors(junk, 'junk.bin')).toThrow(/junk\.bin: header length 1000 exceeds/);
    const bad = new Uint8Array(16); new DataView(bad.buffer).setBigUint64(0, 8n, true); bad.set(new TextEncoder().encode('{notjson'), 8);
    expect(() => parseSafetensors(bad, 'bad.st')).toThrow(/bad\.st: header is not valid JSON/);
  });
});
