import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CpuBackend } from '@kiln/plugin-backend-wasm';
import { NativeBackend } from '@kiln/plugin-backend-native';
import { uniformArray } from '@kiln/core';
import { FusedBatchNormalization } from '../src/fused-batch-norm-layer';

/** Deterministic values in [-1, 1). */
const values = (size: number, seed: number): Float32Array => uniformArray(size, seed, -1, 1);

function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

const ARGS = { axis: -1, momentum: 0.9, epsilon: 1e-5, gammaInitializer: 'ones' as const };

/** The stock layer and the fused one, built on the same shape with the same (non-trivial) weights. */
function pair(shape: number[]): [tfl.layers.Layer, tfl.layers.Layer] {
  const stock = tfl.layers.batchNormalization({ ...ARGS, name: 'stock' });
  const fused = new FusedBatchNormalization({ ...ARGS, name: 'fused' });
  const c = shape[shape.length - 1];
  const weights = tf.tidy(() => [tf.tensor1d(values(c, 1)).add(1.5), tf.tensor1d(values(c, 2)), tf.tensor1d(values(c, 3)), tf.tensor1d(values(c, 4)).abs().add(0.5)]);
  for (const layer of [stock, fused]) {
    layer.build(shape);
    layer.setWeights(weights);
  }
  tf.dispose(weights);
  return [stock, fused];
}

/** Frees the layers' weights (layers built without a model cannot be disposed as layers). */
function release(...layers: tfl.layers.Layer[]): void {
  for (const layer of layers) for (const w of layer.weights) w.dispose();
}

let backends = ['cpu'];

beforeAll(async () => {
  await new CpuBackend().activate();
  const native = new NativeBackend();
  if ((await native.availability()).ok) {
    await native.activate();
    backends = ['cpu', 'kiln-native'];
  }
});

describe('FusedBatchNormalization', () => {
  test('keeps the stock layer\'s className, config and weight names', () => {
    const [stock, fused] = pair([2, 4, 4, 6]);
    expect(fused.getClassName()).toBe('BatchNormalization');
    expect({ ...fused.getConfig(), name: 'x' }).toEqual({ ...stock.getConfig(), name: 'x' });
    expect(fused.weights.map((w) => w.originalName)).toEqual(stock.weights.map((w) => w.originalName));
    expect(fused.weights.map((w) => w.originalName)).toEqual(['gamma', 'beta', 'moving_mean', 'moving_variance']);
    release(stock, fused);
  });

  test.each([[[4, 5, 5, 6]], [[1, 3, 7, 5]], [[9, 4]]])('matches the stock layer on every backend (shape %j): outputs, input and weight gradients, moving statistics after steps, inference', (shape) => {
    for (const backend of backends) {
      tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const [stock, fused] = pair(shape);
      for (let step = 0; step < 3; step++) {
        const initial = tf.tidy(() => tf.tensor(values(shape.reduce((p, q) => p * q, 1), 10 + step), shape).mul(2).add(step));
        const x = tf.variable(initial);
        initial.dispose();
        const w = tf.tensor(values(x.size, 20 + step), shape);
        const run = (layer: tfl.layers.Layer) => {
          const vars = [x, ...layer.trainableWeights.map((v) => v.read() as tf.Variable)];
          let y: Float32Array = new Float32Array();
          const { value, grads } = tf.variableGrads(() => {
            const out = layer.apply(x, { training: true }) as tf.Tensor;
            y = out.dataSync() as Float32Array;
            return tf.sum(tf.mul(out, w)) as tf.Scalar;
          }, vars);
          const result = [y, ...vars.map((v) => grads[v.name].dataSync() as Float32Array)];
          tf.dispose([value, ...Object.values(grads)]);
          return result;
        };
        const expected = run(stock);
        const actual = run(fused);
        expected.forEach((e, i) => expect(maxRelativeError(actual[i], e)).toBeLessThan(1e-4));
        tf.dispose([x, w]);
      }
      // Moving mean and variance after three steps (tfjs-layers' momentum convention and biased variance).
      const moving = (layer: tfl.layers.Layer) => layer.getWeights().slice(2).map((t) => t.dataSync());
      moving(fused).forEach((m, i) => expect(maxRelativeError(m, moving(stock)[i])).toBeLessThan(1e-4));
      // The moving statistics did move (momentum 0.9 from the initial values).
      expect(maxRelativeError(moving(fused)[0], values(shape[shape.length - 1], 3))).toBeGreaterThan(1e-3);
      // Inference uses the moving statistics exactly as the stock layer.
      const x = tf.tensor(values(shape.reduce((p, q) => p * q, 1), 30), shape);
      const [a, b] = [fused, stock].map((layer) => layer.apply(x, { training: false }) as tf.Tensor);
      expect(maxRelativeError(a.dataSync(), b.dataSync())).toBeLessThan(1e-5);
      tf.dispose([x, a, b]);
      release(stock, fused);
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});
