import * as path from 'path';

/** The N-API surface of native/addon.cc: every function writes its output array in place. */
export interface NativeAddon {
  matMul(a: Float32Array, b: Float32Array, c: Float32Array, batchA: number, batchB: number, m: number, n: number, k: number, transposeA: boolean, transposeB: boolean, bias: Float32Array | null, activation: number, alpha: number): void;
  conv2d(geometry: Int32Array, x: Float32Array, filter: Float32Array, y: Float32Array, bias: Float32Array | null, activation: number, alpha: number): void;
  conv2dBackpropInput(geometry: Int32Array, dy: Float32Array, filter: Float32Array, dx: Float32Array): void;
  conv2dBackpropFilter(geometry: Int32Array, x: Float32Array, dy: Float32Array, df: Float32Array): void;
  depthwiseConv2d(geometry: Int32Array, x: Float32Array, filter: Float32Array, y: Float32Array, bias: Float32Array | null, activation: number, alpha: number): void;
  depthwiseBackpropInput(geometry: Int32Array, dy: Float32Array, filter: Float32Array, dx: Float32Array): void;
  depthwiseBackpropFilter(geometry: Int32Array, x: Float32Array, dy: Float32Array, df: Float32Array): void;
  maxPool(geometry: Int32Array, x: Float32Array, y: Float32Array): void;
  avgPool(geometry: Int32Array, x: Float32Array, y: Float32Array): void;
  maxPoolGrad(geometry: Int32Array, x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  avgPoolGrad(geometry: Int32Array, dy: Float32Array, dx: Float32Array): void;
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, shape: Int32Array, aStrides: Int32Array, bStrides: Int32Array): void;
  unary(op: number, x: Float32Array, y: Float32Array, alpha: number): void;
  batchNorm(x: Float32Array, y: Float32Array, channels: number, mean: Float32Array, variance: Float32Array, offset: Float32Array | null, scale: Float32Array | null, epsilon: number): void;
  batchNormGrad(x: Float32Array, dy: Float32Array, mean: Float32Array, variance: Float32Array, scale: Float32Array | null, epsilon: number, dx: Float32Array, dmean: Float32Array, dvariance: Float32Array, dscale: Float32Array, doffset: Float32Array): void;
  batchNormTrain(x: Float32Array, scale: Float32Array, offset: Float32Array, epsilon: number, y: Float32Array, mean: Float32Array, variance: Float32Array): void;
  batchNormTrainGrad(dy: Float32Array, x: Float32Array, scale: Float32Array, mean: Float32Array, variance: Float32Array, dmean: Float32Array | null, dvariance: Float32Array | null, epsilon: number, dx: Float32Array, dscale: Float32Array, doffset: Float32Array): void;
  softmax(x: Float32Array, y: Float32Array, cols: number): void;
  reduceSum(x: Float32Array, y: Float32Array, outer: number, reduce: number, inner: number): void;
  transpose(x: Float32Array, y: Float32Array, shape: Int32Array, perm: Int32Array): void;
  stridedCopy(x: Float32Array, xOffset: number, xStrides: Int32Array, y: Float32Array, yOffset: number, yStrides: Int32Array, shape: Int32Array): void;
  fill(y: Float32Array, value: number): void;
  info(): { isa: 'avx512' | 'avx2' | 'fallback'; threads: number; avx2: boolean; avx512: boolean; sanitized: boolean };
  /** Switches the GEMM micro-kernel (for tests and benchmarks); returns the ISA in use. */
  selectIsa(isa: string): string;
}

export type AddonLoad =
  | { ok: true; addon: NativeAddon; binary: string; origin: 'prebuilt' | 'local build' }
  | { ok: false; reason: string };

export const packageRoot = path.join(__dirname, '..');

let loaded: AddonLoad | undefined;

/**
 * Loads the addon once: a prebuilt binary under prebuilds/ that matches this platform and Node ABI,
 * else build/Release from the install-time node-gyp build. Never throws; a failure says why.
 */
export function loadAddon(): AddonLoad {
  loaded ??= loadAddonFrom(process.env.KILN_NATIVE_BINARY);
  return loaded;
}

/** Loads the addon from `binary` (default: what node-gyp-build resolves for this package), uncached. */
export function loadAddonFrom(binary?: string): AddonLoad {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };
    const file = binary ?? nodeGypBuild.path(packageRoot);
    const addon = require(file) as NativeAddon;
    const origin = file.split(path.sep).includes('prebuilds') ? 'prebuilt' : 'local build';
    return { ok: true, addon, binary: file, origin };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return {
      ok: false,
      reason: `the native addon did not build or load (${message}); rebuild it with \`npm rebuild @kiln/plugin-backend-native\` (needs a C++17 compiler and python3)`,
    };
  }
}
