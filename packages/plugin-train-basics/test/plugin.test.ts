import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { Kernel, MemoryLogger, Tokens } from '@kiln/core';
import plugin, { AdamWOptimizer, CosineSchedule, LayersModelAdapter } from '../src';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function kernel(): Promise<Kernel> {
  const k = new Kernel({ logger: new MemoryLogger() });
  await k.use(plugin);
  return k;
}

describe('plugin registration', () => {
  it('provides every named implementation', async () => {
    const k = await kernel();
    expect(k.names(Tokens.Loss).sort()).toEqual(['binary-cross-entropy', 'cross-entropy', 'focal', 'huber', 'mse', 'token-cross-entropy']);
    expect(k.names(Tokens.Optimizer).sort()).toEqual(['adam', 'adamw', 'lamb', 'rmsprop', 'sgd']);
    expect(k.names(Tokens.Schedule).sort()).toEqual(['constant', 'cosine', 'polynomial', 'step']);
    expect(k.names(Tokens.Metric).sort()).toEqual(['accuracy', 'confusion-matrix', 'precision-recall-f1', 'regression', 'top-k']);
    expect(k.names(Tokens.Callback).sort()).toEqual(['checkpoint', 'early-stopping', 'grad-norm-monitor', 'kernel-profile', 'metrics-log', 'progress-bar']);
    expect(k.names(Tokens.Model).sort()).toEqual(['mlp', 'simple-cnn']);
  });

  it('builds blocks from config, with defaults, and the optimizer block may carry lr', async () => {
    const k = await kernel();
    const opt = await k.build(Tokens.Optimizer, { type: 'adamw', lr: 3e-4, weightDecay: 0.05 }, 'optimizer');
    expect(opt).toBeInstanceOf(AdamWOptimizer);
    const schedule = await k.build(Tokens.Schedule, { type: 'cosine', warmupSteps: 10 }, 'optimizer.schedule');
    expect(schedule).toBeInstanceOf(CosineSchedule);
    expect(schedule.lr(5, 1, 100)).toBe(0.5);
    const topk = await k.build(Tokens.Metric, { type: 'top-k', k: 3 }, 'metrics.0');
    expect(topk.name).toBe('top3_accuracy');
    for (const name of k.names(Tokens.Loss)) expect((await k.build(Tokens.Loss, { type: name }, 'loss')).name).toBe(name);
    for (const name of k.names(Tokens.Callback)) expect((await k.build(Tokens.Callback, { type: name }, 'callbacks.0')).name).toBe(name);
  });

  it('rejects unknown options and missing required ones with a ConfigError at the block', async () => {
    const k = await kernel();
    await expect(k.build(Tokens.Optimizer, { type: 'sgd', momentun: 0.9 }, 'optimizer')).rejects.toMatchObject({ code: 'E_CONFIG' });
    await expect(k.build(Tokens.Schedule, { type: 'step' }, 'optimizer.schedule')).rejects.toMatchObject({ code: 'E_CONFIG', where: 'optimizer.schedule.stepSize' });
    await expect(k.build(Tokens.Model, { type: 'mlp' }, 'model')).rejects.toMatchObject({ code: 'E_CONFIG', where: 'model' });
  });

  it('builds models for the kernel dataset', async () => {
    const k = await kernel();
    k.dataset = { task: 'classification', inputs: [{ name: 'x', shape: [3], dtype: 'float32' }], targetShape: [], targetDtype: 'int32', classNames: ['n', 'y'] };
    const model = await k.build(Tokens.Model, { type: 'mlp', hiddenUnits: [2] }, 'model');
    expect(model).toBeInstanceOf(LayersModelAdapter);
    expect(model.countParams()).toBe(3 * 2 + 2 + 2 * 2 + 2);
    model.dispose();
  });
});
