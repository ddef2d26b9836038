import type { KilnConfigInput } from '@kiln/core';

/** An MLP over CSV columns for a numeric target. */
const tabularRegression: KilnConfigInput = {
  extends: '@kiln/presets/base',
  data: { type: 'synthetic-tabular', task: 'regression' },
  model: { type: 'mlp', hiddenUnits: [64, 64] },
  loss: { type: 'mse' },
  optimizer: { type: 'adam', lr: 0.003, schedule: { type: 'cosine', warmupSteps: 20 } },
  metrics: [{ type: 'regression' }],
  trainer: { epochs: 30, batchSize: 64, monitor: 'val/mse', mode: 'min' },
};

export default tabularRegression;
