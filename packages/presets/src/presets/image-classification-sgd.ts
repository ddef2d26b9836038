import type { KilnConfigInput } from '@kiln/core';

/**
 * The CIFAR ResNet recipe with SGD (He et al. 2016; Goyal et al. 2017 for the warmup and
 * zero-init): `image-classification`'s CIFAR-stem ResNet-18 at width 0.25, SGD with Nesterov
 * momentum 0.9, lr 0.1 for batch 64, one epoch of linear warmup, then cosine; weight decay
 * 5e-4 (L2, on every parameter: train-basics' sgd has no exclusion list); label smoothing 0.1;
 * last BN gamma of each block at 0; random crop + flip; 30 epochs.
 *
 * For real image folders and long runs. On the generated shapes set with crop augmentation SGD
 * stays at chance for the first dozen epochs (in PyTorch too, see `image-classification`), which
 * is why the main job uses AdamW.
 */
const imageClassificationSgd: KilnConfigInput = {
  extends: '@kiln/presets/image-classification',
  model: { type: 'resnet', depth: 18, stem: 'cifar', widthMultiplier: 0.25, zeroInitResidual: true },
  optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4, schedule: { type: 'cosine', warmupSteps: 32 } },
  trainer: { epochs: 30, batchSize: 64, monitor: 'val/accuracy', mode: 'max' },
};

export default imageClassificationSgd;
