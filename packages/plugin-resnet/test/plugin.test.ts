import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, MemoryLogger, readSafetensors, train, type KilnConfigInput } from '@kiln/core';
import backendWasm from '@kiln/plugin-backend-wasm';
import data from '@kiln/plugin-data';
import trainBasics from '@kiln/plugin-train-basics';
import resnet, { buildResNet, ResNetModel } from '../src';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-resnet-'));
  dirs.push(dir);
  return dir;
};

const config = (model: Record<string, unknown>): KilnConfigInput => ({
  seed: 3,
  data: { type: 'synthetic-shapes', size: 16, numClasses: 4, trainSize: 64, valSize: 16 },
  model: { type: 'resnet', ...model },
  loss: { type: 'cross-entropy' },
  optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 },
  trainer: { epochs: 1, batchSize: 32 },
  backend: 'wasm',
});

const run = (c: KilnConfigInput, cwd: string) =>
  train(c, { cwd, logger: new MemoryLogger(), defaultPlugins: [], plugins: [backendWasm, data, trainBasics, resnet] });

describe('resnet plugin', () => {
  it('trains through the core Trainer from a config block on wasm and checkpoints torchvision-named weights', async () => {
    const result = await run({ ...config({ depth: 18, stem: 'cifar', widthMultiplier: 0.125 }), callbacks: [{ type: 'checkpoint', saveBest: false }] }, tmp());
    expect(tf.getBackend()).toBe('wasm');
    expect(result.stepsRun).toBe(2);
    expect(Number.isFinite(result.logs['train/loss'])).toBe(true);
    const { tensors } = readSafetensors(path.join(result.runDir, 'checkpoints', 'last.safetensors'));
    expect(tensors['model/layer2.0.downsample.0/kernel'].shape).toEqual([1, 1, 8, 16]);
    expect(tensors['model/fc/kernel'].shape).toEqual([64, 4]);
    expect(tensors['model/layer4.1.bn2/moving_variance'].shape).toEqual([64]);
  });

  it('rejects an unknown depth at its config path, listing the depths', async () => {
    const error = await run(config({ depth: 20 }), tmp()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).where).toMatch(/model\.depth/);
    expect((error as ConfigError).message).toMatch(/18\|34\|50\|101\|152/);
  });

  it('refuses images too small for the ImageNet stem, with a hint to use the CIFAR stem', async () => {
    const error = await run(config({ depth: 18, stem: 'imagenet' }), tmp()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).hint).toMatch(/stem: cifar/);
  });

  it('builds programmatically for a dataset, and needs one', () => {
    const model = buildResNet({ depth: 34, stem: 'cifar', widthMultiplier: 0.0625 }, {
      dataset: { task: 'classification', inputs: [{ name: 'pixels', shape: [8, 8, 1], dtype: 'float32' }], targetShape: [], targetDtype: 'int32', classNames: ['a', 'b'] },
    });
    expect(model).toBeInstanceOf(ResNetModel);
    expect(model.name).toBe('resnet34');
    const logits = tf.tidy(() => model.apply({ pixels: tf.zeros([3, 8, 8, 1]) }, { training: false }).shape);
    expect(logits).toEqual([3, 2]);
    model.dispose();
    expect(() => buildResNet({ depth: 18 }, {})).toThrow(ConfigError);
  });
});
