import { definePlugin, NoOptions, Tokens } from '@kiln/core';
import { CsvReader, CsvReaderOptions } from './readers/csv-reader';
import { JsonlReader, JsonlReaderOptions } from './readers/jsonl-reader';
import { ImageFolderReader, ImageFolderReaderOptions } from './readers/image-folder-reader';
import { IdxReader, IdxReaderOptions } from './readers/idx-reader';
import { ShapesOptions, SyntheticShapesReader } from './synthetic/shapes';
import { SyntheticTextOptions, SyntheticTextReader } from './synthetic/text';
import { SyntheticTabularOptions, SyntheticTabularReader } from './synthetic/tabular';
import {
  ClassBalancedSampler,
  ClassBalancedSamplerOptions,
  DistributedShardSampler,
  DistributedShardSamplerOptions,
  RandomSampler,
  SequentialSampler,
  WeightedSampler,
  WeightedSamplerOptions,
} from './samplers/basic';
import { HardSampleSampler, HardSampleSamplerOptions } from './samplers/hard-sample';
import { RandomCrop, RandomCropOptions, RandomFlip, RandomFlipOptions } from './augment/augmentations';

export * from './collate';
export * from './dataset';
export * from './paths';
export * from './readers/table-encoder';
export * from './readers/csv-reader';
export * from './readers/jsonl-reader';
export * from './readers/image-folder-reader';
export * from './readers/idx-reader';
export * from './image/codec';
export * from './image/transform';
export * from './synthetic/shapes';
export * from './synthetic/text';
export * from './synthetic/tabular';
export * from './samplers/basic';
export * from './samplers/hard-sample';
export * from './augment/augmentations';

export default definePlugin({
  name: '@kiln/plugin-data',
  version: '0.1.0',
  kiln: '^0.1.0',
  description: 'Readers (csv, jsonl, image-folder, idx, synthetic), samplers, image augmentations and collate.',
  register(ctx) {
    const reader = (c: { baseDir: string; seed: number }) => ({ baseDir: c.baseDir, seed: c.seed });
    ctx.provide(Tokens.Reader, 'csv', (o, c) => new CsvReader(o, reader(c)), CsvReaderOptions, { description: 'CSV/TSV tables: standardized numeric and one-hot categorical features' });
    ctx.provide(Tokens.Reader, 'jsonl', (o, c) => new JsonlReader(o, reader(c)), JsonlReaderOptions, { description: 'JSON lines with numeric feature arrays or flat numeric objects' });
    ctx.provide(Tokens.Reader, 'image-folder', (o, c) => new ImageFolderReader(o, reader(c)), ImageFolderReaderOptions, { description: 'PNG/JPEG images in one folder per class' });
    ctx.provide(Tokens.Reader, 'idx', (o, c) => new IdxReader(o, reader(c)), IdxReaderOptions, { description: 'MNIST IDX image and label files (optionally gzip’d)' });
    ctx.provide(Tokens.Reader, 'synthetic-shapes', (o, c) => new SyntheticShapesReader(o, reader(c)), ShapesOptions, { description: 'Generated RGB images of shapes, with boxes' });
    ctx.provide(Tokens.Reader, 'synthetic-text', (o, c) => new SyntheticTextReader(o, reader(c)), SyntheticTextOptions, { description: 'Template sentences for classification or NER, as token ids' });
    ctx.provide(Tokens.Reader, 'synthetic-tabular', (o, c) => new SyntheticTabularReader(o, reader(c)), SyntheticTabularOptions, { description: 'Generated tables: Gaussian blobs or a nonlinear regression' });

    ctx.provide(Tokens.Sampler, 'sequential', () => new SequentialSampler(), NoOptions, { description: 'Dataset order' });
    ctx.provide(Tokens.Sampler, 'random', () => new RandomSampler(), NoOptions, { description: 'A seeded permutation per epoch' });
    ctx.provide(Tokens.Sampler, 'weighted', (o) => new WeightedSampler(o), WeightedSamplerOptions, { description: 'With replacement, by per-example or per-class weights' });
    ctx.provide(Tokens.Sampler, 'class-balanced', (o) => new ClassBalancedSampler(o), ClassBalancedSamplerOptions, { description: 'With replacement, every class equally likely' });
    ctx.provide(Tokens.Sampler, 'distributed-shard', (o) => new DistributedShardSampler(o), DistributedShardSamplerOptions, { description: "One rank's shard, as PyTorch's DistributedSampler" });
    ctx.provide(Tokens.Sampler, 'hard-sample', (o) => new HardSampleSampler(o), HardSampleSamplerOptions, { description: 'Down-weights examples whose running loss stays low' });

    ctx.provide(Tokens.Callback, 'random-crop', (o, c) => new RandomCrop(o, c.rng), RandomCropOptions, { description: 'Pad and randomly crop training images' });
    ctx.provide(Tokens.Callback, 'random-flip', (o, c) => new RandomFlip(o, c.rng), RandomFlipOptions, { description: 'Randomly mirror training images left–right' });
  },
});
