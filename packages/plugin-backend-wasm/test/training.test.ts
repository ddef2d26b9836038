import * as tfl from '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { WasmBackend } from '../src/wasm-backend';
import { explainMissingKernel } from '../src/missing-kernel';
import { randomValues } from './helpers';
import { KilnError } from '@kiln/core';

function trainSteps(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, loss: (yt: tf.Tensor, yp: tf.Tensor) => tf.Scalar, steps: number): { losses: number[]; tensorsAt: number[] } {
  const optimizer = tf.train.sgd(0.05);
  const losses: number[] = [];
  const tensorsAt: number[] = [];
  for (let step = 1; step <= steps; step++) {
    const cost = optimizer.minimize(() => loss(y, model.apply(x, { training: true }) as tf.Tensor), true) as tf.Scalar;
    losses.push(cost.dataSync()[0]);
    cost.dispose();
    tensorsAt.push(tf.memory().numTensors);
  }
  optimizer.dispose();
  return { losses, tensorsAt };
}

describe('training on wasm', () => {
  beforeAll(async () => {
    await new WasmBackend().activate();
    expect(tf.getBackend()).toBe('wasm');
  });

  it('a tiny CNN (conv + batch norm + pool + dense) trains with no missing kernel and no tensor growth', () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [8, 8, 2], filters: 4, kernelSize: 3, padding: 'same', strides: 1 }),
        tfl.layers.batchNormalization(),
        tfl.layers.activation({ activation: 'relu' }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }),
        tfl.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'valid' }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 3 }),
      ],
    });
    const x = tf.tensor4d(randomValues(6 * 8 * 8 * 2, 11), [6, 8, 8, 2]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3);
    const { losses, tensorsAt } = trainSteps(model, x, y, (yt, yp) => tf.losses.softmaxCrossEntropy(yt, yp) as tf.Scalar, 20);
    expect(tensorsAt[19]).toBe(tensorsAt[1]);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[19]).toBeLessThan(losses[0]);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('a tiny embedding + layer norm + dense model trains with no missing kernel and no tensor growth', () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.embedding({ inputDim: 20, outputDim: 8, inputLength: 5 }),
        tfl.layers.layerNormalization(),
        tfl.layers.dense({ units: 8, activation: 'relu' }),
        tfl.layers.globalAveragePooling1d(),
        tfl.layers.dense({ units: 2 }),
      ],
    });
    const ids = tf.tensor2d([[1, 4, 4, 7, 0], [3, 3, 19, 2, 5], [8, 1, 1, 1, 12], [0, 9, 14, 6, 6]], [4, 5], 'int32');
    const y = tf.oneHot(tf.tensor1d([0, 1, 1, 0], 'int32'), 2);
    const { losses, tensorsAt } = trainSteps(model, ids, y, (yt, yp) => tf.losses.softmaxCrossEntropy(yt, yp) as tf.Scalar, 20);
    expect(tensorsAt[19]).toBe(tensorsAt[1]);
    expect(losses[19]).toBeLessThan(losses[0]);
    tf.dispose([ids, y]);
    model.dispose();
  });

  it('activate() is idempotent and reports the backend', async () => {
    const a = await new WasmBackend().activate();
    const b = await new WasmBackend().activate();
    expect(b).toEqual(a);
    expect(a.tfBackend).toBe('wasm');
    expect(a.simd).toBe(true);
    expect(a.threads).toBe(1);
    expect(String(a.details?.kernels)).toContain('Conv2DBackpropFilter');
    expect(a.details?.gradients).toBe(true);
  });

  it('explainMissingKernel turns the raw tfjs error into a BackendError naming op, backend and alternatives', () => {
    let raw: unknown;
    try {
      tf.complex([1], [0]);
    } catch (error) {
      raw = error;
    }
    expect((raw as Error).message).toBe("Kernel 'Complex' not registered for backend 'wasm'");
    const explained = explainMissingKernel(raw);
    expect(KilnError.is(explained)).toBe(true);
    const k = explained as KilnError;
    expect(k.code).toBe('E_BACKEND');
    expect(k.where).toBe('backend: wasm');
    expect(k.message).toContain("'Complex'");
    expect(k.hint).toContain('backend: cpu');
    expect(k.hint).toContain('npm install @tensorflow/tfjs-node');
    const other = new Error('something else');
    expect(explainMissingKernel(other)).toBe(other);
  });
});
