import type { KilnConfigInput } from '@kiln/core';

/**
 * The README's main job: a CIFAR-stem ResNet-18 (He et al. 2016; 3×3/1 stem, no max-pool) at
 * width 0.25 (16/32/64/128 channels, 0.70 M parameters; `--set model.widthMultiplier=1` for the
 * full 11.2 M) on 32×32 images, AdamW (decoupled weight decay 0.01) with one epoch of linear
 * warmup then cosine, label smoothing 0.1, random crop (padding 4) + horizontal flip, the best
 * checkpoint by validation accuracy, progress bar, and the MLflow file-store tracker (./mlruns,
 * relative to the config). Trains on the generated shapes set unless `data` points elsewhere,
 * e.g. `--set data='{"type":"image-folder","path":"./photos","size":[32,32]}'`.
 *
 * AdamW rather than the SGD + momentum of the CIFAR papers (that recipe is
 * `image-classification-sgd`): on the shapes set with crop augmentation, SGD with momentum 0.9
 * stays at chance for 12 epochs — measured in Kiln and in PyTorch on the same images, at lr
 * 0.01–0.1, batch 32/64, with and without Nesterov, input normalisation, label smoothing and
 * weight decay, at widths 0.25 and 0.5 — while AdamW at 3e-3 passes 90 % within 10 epochs
 * in both (plugin-resnet's README has the table). Measured with this preset (10 epochs, 2000
 * train / 500 val): val accuracy 0.998 in 83 s on the native backend and 0.998 in 195 s on wasm
 * (2 cores, another job running).
 */
const imageClassification: KilnConfigInput = {
  extends: '@kiln/presets/base',
  data: { type: 'synthetic-shapes', trainSize: 2000, valSize: 500, size: 32 },
  model: { type: 'resnet', depth: 18, stem: 'cifar', widthMultiplier: 0.25 },
  loss: { type: 'cross-entropy', labelSmoothing: 0.1 },
  optimizer: { type: 'adamw', lr: 0.003, weightDecay: 0.01, schedule: { type: 'cosine', warmupSteps: 32 } },
  metrics: [{ type: 'accuracy' }],
  callbacks: [
    { type: 'progress-bar' },
    { type: 'checkpoint', monitor: 'val/accuracy', mode: 'max' },
    { type: 'metrics-log' },
    { type: 'random-crop', padding: 4 },
    { type: 'random-flip' },
  ],
  tracker: { type: 'mlflow', uri: 'mlruns' },
  trainer: { epochs: 10, batchSize: 64, monitor: 'val/accuracy', mode: 'max' },
};

export default imageClassification;
