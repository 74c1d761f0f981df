/**
 * PNG and JPEG images (decoded by pngjs and jpeg-js, both pure JavaScript) to the model's input:
 * bilinearly resized to size x size (stretched: the aspect ratio is not kept; centre-crop your
 * images first if that matters), then to the model's channels (RGB, or grayscale by ITU-R BT.601
 * luma 0.299 R + 0.587 G + 0.114 B). Alpha is ignored. Pixels stay uint8; batches scale to [0, 1].
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DataFileError } from './idx';
import type { ImageDataset } from './types';

export interface RgbaImage { width: number; height: number; rgba: Uint8Array }

const isPng = (b: Uint8Array) => b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
const isJpeg = (b: Uint8Array) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/**
 * Most pixels an image may declare (2^26, e.g. 8192 x 8192): a small file can declare a huge
 * image, and decoding allocates width x height x 4 bytes (a 60000 x 60000 PNG of 100 bytes would
 * take minutes and gigabytes before failing).
 */
export const MAX_IMAGE_PIXELS = 2 ** 26;

/**
 * What is wrong with an image file judging by its first bytes (at least 24 of them: a PNG's IHDR
 * holds its size), or null when it may be decoded: not a PNG/JPEG, or a PNG declaring an empty or
 * too large image. JPEG sizes are checked by the decoder (maxResolutionInMP).
 */
export function imageHeaderProblem(head: Uint8Array): string | null {
  if (isJpeg(head)) return null;
  if (!isPng(head)) return `not a PNG or JPEG image (first bytes ${[...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ') || 'none: empty file'}); remove it or convert it`;
  if (head.length < 24 || String.fromCharCode(head[12], head[13], head[14], head[15]) !== 'IHDR') return 'unreadable PNG (no IHDR header chunk); truncated or corrupt file?';
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const w = dv.getUint32(16, false), h = dv.getUint32(20, false);
  if (!w || !h) return `PNG declares an empty ${w} x ${h} image; corrupt file?`;
  if (w * h > MAX_IMAGE_PIXELS) return `PNG declares ${w} x ${h} pixels, more than the ${MAX_IMAGE_PIXELS} (8192 x 8192) accepted; downscale it`;
  return null;
}

/** Decode a PNG or JPEG file's bytes (format from the magic bytes, not the extension). */
export function decodeImage(bytes: Uint8Array, file: string): RgbaImage {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const problem = imageHeaderProblem(bytes);
  if (problem) throw new DataFileError(file, problem);
  if (isPng(bytes)) {
    try {
      const p = PNG.sync.read(buf);
      return { width: p.width, height: p.height, rgba: new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength) };
    } catch (e) {
      throw new DataFileError(file, `unreadable PNG (${(e as Error).message}); truncated or corrupt file?`);
    }
  }
  if (isJpeg(bytes)) {
    try {
      const j = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 512, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6 });
      return { width: j.width, height: j.height, rgba: j.data };
    } catch (e) {
      throw new DataFileError(file, `unreadable JPEG (${(e as Error).message}); truncated or corrupt file?`);
    }
  }
  throw new DataFileError(file, 'not a PNG or JPEG image');
}

/** Resize (bilinear, pixel centres aligned) and convert to `channels` (1 or 3): size * size * channels bytes, HWC. */
export function toModelPixels(img: RgbaImage, size: number, channels: number): Uint8Array {
  const { width: W, height: H, rgba } = img;
  const out = new Uint8Array(size * size * channels);
  const sx = W / size, sy = H / size;
  const px = new Float64Array(3);
  for (let y = 0; y < size; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), H - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, H - 1), wy = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), W - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, W - 1), wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const a = rgba[(y0 * W + x0) * 4 + c], b = rgba[(y0 * W + x1) * 4 + c];
        const d = rgba[(y1 * W + x0) * 4 + c], e = rgba[(y1 * W + x1) * 4 + c];
        px[c] = (a * (1 - wx) + b * wx) * (1 - wy) + (d * (1 - wx) + e * wx) * wy;
      }
      const o = (y * size + x) * channels;
      if (channels === 1) out[o] = Math.round(0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]);
      else for (let c = 0; c < 3; c++) out[o + c] = Math.round(px[c]);
    }
  }
  return out;
}

/** Labelled image files (already read) as one dataset at the model's size and channels. */
export function imagesToDataset(items: { file: string; bytes: Uint8Array; label: number }[], size: number, channels: number, classNames: string[]): ImageDataset {
  if (channels !== 1 && channels !== 3) throw new Error(`image model with ${channels} channels: only 1 (grayscale) or 3 (RGB) are supported`);
  const per = size * size * channels;
  const pixels = new Uint8Array(items.length * per), labels = new Int32Array(items.length);
  items.forEach((it, i) => {
    pixels.set(toModelPixels(decodeImage(it.bytes, it.file), size, channels), i * per);
    labels[i] = it.label;
  });
  return { pixels, labels, n: items.length, height: size, width: size, channels, numClasses: classNames.length, classNames };
}
