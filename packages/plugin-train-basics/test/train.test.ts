import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { definePlugin, MemoryLogger, readSafetensors, SeededRng, train, Tokens, type Dataset, type DatasetInfo, type KilnConfigInput } from '@kiln/core';
import { z } from 'zod';
import trainBasics from '../src';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const info: DatasetInfo = { task: 'classification', inputs: [{ name: 'point', shape: [2], dtype: 'float32' }], targetShape: [], targetDtype: 'int32', classNames: ['ne', 'nw', 'sw', 'se'] };

/** Four Gaussian blobs around (±2, ±2), made by the test. */
function blobs(n: number, seed: number): Dataset {
  const rng = new SeededRng(seed);
  const centers = [[2, 2], [-2, 2], [-2, -2], [2, -2]];
  const examples = Array.from({ length: n }, (_, i) => {
    const [cx, cy] = centers[i % 4];
    return { inputs: { point: Float32Array.of(cx + rng.normal() * 0.8, cy + rng.normal() * 0.8) }, target: i % 4 };
  });
  return { info, size: n, get: (i) => examples[i], labelOf: (i) => i % 4 };
}

const blobReader = definePlugin({
  name: 'blob-reader',
  version: '1.0.0',
  register(ctx) {
    ctx.provide(Tokens.Reader, 'blobs', (_o, c) => ({
      splits: ['train', 'val'] as const,
      load: async (split: 'train' | 'val' | 'test') => blobs(split === 'train' ? 192 : 96, c.seed + (split === 'train' ? 0 : 1)),
    }), z.strictObject({}));
  },
});

const config = (dir: string, epochs: number): KilnConfigInput => ({
  seed: 3,
  data: { type: 'blobs' },
  model: { type: 'mlp', hiddenUnits: [16] },
  loss: { type: 'cross-entropy', labelSmoothing: 0.05 },
  optimizer: { type: 'adam', lr: 0.05, schedule: { type: 'cosine', warmupSteps: 3 } },
  metrics: [{ type: 'accuracy' }, { type: 'precision-recall-f1', average: 'macro' }],
  callbacks: [
    { type: 'checkpoint', monitor: 'val/accuracy' },
    { type: 'early-stopping', monitor: 'val/loss', patience: 10 },
    { type: 'metrics-log' },
    { type: 'grad-norm-monitor' },
  ],
  trainer: { epochs, batchSize: 32 },
  output: { dir, name: 'blobs' },
} as KilnConfigInput);

describe('training with the core engine', () => {
  it('trains an mlp with adam + cosine, writes checkpoints and metrics.jsonl, and resumes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-tb-train-'));
    const options = { cwd: dir, logger: new MemoryLogger(), defaultPlugins: [], plugins: [trainBasics, blobReader] };
    const first = await train(config(dir, 3), options);
    const runDir = path.join(dir, 'blobs');
    expect(first.logs['val/accuracy']).toBeGreaterThan(0.9);
    expect(first.logs['val/f1/macro']).toBeGreaterThan(0.9);
    expect(fs.existsSync(path.join(runDir, 'checkpoints', 'last.safetensors'))).toBe(true);
    expect(first.checkpoints.best).toBe(path.join(runDir, 'checkpoints', 'best.safetensors'));
    const lines = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.epoch)).toEqual([1, 2, 3]);
    expect(lines[2]['val/accuracy']).toBe(first.logs['val/accuracy']);
    expect(typeof lines[2]['grad_norm/mean']).toBe('number');
    // The checkpoint holds the model weights by stable name and adam's slots by <param>/<slot>.
    const { tensors } = readSafetensors(path.join(runDir, 'checkpoints', 'last.safetensors'));
    expect(Object.keys(tensors)).toEqual(expect.arrayContaining(['model/dense_0/kernel', 'model/head/bias', 'optimizer/dense_0/kernel/m', 'optimizer/head/bias/v']));

    const resumed = await train(config(dir, 4), { ...options, resume: runDir });
    expect(resumed.epochsRun).toBe(4);
    const all = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(all.map((l) => l.epoch)).toEqual([1, 2, 3, 4]);
  });

  it('kernel-profile times the kernels of a window of steps, then puts the original kernels back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-tb-profile-'));
    const logger = new MemoryLogger();
    const addBefore = tf.getKernel('Add', 'cpu')!.kernelFunc;
    const result = await train(
      { ...config(dir, 1), callbacks: [{ type: 'kernel-profile', skipSteps: 2, steps: 3 }] } as KilnConfigInput,
      { cwd: dir, logger, defaultPlugins: [], plugins: [trainBasics, blobReader] },
    );
    expect(result.stepsRun).toBe(6); // 192 rows / batch 32
    const profile = JSON.parse(fs.readFileSync(path.join(dir, 'blobs', 'kernel-profile.json'), 'utf8'));
    expect(profile.steps).toBe(3);
    const names = profile.kernels.map((k: { kernel: string }) => k.kernel);
    // A dense layer's forward is a (fused) matmul; its weight gradient another matmul.
    expect(names.some((n: string) => /MatMul/.test(n))).toBe(true);
    const selfSum = profile.kernels.reduce((a: number, k: { ms: number }) => a + k.ms, 0);
    expect(selfSum).toBeLessThanOrEqual(profile.totalMs);
    expect(profile.kernels.every((k: { calls: number; ms: number }) => k.calls > 0 && k.ms >= 0)).toBe(true);
    expect(logger.lines.some((l) => /^kernel profile over 3 steps/.test(l.message))).toBe(true);
    expect(tf.getKernel('Add', 'cpu')!.kernelFunc).toBe(addBefore);
  });

  it('the checkpoint callback announces every save on onCheckpoint', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-tb-oncheckpoint-'));
    const seen: { kind: string; epoch: number; step: number; file: string; accuracy: number }[] = [];
    const listener = definePlugin({
      name: 'listener',
      version: '1.0.0',
      register(ctx) {
        ctx.hooks.onCheckpoint.tap('Listener', (c) => {
          expect(fs.existsSync(c.path)).toBe(true);
          seen.push({ kind: c.kind, epoch: c.epoch, step: c.step, file: path.basename(c.path), accuracy: c.logs['val/accuracy'] });
        });
      },
    });
    const result = await train({ ...config(dir, 3), callbacks: [{ type: 'checkpoint', monitor: 'val/accuracy' }] } as KilnConfigInput, {
      cwd: dir,
      logger: new MemoryLogger(),
      defaultPlugins: [],
      plugins: [trainBasics, blobReader, listener],
    });
    // 192 rows / batch 32 = 6 steps per epoch; `last` every epoch, `best` when val/accuracy rose.
    expect(seen.filter((s) => s.kind === 'last').map((s) => [s.epoch, s.step, s.file])).toEqual([
      [0, 6, 'last.safetensors'],
      [1, 12, 'last.safetensors'],
      [2, 18, 'last.safetensors'],
    ]);
    const bests = seen.filter((s) => s.kind === 'best');
    expect(bests[0].epoch).toBe(0);
    for (let i = 1; i < bests.length; i++) expect(bests[i].accuracy).toBeGreaterThan(bests[i - 1].accuracy);
    expect(bests[bests.length - 1].accuracy).toBe(Math.max(...result.history.map((h) => h['val/accuracy'])));
  });
});
