import { definePlugin, Tokens } from '@kiln/core';
import { BertOptions, buildBert } from './build';

export * from './config';
export * from './bert-model';
export * from './build';
export * from './huggingface';
export * from './tokenizer';

export default definePlugin({
  name: '@kiln/plugin-bert',
  version: '0.1.0',
  kiln: '^0.1.0',
  description: 'BERT encoder (Hugging Face BertModel layout), WordPiece tokenizer, sequence and token classification heads, local Hugging Face checkpoints.',
  register(ctx) {
    ctx.provide(Tokens.Model, 'bert', (o, c) => buildBert(o, { dataset: c.dataset, seed: c.seed, where: c.path, baseDir: c.baseDir, logger: c.logger }), BertOptions, {
      description: 'BERT (Devlin et al. 2019) as Hugging Face BertModel / BertForSequenceClassification / BertForTokenClassification; tiny|mini|small|base or a local pretrained dir',
    });
  },
});
