import type { KilnConfigInput } from '@kiln/core';

/**
 * A small convolutional classifier (global-average-pool head) on images: AdamW with a cosine
 * schedule and warmup, label smoothing 0.1, random crop + flip, best checkpoint by validation
 * accuracy. Trains on the generated shapes set unless `data` points elsewhere, e.g.
 * `--set data='{"type":"image-folder","root":"./photos","size":[32,32]}'`.
 */
const imageClassification: KilnConfigInput = {
  extends: '@kiln/presets/base',
  data: { type: 'synthetic-shapes', trainSize: 2000, valSize: 500, size: 32 },
  model: { type: 'simple-cnn', filters: [32, 64, 128] },
  loss: { type: 'cross-entropy', labelSmoothing: 0.1 },
  optimizer: { type: 'adamw', lr: 0.003, weightDecay: 0.01, schedule: { type: 'cosine', warmupSteps: 30 } },
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
