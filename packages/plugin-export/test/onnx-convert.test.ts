/** @jest-environment ./packages/plugin-export/test/ort-environment.js */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { KilnError } from '@kiln/core';
import { convertToOnnx } from '../src/onnx/convert';
import { sampleInputs, verifyOnnx } from '../src/onnx/verify';
import { onnx } from 'onnx-proto';
import { ResNetBackbone } from '@kiln/plugin-resnet';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Randomizes every weight (BN statistics included) so the comparison exercises them. */
function randomize(model: tfl.LayersModel, seed: number): void {
  model.setWeights(model.weights.map((w, i) => {
    const name = w.originalName;
    if (name.endsWith('moving_variance')) return tf.randomUniform(w.shape as number[], 0.5, 2, 'float32', seed + i);
    return tf.randomNormal(w.shape as number[], 0, 0.5, 'float32', seed + i);
  }));
}

async function ortRun(model: tfl.LayersModel, batch: number): Promise<{ got: Float32Array; expected: Float32Array }> {
  const conv = convertToOnnx(model);
  const session = await ort.InferenceSession.create(conv.bytes);
  const inputs = sampleInputs(model, batch, 3);
  const feeds: Record<string, ort.Tensor> = {};
  inputs.forEach((x, i) => (feeds[conv.inputNames[i]] = new ort.Tensor(x.dtype, x.data, x.shape)));
  const got = (await session.run(feeds))[conv.outputName].data as Float32Array;
  await session.release();
  const expected = tf.tidy(() => {
    const xs = inputs.map((x) => tf.tensor(x.data, x.shape, x.dtype));
    return (model.predict(xs.length === 1 ? xs[0] : xs) as tf.Tensor).dataSync().slice() as Float32Array;
  });
  return { got, expected };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('ONNX conversion matches tfjs-layers in ONNX Runtime', () => {
  test('conv (same/valid, stride, dilation) + batch norm + pools + dense + softmax', async () => {
    const input = tfl.input({ shape: [9, 11, 3] });
    let x = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', strides: 2 }).apply(input) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization().apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.reLU().apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.conv2d({ filters: 5, kernelSize: [2, 3], padding: 'valid', dilationRate: 2, activation: 'elu' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.zeroPadding2d({ padding: [[1, 0], [0, 1]] }).apply(x) as tfl.SymbolicTensor;
    const a = tfl.layers.maxPooling2d({ poolSize: 2, padding: 'same' }).apply(x) as tfl.SymbolicTensor;
    const b = tfl.layers.averagePooling2d({ poolSize: 2, padding: 'same' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.concatenate().apply([a, b]) as tfl.SymbolicTensor;
    x = tfl.layers.depthwiseConv2d({ kernelSize: 2, depthMultiplier: 2, padding: 'same' }).apply(x) as tfl.SymbolicTensor;
    const flat = tfl.layers.flatten().apply(x) as tfl.SymbolicTensor;
    const gap = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor;
    const head = tfl.layers.dense({ units: 3, activation: 'swish' }).apply(flat) as tfl.SymbolicTensor;
    const head2 = tfl.layers.dense({ units: 3 }).apply(gap) as tfl.SymbolicTensor;
    let out = tfl.layers.add().apply([head, head2]) as tfl.SymbolicTensor;
    out = tfl.layers.dropout({ rate: 0.5 }).apply(out) as tfl.SymbolicTensor;
    out = tfl.layers.softmax().apply(out) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    randomize(model, 1);
    const { got, expected } = await ortRun(model, 4);
    expect(maxDiff(got, expected)).toBeLessThan(1e-4);
    // Probabilities: each row sums to 1 (softmax really ran).
    for (let r = 0; r < 4; r++) expect(got[r * 3] + got[r * 3 + 1] + got[r * 3 + 2]).toBeCloseTo(1, 5);
    model.dispose();
  });

  test('residual block: conv-bn-relu twice with an identity shortcut, global max pool', async () => {
    const input = tfl.input({ shape: [8, 8, 4] });
    let x = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(input) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization().apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.activation({ activation: 'relu' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization().apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.add().apply([x, input]) as tfl.SymbolicTensor;
    x = tfl.layers.activation({ activation: 'relu' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.globalMaxPooling2d({}).apply(x) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 2 }).apply(x) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    randomize(model, 2);
    const { got, expected } = await ortRun(model, 3);
    expect(maxDiff(got, expected)).toBeLessThan(1e-4);
    model.dispose();
  });

  test('embedding → layer norm → dense gelu → mean pool → dense (int32 input)', async () => {
    const input = tfl.input({ shape: [6], dtype: 'int32' });
    let x = tfl.layers.embedding({ inputDim: 10, outputDim: 8 }).apply(input) as tfl.SymbolicTensor;
    x = tfl.layers.layerNormalization({ epsilon: 1e-5 }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.dense({ units: 8, activation: 'gelu' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization().apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.globalAveragePooling1d({}).apply(x) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 3, activation: 'tanh' }).apply(x) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    randomize(model, 3);
    const { got, expected } = await ortRun(model, 5);
    expect(maxDiff(got, expected)).toBeLessThan(1e-4);
    model.dispose();
  });

  test('verification fails loudly when the graph computes something else', async () => {
    const input = tfl.input({ shape: [4] });
    const out = tfl.layers.dense({ units: 2 }).apply(input) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    const other = tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 2 }).apply(input) as tfl.SymbolicTensor });
    randomize(model, 4);
    randomize(other, 5);
    const conv = convertToOnnx(other);
    const err = await verifyOnnx(model, conv.bytes, conv.inputNames, conv.outputName, { tolerance: 1e-4, batchSizes: [2] }).catch((e: unknown) => e);
    expect(KilnError.is(err)).toBe(true);
    expect((err as Error).message).toMatch(/does not match/);
    model.dispose();
    other.dispose();
  });

  test('an unsupported layer names the layer and its class', () => {
    const input = tfl.input({ shape: [5, 3] });
    const out = tfl.layers.lstm({ units: 2 }).apply(input) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    expect(() => convertToOnnx(model)).toThrow(/LSTM/);
    model.dispose();
  });
});

describe('ResNet-18 from plugin-resnet', () => {
  test.each([
    ['cifar', [8, 8, 3]],
    ['imagenet', [32, 32, 3]],
  ] as const)('%s stem (width ×0.125) converts, and ONNX Runtime matches it within 1e-4', async (stem, shape) => {
    const lm = new ResNetBackbone({ depth: 18, stem, widthMultiplier: 0.125, zeroInitResidual: false }, { inputShape: [...shape], seed: 2 }).classifier(10, { seed: 2 });
    try {
      // He-initialized convs as built; BN statistics and affine made non-trivial (random std-0.5 convs would blow activations up to 1e6).
      lm.setWeights(lm.weights.map((w, i) => {
        const n = w.originalName;
        const s = w.shape as number[];
        if (n.endsWith('moving_variance')) return tf.randomUniform(s, 0.5, 2, 'float32', i);
        if (n.endsWith('moving_mean') || n.endsWith('beta')) return tf.randomNormal(s, 0, 0.1, 'float32', i);
        if (n.endsWith('gamma')) return tf.randomUniform(s, 0.5, 1.5, 'float32', i);
        return w.read();
      }));
      const conv = convertToOnnx(lm);
      const graph = onnx.ModelProto.decode(conv.bytes).graph!;
      const count = (op: string) => graph.node!.filter((n) => n.opType === op).length;
      // Stem conv + 8 basic blocks × 2 convs + 3 projection shortcuts (stages 2-4) = 20 convs, 8 residual adds.
      expect(count('Conv')).toBe(20);
      expect(count('Sum') + count('Add')).toBeGreaterThanOrEqual(8);
      const report = await verifyOnnx(lm, conv.bytes, conv.inputNames, conv.outputName, { tolerance: 1e-4, batchSizes: [1, 3] });
      expect(report.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    } finally {
      lm.dispose();
    }
  });
});
