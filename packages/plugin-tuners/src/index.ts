import { definePlugin, Tokens, type KilnPlugin } from '@kiln/core';
import { TuneEnvironmentToken, type TuneEnvironment } from './tuners/environment';
import { SequenceTuner, RandomTunerOptions, TpeTunerOptions } from './tuners/sequence-tuner';
import { GridTuner, GridTunerOptions } from './tuners/grid-tuner';
import { createHyperbandTuner, createSuccessiveHalvingTuner, HyperbandOptions, SuccessiveHalvingOptions } from './tuners/hyperband-tuner';
import { AshaOptions, AshaTuner } from './tuners/asha-tuner';
import { tuneCommand } from './command';
import { workerCommand } from './worker-command';
import { tuneWith, type StudyOutcome, type TuneConfigInput, type TuneOptions } from './study/study';

export * from './space/schema';
export * from './space/search-space';
export * from './space/default-spaces';
export * from './space/validate-paths';
export * from './tuners/environment';
export * from './tuners/samplers';
export * from './tuners/tpe-sampler';
export * from './tuners/sequence-tuner';
export * from './tuners/grid-tuner';
export * from './tuners/hyperband-schedule';
export * from './tuners/bracket-tuner';
export * from './tuners/hyperband-tuner';
export * from './tuners/asha-tuner';
export * from './tuners/median-pruner';
export * from './study/executor';
export * from './study/run-trial';
export * from './study/in-process-executor';
export * from './study/process-executor';
export * from './study/study-file';
export * from './study/study-runner';
export * from './study/leaderboard';
export * from './study/report';
export * from './study/study';
export { tuneCommand } from './command';
export { workerCommand } from './worker-command';
export * from './study/study-tracker-run';
export * from './distributed/redis-connection';
export * from './distributed/redis-executor';
export * from './distributed/trial-worker';

const env = (get: <T>(token: symbol) => T) => get<TuneEnvironment>(TuneEnvironmentToken);

const plugin: KilnPlugin = definePlugin({
  name: '@kiln/plugin-tuners',
  version: '0.1.0',
  kiln: '^0.1.0',
  description: 'Hyperparameter tuners (random, grid, successive halving, Hyperband, ASHA, TPE) and the kiln tune command.',
  register(ctx) {
    ctx.provide(Tokens.Tuner, 'random', (o, c) => new SequenceTuner('random', o, env(c.get)), RandomTunerOptions, { description: 'Random search: independent configurations, each trained for the full budget.' });
    ctx.provide(Tokens.Tuner, 'tpe', (o, c) => new SequenceTuner('tpe', o, env(c.get)), TpeTunerOptions, { description: 'Tree-structured Parzen Estimator (Bergstra et al. 2011).' });
    ctx.provide(Tokens.Tuner, 'grid', (o, c) => new GridTuner(o, env(c.get)), GridTunerOptions, { description: 'Every combination of the grid/choice values.' });
    ctx.provide(Tokens.Tuner, 'successive-halving', (o, c) => createSuccessiveHalvingTuner(o, env(c.get)), SuccessiveHalvingOptions, { description: 'One successive-halving bracket: keep the best 1/η, train η× longer.' });
    ctx.provide(Tokens.Tuner, 'hyperband', (o, c) => createHyperbandTuner(o, env(c.get)), HyperbandOptions, { description: 'Hyperband (Li et al. 2018); with sampler: tpe, BOHB-style.' });
    ctx.provide(Tokens.Tuner, 'asha', (o, c) => new AshaTuner(o, env(c.get)), AshaOptions, { description: 'Asynchronous successive halving (Li et al. 2020).' });
    ctx.command(tuneCommand(plugin));
    ctx.command(workerCommand());
  },
});

/** One call: resolve the config, run the study, return the leaderboard and the best trial. */
export function tune(config?: TuneConfigInput, options: TuneOptions = {}): Promise<StudyOutcome> {
  return tuneWith(plugin, config, options);
}

export default plugin;
