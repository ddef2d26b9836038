import { definePlugin, Tokens } from '@kiln/core';
import { BertOptions, buildBert } from './build';
import { SaveHuggingFaceCallback, SaveHuggingFaceOptions } from './callbacks/save-huggingface';
import {
  BertSyntheticTextOptions,
  BertSyntheticTextReader,
  ConllReader,
  ConllReaderOptions,
  TextClassificationReader,
  TextClassificationReaderOptions,
} from './data/readers';
import { SeqevalMetric, SeqevalOptions } from './metrics/seqeval';

export * from './config';
export * from './bert-model';
export * from './build';
export * from './huggingface';
export * from './tokenizer';
export * from './data/text-dataset';
export * from './data/readers';
export * from './metrics/seqeval';
export * from './callbacks/save-huggingface';

export default definePlugin({
  name: '@kiln/plugin-bert',
  version: '0.1.0',
  kiln: '^0.1.0',
  description: 'BERT encoder (Hugging Face BertModel layout), WordPiece tokenizer, sequence and token classification heads, text/CoNLL readers, seqeval, local Hugging Face checkpoints.',
  register(ctx) {
    const reader = (c: { baseDir: string; seed: number }) => ({ baseDir: c.baseDir, seed: c.seed });
    ctx.provide(Tokens.Model, 'bert', (o, c) => buildBert(o, { dataset: c.dataset, seed: c.seed, where: c.path, baseDir: c.baseDir, logger: c.logger }), BertOptions, {
      description: 'BERT (Devlin et al. 2019) as Hugging Face BertModel / BertForSequenceClassification / BertForTokenClassification; tiny|mini|small|base or a local pretrained dir',
    });
    ctx.provide(Tokens.Reader, 'bert-synthetic-text', (o, c) => new BertSyntheticTextReader(o, reader(c)), BertSyntheticTextOptions, {
      description: 'Template sentences (classification or NER) as raw text, WordPiece-tokenized for BERT',
    });
    ctx.provide(Tokens.Reader, 'text-classification', (o, c) => new TextClassificationReader(o, reader(c)), TextClassificationReaderOptions, {
      description: 'CSV/TSV/JSONL text (+ text pair) and label, WordPiece-tokenized for BERT',
    });
    ctx.provide(Tokens.Reader, 'conll', (o, c) => new ConllReader(o, reader(c)), ConllReaderOptions, {
      description: 'CoNLL-2003 column files (tag in the last column) for NER, first sub-word labelled',
    });
    ctx.provide(Tokens.Metric, 'seqeval', (o, c) => new SeqevalMetric(o, c.dataset?.classNames), SeqevalOptions, {
      description: "Entity-level precision/recall/F1 with seqeval's strict IOB2 semantics",
    });
    ctx.provide(Tokens.Callback, 'save-huggingface', (o, c) => new SaveHuggingFaceCallback(o, c.logger), SaveHuggingFaceOptions, {
      description: 'Writes the trained BERT as a Hugging Face directory (config.json, model.safetensors, vocab.txt) at the end of the run',
    });
  },
});
