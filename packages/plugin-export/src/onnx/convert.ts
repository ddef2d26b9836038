import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { TrainingError } from '@kiln/core';
import { encodeModel, GraphBuilder, INT32, valueInfo } from './graph-builder';
import { onnx } from 'onnx-proto';

/** `nchw`: a 4-D tensor transposed for ONNX conv ops; `last`: the tfjs layout (channels last). */
type Layout = 'nchw' | 'last';
interface Value {
  name: string;
  layout: Layout;
  rank: number;
}

interface LayerLike {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  weights: { originalName: string; read(): tf.Tensor }[];
  inboundNodes: { inboundLayers: LayerLike[]; nodeIndices: number[]; tensorIndices: number[] }[];
  input: { shape: (number | null)[] } | { shape: (number | null)[] }[];
  outputShape: (number | null)[] | (number | null)[][];
}

export interface OnnxConversion {
  bytes: Uint8Array;
  inputNames: string[];
  outputName: string;
  opset: number;
}

export const ONNX_OPSET = 17;

const IDENTITY_LAYERS = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ActivityRegularization', 'Masking']);

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

function weightsOf(layer: LayerLike): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const w of layer.weights) out.set(w.originalName.split('/').pop()!, w.read());
  return out;
}

function pair(v: unknown, fallback: number): [number, number] {
  if (v === undefined || v === null) return [fallback, fallback];
  if (Array.isArray(v)) return [v[0] as number, (v[1] ?? v[0]) as number];
  return [v as number, v as number];
}

/** Explicit pads of TF 'same' padding (extra pixel at the end) for one spatial axis. */
function samePads(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + effective - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function inputShape(layer: LayerLike): (number | null)[] {
  const input = layer.input;
  return Array.isArray(input) ? input[0].shape : input.shape;
}

function outputRank(layer: LayerLike): number {
  const s = layer.outputShape;
  return Array.isArray(s[0]) ? (s[0] as (number | null)[]).length : (s as (number | null)[]).length;
}

function unsupported(layer: LayerLike, why: string): TrainingError {
  return new TrainingError(`cannot convert layer ${layer.name} (${layer.getClassName()}) to ONNX: ${why}`, {
    hint: 'export with --format tfjs, or extend the ONNX converter of @kiln/plugin-export for this layer',
  });
}

class Converter {
  readonly g = new GraphBuilder();
  private readonly values = new Map<string, Value>();

  toLayout(v: Value, layout: Layout): Value {
    if (v.rank !== 4 || v.layout === layout) return v;
    const cached = this.values.get(`${v.name}@${layout}`);
    if (cached) return cached;
    const name = this.g.op('Transpose', [v.name], { perm: layout === 'nchw' ? TO_NCHW : TO_NHWC }, this.g.unique(`${v.name}_${layout}`));
    const out = { name, layout, rank: 4 };
    this.values.set(`${v.name}@${layout}`, out);
    return out;
  }

  activation(x: Value, name: string, base: string): Value {
    const g = this.g;
    const same = (n: string): Value => ({ ...x, name: n });
    switch (name) {
      case 'linear':
        return x;
      case 'relu':
        return same(g.op('Relu', [x.name]));
      case 'relu6':
        return same(g.op('Clip', [x.name, g.scalar(`${base}_zero`, 0), g.scalar(`${base}_six`, 6)]));
      case 'sigmoid':
        return same(g.op('Sigmoid', [x.name]));
      case 'hardSigmoid':
      case 'hard_sigmoid':
        return same(g.op('HardSigmoid', [x.name], { alpha: { float: 0.2 }, beta: { float: 0.5 } }));
      case 'tanh':
        return same(g.op('Tanh', [x.name]));
      case 'elu':
        return same(g.op('Elu', [x.name], { alpha: { float: 1 } }));
      case 'selu':
        return same(g.op('Selu', [x.name], { alpha: { float: 1.6732632423543772 }, gamma: { float: 1.0507009873554805 } }));
      case 'softplus':
        return same(g.op('Softplus', [x.name]));
      case 'softsign':
        return same(g.op('Softsign', [x.name]));
      case 'swish':
        return same(g.op('Mul', [x.name, g.op('Sigmoid', [x.name])]));
      case 'mish':
        return same(g.op('Mul', [x.name, g.op('Tanh', [g.op('Softplus', [x.name])])]));
      case 'gelu': {
        // tfjs-layers' gelu is the exact one: x · ½(1 + erf(x / √2)).
        const erf = g.op('Erf', [g.op('Div', [x.name, g.scalar(`${base}_sqrt2`, Math.SQRT2)])]);
        const cdf = g.op('Mul', [g.op('Add', [erf, g.scalar(`${base}_one`, 1)]), g.scalar(`${base}_half`, 0.5)]);
        return same(g.op('Mul', [x.name, cdf]));
      }
      case 'gelu_new': {
        const cube = g.op('Mul', [g.op('Mul', [x.name, x.name]), x.name]);
        const inner = g.op('Mul', [g.op('Add', [x.name, g.op('Mul', [cube, g.scalar(`${base}_c`, 0.044715)])]), g.scalar(`${base}_k`, Math.sqrt(2 / Math.PI))]);
        const t = g.op('Add', [g.op('Tanh', [inner]), g.scalar(`${base}_one`, 1)]);
        return same(g.op('Mul', [g.op('Mul', [x.name, t]), g.scalar(`${base}_half`, 0.5)]));
      }
      case 'softmax': {
        const last = this.toLayout(x, 'last');
        return { ...last, name: g.op('Softmax', [last.name], { axis: -1 }) };
      }
      default:
        throw new TrainingError(`activation "${name}" has no ONNX conversion`, { hint: 'use relu, gelu, sigmoid, tanh, elu, selu, swish, mish, softplus or softmax' });
    }
  }

  inputsOf(layer: LayerLike): Value[] {
    if (layer.inboundNodes.length !== 1) throw unsupported(layer, 'layers applied more than once (shared layers) are not supported');
    const node = layer.inboundNodes[0];
    return node.inboundLayers.map((l, i) => {
      if (node.tensorIndices[i] !== 0) throw unsupported(layer, 'multi-output inbound layers are not supported');
      const v = this.values.get(l.name);
      if (!v) throw unsupported(layer, `its input ${l.name} was not converted`);
      return v;
    });
  }

  convertLayer(layer: LayerLike): Value {
    const g = this.g;
    const cls = layer.getClassName();
    const cfg = layer.getConfig();
    const base = layer.name;
    const [x0] = this.inputsOf(layer);
    const w = weightsOf(layer);
    const rank = outputRank(layer);
    const tensorData = (t: tf.Tensor) => t.dataSync() as Float32Array;
    if (IDENTITY_LAYERS.has(cls)) return x0;
    switch (cls) {
      case 'Dense': {
        const x = this.toLayout(x0, 'last');
        const kernel = w.get('kernel')!;
        const k = g.floatConst(`${base}/kernel`, kernel.shape, tensorData(kernel));
        const bias = w.get('bias');
        let y: string;
        if (x.rank === 2) {
          y = g.op('Gemm', bias ? [x.name, k, g.floatConst(`${base}/bias`, bias.shape, tensorData(bias))] : [x.name, k]);
        } else {
          y = g.op('MatMul', [x.name, k]);
          if (bias) y = g.op('Add', [y, g.floatConst(`${base}/bias`, bias.shape, tensorData(bias))]);
        }
        return this.activation({ name: y, layout: 'last', rank }, (cfg.activation as string) ?? 'linear', base);
      }
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        if (cfg.dataFormat && cfg.dataFormat !== 'channelsLast') throw unsupported(layer, 'only channelsLast is supported');
        const x = this.toLayout(x0, 'nchw');
        const shape = inputShape(layer);
        const depthwise = cls === 'DepthwiseConv2D';
        const kernel = w.get(depthwise ? 'depthwise_kernel' : 'kernel')!;
        const [kh, kw, cin, cout] = kernel.shape;
        const strides = pair(cfg.strides, 1);
        const dilations = pair(cfg.dilationRate, 1);
        let pads = [0, 0, 0, 0];
        if (cfg.padding === 'same') {
          const [t, b] = samePads(shape[1]!, kh, strides[0], dilations[0]);
          const [l, r] = samePads(shape[2]!, kw, strides[1], dilations[1]);
          pads = [t, l, b, r];
        } else if (cfg.padding !== 'valid') {
          throw unsupported(layer, `padding "${String(cfg.padding)}"`);
        }
        // [kh, kw, in, out] → [out, in, kh, kw]; depthwise [kh, kw, in, mult] → [in·mult, 1, kh, kw].
        const weight = tf.tidy(() => (depthwise ? tf.transpose(kernel, [2, 3, 0, 1]).reshape([cin * cout, 1, kh, kw]) : tf.transpose(kernel, [3, 2, 0, 1])));
        const wName = g.floatConst(`${base}/kernel`, weight.shape, tensorData(weight));
        weight.dispose();
        const bias = w.get('bias');
        const inputs = bias ? [x.name, wName, g.floatConst(`${base}/bias`, bias.shape, tensorData(bias))] : [x.name, wName];
        const y = g.op('Conv', inputs, { kernel_shape: [kh, kw], strides, dilations, pads, group: depthwise ? cin : 1 });
        return this.activation({ name: y, layout: 'nchw', rank: 4 }, (cfg.activation as string) ?? 'linear', base);
      }
      case 'BatchNormalization': {
        const axis = (cfg.axis as number) ?? -1;
        if (axis !== -1 && axis !== x0.rank - 1) throw unsupported(layer, `axis ${axis} (only the channel axis, -1)`);
        const eps = (cfg.epsilon as number) ?? 1e-3;
        const mean = tensorData(w.get('moving_mean')!);
        const variance = tensorData(w.get('moving_variance')!);
        const c = mean.length;
        const gamma = w.get('gamma') ? tensorData(w.get('gamma')!) : new Float32Array(c).fill(1);
        const beta = w.get('beta') ? tensorData(w.get('beta')!) : new Float32Array(c);
        if (x0.rank === 4 || x0.rank === 2) {
          const x = this.toLayout(x0, 'nchw');
          const y = g.op('BatchNormalization', [x.name, g.floatConst(`${base}/gamma`, [c], gamma), g.floatConst(`${base}/beta`, [c], beta), g.floatConst(`${base}/moving_mean`, [c], mean), g.floatConst(`${base}/moving_variance`, [c], variance)], { epsilon: { float: eps } });
          return { name: y, layout: x.layout, rank: x.rank };
        }
        const scale = Array.from(gamma, (gm, i) => gm / Math.sqrt(variance[i] + eps));
        const shift = Array.from(beta, (b, i) => b - mean[i] * scale[i]);
        const x = this.toLayout(x0, 'last');
        const y = g.op('Add', [g.op('Mul', [x.name, g.floatConst(`${base}/scale`, [c], scale)]), g.floatConst(`${base}/shift`, [c], shift)]);
        return { name: y, layout: 'last', rank };
      }
      case 'LayerNormalization': {
        const axis = cfg.axis as number | number[];
        const axes = Array.isArray(axis) ? axis : [axis];
        if (axes.length !== 1 || (axes[0] !== -1 && axes[0] !== x0.rank - 1)) throw unsupported(layer, 'only normalization over the last axis is supported');
        const x = this.toLayout(x0, 'last');
        const c = inputShape(layer)[x0.rank - 1]!;
        const gamma = w.get('gamma') ? tensorData(w.get('gamma')!) : new Float32Array(c).fill(1);
        const beta = w.get('beta') ? tensorData(w.get('beta')!) : new Float32Array(c);
        const y = g.op('LayerNormalization', [x.name, g.floatConst(`${base}/gamma`, [c], gamma), g.floatConst(`${base}/beta`, [c], beta)], { axis: -1, epsilon: { float: (cfg.epsilon as number) ?? 1e-3 } });
        return { name: y, layout: 'last', rank };
      }
      case 'Activation':
        return this.activation(x0, cfg.activation as string, base);
      case 'ReLU': {
        const max = cfg.maxValue as number | null | undefined;
        if (max === null || max === undefined) return { ...x0, name: g.op('Relu', [x0.name]) };
        return { ...x0, name: g.op('Clip', [x0.name, g.scalar(`${base}_zero`, 0), g.scalar(`${base}_max`, max)]) };
      }
      case 'LeakyReLU':
        return { ...x0, name: g.op('LeakyRelu', [x0.name], { alpha: { float: (cfg.alpha as number) ?? 0.3 } }) };
      case 'ELU':
        return { ...x0, name: g.op('Elu', [x0.name], { alpha: { float: (cfg.alpha as number) ?? 1 } }) };
      case 'Softmax': {
        const axis = (cfg.axis as number) ?? -1;
        if (axis !== -1 && axis !== x0.rank - 1) throw unsupported(layer, 'softmax over an axis other than the last');
        return this.activation(x0, 'softmax', base);
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        if (cfg.dataFormat && cfg.dataFormat !== 'channelsLast') throw unsupported(layer, 'only channelsLast is supported');
        const x = this.toLayout(x0, 'nchw');
        const shape = inputShape(layer);
        const kernel = pair(cfg.poolSize, 2);
        const strides = cfg.strides ? pair(cfg.strides, kernel[0]) : kernel;
        let pads = [0, 0, 0, 0];
        if (cfg.padding === 'same') {
          const [t, b] = samePads(shape[1]!, kernel[0], strides[0], 1);
          const [l, r] = samePads(shape[2]!, kernel[1], strides[1], 1);
          pads = [t, l, b, r];
        }
        const y = g.op(cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [x.name], { kernel_shape: kernel, strides, pads });
        return { name: y, layout: 'nchw', rank: 4 };
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        const x = this.toLayout(x0, 'nchw');
        const pooled = g.op(cls === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x.name]);
        return { name: g.op('Flatten', [pooled], { axis: 1 }), layout: 'last', rank: 2 };
      }
      case 'GlobalAveragePooling1D':
      case 'GlobalMaxPooling1D':
        return { name: g.op(cls === 'GlobalAveragePooling1D' ? 'ReduceMean' : 'ReduceMax', [x0.name], { axes: [1], keepdims: 0 }), layout: 'last', rank: 2 };
      case 'Flatten': {
        const x = this.toLayout(x0, 'last');
        return { name: g.op('Flatten', [x.name], { axis: 1 }), layout: 'last', rank: 2 };
      }
      case 'Reshape': {
        const x = this.toLayout(x0, 'last');
        const target = cfg.targetShape as number[];
        return { name: g.op('Reshape', [x.name, g.int64Const(`${base}/shape`, [0, ...target])]), layout: 'last', rank };
      }
      case 'ZeroPadding2D': {
        const x = this.toLayout(x0, 'nchw');
        const p = cfg.padding as [[number, number], [number, number]];
        return { name: g.op('Pad', [x.name, g.int64Const(`${base}/pads`, [0, 0, p[0][0], p[1][0], 0, 0, p[0][1], p[1][1]])]), layout: 'nchw', rank: 4 };
      }
      case 'Embedding': {
        const emb = w.get('embeddings')!;
        const ids = g.op('Cast', [x0.name], { to: onnx.TensorProto.DataType.INT64 });
        return { name: g.op('Gather', [g.floatConst(`${base}/embeddings`, emb.shape, tensorData(emb)), ids], { axis: 0 }), layout: 'last', rank };
      }
      case 'Add':
      case 'Subtract':
      case 'Multiply':
      case 'Average':
      case 'Maximum':
      case 'Minimum':
      case 'Concatenate': {
        const all = this.inputsOf(layer);
        const layout: Layout = all.every((v) => v.rank === 4) && all.some((v) => v.layout === 'nchw') ? 'nchw' : 'last';
        const xs = all.map((v) => this.toLayout(v, layout));
        const names = xs.map((v) => v.name);
        if (cls === 'Concatenate') {
          let axis = (cfg.axis as number) ?? -1;
          if (axis < 0) axis += rank;
          if (layout === 'nchw') axis = [0, 2, 3, 1][axis];
          return { name: g.op('Concat', names, { axis }), layout, rank };
        }
        const op = { Add: 'Sum', Subtract: 'Sub', Multiply: 'Mul', Average: 'Mean', Maximum: 'Max', Minimum: 'Min' }[cls]!;
        if (op === 'Sub' && names.length !== 2) throw unsupported(layer, 'Subtract needs exactly two inputs');
        return { name: g.op(op, names), layout, rank };
      }
      default:
        throw unsupported(layer, 'no converter for this layer type');
    }
  }

  convert(model: LayersModel, inputNames: string[], opset: number, producerVersion: string): OnnxConversion {
    const layers = model.layers as unknown as LayerLike[];
    const inputLayers = (model as unknown as { inputLayers: LayerLike[] }).inputLayers;
    const graphInputs = inputLayers.map((layer, i) => {
      const name = inputNames[i] ?? layer.name;
      this.g.reserve(name);
      const symbolic = model.inputs[i];
      this.values.set(layer.name, { name, layout: 'last', rank: symbolic.shape.length });
      return valueInfo(name, symbolic.dtype === 'int32' ? INT32 : onnx.TensorProto.DataType.FLOAT, symbolic.shape);
    });
    for (const layer of layers) {
      if (layer.getClassName() === 'InputLayer') continue;
      if (this.values.has(layer.name)) continue;
      const v = this.convertLayer(layer);
      this.values.set(layer.name, v);
    }
    if (model.outputs.length !== 1) throw new TrainingError(`model has ${model.outputs.length} outputs; the ONNX exporter handles one`);
    const outLayer = (model as unknown as { outputLayers: LayerLike[] }).outputLayers[0];
    const last = this.toLayout(this.values.get(outLayer.name)!, 'last');
    const outputName = 'output';
    this.g.op('Identity', [last.name], {}, outputName);
    const outputs = [valueInfo(outputName, onnx.TensorProto.DataType.FLOAT, model.outputs[0].shape)];
    const bytes = encodeModel(this.g, graphInputs, outputs, opset, model.name, producerVersion);
    return { bytes, inputNames: graphInputs.map((v) => v.name!), outputName, opset };
  }
}

/** Converts a tfjs LayersModel (functional, channels-last) to an ONNX model with a dynamic batch axis. */
export function convertToOnnx(model: LayersModel, options: { inputNames?: string[]; opset?: number; producerVersion?: string } = {}): OnnxConversion {
  return new Converter().convert(model, options.inputNames ?? [], options.opset ?? ONNX_OPSET, options.producerVersion ?? '0');
}
