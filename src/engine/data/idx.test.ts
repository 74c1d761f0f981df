import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataFileError, encodeIdx, loadIdxImageDataset, parseIdx } from './idx';

const images = (n: number) => encodeIdx([n, 2, 3], Uint8Array.from({ length: n * 6 }, (_, i) => i % 256), false);
const labels = (vals: number[]) => encodeIdx([vals.length], Uint8Array.from(vals), false);

describe('IDX reader', () => {
  it('round-trips raw and gzipped uint8 files', () => {
    for (const gz of [false, true]) {
      const bytes = encodeIdx([3, 2, 2], Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255]), gz);
      const r = parseIdx(bytes, 'x.idx');
      expect(r.dtype).toBe('uint8');
      expect(r.shape).toEqual([3, 2, 2]);
      expect([...r.data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255]);
    }
  });

  it('reads big-endian int32 and float32', () => {
    const b = new Uint8Array(4 + 4 + 8);
    const dv = new DataView(b.buffer);
    b[2] = 0x0c; b[3] = 1; dv.setUint32(4, 2, false); dv.setInt32(8, -7, false); dv.setInt32(12, 123456, false);
    expect([...parseIdx(b, 'i.idx').data]).toEqual([-7, 123456]);
    b[2] = 0x0d; dv.setFloat32(8, 1.5, false); dv.setFloat32(12, -2.25, false);
    expect([...parseIdx(b, 'f.idx').data]).toEqual([1.5, -2.25]);
  });

  it('names the file and the problem for corrupt files', () => {
    const good = images(2);
    const bad = Uint8Array.from(good); bad[0] = 0x12; bad[1] = 0x34;
    expect(() => parseIdx(bad, 'wrong-magic.idx')).toThrow(/wrong-magic\.idx: bad magic number: expected 0x0000.*found 0x1234/);
    expect(() => parseIdx(good.subarray(0, good.length - 5), 'cut.idx')).toThrow(/cut\.idx: truncated data: shape \[2,2,3\] needs 12 bytes of data, found 7/);
    expect(() => parseIdx(Uint8Array.from([...good, 0, 0]), 'long.idx')).toThrow(/long\.idx: 2 trailing bytes/);
    const type = Uint8Array.from(good); type[2] = 0x42;
    expect(() => parseIdx(type, 'type.idx')).toThrow(/type\.idx: unknown IDX data type 0x42/);
    const gz = gzipSync(good);
    expect(() => parseIdx(gz.subarray(0, gz.length - 10), 'cut.gz')).toThrow(/cut\.gz: corrupt gzip stream/);
    expect(() => parseIdx(new Uint8Array(2), 'tiny')).toThrow(DataFileError);
  });

  it('checks images against labels', () => {
    const files = { images: 'img.idx', labels: 'lab.idx' };
    const ds = loadIdxImageDataset(images(3), labels([0, 9, 4]), files);
    expect(ds.n).toBe(3); expect(ds.height).toBe(2); expect(ds.width).toBe(3);
    expect([...ds.labels]).toEqual([0, 9, 4]);
    expect(() => loadIdxImageDataset(images(3), labels([0, 1]), files)).toThrow(/lab\.idx: 2 labels for 3 images/);
    expect(() => loadIdxImageDataset(images(2), labels([0, 10]), files)).toThrow(/lab\.idx: label 10 at index 1 is outside \[0, 10\)/);
    expect(() => loadIdxImageDataset(labels([1, 2]), labels([0, 1]), files)).toThrow(/img\.idx: expected uint8 images of shape \[N, H, W\]/);
  });

  it('a gzip stream that inflates past the limit is refused without inflating it all', () => {
    const bomb = gzipSync(new Uint8Array(4_000_000));
    expect(bomb.length).toBeLessThan(10_000);
    expect(() => parseIdx(bomb, 'bomb.gz', 1_000_000)).toThrow(/bomb\.gz: inflates to more than 1000000 bytes, the most an IDX file may hold/);
  });
});
