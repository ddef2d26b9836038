import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { z } from 'zod';
import { definePlugin, Tokens, type Dataset, type DatasetInfo, type Example, type Model, type Optimizer, SeededRng } from '@kiln/core';

/** Four Gaussian blobs in 2-D: linearly separable enough for a softmax classifier. */
function blobs(n: number, seed: number, info: DatasetInfo): Dataset {
  const rng = new SeededRng(seed);
  const centers = [[2, 2], [-2, 2], [-2, -2], [2, -2]];
  const examples: Example[] = Array.from({ length: n }, (_, i) => {
    const label = i % 4;
    const [cx, cy] = centers[label];
    return { inputs: { x: Float32Array.of(cx + rng.normal() * 0.7, cy + rng.normal() * 0.7) }, target: label, source: `blob ${i}` };
  });
  return { info, size: n, get: (i) => examples[i], labelOf: (i) => examples[i].target as number };
}

class LinearModel implements Model {
  readonly name = 'linear';
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(inputs: number, classes: number, private readonly nanAfter?: number) {
    this.w = tf.variable(tf.randomNormal([inputs, classes], 0, 0.1), true, 'w');
    this.b = tf.variable(tf.zeros([classes]), true, 'b');
  }
  calls = 0;
  apply(inputs: Record<string, tf.Tensor>, o: { training: boolean }): tf.Tensor {
    if (o.training) this.calls++;
    const out = tf.add(tf.matMul(inputs.x as tf.Tensor2D, this.w), this.b);
    return this.nanAfter !== undefined && this.calls > this.nanAfter ? tf.mul(out, NaN) : out;
  }
  get trainableVariables() { return [this.w, this.b]; }
  getWeights() { return { w: this.w, b: this.b }; }
  setWeights(weights: tf.NamedTensorMap) { this.w.assign(weights.w); this.b.assign(weights.b); }
  countParams() { return this.w.size + this.b.size; }
  dispose() { tf.dispose([this.w, this.b]); }
}

class Momentum implements Optimizer {
  readonly name = 'momentum';
  iterations = 0;
  private readonly slots = new Map<string, tf.Variable>();
  constructor(private readonly mu: number) {}
  step(updates: { name: string; variable: tf.Variable; gradient: tf.Tensor }[], lr: number) {
    tf.tidy(() => {
      for (const u of updates) {
        let v = this.slots.get(u.name);
        if (!v) this.slots.set(u.name, (v = tf.variable(tf.zerosLike(u.variable), false)));
        v.assign(tf.add(tf.mul(v, this.mu), u.gradient));
        u.variable.assign(tf.sub(u.variable, tf.mul(v, lr)));
      }
    });
    this.iterations++;
  }
  getState() { return { iterations: this.iterations, slots: Object.fromEntries([...this.slots].map(([k, v]) => [`${k}/v`, v as tf.Tensor])) }; }
  setState(s: { iterations: number; slots: Record<string, tf.Tensor> }) {
    this.iterations = s.iterations;
    for (const [k, t] of Object.entries(s.slots)) {
      const name = k.replace(/\/v$/, '');
      this.slots.get(name)?.dispose();
      this.slots.set(name, tf.variable(t.clone(), false));
    }
  }
  dispose() { this.slots.forEach((v) => v.dispose()); }
}

/** A complete little plugin: reader, model, loss, optimizer, schedule, metric, checkpoint callback. */
export const enginePlugin = definePlugin({
  name: 'engine-fixture',
  version: '1.0.0',
  register(ctx) {
    const info: DatasetInfo = { task: 'classification', inputs: [{ name: 'x', shape: [2], dtype: 'float32' }], targetShape: [], targetDtype: 'int32', classNames: ['a', 'b', 'c', 'd'] };
    ctx.provide(Tokens.Reader, 'blobs', (o, c) => ({
      splits: ['train', 'val'] as const,
      load: async (split) => blobs(split === 'train' ? o.train : o.val, c.seed + (split === 'train' ? 0 : 1), info),
    }), z.strictObject({ train: z.number().default(256), val: z.number().default(128) }));
    ctx.provide(Tokens.Model, 'linear', (o, c) => new LinearModel(c.dataset!.inputs[0].shape[0], c.dataset!.classNames!.length, o.nanAfter), z.strictObject({ nanAfter: z.number().optional() }));
    ctx.provide(Tokens.Loss, 'ce', () => ({
      name: 'ce',
      perExample: (p: tf.Tensor, t: tf.Tensor) => tf.tidy(() => tf.neg(tf.sum(tf.mul(tf.oneHot(t as tf.Tensor1D, p.shape[1]!), tf.logSoftmax(p)), -1))),
      compute(p: tf.Tensor, t: tf.Tensor, w?: tf.Tensor) {
        return tf.tidy(() => {
          const pe = this.perExample(p, t);
          return (w ? tf.div(tf.sum(tf.mul(pe, w)), tf.sum(w)) : tf.mean(pe)) as tf.Scalar;
        });
      },
    }), z.strictObject({}));
    ctx.provide(Tokens.Optimizer, 'momentum', (o) => new Momentum(o.momentum), z.strictObject({ lr: z.number(), momentum: z.number().default(0) }));
    ctx.provide(Tokens.Schedule, 'halving', (o) => ({ lr: (step: number, base: number) => base * 0.5 ** Math.floor(step / o.every) }), z.strictObject({ every: z.number() }));
    ctx.provide(Tokens.Metric, 'acc', () => {
      let right = 0;
      let total = 0;
      return {
        name: 'accuracy',
        update(p: tf.Tensor, t: tf.Tensor) {
          const argmax = tf.argMax(p, -1);
          const pred = argmax.dataSync();
          argmax.dispose();
          const truth = t.dataSync();
          pred.forEach((v, i) => { right += v === truth[i] ? 1 : 0; total++; });
        },
        result: () => ({ accuracy: right / total }),
        reset: () => { right = 0; total = 0; },
      };
    }, z.strictObject({}));
    ctx.provide(Tokens.Callback, 'save-last', () => ({
      name: 'save-last',
      apply(hooks) {
        hooks.afterEpoch.tapPromise('SaveLast', (e) => e.trainer.saveCheckpoint(path.join(e.trainer.runDir, 'checkpoints', 'last.safetensors')));
      },
    }), z.strictObject({}));
  },
});
