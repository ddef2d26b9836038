import type { KilnConfigInput } from '@kiln/core';

/**
 * The README's main job: a CIFAR-stem ResNet-18 (He et al. 2016; 3×3/1 stem, no max-pool) at
 * width 0.25 (16/32/64/128 channels, 0.70 M parameters; `--set model.widthMultiplier=1` for the
 * full 11.2 M) on 32×32 images, AdamW (2e-3, decoupled weight decay 0.01) with one epoch of
 * linear warmup then cosine, label smoothing 0.1, random crop (padding 2) + horizontal flip, 12
 * epochs, the best checkpoint by validation accuracy, progress bar, and the MLflow file-store
 * tracker (./mlruns, relative to the config). Trains on the generated shapes set unless `data`
 * points elsewhere, e.g. `--set data='{"type":"image-folder","path":"./photos","size":[32,32]}'`.
 *
 * On the shapes set a ResNet first sits at chance (it sees the random colours before the
 * shapes) and then leaves that plateau; the recipe is chosen for how reliably it leaves it.
 * - AdamW rather than the SGD + momentum of the CIFAR papers (that recipe is
 *   `image-classification-sgd`): with crop augmentation SGD with momentum 0.9 stays at chance for
 *   12 epochs, in Kiln and in PyTorch on the same images, at lr 0.01–0.1, batch 32/64, with and
 *   without Nesterov, input normalisation, label smoothing and weight decay, widths 0.25 and 0.5.
 * - lr 2e-3 and padding 2, not 3e-3 and 4: with 3e-3 the exit epoch varied from 3 to beyond 10
 *   over seeds and backends (seed 42 on native: 0.92 after 10 epochs with padding 4, 0.38 with
 *   padding 2); zero-init of the last BN gamma kept every seed at chance. With this recipe, native backend, seeds 42 and 1–5: val
 *   ≥ 0.95 by epoch 6 in all six, final 0.996–1.000; wasm, seed 42: 0.998.
 * plugin-resnet's README has the measurements.
 */
const imageClassification: KilnConfigInput = {
  extends: '@kiln/presets/base',
  data: { type: 'synthetic-shapes', trainSize: 2000, valSize: 500, size: 32 },
  model: { type: 'resnet', depth: 18, stem: 'cifar', widthMultiplier: 0.25 },
  loss: { type: 'cross-entropy', labelSmoothing: 0.1 },
  optimizer: { type: 'adamw', lr: 0.002, weightDecay: 0.01, schedule: { type: 'cosine', warmupSteps: 32 } },
  metrics: [{ type: 'accuracy' }],
  callbacks: [
    { type: 'progress-bar' },
    { type: 'checkpoint', monitor: 'val/accuracy', mode: 'max' },
    { type: 'metrics-log' },
    { type: 'random-crop', padding: 2 },
    { type: 'random-flip' },
  ],
  tracker: { type: 'mlflow', uri: 'mlruns' },
  trainer: { epochs: 12, batchSize: 64, monitor: 'val/accuracy', mode: 'max' },
};

export default imageClassification;
