/**
 * Backend selection: tfjs-node-gpu -> WebGPU (a hardware adapter) -> tfjs-node -> wasm -> cpu.
 *
 * The native packages are optional dependencies: their install downloads libtensorflow and may fail
 * (offline machines, no CUDA). A failed `require` can throw errors without a `code`, so any error
 * falls through to the next candidate, and the reason is kept for the run's metadata.
 * WebGPU comes from the optional `webgpu` package (Dawn's Node bindings: Vulkan, Metal or D3D12)
 * and `@tensorflow/tfjs-backend-webgpu`. `auto` takes it only on a hardware adapter: a software one
 * (SwiftShader, llvmpipe) is slower than wasm for our models and is skipped with the reason; asking
 * for "webgpu" by name accepts any adapter (how the tests run it on CPU-only machines).
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's gradient registrations, bundled into one file (scripts/bundle-gradients.ts says why)
import './vendor/tfjs-core-gradients.cjs';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { attentionMode, gemmMode } from './model/kernels';
import { registerWebgpuKernels, unregisterWebgpuKernels, webgpuKernelMode } from './model/webgpuKernels';

import { BACKENDS, type BackendName, type BackendPreference } from './backendNames';

export { BACKENDS, type BackendName, type BackendPreference };

export interface BackendInfo {
  /** What was asked for (config `backend` or env FEDLORA_BACKEND). */
  requested: BackendPreference;
  /** The backend actually used. */
  name: BackendName;
  /** tfjs backend id (`tensorflow`, `wasm`, `cpu`). */
  tfBackend: string;
  tfjsVersion: string;
  /** Why each earlier candidate was skipped. */
  skipped: { name: BackendName; reason: string }[];
  /** webgpu: the adapter and the limits the device was created with. */
  adapter?: GpuAdapterInfo;
  /**
   * Which GEMM the frozen projections run on: `fedlora-simd128` (the engine's packed WebAssembly
   * SIMD SGEMM, multiply then add, the same bits as XNNPACK and on every machine; wasm, for the
   * shapes where it pays, tfjs's matMul for the rest) or `tfjs` (every other backend, or FEDLORA_GEMM=tfjs).
   */
  gemm: 'fedlora-simd128' | 'tfjs';
}

export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  /** A software (CPU) implementation: Dawn's fallback flag, or SwiftShader / llvmpipe / lavapipe by name. */
  software: boolean;
  limits: Record<string, number>;
}

let current: BackendInfo | null = null;

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].slice(0, 300);
}

/** Minimal WebGPU typings: the engine is compiled without DOM types. */
interface GpuAdapterLike { info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean }; isFallbackAdapter?: boolean; limits: Record<string, unknown> }
interface GpuLike { requestAdapter(opts?: { powerPreference?: string }): Promise<GpuAdapterLike | null> }

const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render/i;

/** `navigator.gpu` in Node, from the optional `webgpu` package (Dawn); throws saying what is missing. */
async function nodeGpu(): Promise<GpuLike> {
  const g = globalThis as { navigator?: { gpu?: GpuLike } };
  if (g.navigator?.gpu) return g.navigator.gpu;
  let dawn: { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
  try { dawn = await import('webgpu') as unknown as typeof dawn; } catch (e) { throw new Error(`the optional package "webgpu" (Dawn) is not installed or failed to load (${firstLine(e)}); npm install webgpu`); }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return gpu;
}

async function webgpuAdapter(acceptSoftware: boolean): Promise<GpuAdapterInfo> {
  const adapter = await (await nodeGpu()).requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new Error('no WebGPU adapter: Dawn found no Vulkan (Linux/Windows), Metal (macOS) or D3D12 (Windows) device. Linux: install libvulkan1 and your GPU\'s Vulkan driver '
      + '(NVIDIA: the proprietary driver; AMD/Intel: mesa-vulkan-drivers); a CPU-only machine can use SwiftShader: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (Debian chromium)');
  }
  const i = adapter.info ?? {};
  const info: GpuAdapterInfo = {
    vendor: i.vendor ?? '', architecture: i.architecture ?? '', description: i.description ?? '',
    software: !!(i.isFallbackAdapter ?? adapter.isFallbackAdapter) || SOFTWARE_ADAPTER.test(`${i.vendor} ${i.architecture} ${i.description}`),
    limits: Object.fromEntries(['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupsPerDimension']
      .map((k) => [k, Number(adapter.limits[k])]).filter(([, v]) => Number.isFinite(v))),
  };
  if (info.software && !acceptSoftware) throw new Error(`software adapter (${info.architecture || info.description || info.vendor}) skipped: slower than wasm; ask for "webgpu" by name to use it`);
  return info;
}

let adapterInfo: GpuAdapterInfo | undefined;
let probed: Promise<{ adapter: GpuAdapterInfo | null; reason: string | null }> | null = null;

/**
 * The WebGPU adapter this process would get (any adapter, software too), or why there is none;
 * asked once per process (Help and the New run form show it). Creates no tfjs backend.
 */
export function probeGpu(): Promise<{ adapter: GpuAdapterInfo | null; reason: string | null }> {
  probed ??= webgpuAdapter(true).then((adapter) => ({ adapter, reason: null }), (e) => ({ adapter: null, reason: firstLine(e) }));
  return probed;
}

async function tryBackend(name: BackendName, auto: boolean): Promise<string> {
  switch (name) {
    case 'webgpu': {
      adapterInfo = await webgpuAdapter(!auto);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@tensorflow/tfjs-backend-webgpu');
      if (!(await tf.setBackend('webgpu'))) throw new Error('webgpu backend failed to initialise');
      if (webgpuKernelMode() === 'fused') registerWebgpuKernels(); else unregisterWebgpuKernels();
      return 'webgpu';
    }
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      requireNativeAddon(pkg);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(pkg);
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tensorflow backend failed to initialise');
      return 'tensorflow';
    }
    case 'wasm': {
      const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
      setWasmPaths(dir + path.sep);
      if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend failed to initialise');
      shareIdentityOnWasm();
      return 'wasm';
    }
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend failed to initialise');
      return 'cpu';
  }
}

/**
 * Throws unless `pkg` is installed with its native addon (lib/napi-v<N>/tfjs_binding.node, which its
 * install script downloads). Checked before `require`: an addon-less package registers hundreds of
 * kernels (and logs each) before it fails, and then its sibling logs them all again.
 */
function requireNativeAddon(pkg: string): void {
  let dir: string;
  try { dir = path.dirname(require.resolve(`${pkg}/package.json`)); } catch { throw new Error(`${pkg} is not installed (optional dependency)`); }
  const lib = path.join(dir, 'lib');
  const found = fs.existsSync(lib) && fs.readdirSync(lib).some((d) => fs.existsSync(path.join(lib, d, 'tfjs_binding.node')));
  if (!found) throw new Error(`${pkg} is installed without its native library (installs run no package scripts): \`npm run setup-native\` downloads it`);
}

/**
 * tfjs-backend-wasm's Identity and Cast kernels copy their input, and autodiff clones (Identity)
 * every tensor it saves for the backward pass, plus a float32 -> float32 Cast per clone in the
 * backward: ~10-15% of a LoRA train step. Tensors are immutable, so, like the cpu and webgl
 * backends, let Identity and a same-dtype Cast share the input's buffer (reference-counted, as
 * wasm's Reshape already does). Bit-identical results; other casts use the original kernel.
 */
function shareIdentityOnWasm(): void {
  for (const name of [tf.Identity, tf.Cast]) {
    const cfg = tf.getKernel(name, 'wasm');
    if (!cfg || (cfg as { fedloraShared?: boolean }).fedloraShared) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({
      kernelName: name, backendName: 'wasm', fedloraShared: true,
      kernelFunc: (args: Parameters<tf.KernelFunc>[0]) => {
        const x = args.inputs.x as tf.TensorInfo;
        const dtype = name === tf.Cast ? (args.attrs as { dtype: tf.DataType }).dtype : x.dtype;
        if (x.dtype === 'string' || dtype !== x.dtype) return (cfg.kernelFunc as tf.KernelFunc)(args);
        (args.backend as unknown as { incRef(id: object): void }).incRef(x.dataId);
        return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
      },
    } as tf.KernelConfig);
  }
}

/**
 * Initialise tfjs with the preferred backend. `auto` tries every backend in order; a named backend
 * is required (an error if it cannot load). The env var FEDLORA_BACKEND overrides `auto`.
 */
export async function initBackend(preference: BackendPreference = 'auto'): Promise<BackendInfo> {
  const envPref = process.env.FEDLORA_BACKEND as BackendPreference | undefined;
  const requested = preference === 'auto' && envPref ? envPref : preference;
  if (requested !== 'auto' && !(BACKENDS as readonly string[]).includes(requested)) {
    throw new Error(`backend: must be one of auto, ${BACKENDS.join(', ')}; got "${requested}" (check FEDLORA_BACKEND)`);
  }
  const mode = gemmMode(); // throws on a bad FEDLORA_GEMM before any backend is tried
  webgpuKernelMode(); // and on a bad FEDLORA_WEBGPU_KERNELS
  attentionMode(); // and on a bad FEDLORA_ATTENTION
  if (current && (requested === 'auto' || current.name === requested)) return current;
  const candidates: BackendName[] = requested === 'auto' ? [...BACKENDS] : [requested];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of candidates) {
    try {
      const tfBackend = await tryBackend(name, requested === 'auto');
      await tf.ready();
      const gemm = name === 'wasm' && mode === 'fedlora' ? 'fedlora-simd128' : 'tfjs';
      current = { requested, name, tfBackend, tfjsVersion: tf.version_core, skipped, gemm, ...(name === 'webgpu' ? { adapter: adapterInfo } : {}) };
      return current;
    } catch (e) {
      skipped.push({ name, reason: firstLine(e) });
    }
  }
  const why = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  throw new Error(`backend: could not initialise "${requested}" (${why})`);
}

export function backendInfo(): BackendInfo | null {
  return current;
}
