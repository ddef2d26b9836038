import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '@kiln/cli';
import type { TuneConfigInput, TuneBlockInput } from '../src';

export const dirs: string[] = [];

export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-tune-'));
  dirs.push(dir);
  return dir;
}

export function cleanup(): void {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** The tabular preset shrunk so a trial epoch takes milliseconds (on tfjs's cpu backend: deterministic in any process). */
export function tinyConfig(dir: string, tune: TuneBlockInput): TuneConfigInput {
  return {
    extends: '@kiln/presets/tabular-classification',
    backend: 'cpu',
    data: { type: 'synthetic-tabular', task: 'classification', trainSize: 120, valSize: 60 },
    model: { type: 'mlp', hiddenUnits: [8] },
    callbacks: [{ type: 'checkpoint' }],
    trainer: { batchSize: 40, epochs: 2 },
    output: { dir: path.join(dir, 'runs') },
    tune,
  };
}

export const SPACE = {
  'optimizer.lr': { type: 'loguniform', min: 1e-3, max: 1e-1 },
  'model.dropout': { type: 'uniform', min: 0, max: 0.3 },
} as const;

/** The CLI, resume and worker tests run the built package (child processes, plugin loading by name). */
export function requireBuilt(): void {
  for (const file of ['index.js', 'worker.js']) {
    if (!fs.existsSync(path.resolve(__dirname, '..', 'dist', file))) {
      throw new Error(`packages/plugin-tuners/dist/${file} is missing: run \`npx tsc -b packages/plugin-tuners\` (or \`npx tsc -b\` at the root) before these tests`);
    }
  }
}

/** One run of an MLflow file store (mlruns/<experiment>/<run>/{tags,params,metrics}). */
export function mlflowRun(mlruns: string, runId: string) {
  const [experiment] = fs.readdirSync(mlruns).filter((e) => fs.existsSync(path.join(mlruns, e, runId)));
  const dir = path.join(mlruns, experiment, runId);
  const read = (kind: string, key: string) => fs.readFileSync(path.join(dir, kind, key), 'utf8');
  return {
    tag: (key: string) => (fs.existsSync(path.join(dir, 'tags', key)) ? read('tags', key) : undefined),
    param: (key: string) => read('params', key),
    /** Last value of a metric (lines: `timestamp value step`). */
    metric: (key: string) => Number(read('metrics', key).trim().split('\n').pop()!.split(' ')[1]),
    status: () => /status: (\d+)/.exec(fs.readFileSync(path.join(dir, 'meta.yaml'), 'utf8'))![1],
  };
}

/** `kiln …` in-process (plugins load from the workspace: @kiln/plugin-tuners must be built). */
export async function kiln(cwd: string, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const code = await main(argv, { stdout, stderr, cwd });
  return { code, stdout: out, stderr: err };
}
