import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type { Optimizer } from '@kiln/core';
import { SgdOptimizer } from '../src/optimizers/sgd';
import { AdamOptimizer, AdamWOptimizer } from '../src/optimizers/adam';
import { LambOptimizer } from '../src/optimizers/lamb';
import { RmspropOptimizer } from '../src/optimizers/rmsprop';
import { expectClose, values } from './close';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const initial = [0.5, -1, 2, 0];
const gradients = [
  [0.1, -0.2, 0.3, 0.05],
  [0.4, 0.1, -0.5, -0.02],
  [-0.3, 0.25, 0.2, 0.01],
];
const lrs = [0.1, 0.05, 0.02];

/** Runs the optimizer three steps on a [2, 2] variable and returns its values after each step. */
function runSteps(optimizer: Optimizer, name = 'w'): number[][] {
  const variable = tf.variable(tf.tensor2d(initial, [2, 2]), true, `${name}_${Math.random()}`);
  const history: number[][] = [];
  gradients.forEach((g, i) => {
    const gradient = tf.tensor2d(g, [2, 2]);
    optimizer.step([{ name, variable, gradient }], lrs[i]);
    gradient.dispose();
    history.push(values(variable));
  });
  variable.dispose();
  optimizer.dispose();
  return history;
}

/** Plain-JS reference: runs `update(p, g, lr, t, state)` elementwise-aware on arrays. */
function reference(update: (p: number[], g: number[], lr: number, t: number) => number[]): number[][] {
  let p = [...initial];
  return gradients.map((g, i) => (p = update(p, g, lrs[i], i + 1)));
}

const zip = <T>(a: number[], f: (x: number, i: number) => T): T[] => a.map(f);
const norm = (a: number[]): number => Math.sqrt(a.reduce((s, x) => s + x * x, 0));

describe('sgd', () => {
  it.each([
    { momentum: 0, nesterov: false, weightDecay: 0, dampening: 0 },
    { momentum: 0.9, nesterov: false, weightDecay: 0, dampening: 0 },
    { momentum: 0.9, nesterov: true, weightDecay: 0.01, dampening: 0 },
    { momentum: 0.8, nesterov: false, weightDecay: 0, dampening: 0.5 },
  ])('matches torch.optim.SGD %o', (options) => {
    const { momentum: mu, nesterov, weightDecay: wd, dampening } = options;
    let buf: number[] | undefined;
    const expected = reference((p, grad, lr) => {
      const g = zip(grad, (x, i) => x + wd * p[i]);
      let d = g;
      if (mu !== 0) {
        buf = buf === undefined ? [...g] : zip(buf, (b, i) => mu * b + (1 - dampening) * g[i]);
        d = nesterov ? zip(g, (x, i) => x + mu * buf![i]) : buf;
      }
      return zip(p, (x, i) => x - lr * d[i]);
    });
    const actual = runSteps(new SgdOptimizer(options));
    actual.forEach((row, i) => expectClose(row, expected[i]));
  });
});

function adamReference(o: { beta1: number; beta2: number; epsilon: number; weightDecay: number; amsgrad: boolean; decoupled: boolean }): number[][] {
  let m = initial.map(() => 0);
  let v = initial.map(() => 0);
  let vMax = initial.map(() => 0);
  return reference((p0, grad, lr, t) => {
    const p = o.decoupled ? zip(p0, (x) => x - lr * o.weightDecay * x) : p0;
    const g = o.decoupled ? grad : zip(grad, (x, i) => x + o.weightDecay * p[i]);
    m = zip(m, (x, i) => o.beta1 * x + (1 - o.beta1) * g[i]);
    v = zip(v, (x, i) => o.beta2 * x + (1 - o.beta2) * g[i] * g[i]);
    vMax = zip(vMax, (x, i) => Math.max(x, v[i]));
    const second = o.amsgrad ? vMax : v;
    const bc1 = 1 - o.beta1 ** t;
    const bc2 = 1 - o.beta2 ** t;
    return zip(p, (x, i) => x - (lr / bc1) * (m[i] / (Math.sqrt(second[i]) / Math.sqrt(bc2) + o.epsilon)));
  });
}

describe('adam and adamw', () => {
  it.each([
    { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, amsgrad: false },
    { beta1: 0.8, beta2: 0.9, epsilon: 1e-3, weightDecay: 0.1, amsgrad: false },
    { beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0, amsgrad: true },
  ])('adam matches torch.optim.Adam %o', (options) => {
    const expected = adamReference({ ...options, decoupled: false });
    runSteps(new AdamOptimizer(options)).forEach((row, i) => expectClose(row, expected[i]));
  });

  it.each([
    { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, amsgrad: false },
    { beta1: 0.9, beta2: 0.95, epsilon: 1e-6, weightDecay: 0.5, amsgrad: true },
  ])('adamw matches torch.optim.AdamW %o', (options) => {
    const expected = adamReference({ ...options, decoupled: true });
    runSteps(new AdamWOptimizer(options)).forEach((row, i) => expectClose(row, expected[i]));
  });

  it('adamw decays the weights even with a zero gradient, adam with weightDecay does it through the moments', () => {
    const variable = tf.variable(tf.tensor1d([2, -4]), true, `decay_${Math.random()}`);
    const opt = new AdamWOptimizer({ weightDecay: 0.1 });
    const zero = tf.zeros([2]);
    opt.step([{ name: 'd', variable, gradient: zero }], 0.5);
    // m = v = 0, so only p ← p·(1 − lr·λ) acts.
    expectClose(values(variable), [2 * 0.95, -4 * 0.95]);
    opt.dispose();
    variable.dispose();
    zero.dispose();
  });
});

describe('lamb', () => {
  it.each([
    { beta1: 0.9, beta2: 0.999, epsilon: 1e-6, weightDecay: 0.01 },
    { beta1: 0.5, beta2: 0.9, epsilon: 1e-3, weightDecay: 0 },
  ])('matches Algorithm 2 of You et al. with φ = identity %o', (o) => {
    let m = initial.map(() => 0);
    let v = initial.map(() => 0);
    const expected = reference((p, g, lr, t) => {
      m = zip(m, (x, i) => o.beta1 * x + (1 - o.beta1) * g[i]);
      v = zip(v, (x, i) => o.beta2 * x + (1 - o.beta2) * g[i] * g[i]);
      const r = zip(p, (x, i) => (m[i] / (1 - o.beta1 ** t)) / (Math.sqrt(v[i] / (1 - o.beta2 ** t)) + o.epsilon) + o.weightDecay * x);
      const xn = norm(p);
      const rn = norm(r);
      const ratio = xn > 0 && rn > 0 ? xn / rn : 1;
      return zip(p, (x, i) => x - lr * ratio * r[i]);
    });
    runSteps(new LambOptimizer(o)).forEach((row, i) => expectClose(row, expected[i]));
  });

  it('uses a trust ratio of 1 when the weights are all zero', () => {
    const variable = tf.variable(tf.zeros([3]), true, `lamb0_${Math.random()}`);
    const gradient = tf.tensor1d([1, -2, 0]);
    const opt = new LambOptimizer({ weightDecay: 0, epsilon: 1e-6 });
    opt.step([{ name: 'z', variable, gradient }], 0.1);
    // First step: m̂ = g, v̂ = g², so r = g/(|g| + ε) ≈ sign(g).
    expectClose(values(variable), [-0.1 / (1 + 1e-6), (0.1 * 2) / (2 + 1e-6), 0]);
    opt.dispose();
    variable.dispose();
    gradient.dispose();
  });
});

describe('rmsprop', () => {
  it.each([
    { alpha: 0.99, epsilon: 1e-8, momentum: 0, centered: false, weightDecay: 0 },
    { alpha: 0.9, epsilon: 1e-4, momentum: 0.9, centered: false, weightDecay: 0.05 },
    { alpha: 0.9, epsilon: 1e-6, momentum: 0.5, centered: true, weightDecay: 0 },
  ])('matches torch.optim.RMSprop %o', (o) => {
    let sq = initial.map(() => 0);
    let ga = initial.map(() => 0);
    let buf = initial.map(() => 0);
    const expected = reference((p, grad, lr) => {
      const g = zip(grad, (x, i) => x + o.weightDecay * p[i]);
      sq = zip(sq, (x, i) => o.alpha * x + (1 - o.alpha) * g[i] * g[i]);
      ga = zip(ga, (x, i) => o.alpha * x + (1 - o.alpha) * g[i]);
      const avg = zip(sq, (s, i) => Math.sqrt(o.centered ? s - ga[i] * ga[i] : s) + o.epsilon);
      if (o.momentum > 0) {
        buf = zip(buf, (b, i) => o.momentum * b + g[i] / avg[i]);
        return zip(p, (x, i) => x - lr * buf[i]);
      }
      return zip(p, (x, i) => x - (lr * g[i]) / avg[i]);
    });
    runSteps(new RmspropOptimizer(o)).forEach((row, i) => expectClose(row, expected[i], 1e-5));
  });
});

describe('slots, state and memory', () => {
  const make = (): Optimizer[] => [
    new SgdOptimizer({ momentum: 0.9 }),
    new AdamOptimizer({ amsgrad: true }),
    new AdamWOptimizer(),
    new LambOptimizer(),
    new RmspropOptimizer({ momentum: 0.9, centered: true }),
  ];

  it('names slots <param>/<slot>, counts iterations, and does not grow tensors across steps', () => {
    for (const opt of make()) {
      const variable = tf.variable(tf.tensor1d([1, 2, 3]), true, `mem_${Math.random()}`);
      const gradient = tf.tensor1d([0.1, -0.1, 0.2]);
      opt.step([{ name: 'layer/kernel', variable, gradient }], 0.01);
      const after1 = tf.memory().numTensors;
      for (let i = 0; i < 20; i++) opt.step([{ name: 'layer/kernel', variable, gradient }], 0.01);
      expect(tf.memory().numTensors).toBe(after1);
      expect(opt.iterations).toBe(21);
      const slots = opt.getState().slots;
      expect(Object.keys(slots).length).toBeGreaterThan(0);
      for (const [key, slot] of Object.entries(slots)) {
        expect(key.startsWith('layer/kernel/')).toBe(true);
        expect((slot as tf.Variable).name).toBe(key);
      }
      opt.dispose();
      expect(tf.memory().numTensors).toBe(after1 - Object.keys(slots).length);
      variable.dispose();
      gradient.dispose();
    }
  });

  it('resumes from getState into a fresh optimizer with identical results', () => {
    const factories = [() => new AdamOptimizer({ amsgrad: true }), () => new SgdOptimizer({ momentum: 0.9, dampening: 0.3 }), () => new LambOptimizer(), () => new RmspropOptimizer({ centered: true, momentum: 0.5 })];
    for (const make of factories) {
      const a = make();
      const va = tf.variable(tf.tensor1d(initial), true, `ra_${Math.random()}`);
      const grads = gradients.map((g) => tf.tensor1d(g));
      a.step([{ name: 'p', variable: va, gradient: grads[0] }], 0.1);
      a.step([{ name: 'p', variable: va, gradient: grads[1] }], 0.1);
      const saved = a.getState();
      const copies = Object.fromEntries(Object.entries(saved.slots).map(([k, t]) => [k, t.clone()]));
      const vb = tf.variable(va.clone(), true, `rb_${Math.random()}`);
      a.step([{ name: 'p', variable: va, gradient: grads[2] }], 0.1);
      a.dispose();
      const b = make();
      b.setState({ iterations: saved.iterations, slots: copies });
      b.step([{ name: 'p', variable: vb, gradient: grads[2] }], 0.1);
      expect(b.iterations).toBe(3);
      expectClose(values(vb), values(va));
      b.dispose();
      for (const t of [va, vb, ...grads, ...Object.values(copies)]) t.dispose();
    }
  });
});
