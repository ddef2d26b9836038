import * as tf from '@tensorflow/tfjs-core';
import { KILN_WASM_BASE64 } from './kiln-wasm-binary';
import { convGeometry, fromChannelsLast, nhwcShape, toChannelsLast, type ConvGeometry } from './conv-geometry';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

/** WebAssembly.Memory (the build's lib has no WebAssembly types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface WasmApi {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}

const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The parts of tfjs-wasm's BackendWasm (not exported as a type by tfjs) Kiln's kernels use. */
export interface WasmBackendInternals {
  wasm: {
    asm?: { memory?: WasmMemory };
    wasmMemory?: WasmMemory;
    _malloc(bytes: number): number;
    _free(pointer: number): void;
  };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

interface KilnWasmExports {
  filterScratchBytes(cin: number, cout: number, taps: number, chunk: number): number;
  inputScratchBytes(cin: number, cout: number, taps: number, chunk: number): number;
  convBackpropFilter(...args: number[]): void;
  convBackpropInput(...args: number[]): void;
  forwardScratchBytes(cin: number, cout: number, taps: number): number;
  convForward(...args: number[]): void;
  matMulScratchBytes(m: number, k: number, n: number): number;
  batchMatMul(...args: number[]): void;
  transposeKeepInner(x: number, out: number, meta: number, outerRank: number, inner: number): void;
  biasActivation(c: number, bias: number, rows: number, n: number, relu: number): void;
  sumMiddle(x: number, out: number, tmp: number, outer: number, reduce: number, inner: number, scale: number): void;
  /** Σ x² over n floats at byte offset x (SIMD, float64 across blocks). */
  sumSquares(x: number, n: number): number;
}

let cached: { memory: WasmMemory; exports: KilnWasmExports } | undefined;

/**
 * Kiln's own wasm kernels (assembly/conv-grad.ts), instantiated over tfjs-wasm's memory so
 * they read and write tensors in place. Undefined when tfjs-wasm does not expose its memory.
 */
export function kilnWasm(backend: WasmBackendInternals): KilnWasmExports | undefined {
  const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
  if (!(memory instanceof WA.Memory)) return undefined;
  if (cached === undefined || cached.memory !== memory) {
    const module = new WA.Module(Buffer.from(KILN_WASM_BASE64, 'base64'));
    const instance = new WA.Instance(module, { env: { memory } });
    cached = { memory, exports: instance.exports as unknown as KilnWasmExports };
  }
  return cached.exports;
}

function offset(backend: WasmBackendInternals, t: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error('Kiln wasm kernel: tensor data is not on the wasm backend');
  return data.memoryOffset;
}

/** Runs fn with `bytes` of tfjs-wasm heap, freed afterwards. */
function withScratch<T>(backend: WasmBackendInternals, bytes: number, fn: (pointer: number) => T): T {
  const pointer = backend.wasm._malloc(bytes);
  try {
    return fn(pointer);
  } finally {
    backend.wasm._free(pointer);
  }
}

function clampChunk(n: number): number {
  return Math.max(16, Math.min(512, Math.floor(n / 4) * 4));
}

/** Pixels per packed chunk of the weight gradient: dy and x panels together ≈ 96 KB (L2). */
export function filterChunk(cin: number, cout: number): number {
  return clampChunk(24576 / (Math.ceil(cin / 4) * 4 + Math.ceil(cout / 8) * 8));
}

/** Pixels per packed chunk of the input gradient: the dy panel ≈ 64 KB. */
export function inputChunk(cout: number): number {
  return clampChunk(16384 / cout);
}

function geometryArgs(g: ConvGeometry, cout: number): number[] {
  return [g.batch, g.inHeight, g.inWidth, g.inChannels, g.outHeight, g.outWidth, cout, g.filterHeight, g.filterWidth, g.strideHeight, g.strideWidth, g.dilationHeight, g.dilationWidth, g.top, g.left];
}

export interface ConvGradAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  /** Not in tfjs's attrs (tfjs refuses dilated conv gradients); Kiln's kernels take it. */
  dilations?: number | [number, number];
}

/** dW of an NHWC conv: one pass of Kiln's packed GEMM over tfjs-wasm's heap. */
export function filterGradNHWC(backend: WasmBackendInternals, ex: KilnWasmExports, x: tf.TensorInfo, dy: tf.TensorInfo, filterShape: [number, number, number, number], attrs: ConvGradAttrs): tf.TensorInfo {
  const g = convGeometry(x.shape as [number, number, number, number], filterShape, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, false);
  const [kh, kw, cin, cout] = filterShape;
  const out = backend.makeOutput(filterShape, 'float32');
  const chunk = filterChunk(cin, cout);
  withScratch(backend, ex.filterScratchBytes(cin, cout, kh * kw, chunk), (scratch) => {
    ex.convBackpropFilter(offset(backend, x), offset(backend, dy), offset(backend, out), scratch, ...geometryArgs(g, cout), chunk);
  });
  return out;
}

/** dx of an NHWC conv: Kiln's packed GEMM dy·Wᵀ with a col2im scatter, no zero-upsampling for strides. */
export function inputGradNHWC(backend: WasmBackendInternals, ex: KilnWasmExports, dy: tf.TensorInfo, filter: tf.TensorInfo, inputShape: [number, number, number, number], attrs: ConvGradAttrs): tf.TensorInfo {
  const filterShape = filter.shape as [number, number, number, number];
  const g = convGeometry(inputShape, filterShape, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, false);
  const [kh, kw, cin, cout] = filterShape;
  if (g.strideHeight === 1 && g.strideWidth === 1 && KILN_INPUT_GRAD.viaFlippedConv) {
    // dx[i] = Σ_k dy[i + top − k·d]·w[k] = Σ_k' dy[i − top' + k'·d]·w[K−1−k'] with top' = (K−1)·d − top:
    // a forward conv of dy (cout channels) with the flipped, transposed filter.
    const flipped: ConvGeometry = {
      batch: g.batch, inHeight: g.outHeight, inWidth: g.outWidth, inChannels: cout, outHeight: g.inHeight, outWidth: g.inWidth,
      filterHeight: kh, filterWidth: kw, strideHeight: 1, strideWidth: 1, dilationHeight: g.dilationHeight, dilationWidth: g.dilationWidth,
      top: (kh - 1) * g.dilationHeight - g.top, left: (kw - 1) * g.dilationWidth - g.left,
    };
    return convForwardNHWC(backend, ex, dy, filter, undefined, false, flipped, cin, 'flipped', inputShape);
  }
  const out = backend.makeOutput(inputShape, 'float32');
  const chunk = inputChunk(cout);
  withScratch(backend, ex.inputScratchBytes(cin, cout, kh * kw, chunk), (scratch) => {
    ex.convBackpropInput(offset(backend, dy), offset(backend, filter), offset(backend, out), scratch, ...geometryArgs(g, cout), chunk);
  });
  return out;
}

function isChannelsFirst(dataFormat: string | undefined): boolean {
  return dataFormat === 'NCHW' || dataFormat === 'channelsFirst';
}

type KernelArgs = Parameters<tf.KernelConfig['kernelFunc']>[0];

/** Conv2DBackpropFilter on Kiln's wasm GEMM; `fallback` when the module cannot load. */
export function conv2dBackpropFilterKernel(fallback: tf.KernelConfig['kernelFunc']): tf.KernelConfig['kernelFunc'] {
  return (args: KernelArgs) => {
    const backend = args.backend as unknown as WasmBackendInternals;
    const ex = kilnWasm(backend);
    if (ex === undefined) return fallback(args);
    const attrs = args.attrs as unknown as ConvGradAttrs & { filterShape: [number, number, number, number] };
    const x = args.inputs.x as tf.Tensor4D;
    const dy = args.inputs.dy as tf.Tensor4D;
    if (!isChannelsFirst(attrs.dataFormat)) return filterGradNHWC(backend, ex, x, dy, attrs.filterShape, attrs);
    return tf.tidy(() => {
      const xs = toChannelsLast(x, attrs.dataFormat);
      const dys = toChannelsLast(dy, attrs.dataFormat);
      const info = filterGradNHWC(backend, ex, xs, dys, attrs.filterShape, attrs);
      return tf.engine().makeTensorFromTensorInfo(info);
    });
  };
}

/** Conv2DBackpropInput on Kiln's wasm GEMM; `fallback` when the module cannot load. */
export function conv2dBackpropInputKernel(fallback: tf.KernelConfig['kernelFunc']): tf.KernelConfig['kernelFunc'] {
  return (args: KernelArgs) => {
    const backend = args.backend as unknown as WasmBackendInternals;
    const ex = kilnWasm(backend);
    if (ex === undefined) return fallback(args);
    const attrs = args.attrs as unknown as ConvGradAttrs & { inputShape: [number, number, number, number] };
    const dy = args.inputs.dy as tf.Tensor4D;
    const filter = args.inputs.filter as tf.Tensor4D;
    if (!isChannelsFirst(attrs.dataFormat)) return inputGradNHWC(backend, ex, dy, filter, attrs.inputShape, attrs);
    return tf.tidy(() => {
      const dys = toChannelsLast(dy, attrs.dataFormat);
      const info = inputGradNHWC(backend, ex, dys, filter, nhwcShape(attrs.inputShape, attrs.dataFormat), attrs);
      return fromChannelsLast(tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor4D, attrs.dataFormat);
    });
  };
}

/**
 * Sum or Mean over contiguous axes that are not the innermost (batch-norm statistics and their
 * gradients: [N, H, W] of NHWC) in one pass of Kiln's kernel; tfjs-wasm transposes the whole
 * input first. Other reductions (innermost axes, int32, scattered axes) keep the original kernel.
 */
export function reduceOverMiddleAxes(kind: 'sum' | 'mean', original: tf.KernelConfig['kernelFunc']): tf.KernelConfig['kernelFunc'] {
  return (args: KernelArgs) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    if (x.dtype !== 'float32' || x.shape.length === 0) return original(args);
    const backend = args.backend as unknown as WasmBackendInternals;
    const ex = kilnWasm(backend);
    if (ex === undefined) return original(args);
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
    const rank = x.shape.length;
    const first = axes[0];
    const last = axes[axes.length - 1];
    if (axes.length === 0 || last === rank - 1 || last - first !== axes.length - 1) return original(args);
    const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
    const outer = size(x.shape.slice(0, first));
    const reduce = size(x.shape.slice(first, last + 1));
    const inner = size(x.shape.slice(last + 1));
    if (outer * reduce * inner === 0) return original(args);
    const outShape = keepDims ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d)) : x.shape.filter((_, i) => i < first || i > last);
    const out = backend.makeOutput(outShape, 'float32');
    withScratch(backend, inner * 8 + 16, (tmp) => {
      ex.sumMiddle(offset(backend, x), offset(backend, out), tmp, outer, reduce, inner, kind === 'mean' ? 1 / reduce : 1);
    });
    return out;
  };
}

/** Output pixels per block of the forward igemm: the input rows they read ≈ 256 KB. */
export function forwardChunk(cin: number, taps: number): number {
  return Math.max(16, Math.min(1024, Math.floor(65536 / (cin * taps) / 4) * 4));
}

/**
 * y = act(conv(x, w) + bias), NHWC, by Kiln's indirect GEMM. mode 'forward': w is HWIO;
 * mode 'flipped': w is the [KH, KW, cout, cin] filter of the conv whose stride-1 input gradient
 * this is (read spatially flipped and transposed, nothing materialised).
 */
export function convForwardNHWC(
  backend: WasmBackendInternals, ex: KilnWasmExports, x: tf.TensorInfo, w: tf.TensorInfo, bias: tf.TensorInfo | undefined, relu: boolean,
  g: ConvGeometry, cout: number, mode: 'forward' | 'flipped', outShape: number[],
): tf.TensorInfo {
  const taps = g.filterHeight * g.filterWidth;
  const out = backend.makeOutput(outShape, 'float32');
  withScratch(backend, ex.forwardScratchBytes(g.inChannels, cout, taps), (scratch) => {
    ex.convForward(
      offset(backend, x), offset(backend, w), bias === undefined ? 0 : offset(backend, bias), offset(backend, out), scratch,
      ...geometryArgs(g, cout), mode === 'forward' ? 0 : 1, relu ? 1 : 0, forwardChunk(g.inChannels, taps),
    );
  });
  return out;
}

interface ForwardAttrs extends ConvGradAttrs {
  activation?: string;
}

/**
 * Conv2D / FusedConv2D (bias, relu or linear; NHWC) on Kiln's igemm; anything else (other
 * activations, prelu weights, NCHW) goes to `original`.
 */
export function conv2dForwardKernel(original: tf.KernelConfig['kernelFunc']): tf.KernelConfig['kernelFunc'] {
  return (args: KernelArgs) => {
    const attrs = args.attrs as unknown as ForwardAttrs;
    const x = args.inputs.x as tf.TensorInfo;
    const filter = args.inputs.filter as tf.TensorInfo;
    const bias = args.inputs.bias as tf.TensorInfo | undefined;
    const activation = attrs.activation ?? 'linear';
    if (isChannelsFirst(attrs.dataFormat) || (activation !== 'linear' && activation !== 'relu') || args.inputs.preluActivationWeights !== undefined) return original(args);
    const [, , , cout] = filter.shape;
    if (bias !== undefined && (bias.shape.length !== 1 || bias.shape[0] !== cout || bias.dtype !== 'float32')) return original(args);
    const backend = args.backend as unknown as WasmBackendInternals;
    const ex = kilnWasm(backend);
    if (ex === undefined || KILN_FORWARD_CONV.use === 'never') return original(args);
    const g = convGeometry(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, false);
    // Measured: Kiln's igemm is 1.2–2x XNNPACK's on strided convs and level with it at stride 1,
    // where tfjs-wasm's XNNPACK path stays; a 3-channel stem is faster in XNNPACK.
    const strided = g.strideHeight > 1 || g.strideWidth > 1;
    if (KILN_FORWARD_CONV.use === 'strided' && (!strided || g.inChannels < 8)) return original(args);
    return convForwardNHWC(backend, ex, x, filter, bias, activation === 'relu', g, cout, 'forward', [g.batch, g.outHeight, g.outWidth, cout]);
  };
}

/**
 * Which forward convs (Conv2D, FusedConv2D with bias/relu) run on Kiln's igemm: 'strided' (the
 * default: stride > 1 and ≥ 8 input channels), 'always', or 'never' (all on tfjs-wasm's XNNPACK).
 */
export const KILN_FORWARD_CONV: { use: 'strided' | 'always' | 'never' } = { use: 'strided' };

/** Switch for benchmarks: stride-1 input gradients as a flipped forward conv (true) or dy·wᵀ + col2im (false). */
export const KILN_INPUT_GRAD = { viaFlippedConv: true };

/**
 * Which BatchMatMul / _FusedMatMul calls run on Kiln's packed GEMM: 'always' (the default:
 * measured at or above tfjs-wasm's XNNPACK path on every training shape tried, 7–70x on batched
 * attention matmuls, ~2x on transposed ones), 'batched' (only batch > 1 or a transposed operand),
 * or 'never'.
 */
export const KILN_MATMUL: { use: 'batched' | 'always' | 'never' } = { use: 'always' };

/**
 * BatchMatMul, and _FusedMatMul with an optional [n] bias and linear/relu activation (dense
 * layers), on Kiln's packed GEMM: float32, equal or broadcast batch, transposes read in the
 * packing. `original` for the rest.
 */
export function batchMatMulKernel(original: tf.KernelConfig['kernelFunc']): tf.KernelConfig['kernelFunc'] {
  return (args: KernelArgs) => {
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    const bias = args.inputs.bias as tf.TensorInfo | undefined;
    const { transposeA = false, transposeB = false, activation = 'linear' } = args.attrs as unknown as { transposeA?: boolean; transposeB?: boolean; activation?: string };
    if (KILN_MATMUL.use === 'never' || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return original(args);
    if ((activation !== 'linear' && activation !== 'relu') || args.inputs.preluActivationWeights !== undefined) return original(args);
    const ra = a.shape.length;
    const rb = b.shape.length;
    const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
    const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
    const k2 = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
    const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    if (k !== k2 || m * n * k === 0) return original(args);
    if (bias !== undefined && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== n)) return original(args);
    const size = (dims: number[]) => dims.reduce((p, q) => p * q, 1);
    let outBatch: number[];
    try {
      outBatch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    } catch {
      return original(args);
    }
    const batch = size(outBatch);
    const aCount = size(a.shape.slice(0, -2));
    const bCount = size(b.shape.slice(0, -2));
    if ((aCount !== batch && aCount !== 1) || (bCount !== batch && bCount !== 1)) return original(args);
    if (KILN_MATMUL.use === 'batched' && batch === 1 && !transposeA && !transposeB) return original(args);
    const backend = args.backend as unknown as WasmBackendInternals;
    const ex = kilnWasm(backend);
    if (ex === undefined) return original(args);
    const out = backend.makeOutput([...outBatch, m, n], 'float32');
    withScratch(backend, ex.matMulScratchBytes(m, k, n), (scratch) => {
      ex.batchMatMul(
        offset(backend, a), offset(backend, b), offset(backend, out), scratch, batch, m, k, n,
        aCount === 1 ? 0 : m * k, transposeA ? 1 : k, transposeA ? m : 1,
        bCount === 1 ? 0 : k * n, transposeB ? 1 : n, transposeB ? k : 1,
      );
    });
    if (bias !== undefined || activation === 'relu') {
      ex.biasActivation(offset(backend, out), bias === undefined ? 0 : offset(backend, bias), batch * m, n, activation === 'relu' ? 1 : 0);
    }
    return out;
  };
}

/**
 * Transpose (float32/int32) whose permutation keeps the innermost axis, with rows of ≥ 4
 * elements: whole rows copied by Kiln's kernel (multi-head attention's reshapes and their
 * gradients). Everything else goes to `original`.
 */
export function transposeKernel(original: tf.KernelConfig['kernelFunc']): tf.KernelConfig['kernelFunc'] {
  return (args: KernelArgs) => {
    const x = args.inputs.x as tf.TensorInfo;
    const perm = (args.attrs as unknown as { perm: number[] }).perm;
    const rank = x.shape.length;
    if (rank < 2 || perm[rank - 1] !== rank - 1 || (x.dtype !== 'float32' && x.dtype !== 'int32') || x.shape[rank - 1] < 4) return original(args);
    const backend = args.backend as unknown as WasmBackendInternals;
    const ex = kilnWasm(backend);
    if (ex === undefined) return original(args);
    const outShape = perm.map((p) => x.shape[p]);
    if (outShape.some((d) => d === 0)) return original(args);
    const inStrides = new Array<number>(rank).fill(1);
    for (let d = rank - 2; d >= 0; d--) inStrides[d] = inStrides[d + 1] * x.shape[d + 1];
    const outer = rank - 1;
    const out = backend.makeOutput(outShape, x.dtype as 'float32');
    withScratch(backend, outer * 12 + 16, (meta) => {
      const view = new Int32Array((backend.wasm.asm?.memory ?? backend.wasm.wasmMemory)!.buffer, meta, outer * 2);
      for (let d = 0; d < outer; d++) {
        view[d] = outShape[d];
        view[outer + d] = inStrides[perm[d]];
      }
      ex.transposeKeepInner(offset(backend, x), offset(backend, out), meta, outer, x.shape[rank - 1]);
    });
    return out;
  };
}
