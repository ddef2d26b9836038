import type { KilnConfigInput } from '@kiln/core';

/**
 * Named-entity recognition (IOB2 tags) with a tiny BERT token classifier trained from
 * scratch: each word's tag on its first sub-word (the rest ignored by the loss),
 * AdamW with 10% linear warmup then linear decay, gradient clipping at 1.0, entity-level
 * F1 (seqeval, strict IOB2) as the monitored metric. Trains on the generated PER/LOC/ORG
 * sentences unless `data` points elsewhere, e.g.
 * `--set data='{"type":"conll","train":"eng.train","val":"eng.testa"}'`.
 */
const ner: KilnConfigInput = {
  extends: '@kiln/presets/base',
  data: { type: 'bert-synthetic-text', task: 'ner', trainSize: 2000, valSize: 400, maxLength: 32 },
  model: { type: 'bert', size: 'tiny' },
  loss: { type: 'token-cross-entropy' },
  optimizer: { type: 'adamw', lr: 0.001, weightDecay: 0.01, schedule: { type: 'polynomial', power: 1, warmupRatio: 0.1 } },
  metrics: [{ type: 'seqeval' }],
  callbacks: [
    { type: 'progress-bar' },
    { type: 'checkpoint', monitor: 'val/seqeval/f1', mode: 'max' },
    { type: 'metrics-log' },
    { type: 'save-huggingface' },
  ],
  trainer: { epochs: 3, batchSize: 32, clipNorm: 1.0, monitor: 'val/seqeval/f1', mode: 'max' },
};

export default ner;
