import type { KilnConfigInput } from '@kiln/core';

/**
 * The CIFAR ResNet recipe (He et al. 2016): CIFAR-stem ResNet-18, SGD with momentum 0.9 and
 * weight decay 5e-4, cosine schedule with warmup, label smoothing 0.1, random crop + flip.
 * Slower than `image-classification` on the wasm backend; meant for longer runs.
 */
const imageClassificationResnet: KilnConfigInput = {
  extends: '@kiln/presets/image-classification',
  model: { type: 'resnet', depth: 18, stem: 'cifar', widthMultiplier: 0.25 },
  optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4, schedule: { type: 'cosine', warmupSteps: 100 } },
  trainer: { epochs: 30, batchSize: 64, monitor: 'val/accuracy', mode: 'max' },
};

export default imageClassificationResnet;
