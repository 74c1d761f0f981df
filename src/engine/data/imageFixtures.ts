/** Small generated PNG/JPEG files for tests (nothing binary is committed). */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** A w x h RGBA image filled by f(x, y) -> [r, g, b]. */
function rgba(w: number, h: number, f: (x: number, y: number) => number[]): Uint8Array {
  const d = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) { const [r, g, b] = f(x, y); d.set([r, g, b, 255], (y * w + x) * 4); }
  return d;
}

export function pngBytes(w: number, h: number, f: (x: number, y: number) => number[]): Uint8Array {
  const p = new PNG({ width: w, height: h });
  p.data = Buffer.from(rgba(w, h, f));
  return new Uint8Array(PNG.sync.write(p));
}

export function jpegBytes(w: number, h: number, f: (x: number, y: number) => number[]): Uint8Array {
  return new Uint8Array(jpeg.encode({ width: w, height: h, data: Buffer.from(rgba(w, h, f)) }, 95).data);
}
