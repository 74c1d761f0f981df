import { describe, expect, it } from 'vitest';
import { encodeSafetensors, MAX_HEADER_BYTES, parseSafetensors, safetensorsHeaderLength } from './safetensors';

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

  it('checks the header length field against the file size before allocating or decoding anything', () => {
    const head = (n: bigint) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, n, true); return b; };
    const t0 = Date.now();
    expect(() => safetensorsHeaderLength(head(2n ** 40n), 1000, 'big.st')).toThrow(/big\.st: header length 1099511627776 exceeds the file \(1000 bytes\)/);
    expect(() => safetensorsHeaderLength(head(2n ** 64n - 1n), 2 ** 40, 'max.st')).toThrow(/header length 18446744073709551615 exceeds/);
    expect(() => safetensorsHeaderLength(head(BigInt(MAX_HEADER_BYTES) + 1n), 2 ** 40, 'huge.st')).toThrow(/more than the 104857600 bytes accepted/);
    expect(safetensorsHeaderLength(head(992n), 1000, 'ok.st')).toBe(992); // exactly the rest of the file
    expect(() => safetensorsHeaderLength(head(993n), 1000, 'ok.st')).toThrow(/exceeds/);
    const file = new Uint8Array(64); file.set(head(2n ** 40n));
    expect(() => parseSafetensors(file, 'x.st')).toThrow(/header length 1099511627776 exceeds the file \(64 bytes\)/);
    expect(Date.now() - t0).toBeLessThan(500);
  });

  it('a malformed header is reported without quoting it; metadata must be strings; no tensor named __proto__', () => {
    const withHeader = (json: string) => { const hb = new TextEncoder().encode(json); const b = new Uint8Array(8 + hb.length); new DataView(b.buffer).setBigUint64(0, BigInt(hb.length), true); b.set(hb, 8); return b; };
    let msg = '';
    try { parseSafetensors(withHeader('SECRET-TOKEN-abc123 and more'), 'x.st'); } catch (e) { msg = (e as Error).message; }
    expect(msg).toMatch(/x\.st: header is not valid JSON \(invalid JSON\)/);
    expect(msg).not.toContain('SECRET');
    expect(() => parseSafetensors(withHeader('{"__metadata__": {"fedlora.spec": {"arch": "vit"}}}'), 'm.st')).toThrow(/"__metadata__" must be an object of strings/);
    expect(() => parseSafetensors(withHeader('{"__metadata__": null}'), 'm.st')).toThrow(/"__metadata__" must be an object of strings/);
    expect(() => parseSafetensors(withHeader('{"__proto__": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}'), 'p.st')).toThrow(/"__proto__" is not accepted/);
  });
});
