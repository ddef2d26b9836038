import type { KilnConfigInput } from '@kiln/core';

/**
 * The README's main job: a small convolutional classifier (global-average-pool head) on images,
 * AdamW with a cosine schedule and warmup, label smoothing 0.1, random crop + flip, best
 * checkpoint by validation accuracy, progress bar, and the MLflow file-store tracker (./mlruns,
 * relative to the config). Trains on the generated shapes set unless `data` points elsewhere, e.g.
 * `--set data='{"type":"image-folder","root":"./photos","size":[32,32]}'`.
 *
 * Why not the ResNet + SGD recipe of issue #8 (that is `image-classification-resnet`): measured
 * on the wasm backend with the shapes set (2000 train / 500 val, 32×32), a CIFAR-stem ResNet-18
 * at width 0.25 stayed at chance (val 0.23–0.29, train loss ≈ ln 4) for 4–10 epochs under every
 * recipe tried — SGD lr 0.1/0.05/0.02 with momentum 0.9 (± Nesterov), 1-epoch warmup, zero-init
 * of the last BN gamma, batch 32/64, zero or reflect crop padding, and AdamW 0.003 — while this CNN
 * reaches 95–96 % in 8 epochs (measured on wasm: best 0.956 in 200 s wall at load ≈ 9; best 0.952 in
 * 70 s at load ≈ 2.5).
 * Without augmentation the ResNet memorises 512 images in 40 steps but stays at 0.33 on
 * validation: on this data it learns the colours and noise, not the shapes, in the steps a
 * < 5 minute budget allows.
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
  tracker: { type: 'mlflow', uri: 'mlruns' },
  trainer: { epochs: 8, batchSize: 64, monitor: 'val/accuracy', mode: 'max' },
};

export default imageClassification;
