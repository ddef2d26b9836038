import * as path from 'node:path';
import { trainResolved, evaluate, type Command } from '@kiln/core';

const rel = (p: string | undefined, cwd: string) => (p ? path.relative(cwd, p) || '.' : 'none');

function formatLogs(logs: Record<string, number>): string {
  return Object.entries(logs)
    .filter(([k]) => k !== 'epoch')
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`)
    .join('  ');
}

/** `kiln train`: runs the configured training and prints where the model and run record are. */
export const trainCommand: Command = {
  name: 'train',
  description: 'train the model the config describes',
  options: [
    { flags: '--resume [run]', description: 'continue the newest run (or the given run dir / checkpoint) from its last checkpoint' },
    { flags: '--init-weights <checkpoint>', description: 'start from the model weights of a checkpoint or run dir (fine-tuning; fresh optimizer)' },
    { flags: '--profile', description: 'time every kernel over 20 training steps and print where a step goes (kernel-profile callback)' },
    { flags: '--json', description: 'print the result as JSON on stdout' },
  ],
  async run(_args, options, { resolved, logger, cwd, stdout }) {
    if (options.profile && !resolved.config.callbacks.some((c) => c.type === 'kernel-profile')) resolved.config.callbacks.push({ type: 'kernel-profile' });
    const result = await trainResolved(resolved, {
      cwd,
      logger,
      resume: options.resume as boolean | string | undefined,
      initWeights: options.initWeights as string | undefined,
      handleSignals: true,
    });
    if (options.json) {
      stdout.write(`${JSON.stringify({ runDir: result.runDir, logs: result.logs, best: result.best, checkpoints: result.checkpoints, epochs: result.epochsRun, steps: result.stepsRun, stopReason: result.stopReason }, null, 2)}\n`);
      return 0;
    }
    const lines = [
      '',
      `finished ${result.epochsRun} epochs (${result.stepsRun} steps)${result.stopReason ? `, stopped early: ${result.stopReason}` : ''}`,
      `final     ${formatLogs(result.logs)}`,
      ...(result.best ? [`best      ${result.best.monitor}=${result.best.value.toFixed(4)} at epoch ${result.best.epoch}`] : []),
      `model     ${rel(result.checkpoints.best ?? result.checkpoints.last, cwd)}`,
      `run       ${rel(result.runRecord, cwd)}`,
    ];
    stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};

/** `kiln evaluate --checkpoint …`: validation metrics of a saved model. */
export const evaluateCommand: Command = {
  name: 'evaluate',
  description: 'compute validation metrics of a saved checkpoint',
  options: [
    { flags: '--checkpoint <path>', description: 'checkpoint file or run directory (uses its best, else last, checkpoint)' },
    { flags: '--json', description: 'print the metrics as JSON on stdout' },
  ],
  async run(_args, options, { globals, logger, cwd, stdout }) {
    if (!options.checkpoint) {
      stdout.write('kiln evaluate needs --checkpoint <file or run dir>\n');
      return 2;
    }
    const result = await evaluate({ checkpoint: options.checkpoint as string, cwd, logger, configPath: globals.config, presets: globals.preset, set: globals.set });
    if (options.json) stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else stdout.write(`${rel(result.checkpoint, cwd)} on ${result.size} examples\n${formatLogs(result.logs)}\n`);
    return 0;
  },
};
