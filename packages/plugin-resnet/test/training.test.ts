import * as tf from '@tensorflow/tfjs-core';
import { WasmBackend } from '@kiln/plugin-backend-wasm';
import { buildResNet, type ResNetModel } from '../src';
import { quadrantImages, uniform } from './images';

const dataset = (side: number, classes = 4) => ({
  task: 'classification' as const,
  inputs: [{ name: 'image', shape: [side, side, 3], dtype: 'float32' as const }],
  targetShape: [],
  targetDtype: 'int32' as const,
  classNames: Array.from({ length: classes }, (_, i) => `c${i}`),
});

beforeAll(async () => {
  await new WasmBackend().activate();
  expect(tf.getBackend()).toBe('wasm');
});

/** Gradient of the cross-entropy loss with respect to every trainable variable, by weight name. */
function gradients(model: ResNetModel, x: tf.Tensor, y: tf.Tensor): Map<string, { maxAbs: number; size: number }> {
  const names = new Map<tf.Variable, string>();
  for (const [name, v] of Object.entries(model.getWeights())) names.set(v as tf.Variable, name);
  const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply({ image: x }, { training: true })) as tf.Scalar, model.trainableVariables);
  const out = new Map<string, { maxAbs: number; size: number }>();
  for (const v of model.trainableVariables) {
    const g = grads[v.name];
    out.set(names.get(v) ?? v.name, { maxAbs: tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]), size: g.size });
  }
  tf.dispose(grads);
  value.dispose();
  return out;
}

describe('ResNet training on wasm', () => {
  it('sends a non-zero gradient to every variable, bottleneck and basic, with projection shortcuts', () => {
    for (const depth of [18, 50] as const) {
      const model = buildResNet({ depth, stem: 'cifar', widthMultiplier: 0.125 }, { dataset: dataset(8), seed: 1 });
      const { pixels, labels } = quadrantImages(4, 8, 3);
      const x = tf.tensor4d(pixels, [4, 8, 8, 3]);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 4);
      const before = tf.memory().numTensors;
      const grads = gradients(model, x, y);
      expect(tf.memory().numTensors).toBe(before);
      // Every conv, batch-norm gamma/beta and the fc layer: 2 per BN + 1 per conv + 2 for fc.
      const convs = depth === 18 ? 1 + 8 * 2 + 3 : 1 + 16 * 3 + 4;
      expect(grads.size).toBe(convs * 3 + 2);
      const zero = [...grads].filter(([, g]) => !(g.maxAbs > 0)).map(([name]) => name);
      expect(zero).toEqual([]);
      tf.dispose([x, y]);
      model.dispose();
    }
  });

  it('zeroInitResidual makes each residual branch the identity: only its last gamma gets a gradient inside the branch', () => {
    const model = buildResNet({ depth: 18, stem: 'cifar', widthMultiplier: 0.125, zeroInitResidual: true }, { dataset: dataset(8), seed: 1 });
    const weights = model.getWeights();
    expect(Array.from(weights['layer3.1.bn2/gamma'].dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from(weights['layer3.1.bn1/gamma'].dataSync()).every((v) => v === 1)).toBe(true);
    const { pixels, labels } = quadrantImages(4, 8, 3);
    const x = tf.tensor4d(pixels, [4, 8, 8, 3]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 4);
    const grads = gradients(model, x, y);
    // The branch output is bn2(...)·0 + beta, so nothing before bn2's gamma is reached.
    for (const name of ['layer1.0.conv1/kernel', 'layer1.0.bn1/gamma', 'layer1.0.conv2/kernel', 'layer4.1.conv2/kernel']) {
      expect(grads.get(name)?.maxAbs).toBe(0);
    }
    for (const name of ['layer1.0.bn2/gamma', 'layer1.0.bn2/beta', 'layer2.0.downsample.0/kernel', 'conv1/kernel', 'fc/kernel']) {
      expect(grads.get(name)?.maxAbs).toBeGreaterThan(0);
    }
    tf.dispose([x, y]);
    model.dispose();
  });

  it('a CIFAR-stem ResNet-18 overfits 64 images to 100% train accuracy, without growing the tensor count', () => {
    const side = 16;
    const model = buildResNet({ depth: 18, stem: 'cifar', widthMultiplier: 0.125 }, { dataset: dataset(side), seed: 7 });
    const { pixels, labels } = quadrantImages(64, side, 11);
    const x = tf.tensor4d(pixels, [64, side, side, 3]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 4);
    const optimizer = tf.train.momentum(0.05, 0.9);
    const accuracy = () => tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(model.apply({ image: x }, { training: false }), 1), tf.tensor1d(labels, 'int32')), 'float32')).dataSync()[0]);
    const losses: number[] = [];
    const counts: number[] = [];
    let acc = 0;
    let steps = 0;
    while (steps < 40) {
      const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply({ image: x }, { training: true })) as tf.Scalar, true) as tf.Scalar;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
      steps++;
      counts.push(tf.memory().numTensors);
      if (steps % 5 === 0 && (acc = accuracy()) === 1) break;
    }
    expect(acc).toBe(1);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    expect(new Set(counts.slice(1)).size).toBe(1);
    optimizer.dispose();
    tf.dispose([x, y]);
    model.dispose();
  });
});
