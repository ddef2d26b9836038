import { definePlugin, Tokens } from '@kiln/core';
import { {{Id}}Mlp, {{Id}}MlpOptions } from './model';
import { {{Id}}TimerCallback, {{Id}}TimerOptions } from './callback';

export { {{Id}}Mlp, {{Id}}MlpOptions } from './model';
export { {{Id}}TimerCallback, {{Id}}TimerOptions, type EpochTiming } from './callback';

/**
 * The plugin object Kiln loads when a config lists `plugins: ['{{name}}']`. `register` is the
 * only place it binds anything: each `provide` names an implementation of a point, and the zod
 * schema validates that block's options in the config and documents them in `kiln plugins`.
 */
const plugin = definePlugin({
  name: '{{name}}',
  version: '0.1.0',
  kiln: '^{{kilnVersion}}',
  description: 'the {{id}}-mlp model and the {{id}}-timer callback',
  register(ctx) {
    ctx.provide(Tokens.Model, '{{id}}-mlp', (options, context) => new {{Id}}Mlp(options, context.dataset, context.seed, context.path), {{Id}}MlpOptions, {
      description: 'a one-hidden-layer perceptron written with tfjs-core ops',
    });
    ctx.provide(Tokens.Callback, '{{id}}-timer', (options, context) => new {{Id}}TimerCallback(options, context.logger), {{Id}}TimerOptions, {
      description: 'logs how long each epoch took and appends it to <runDir>/timing.jsonl',
    });
  },
});

export default plugin;
