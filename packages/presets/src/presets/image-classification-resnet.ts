import type { KilnConfigInput } from '@kiln/core';

/**
 * The CIFAR ResNet recipe (He et al. 2016; Goyal et al. 2017 for the warmup and zero-init):
 * CIFAR-stem ResNet-18 at width 0.25 (16/32/64/128 channels, 0.7 M parameters; `--set
 * model.widthMultiplier=1` for the full 11.2 M), SGD with Nesterov momentum 0.9, lr 0.1 for
 * batch 64 (0.1 per 128 in the paper, scaled up for the short schedule), one epoch of linear
 * warmup, then cosine; weight decay 5e-4; label smoothing 0.1; last BN gamma of each block at 0;
 * batch-norm momentum as PyTorch's 0.1 (tfjs 0.9, set by the resnet plugin); random crop + flip.
 * Weight decay also reaches BN gammas/betas and the fc bias: train-basics' sgd has no exclusion
 * list (at 5e-4 over a few hundred steps it shrinks them by < 1 %).
 *
 * Meant for real image folders and long runs: on the 2000-image generated shapes set it did not
 * leave chance accuracy within 14 epochs (see `image-classification`, which is why that preset,
 * the README's main job, keeps its small CNN). ~19 s per epoch (2000 + 500 images) on wasm.
 */
const imageClassificationResnet: KilnConfigInput = {
  extends: '@kiln/presets/image-classification',
  model: { type: 'resnet', depth: 18, stem: 'cifar', widthMultiplier: 0.25, zeroInitResidual: true },
  optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4, schedule: { type: 'cosine', warmupSteps: 32 } },
  trainer: { epochs: 30, batchSize: 64, monitor: 'val/accuracy', mode: 'max' },
};

export default imageClassificationResnet;
