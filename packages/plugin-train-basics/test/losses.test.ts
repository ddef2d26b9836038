import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-layers registers the gradient kernels that tfjs-core's node bundle leaves out.
import '@tensorflow/tfjs-layers';
import { KilnError } from '@kiln/core';
import { CrossEntropyLoss } from '../src/losses/cross-entropy';
import { BinaryCrossEntropyLoss } from '../src/losses/binary-cross-entropy';
import { MseLoss } from '../src/losses/mse';
import { HuberLoss } from '../src/losses/huber';
import { FocalLoss } from '../src/losses/focal';
import { TokenCrossEntropyLoss } from '../src/losses/token-cross-entropy';
import { expectClose, values } from './close';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const logSoftmax = (row: number[]): number[] => {
  const max = Math.max(...row);
  const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
  return row.map((x) => x - lse);
};
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const logits = [
  [1, 2, 3],
  [1, 0, -1],
  [0.5, -0.5, 2],
];
const labels = [2, 0, 1];

describe('cross-entropy', () => {
  it('matches −log softmax at the target for integer targets', () => {
    const loss = new CrossEntropyLoss();
    const expected = logits.map((row, i) => -logSoftmax(row)[labels[i]]);
    expectClose(values(loss.perExample(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'))), expected);
    expectClose(values(loss.compute(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'))), [expected.reduce((a, b) => a + b) / 3]);
  });

  it('treats one-hot rows like indices and accepts soft targets', () => {
    const loss = new CrossEntropyLoss();
    const oneHot = labels.map((l) => [0, 1, 2].map((c) => (c === l ? 1 : 0)));
    const sparse = values(loss.perExample(tf.tensor2d(logits), tf.tensor1d(labels, 'int32')));
    expectClose(values(loss.perExample(tf.tensor2d(logits), tf.tensor2d(oneHot))), sparse);
    const soft = [[0.2, 0.3, 0.5], [1, 0, 0], [0, 0.5, 0.5]];
    const expected = logits.map((row, i) => -logSoftmax(row).reduce((s, lp, c) => s + soft[i][c] * lp, 0));
    expectClose(values(loss.perExample(tf.tensor2d(logits), tf.tensor2d(soft))), expected);
  });

  it('applies label smoothing and class weights as PyTorch does', () => {
    const eps = 0.1;
    const w = [1, 2, 0.5];
    const loss = new CrossEntropyLoss({ labelSmoothing: eps, classWeights: w });
    const per = logits.map((row, i) => {
      const lp = logSoftmax(row);
      return -lp.reduce((s, l, c) => s + w[c] * ((c === labels[i] ? 1 - eps : 0) + eps / 3) * l, 0);
    });
    expectClose(values(loss.perExample(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'))), per);
    const denominator = labels.reduce((s, l) => s + w[l], 0);
    expectClose(values(loss.compute(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'))), [per.reduce((a, b) => a + b) / denominator]);
  });

  it('computes the weighted mean with example weights', () => {
    const loss = new CrossEntropyLoss();
    const per = logits.map((row, i) => -logSoftmax(row)[labels[i]]);
    const weights = [1, 0, 3];
    const expected = per.reduce((s, l, i) => s + weights[i] * l, 0) / 4;
    expectClose(values(loss.compute(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'), tf.tensor1d(weights))), [expected]);
  });

  it('is stable for huge logits and differentiable', () => {
    const loss = new CrossEntropyLoss();
    const big = tf.tensor2d([[1000, 0, -1000]]);
    expectClose(values(loss.perExample(big, tf.tensor1d([1], 'int32'))), [1000]);
    const grad = tf.grad((x: tf.Tensor) => loss.compute(x, tf.tensor1d(labels, 'int32')))(tf.tensor2d(logits));
    const p = logits.map((row) => logSoftmax(row).map(Math.exp));
    const expected = p.flatMap((row, i) => row.map((v, c) => (v - (c === labels[i] ? 1 : 0)) / 3));
    expectClose(values(grad), expected);
  });

  it('averages extra axes per example for [batch, tokens, classes] logits', () => {
    const loss = new CrossEntropyLoss();
    const seq = [[[1, 2, 3], [0, 0, 1]], [[2, -1, 0], [0.5, 0.5, 0]]];
    const tgt = [[2, 0], [1, 1]];
    const per = seq.map((row, b) => row.reduce((s, l, t) => s - logSoftmax(l)[tgt[b][t]], 0) / 2);
    expectClose(values(loss.perExample(tf.tensor3d(seq), tf.tensor2d(tgt, undefined, 'int32'))), per);
  });

  it('rejects class weights of the wrong length with a ConfigError', () => {
    const loss = new CrossEntropyLoss({ labelSmoothing: 0, classWeights: [1, 2] });
    let error: unknown;
    try {
      loss.perExample(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'));
    } catch (e) {
      error = e;
    }
    expect(KilnError.is(error) && error.where).toBe('loss.classWeights');
  });
});

describe('binary-cross-entropy', () => {
  it('matches −[p·y·log σ(x) + (1 − y)·log(1 − σ(x))]', () => {
    const x = [2, -1, 0.5, -3];
    const y = [1, 0, 1, 1];
    for (const pw of [1, 3]) {
      const loss = new BinaryCrossEntropyLoss(pw === 1 ? {} : { posWeight: pw });
      const expected = x.map((xi, i) => -(pw * y[i] * Math.log(sigmoid(xi)) + (1 - y[i]) * Math.log(1 - sigmoid(xi))));
      expectClose(values(loss.perExample(tf.tensor1d(x), tf.tensor1d(y))), expected);
      expectClose(values(loss.perExample(tf.tensor2d(x, [4, 1]), tf.tensor1d(y))), expected);
    }
  });

  it('averages over labels for multi-label targets and stays finite for large logits', () => {
    const loss = new BinaryCrossEntropyLoss({ posWeight: [2, 1] });
    const x = [[1, -2], [0, 500]];
    const y = [[1, 0], [0, 1]];
    const pw = [2, 1];
    const expected = x.map((row, i) => row.reduce((s, xi, j) => {
      const softplusNeg = Math.log1p(Math.exp(-Math.abs(xi))) + Math.max(-xi, 0);
      return s + (1 - y[i][j]) * xi + (1 + (pw[j] - 1) * y[i][j]) * softplusNeg;
    }, 0) / 2);
    expectClose(values(loss.perExample(tf.tensor2d(x), tf.tensor2d(y))), expected);
    expectClose(values(loss.perExample(tf.tensor2d(x), tf.tensor2d(y))), [
      (-2 * Math.log(sigmoid(1)) - Math.log(1 - sigmoid(-2))) / 2,
      (-Math.log(1 - sigmoid(0)) + 0) / 2,
    ]);
  });
});

describe('mse and huber', () => {
  const pred = [[1.5], [0], [4]];
  const target = [1, 2, 1];
  it('mse is the mean squared difference', () => {
    const loss = new MseLoss();
    const per = [0.25, 4, 9];
    expectClose(values(loss.perExample(tf.tensor2d(pred), tf.tensor1d(target))), per);
    expectClose(values(loss.compute(tf.tensor2d(pred), tf.tensor1d(target), tf.tensor1d([2, 1, 1]))), [(0.5 + 4 + 9) / 4]);
  });
  it('huber is quadratic within delta and linear beyond', () => {
    const huber = (d: number, delta: number): number => (Math.abs(d) <= delta ? 0.5 * d * d : delta * (Math.abs(d) - 0.5 * delta));
    for (const delta of [1, 2.5]) {
      const loss = new HuberLoss({ delta });
      const expected = pred.map((p, i) => huber(p[0] - target[i], delta));
      expectClose(values(loss.perExample(tf.tensor2d(pred), tf.tensor1d(target))), expected);
    }
  });
});

describe('focal', () => {
  it('softmax mode: −α·(1 − p_t)^γ·log p_t, and γ = 0 without α is cross-entropy', () => {
    const loss = new FocalLoss({ gamma: 2, alpha: 0.25 });
    const expected = logits.map((row, i) => {
      const lp = logSoftmax(row)[labels[i]];
      return -0.25 * (1 - Math.exp(lp)) ** 2 * lp;
    });
    expectClose(values(loss.perExample(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'))), expected);
    const ce = new CrossEntropyLoss().perExample(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'));
    expectClose(values(new FocalLoss({ gamma: 0, alpha: null }).perExample(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'))), values(ce));
    const perClass = new FocalLoss({ gamma: 1, alpha: [0.1, 0.2, 0.7] });
    const expectedPerClass = logits.map((row, i) => {
      const lp = logSoftmax(row)[labels[i]];
      return -[0.1, 0.2, 0.7][labels[i]] * (1 - Math.exp(lp)) * lp;
    });
    expectClose(values(perClass.perExample(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'))), expectedPerClass);
  });

  it('sigmoid mode follows torchvision sigmoid_focal_loss', () => {
    const x = [[2, -1], [0.3, -4]];
    const y = [[1, 0], [0, 1]];
    const gamma = 2;
    const alpha = 0.25;
    const expected = x.map((row, i) => row.reduce((s, xi, j) => {
      const p = sigmoid(xi);
      const pt = y[i][j] === 1 ? p : 1 - p;
      const at = y[i][j] === 1 ? alpha : 1 - alpha;
      return s - at * (1 - pt) ** gamma * Math.log(pt);
    }, 0) / 2);
    expectClose(values(new FocalLoss({ gamma, alpha }).perExample(tf.tensor2d(x), tf.tensor2d(y))), expected);
  });
});

describe('token-cross-entropy', () => {
  const tokenLogits = [
    [[1, 2, 0], [0, 0, 3], [5, 1, 1]],
    [[2, 2, 2], [1, -1, 0], [0, 4, 1]],
  ];
  const targets = [[1, -100, 0], [-100, -100, 2]];
  it('ignores negative targets and averages over the unmasked tokens', () => {
    const loss = new TokenCrossEntropyLoss();
    const l = (b: number, t: number): number => -logSoftmax(tokenLogits[b][t])[targets[b][t]];
    const per = [(l(0, 0) + l(0, 2)) / 2, l(1, 2)];
    const pred = tf.tensor3d(tokenLogits);
    const tgt = tf.tensor2d(targets, undefined, 'int32');
    expectClose(values(loss.perExample(pred, tgt)), per);
    expectClose(values(loss.compute(pred, tgt)), [(l(0, 0) + l(0, 2) + l(1, 2)) / 3]);
    expectClose(values(loss.compute(pred, tgt, tf.tensor1d([1, 2]))), [(l(0, 0) + l(0, 2) + 2 * l(1, 2)) / 4]);
  });
  it('gives 0, not NaN, when every token is masked', () => {
    const loss = new TokenCrossEntropyLoss();
    const all = tf.tensor2d([[-100, -100, -100], [-100, -100, -100]], undefined, 'int32');
    expectClose(values(loss.compute(tf.tensor3d(tokenLogits), all)), [0]);
  });
});
