import type { KilnConfigInput } from '@kiln/core';

/**
 * A small convolutional classifier on images: SGD with momentum 0.9, cosine schedule with
 * warmup, label smoothing 0.1, weight decay 5e-4, random crop + flip, best checkpoint by
 * validation accuracy. Trains on the generated shapes set unless `data` points elsewhere.
 */
const imageClassification: KilnConfigInput = {
  extends: '@kiln/presets/base',
  data: { type: 'synthetic-shapes', trainSize: 2000, valSize: 500, size: 32 },
  model: { type: 'simple-cnn', filters: [16, 32, 64] },
  loss: { type: 'cross-entropy', labelSmoothing: 0.1 },
  optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4, schedule: { type: 'cosine', warmupSteps: 30 } },
  metrics: [{ type: 'accuracy' }],
  callbacks: [
    { type: 'progress-bar' },
    { type: 'checkpoint', monitor: 'val/accuracy', mode: 'max' },
    { type: 'metrics-log' },
    { type: 'random-crop', padding: 4 },
    { type: 'random-flip' },
  ],
  trainer: { epochs: 8, batchSize: 64, monitor: 'val/accuracy', mode: 'max' },
};

export default imageClassification;
