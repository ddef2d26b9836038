import type { KilnConfigInput } from '@kiln/core';

/**
 * Sequence classification with a tiny BERT (L2/H128/A2) trained from scratch: AdamW with
 * 10% linear warmup then linear decay, gradient clipping at 1.0, best checkpoint by
 * validation accuracy, and the model written as a Hugging Face directory at the end.
 * Trains on the generated topic sentences (WordPiece vocabulary built from them) unless
 * `data` points elsewhere, e.g. `--set data='{"type":"text-classification","train":"train.csv","val":"val.csv"}'`;
 * fine-tune a local checkpoint with `--set model.pretrained=./bert-dir --set data.vocab=./bert-dir`.
 */
const textClassification: KilnConfigInput = {
  extends: '@kiln/presets/base',
  data: { type: 'bert-synthetic-text', task: 'classification', kind: 'topic', trainSize: 2000, valSize: 400, maxLength: 24 },
  model: { type: 'bert', size: 'tiny' },
  loss: { type: 'cross-entropy' },
  optimizer: { type: 'adamw', lr: 0.001, weightDecay: 0.01, schedule: { type: 'polynomial', power: 1, warmupRatio: 0.1 } },
  metrics: [{ type: 'accuracy' }],
  callbacks: [
    { type: 'progress-bar' },
    { type: 'checkpoint', monitor: 'val/accuracy', mode: 'max' },
    { type: 'metrics-log' },
    { type: 'save-huggingface' },
  ],
  trainer: { epochs: 3, batchSize: 32, clipNorm: 1.0, monitor: 'val/accuracy', mode: 'max' },
};

export default textClassification;
