import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { AccuracyMetric } from '../src/metrics/accuracy';
import { TopKAccuracyMetric } from '../src/metrics/top-k';
import { PrecisionRecallF1Metric } from '../src/metrics/precision-recall-f1';
import { ConfusionMatrixMetric } from '../src/metrics/confusion-matrix';
import { RegressionMetric } from '../src/metrics/regression';
import { expectClose } from './close';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// Predicted classes (argmax of each row): 0, 1, 2, 2, 1, 0 — truth: 0, 2, 2, 1, 1, 0.
const scores = [
  [3, 1, 0],
  [0, 2, 1],
  [0, 1, 5],
  [1, 0, 2],
  [0, 4, 1],
  [2, -1, 1],
];
const truth = [0, 2, 2, 1, 1, 0];
const pred = [0, 1, 2, 2, 1, 0];

/** Feeds the rows in two batches, so accumulation across updates is exercised. */
function feed(metric: { update(p: tf.Tensor, t: tf.Tensor): unknown }, rows = scores, labels = truth): void {
  for (const [from, to] of [[0, 4], [4, rows.length]]) {
    tf.tidy(() => {
      metric.update(tf.tensor2d(rows.slice(from, to)), tf.tensor1d(labels.slice(from, to), 'int32'));
    });
  }
}

describe('accuracy and top-k', () => {
  it('accuracy is the fraction of arg-max hits over all batches', () => {
    const m = new AccuracyMetric();
    feed(m);
    expect(m.result()).toEqual({ accuracy: 4 / 6 });
    m.reset();
    expect(m.result()).toEqual({ accuracy: 0 });
  });

  it('accepts one-hot targets, binary logits, and ignores targets < 0', () => {
    const m = new AccuracyMetric();
    m.update(tf.tensor2d([[1, 0], [0, 1], [1, 0]]), tf.tensor2d([[1, 0], [1, 0], [0, 1]]));
    expect(m.result().accuracy).toBeCloseTo(1 / 3, 12);
    const binary = new AccuracyMetric({ threshold: 0 });
    binary.update(tf.tensor2d([[2], [-1], [0.5], [-0.2]]), tf.tensor1d([1, 0, 0, 1]));
    expect(binary.result().accuracy).toBe(0.5);
    const tokens = new AccuracyMetric();
    tokens.update(tf.tensor3d([[[1, 0], [0, 1], [1, 0]]]), tf.tensor2d([[0, -100, 1]], undefined, 'int32'));
    expect(tokens.result().accuracy).toBe(0.5);
  });

  it('top-k counts the target among the k highest scores', () => {
    const m2 = new TopKAccuracyMetric({ k: 2 });
    feed(m2);
    // Classes scoring above the target per row: 0, 1, 0, 2, 0, 0 — row 3 misses the top 2.
    expect(m2.result()).toEqual({ top2_accuracy: 5 / 6 });
    const m1 = new TopKAccuracyMetric({ k: 1 });
    feed(m1);
    expect(m1.result()).toEqual({ top1_accuracy: 4 / 6 });
    const m5 = new TopKAccuracyMetric({ k: 5 });
    m5.update(tf.tensor2d([[0, 1, 2, 3, 4, 5, 6]]), tf.tensor1d([1], 'int32'));
    m5.update(tf.tensor2d([[0, 1, 2, 3, 4, 5, 6]]), tf.tensor1d([2], 'int32'));
    expect(m5.result()).toEqual({ top5_accuracy: 0.5 });
  });
});

describe('precision, recall, f1', () => {
  // Per class from (truth, pred): TP = [2, 1, 1]; predicted counts = [2, 2, 2]; support = [2, 2, 2].
  const p = [2 / 2, 1 / 2, 1 / 2];
  const r = [2 / 2, 1 / 2, 1 / 2];
  const f = p.map((pi, i) => (2 * pi * r[i]) / (pi + r[i]));

  it('macro is the unweighted mean over classes', () => {
    const m = new PrecisionRecallF1Metric({ average: 'macro', threshold: 0 });
    feed(m);
    const out = m.result();
    expectClose([out['precision/macro'], out['recall/macro'], out['f1/macro']], [2 / 3, 2 / 3, f.reduce((a, b) => a + b) / 3]);
  });

  it('micro uses global counts and equals accuracy for single-label data', () => {
    const m = new PrecisionRecallF1Metric({ average: 'micro', threshold: 0 });
    feed(m);
    const out = m.result();
    expectClose([out['precision/micro'], out['recall/micro'], out['f1/micro']], [4 / 6, 4 / 6, 4 / 6]);
  });

  it('weighted averages by support, zero divisions give 0, absent classes are skipped', () => {
    // truth 0,0,0,1 ; pred 0,0,1,1 ; class 2 exists in the scores but is never seen.
    const m = new PrecisionRecallF1Metric({ average: 'weighted', threshold: 0 });
    m.update(tf.tensor2d([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0]]), tf.tensor1d([0, 0, 0, 1], 'int32'));
    const p0 = 1, r0 = 2 / 3, p1 = 1 / 2, r1 = 1;
    const f0 = (2 * p0 * r0) / (p0 + r0);
    const f1 = (2 * p1 * r1) / (p1 + r1);
    const out = m.result();
    expectClose([out['precision/weighted'], out['recall/weighted'], out['f1/weighted']], [(3 * p0 + p1) / 4, (3 * r0 + r1) / 4, (3 * f0 + f1) / 4]);

    const never = new PrecisionRecallF1Metric({ average: 'macro', threshold: 0 });
    // Class 1 is a target but never predicted: precision 0/0 → 0.
    never.update(tf.tensor2d([[1, 0], [1, 0]]), tf.tensor1d([0, 1], 'int32'));
    const o = never.result();
    expectClose([o['precision/macro'], o['recall/macro']], [(1 / 2 + 0) / 2, (1 + 0) / 2]);
    expect(never.details().precision).toEqual([0.5, 0]);
  });
});

describe('confusion matrix', () => {
  it('counts matrix[true][predicted] and reports accuracy', () => {
    const m = new ConfusionMatrixMetric({ threshold: 0 }, ['cat', 'dog', 'bird']);
    feed(m);
    const expected = [
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ];
    truth.forEach((t, i) => expected[t][pred[i]]++);
    expect(m.details()).toEqual({ labels: ['cat', 'dog', 'bird'], matrix: expected });
    expect(m.result()).toEqual({ accuracy: 4 / 6 });
    m.reset();
    expect(m.details().matrix).toEqual([[0, 0, 0], [0, 0, 0], [0, 0, 0]]);
  });

  it('sizes the matrix by the score columns even when a class never occurs', () => {
    const m = new ConfusionMatrixMetric();
    m.update(tf.tensor2d([[1, 0, 0, 0]]), tf.tensor1d([0], 'int32'));
    expect(m.details().matrix).toHaveLength(4);
  });
});

describe('regression', () => {
  it('mae, mse, rmse and r2 over the whole set', () => {
    const y = [3, -0.5, 2, 7, 4.2];
    const yHat = [2.5, 0.0, 2, 8, 3.9];
    const m = new RegressionMetric();
    m.update(tf.tensor2d(yHat.slice(0, 2), [2, 1]), tf.tensor1d(y.slice(0, 2)));
    m.update(tf.tensor2d(yHat.slice(2), [3, 1]), tf.tensor1d(y.slice(2)));
    const n = y.length;
    const mae = y.reduce((s, v, i) => s + Math.abs(yHat[i] - v), 0) / n;
    const mse = y.reduce((s, v, i) => s + (yHat[i] - v) ** 2, 0) / n;
    const mean = y.reduce((a, b) => a + b) / n;
    const ssTot = y.reduce((s, v) => s + (v - mean) ** 2, 0);
    const out = m.result();
    expectClose([out.mae, out.mse, out.rmse, out.r2], [mae, mse, Math.sqrt(mse), 1 - (mse * n) / ssTot]);
  });

  it('constant targets: r2 is 1 when exact, else 0; multi-output r2 is the uniform average', () => {
    const exact = new RegressionMetric();
    exact.update(tf.tensor1d([2, 2]), tf.tensor1d([2, 2]));
    expect(exact.result().r2).toBe(1);
    const off = new RegressionMetric();
    off.update(tf.tensor1d([1, 2]), tf.tensor1d([2, 2]));
    expect(off.result().r2).toBe(0);
    const multi = new RegressionMetric();
    multi.update(tf.tensor2d([[1, 10], [2, 20], [4, 25]]), tf.tensor2d([[1, 12], [3, 18], [3, 30]]));
    const r2 = (t: number[], p: number[]): number => {
      const mu = t.reduce((a, b) => a + b) / t.length;
      return 1 - t.reduce((s, v, i) => s + (v - p[i]) ** 2, 0) / t.reduce((s, v) => s + (v - mu) ** 2, 0);
    };
    expectClose([multi.result().r2], [(r2([1, 3, 3], [1, 2, 4]) + r2([12, 18, 30], [10, 20, 25])) / 2]);
  });
});
