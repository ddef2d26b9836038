// Tests of the built plugin (`npm test` builds first): node:test, no extra test framework.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
const { createKernel, resolveConfig, Hooks, MemoryLogger, train, Tokens } = require('@kiln/core');
const plugin = require('..').default;
const { {{Id}}Mlp, {{Id}}TimerCallback } = require('..');

const dataset = {
  task: 'classification',
  inputs: [{ name: 'features', shape: [2, 3], dtype: 'float32' }],
  targetShape: [],
  targetDtype: 'int32',
  classNames: ['a', 'b', 'c', 'd'],
};

test('registers its model and callback with their option schemas', async () => {
  const resolved = await resolveConfig({ cwd: __dirname, search: false });
  const kernel = await createKernel(resolved, { plugins: [plugin] });
  assert.deepEqual(kernel.names(Tokens.Model), ['{{id}}-mlp']);
  assert.deepEqual(kernel.names(Tokens.Callback), ['{{id}}-timer']);
  assert.throws(
    () => kernel.validate(Tokens.Model, { type: '{{id}}-mlp', hiddenUnits: -1 }, 'model'),
    (error) => error.code === 'E_CONFIG' && /model\.hiddenUnits/.test(error.where),
  );
});

test('the model is sized by the dataset and its weights round-trip', () => {
  const model = new {{Id}}Mlp({ hiddenUnits: 5, activation: 'relu' }, dataset, 1);
  const out = model.apply({ features: tf.ones([7, 2, 3]) }, { training: false });
  assert.deepEqual(out.shape, [7, 4]);
  assert.equal(model.countParams(), 6 * 5 + 5 + 5 * 4 + 4);
  const other = new {{Id}}Mlp({ hiddenUnits: 5, activation: 'relu' }, dataset, 2);
  other.setWeights(model.getWeights());
  const again = other.apply({ features: tf.ones([7, 2, 3]) }, { training: false });
  assert.deepEqual(Array.from(again.dataSync()), Array.from(out.dataSync()));
  assert.throws(() => other.setWeights({}), /hidden\/kernel/);
  model.dispose();
  other.dispose();
});

test('the callback times each epoch and writes a line per epoch', async () => {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), '{{id}}-timer-'));
  const hooks = new Hooks();
  const logger = new MemoryLogger();
  const callback = new {{Id}}TimerCallback({ file: 'timing.jsonl' }, logger);
  callback.apply(hooks);
  for (let epoch = 0; epoch < 2; epoch++) {
    await hooks.beforeEpoch.promise({ epoch, epochs: 2, stepsPerEpoch: 1, trainer: { runDir } });
    await hooks.afterEpoch.promise({ epoch, epochs: 2, logs: { 'val/loss': 1 / (epoch + 1) }, trainer: { runDir } });
  }
  const lines = fs.readFileSync(path.join(runDir, 'timing.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.epoch), [1, 2]);
  assert.equal(lines[1].logs['val/loss'], 0.5);
  assert.ok(lines.every((l) => l.seconds >= 0));
  assert.equal(callback.timings.length, 2);
  fs.rmSync(runDir, { recursive: true, force: true });
});

test('trains with Kiln: the model learns and the callback runs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), '{{id}}-train-'));
  const result = await train(
    {
      data: { type: 'synthetic-tabular', task: 'classification', trainSize: 256, valSize: 128 },
      model: { type: '{{id}}-mlp', hiddenUnits: 16 },
      loss: { type: 'cross-entropy' },
      optimizer: { type: 'adam', lr: 0.03 },
      metrics: [{ type: 'accuracy' }],
      callbacks: [{ type: '{{id}}-timer' }],
      trainer: { epochs: 4, batchSize: 32, monitor: 'val/accuracy', mode: 'max' },
      output: { dir: path.join(dir, 'runs') },
    },
    { cwd: __dirname, plugins: [plugin], logger: new MemoryLogger() },
  );
  assert.ok(result.logs['val/accuracy'] > 0.6, `val/accuracy ${result.logs['val/accuracy']}`);
  const lines = fs.readFileSync(path.join(result.runDir, 'timing.jsonl'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 4);
  fs.rmSync(dir, { recursive: true, force: true });
});
