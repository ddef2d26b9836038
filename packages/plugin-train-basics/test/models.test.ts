import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, KilnError, type DatasetInfo } from '@kiln/core';
import { buildMlp, MlpOptions } from '../src/models/mlp';
import { buildSimpleCnn, SimpleCnnOptions } from '../src/models/simple-cnn';
import { LayersModelAdapter } from '../src/models/layers-model-adapter';
import { CrossEntropyLoss } from '../src/losses/cross-entropy';
import { AdamOptimizer } from '../src/optimizers/adam';
import { expectClose, values } from './close';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const tabular: DatasetInfo = {
  task: 'classification',
  inputs: [{ name: 'features', shape: [4], dtype: 'float32' }],
  targetShape: [],
  targetDtype: 'int32',
  classNames: ['a', 'b', 'c'],
};
const images: DatasetInfo = {
  task: 'classification',
  inputs: [{ name: 'image', shape: [8, 8, 1], dtype: 'float32' }],
  targetShape: [],
  targetDtype: 'int32',
  classNames: ['0', '1'],
};

describe('mlp', () => {
  it('sizes layers from the dataset and counts parameters', () => {
    const model = buildMlp(MlpOptions.parse({ hiddenUnits: [5, 6] }), tabular, 1);
    // 4·5+5 + 5·6+6 + 6·3+3
    expect(model.countParams()).toBe(4 * 5 + 5 + 5 * 6 + 6 + 6 * 3 + 3);
    expect(Object.keys(model.getWeights())).toEqual(['dense_0/kernel', 'dense_0/bias', 'dense_1/kernel', 'dense_1/bias', 'head/kernel', 'head/bias']);
    const out = model.apply({ features: tf.ones([2, 4]) }, { training: false });
    expect(out.shape).toEqual([2, 3]);
    model.dispose();
  });

  it('uses targetShape for regression and the first input name', () => {
    const model = buildMlp(MlpOptions.parse({ hiddenUnits: [3] }), { task: 'regression', inputs: [{ name: 'x y', shape: [2, 2], dtype: 'float32' }], targetShape: [2], targetDtype: 'float32' });
    expect(model.apply({ 'x y': tf.ones([5, 2, 2]) }, { training: false }).shape).toEqual([5, 2]);
    model.dispose();
  });

  it('has stable names across instances; setWeights copies one into another', () => {
    const a = buildMlp(MlpOptions.parse({ hiddenUnits: [4] }), tabular, 1);
    const b = buildMlp(MlpOptions.parse({ hiddenUnits: [4] }), tabular, 2);
    expect(Object.keys(b.getWeights())).toEqual(Object.keys(a.getWeights()));
    const x = tf.tensor2d([[1, 2, 3, 4], [-1, 0, 0.5, 2]]);
    expect(values(a.apply({ features: x }, { training: false }))).not.toEqual(values(b.apply({ features: x }, { training: false })));
    b.setWeights(a.getWeights());
    expectClose(values(b.apply({ features: x }, { training: false })), values(a.apply({ features: x }, { training: false })));
    // The trainer names trainable variables by identity with getWeights().
    const named = new Set(Object.values(a.getWeights()));
    expect(a.trainableVariables.every((v) => named.has(v))).toBe(true);
    expect(() => b.setWeights({ 'head/kernel': tf.zeros([4, 3]) })).toThrow(/missing: dense_0\/kernel/);
    a.dispose();
    b.dispose();
  });

  it('applies dropout only in training', () => {
    const model = buildMlp(MlpOptions.parse({ hiddenUnits: [64], dropout: 0.5 }), tabular, 3);
    const x = tf.ones([2, 4]);
    const eval1 = values(model.apply({ features: x }, { training: false }));
    expect(values(model.apply({ features: x }, { training: false }))).toEqual(eval1);
    expect(values(model.apply({ features: x }, { training: true }))).not.toEqual(eval1);
    model.dispose();
  });

  it('throws a ConfigError naming the block when the dataset is missing or has no classes', () => {
    let error: unknown;
    try {
      buildMlp(MlpOptions.parse({}), undefined, 0, 'model');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(KilnError.is(error) && error.where).toBe('model');
    expect(() => buildMlp(MlpOptions.parse({}), { ...tabular, classNames: undefined })).toThrow(ConfigError);
  });
});

describe('simple-cnn', () => {
  it('builds conv-bn-relu-pool blocks with batch-norm statistics as non-trainable weights', () => {
    const conv = 3 * 3 * 1 * 4 + 4 * 4 + 3 * 3 * 4 * 8 + 4 * 8; // kernels + bn (gamma, beta, mean, var)
    const flattened = buildSimpleCnn(SimpleCnnOptions.parse({ filters: [4, 8], denseUnits: [6], pooling: 'flatten' }), images, 0);
    expect(flattened.countParams()).toBe(conv + (2 * 2 * 8 * 6 + 6) + (6 * 2 + 2)); // 8→4→2 after two pools, flattened
    flattened.dispose();
    const model = buildSimpleCnn(SimpleCnnOptions.parse({ filters: [4, 8], denseUnits: [6] }), images, 0);
    expect(model.countParams()).toBe(conv + (8 * 6 + 6) + (6 * 2 + 2)); // global average pool: 8 channels
    const names = Object.keys(model.getWeights());
    expect(names).toContain('bn_0/moving_mean');
    expect(model.trainableVariables).toHaveLength(names.length - 4);
    expect(model.apply({ image: tf.ones([3, 8, 8, 1]) }, { training: true }).shape).toEqual([3, 2]);
    model.dispose();
  });

  it('rejects flat inputs', () => {
    expect(() => buildSimpleCnn(SimpleCnnOptions.parse({}), tabular)).toThrow(/image inputs/);
  });
});

describe('LayersModelAdapter', () => {
  it('wraps any LayersModel and reports a missing input as a DataError', () => {
    const input = tfl.input({ shape: [2], name: 'in' });
    const out = tfl.layers.dense({ units: 1, name: 'only' }).apply(input) as tfl.SymbolicTensor;
    const adapter = new LayersModelAdapter(tfl.model({ inputs: input, outputs: out }), { name: 'tiny', inputKeys: ['values'] });
    expect(adapter.apply({ values: tf.ones([1, 2]) }, { training: false }).shape).toEqual([1, 1]);
    expect(() => adapter.apply({ other: tf.ones([1, 2]) }, { training: false })).toThrow(/needs input "values"/);
    adapter.dispose();
  });
});

describe('a short training run', () => {
  it('mlp + cross-entropy + adam learns a separable problem without growing tensors', () => {
    // Class = which of the first three features is largest; the fourth is noise.
    const rows = 48;
    const xs: number[][] = [];
    const ys: number[] = [];
    for (let i = 0; i < rows; i++) {
      const r = [Math.sin(i * 1.7), Math.cos(i * 2.3), Math.sin(i * 0.9 + 1), Math.cos(i * 5.1)];
      xs.push(r);
      ys.push([0, 1, 2].reduce((best, c) => (r[c] > r[best] ? c : best), 0));
    }
    const x = tf.tensor2d(xs);
    const y = tf.tensor1d(ys, 'int32');
    const model = buildMlp(MlpOptions.parse({ hiddenUnits: [16] }), tabular, 7);
    const loss = new CrossEntropyLoss();
    const opt = new AdamOptimizer({});
    const names = new Map(Object.entries(model.getWeights()).map(([k, v]) => [v, k]));
    const step = (): number => {
      const { value, grads } = tf.variableGrads(() => loss.compute(model.apply({ features: x }, { training: true }), y), model.trainableVariables);
      opt.step(model.trainableVariables.map((v) => ({ name: names.get(v)!, variable: v, gradient: grads[v.name] })), 0.05);
      const l = value.dataSync()[0];
      tf.dispose([value, grads]);
      return l;
    };
    const first = step();
    const baseline = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 60; i++) last = step();
    expect(tf.memory().numTensors).toBe(baseline);
    expect(last).toBeLessThan(first / 3);
    model.dispose();
    opt.dispose();
  });
});
