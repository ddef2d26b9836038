import type { KilnConfigInput } from '@kiln/core';

/** An MLP over CSV columns (standardized numerics, one-hot categoricals) for class labels. */
const tabularClassification: KilnConfigInput = {
  extends: '@kiln/presets/base',
  data: { type: 'synthetic-tabular', task: 'classification' },
  model: { type: 'mlp', hiddenUnits: [64, 64], dropout: 0.1 },
  loss: { type: 'cross-entropy' },
  optimizer: { type: 'adamw', lr: 0.003, weightDecay: 0.01, schedule: { type: 'cosine', warmupSteps: 20 } },
  metrics: [{ type: 'accuracy' }, { type: 'precision-recall-f1', average: 'macro' }],
  trainer: { epochs: 20, batchSize: 64, monitor: 'val/accuracy', mode: 'max' },
};

export default tabularClassification;
