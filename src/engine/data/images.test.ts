import { describe, expect, it } from 'vitest';
import { jpegBytes, pngBytes } from './imageFixtures';
import { decodeImage, imageHeaderProblem, imagesToDataset, MAX_IMAGE_PIXELS, toModelPixels } from './images';

describe('image decoding and resizing', () => {
  it('decodes PNG and JPEG by their magic bytes', () => {
    const png = decodeImage(pngBytes(3, 2, (x, y) => [x * 100, y * 100, 7]), 'a.png');
    expect([png.width, png.height]).toEqual([3, 2]);
    expect([...png.rgba.subarray(4 * 5, 4 * 6)]).toEqual([200, 100, 7, 255]);
    const jpg = decodeImage(jpegBytes(8, 8, () => [200, 40, 40]), 'b.jpg');
    expect([jpg.width, jpg.height]).toEqual([8, 8]);
    expect(Math.abs(jpg.rgba[0] - 200)).toBeLessThan(8);
  });

  it('resizes bilinearly and converts channels (RGB, BT.601 gray)', () => {
    const img = decodeImage(pngBytes(4, 4, (x) => (x < 2 ? [0, 0, 0] : [255, 255, 255])), 'g.png');
    expect([...toModelPixels(img, 2, 1)]).toEqual([0, 255, 0, 255]); // 2x2 block averages of a left/right split
    expect([...toModelPixels(img, 4, 3).subarray(0, 6)]).toEqual([0, 0, 0, 0, 0, 0]);
    const red = decodeImage(pngBytes(2, 2, () => [255, 0, 0]), 'r.png');
    expect([...toModelPixels(red, 3, 1)]).toEqual(new Array(9).fill(Math.round(0.299 * 255)));
    expect([...toModelPixels(red, 1, 3)]).toEqual([255, 0, 0]);
    const ds = imagesToDataset([{ file: 'r.png', bytes: pngBytes(5, 7, () => [255, 0, 0]), label: 1 }, { file: 'g.png', bytes: pngBytes(4, 4, () => [0, 0, 0]), label: 0 }], 4, 1, ['a', 'b']);
    expect([ds.n, ds.height, ds.width, ds.channels, ds.numClasses]).toEqual([2, 4, 4, 1, 2]);
    expect([...ds.labels]).toEqual([1, 0]);
  });

  it('unreadable images name the file and the problem', () => {
    const png = pngBytes(6, 6, () => [1, 2, 3]);
    expect(() => decodeImage(png.subarray(0, 40), 'cut.png')).toThrow(/cut\.png: unreadable PNG .*truncated or corrupt/);
    const jpg = jpegBytes(16, 16, (x) => [x, x, x]);
    expect(() => decodeImage(jpg.subarray(0, 30), 'cut.jpg')).toThrow(/cut\.jpg: unreadable JPEG/);
    expect(() => decodeImage(new TextEncoder().encode('GIF89a...'), 'x.gif')).toThrow(/x\.gif: not a PNG or JPEG image \(first bytes 47 49 46 38\)/);
    expect(() => decodeImage(new Uint8Array(0), 'empty.png')).toThrow(/empty file/);
  });

  it('a PNG declaring a huge image is refused from its header, before any pixel buffer is allocated', () => {
    const png = pngBytes(4, 4, () => [0, 0, 0]);
    const dv = new DataView(png.buffer, png.byteOffset);
    dv.setUint32(16, 60000, false); dv.setUint32(20, 60000, false); // IHDR width, height (CRC now wrong: never read)
    expect(imageHeaderProblem(png)).toMatch(/PNG declares 60000 x 60000 pixels, more than the 67108864/);
    const t0 = Date.now();
    expect(() => decodeImage(png, 'bomb.png')).toThrow(/bomb\.png: PNG declares 60000 x 60000 pixels/);
    expect(Date.now() - t0).toBeLessThan(500);
    dv.setUint32(16, 8192, false); dv.setUint32(20, 8192, false);
    expect(imageHeaderProblem(png)).toBeNull(); // at the limit: allowed
    expect(8192 * 8192).toBe(MAX_IMAGE_PIXELS);
    dv.setUint32(16, 0, false);
    expect(imageHeaderProblem(png)).toMatch(/empty 0 x 8192 image/);
    expect(imageHeaderProblem(png.subarray(0, 16))).toMatch(/no IHDR/);
  });
});
