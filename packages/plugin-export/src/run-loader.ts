import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, lastCheckpoint, resolveConfig, setupRun, UsageError, type Logger, type ResolvedConfig, type RunSetup } from '@kiln/core';

export interface LoadedRun {
  setup: RunSetup;
  checkpoint: string;
  runDir: string;
  /** Directory the run's config paths are relative to. */
  baseDir: string;
  /** Validation metrics of the run (from run.json), for the model card. */
  metrics: Record<string, number>;
  dispose(): void;
}

/** A checkpoint file, or a run directory's best (else last) checkpoint; as `evaluate()` resolves it. */
export function resolveCheckpoint(spec: string, cwd: string): string {
  let checkpoint = path.resolve(cwd, spec);
  if (fs.existsSync(checkpoint) && fs.statSync(checkpoint).isDirectory()) {
    const best = path.join(checkpoint, 'checkpoints', 'best.safetensors');
    checkpoint = fs.existsSync(best) ? best : lastCheckpoint(checkpoint) ?? checkpoint;
  }
  if (!fs.existsSync(checkpoint) || !fs.statSync(checkpoint).isFile()) {
    throw new UsageError(`checkpoint not found: ${spec}`, { where: '--checkpoint', hint: 'pass a .safetensors file or a run directory written by kiln train' });
  }
  return checkpoint;
}

function runMetrics(runDir: string): Record<string, number> {
  const file = path.join(runDir, 'run.json');
  if (!fs.existsSync(file)) return {};
  const record = JSON.parse(fs.readFileSync(file, 'utf8')) as { logs?: Record<string, number> };
  return Object.fromEntries(Object.entries(record.logs ?? {}).filter(([k, v]) => k.startsWith('val/') && Number.isFinite(v)));
}

/** Rebuilds a run's model (and its data info) from its saved config.json and loads the checkpoint weights. */
export async function loadRun(spec: string, options: { cwd: string; logger?: Logger; set?: string[] }): Promise<LoadedRun> {
  const checkpoint = resolveCheckpoint(spec, options.cwd);
  const runDir = path.dirname(path.dirname(checkpoint));
  const saved = path.join(runDir, 'config.json');
  if (!fs.existsSync(saved)) throw new ConfigError(`no config.json beside the checkpoint (${saved})`, { where: '--checkpoint', hint: 'pass a checkpoint inside a run directory written by kiln train' });
  const recordFile = path.join(runDir, 'run.json');
  const baseDir = fs.existsSync(recordFile) ? (JSON.parse(fs.readFileSync(recordFile, 'utf8')) as { baseDir?: string }).baseDir ?? options.cwd : options.cwd;
  const config = JSON.parse(fs.readFileSync(saved, 'utf8')) as Record<string, unknown>;
  delete config.extends;
  // The model is rebuilt, not trained: callbacks (progress bars, checkpoints) and trackers are not needed.
  config.callbacks = [];
  delete config.tracker;
  const resolved: ResolvedConfig = await resolveConfig({ cwd: baseDir, inline: config, set: options.set, search: false });
  const setup = await setupRun(resolved, { cwd: baseDir, logger: options.logger, runDir, splits: ['val'] });
  try {
    setup.trainer.loadCheckpoint(checkpoint, true);
  } catch (error) {
    dispose(setup);
    throw error;
  }
  return { setup, checkpoint, runDir, baseDir, metrics: runMetrics(runDir), dispose: () => dispose(setup) };
}

function dispose(setup: RunSetup): void {
  setup.mathRandom.uninstall();
  setup.trainer.model.dispose();
  setup.trainer.optimizer.dispose();
  setup.kernel.container.unbindAll();
}
