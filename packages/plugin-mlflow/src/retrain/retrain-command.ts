import { ConfigError, UsageError } from '@kiln/core';
import type { Command } from '@kiln/core';
import { retrain, RetrainOptionsSchema, type RetrainOptions } from './retrain';

function number(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`${flag} must be a number, got '${String(value)}'`, { where: flag });
  return n;
}

/** Options from the config's `retrain:` section (validated by RetrainOptionsSchema), overridden by flags. */
export function retrainOptionsFrom(configSection: unknown, flags: Record<string, unknown>): RetrainOptions {
  const section = configSection && typeof configSection === 'object' ? (configSection as Record<string, unknown>) : {};
  const merged: Record<string, unknown> = { ...section };
  const set = (key: string, value: unknown) => {
    if (value !== undefined) merged[key] = value;
  };
  set('threshold', number('--threshold', flags.threshold));
  set('monitor', flags.monitor);
  set('mode', flags.mode);
  set('holdout', number('--holdout', flags.holdout));
  set('epochs', number('--epochs', flags.epochs));
  set('lr', number('--lr', flags.lr));
  set('alias', flags.alias);
  set('store', flags.store);
  if (merged.threshold === undefined) {
    throw new ConfigError('kiln retrain needs a threshold', {
      where: 'retrain.threshold',
      hint: 'set retrain: { threshold: <value> } in the config or pass --threshold: the champion is retrained when its metric on the new data is worse than this',
    });
  }
  const parsed = RetrainOptionsSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`invalid retrain option: ${issue.message}`, { where: ['retrain', ...issue.path.map(String)].join('.'), hint: 'see `kiln retrain --help`' });
  }
  return parsed.data;
}

export const retrainCommand: Command = {
  name: 'retrain',
  description: "Evaluate the use-case's champion on new data; below the threshold, fine-tune it, register the new version and promote it if it beats the champion on held-out rows.",
  options: [
    { flags: '--data <file>', description: 'the new data (CSV/TSV or JSON lines, read like the training data)' },
    { flags: '--threshold <value>', description: "retrain when the champion's metric on the new data is worse than this" },
    { flags: '--monitor <metric>', description: "the deciding metric (default: the champion's trainer.monitor)" },
    { flags: '--mode <mode>', description: 'min or max (default: inferred)' },
    { flags: '--holdout <fraction>', description: 'fraction of the new data held out for the comparison (default 0.2)' },
    { flags: '--epochs <n>', description: "fine-tuning epochs (default: the champion's trainer.epochs)" },
    { flags: '--lr <rate>', description: "fine-tuning learning rate (default: the champion's optimizer.lr)" },
    { flags: '--alias <name>', description: 'registry alias of the production model (default champion)' },
    { flags: '--store <dir|uri>', description: 'the mlruns folder or an http(s) tracking server (default: tracker.uri, else ./mlruns)' },
    { flags: '--json', description: 'print the result as JSON' },
  ],
  async run(_args, flags, context) {
    if (typeof flags.data !== 'string') throw new UsageError('kiln retrain needs --data <file>', { where: '--data', hint: 'kiln retrain --data new.csv --threshold 0.8' });
    const options = retrainOptionsFrom(context.resolved.config.retrain, flags);
    const json = !!flags.json;
    const result = await retrain({
      resolved: context.resolved,
      data: flags.data,
      options,
      cwd: context.cwd,
      logger: context.logger,
      onLine: json ? undefined : (line) => context.stdout.write(`retrain: ${line}\n`),
    });
    if (json) context.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  },
};
