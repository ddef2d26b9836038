import { z } from 'zod';

const when = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
  .optional()
  .describe("Condition: the parameter exists only when every named parameter has the given value, e.g. { 'model.type': 'resnet' }.");

export const UniformParam = z.strictObject({
  type: z.literal('uniform'),
  min: z.number().describe('Lower bound (inclusive).'),
  max: z.number().describe('Upper bound (inclusive).'),
  when,
});
export const LogUniformParam = z.strictObject({
  type: z.literal('loguniform'),
  min: z.number().describe('Lower bound, > 0.'),
  max: z.number().describe('Upper bound, > 0.'),
  when,
});
export const IntParam = z.strictObject({
  type: z.literal('int'),
  min: z.number().int().describe('Lower bound (inclusive).'),
  max: z.number().int().describe('Upper bound (inclusive).'),
  step: z.number().int().positive().optional().describe('Only min, min+step, min+2·step… (default 1).'),
  log: z.boolean().default(false).describe('Sample uniformly in log space (min must be > 0).'),
  when,
});
const value = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.unknown()), z.record(z.string(), z.unknown())]);
export const ChoiceParam = z.strictObject({
  type: z.literal('choice'),
  values: z.array(value).describe('Candidate values (any JSON).'),
  when,
});
export const GridParam = z.strictObject({
  type: z.literal('grid'),
  values: z.array(value).describe('Values the grid tuner enumerates (other tuners treat them as a choice).'),
  when,
});

export const ParamSchema = z.discriminatedUnion('type', [UniformParam, LogUniformParam, IntParam, ChoiceParam, GridParam]);
export type ParamSpec = z.output<typeof ParamSchema>;
export type ParamSpecInput = z.input<typeof ParamSchema>;
export const SpaceSchema = z.record(z.string(), ParamSchema).describe('Search space by dotted config path.');
export type SpaceSpec = Record<string, ParamSpec>;
export type SpaceSpecInput = Record<string, ParamSpecInput>;

export const PrunerSchema = z.union([
  z.literal('median'),
  z.literal('none'),
  z.strictObject({
    type: z.literal('median'),
    warmupEpochs: z.number().int().nonnegative().default(0).describe('Never prune at or before this epoch.'),
    minTrials: z.number().int().positive().default(1).describe('Completed trials needed at an epoch before pruning there.'),
  }),
]);

export const TuneBlockSchema = z.strictObject({
  tuner: z.looseObject({ type: z.string().min(1) }).default({ type: 'random' }).describe("Tuner block: { type: 'hyperband', maxEpochs: 27, eta: 3, sampler: 'tpe' }."),
  objective: z.string().optional().describe("Metric to optimize, as logged (default: trainer.monitor, e.g. 'val/accuracy')."),
  mode: z.enum(['min', 'max']).optional().describe('Whether the objective improves downward or upward (inferred from its name).'),
  space: SpaceSchema.optional().describe('Search space (default: the preset’s default space).'),
  trials: z.number().int().positive().optional().describe('Trial (configuration) budget for tuners that need one (random, tpe, asha).'),
  study: z.string().min(1).optional().describe('Study name: its folder under output.dir (default: tune).'),
  pruner: PrunerSchema.optional().describe("'median' stops trials whose best value is worse than the median of completed trials at the same epoch."),
  workers: z.number().int().positive().default(1).describe('Trials run at once (more than 1: child processes).'),
});
export type TuneBlock = z.output<typeof TuneBlockSchema>;
export type TuneBlockInput = z.input<typeof TuneBlockSchema>;
