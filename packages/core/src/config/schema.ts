import { z } from 'zod';

/** A config block naming an implementation by `type`; the rest are that implementation's options. */
export const ComponentBlockSchema = z.looseObject({ type: z.string().min(1) });
export type ComponentBlock = z.infer<typeof ComponentBlockSchema>;

export const TrainerOptionsSchema = z.strictObject({
  epochs: z.number().int().positive().optional().describe('Epoch budget (default 10 unless `steps` is set).'),
  steps: z.number().int().positive().optional().describe('Optimizer-step budget; overrides `epochs` when set.'),
  batchSize: z.number().int().positive().default(32).describe('Examples per micro-batch.'),
  valBatchSize: z.number().int().positive().optional().describe('Validation batch size (default: batchSize).'),
  gradAccumulation: z.number().int().positive().default(1).describe('Micro-batches per optimizer step.'),
  clipNorm: z.number().positive().optional().describe('Clip gradients to this global L2 norm.'),
  maxBadSteps: z.number().int().nonnegative().default(5).describe('Stop after this many skipped NaN/Inf steps.'),
  workers: z.number().int().min(0).max(64).default(0).describe('Worker threads that read and collate batches ahead of training (PyTorch\'s num_workers); 0 reads each batch on the training thread when it is needed. Worth it when reading is slow: decoding image files, parsing large text.'),
  prefetch: z.number().int().positive().default(2).describe('Batches each worker prepares ahead of the one training (PyTorch\'s prefetch_factor).'),
  validateEvery: z.number().int().positive().default(1).describe('Validate every N epochs.'),
  monitor: z.string().default('val/loss').describe('Metric that decides the best checkpoint.'),
  mode: z.enum(['min', 'max']).optional().describe('Whether `monitor` improves downward or upward (inferred from its name).'),
});
export type TrainerOptions = z.infer<typeof TrainerOptionsSchema>;

export const OutputOptionsSchema = z.strictObject({
  dir: z.string().default('runs').describe('Folder that holds run directories.'),
  name: z.string().optional().describe('Run directory name (default: <timestamp>-<model>).'),
});

export const KilnConfigSchema = z.strictObject({
  name: z.string().optional().describe('Use-case name (model registry, run names).'),
  extends: z.union([z.string(), z.array(z.string())]).optional().describe('Presets or files this config builds on.'),
  plugins: z.array(z.string()).default([]).describe('Plugin packages or relative paths to load.'),
  seed: z.number().int().default(42).describe('One seed for data order, initialization and augmentation.'),
  backend: z
    .union([z.string(), ComponentBlockSchema])
    .default('auto')
    .describe('auto | native | wasm | cpu | tensorflow | tensorflow-gpu | a plugin backend name; or `{ type, ...options }` to pass that backend its options.'),
  data: ComponentBlockSchema.optional().describe('Reader block.'),
  sampler: ComponentBlockSchema.optional().describe('Sampler block (default: random).'),
  model: ComponentBlockSchema.optional().describe('Model block.'),
  loss: ComponentBlockSchema.optional().describe('Loss block.'),
  optimizer: ComponentBlockSchema.optional().describe('Optimizer block; may hold a `schedule` block.'),
  metrics: z.array(ComponentBlockSchema).default([]).describe('Metric blocks computed on validation.'),
  callbacks: z.array(ComponentBlockSchema).default([]).describe('Callback blocks.'),
  tracker: z.union([ComponentBlockSchema, z.literal(false)]).optional().describe('Tracker block, or false.'),
  exporter: ComponentBlockSchema.optional().describe('Exporter block used by `kiln export`.'),
  trainer: TrainerOptionsSchema.default(TrainerOptionsSchema.parse({})).describe('Loop settings.'),
  output: OutputOptionsSchema.default(OutputOptionsSchema.parse({})).describe('Where runs are written.'),
  tune: z.record(z.string(), z.unknown()).optional().describe('Tuning study (see the tuner plugins).'),
  retrain: z.record(z.string(), z.unknown()).optional().describe('Retraining policy for `kiln retrain` (see @kiln/plugin-mlflow).'),
});

export type KilnConfig = z.infer<typeof KilnConfigSchema>;
/** A config as written by a user, before defaults. */
export type KilnConfigInput = z.input<typeof KilnConfigSchema>;
