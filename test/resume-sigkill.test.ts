import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensors } from '@kiln/core';
import { epochsLogged, KILN_BIN, removeProject, tempProject } from './helpers/project';

let dir: string;
afterAll(() => removeProject(dir));

const CONFIG = `extends: tabular-classification
data:
  type: synthetic-tabular
  trainSize: 3000
  valSize: 100
model:
  type: mlp
  hiddenUnits: [32, 32]
  dropout: 0.2
trainer:
  epochs: 5
  batchSize: 16
`;

function weights(run: string): Record<string, number[]> {
  const { tensors } = readSafetensors(path.join(dir, 'runs', run, 'checkpoints', 'last.safetensors'));
  return Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, Array.from(t.data)]));
}

const epochsDone = (run: string) => epochsLogged(path.join(dir, 'runs', run));

it('kill -9 mid-epoch, then --resume, ends with the weights of an uninterrupted run', async () => {
  dir = tempProject({ 'kiln.config.yaml': CONFIG });
  const full = spawnSync(process.execPath, [KILN_BIN, 'train', '--set', 'output.name=full'], { cwd: dir, encoding: 'utf8' });
  expect(full.status).toBe(0);

  const child = spawn(process.execPath, [KILN_BIN, 'train', '--set', 'output.name=cut'], { cwd: dir, stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const deadline = Date.now() + 60_000;
  while (epochsDone('cut') < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 150)); // into the third epoch
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  const done = epochsDone('cut');
  expect(done).toBeGreaterThanOrEqual(2);
  expect(done).toBeLessThan(5);
  const leftovers = fs.readdirSync(path.join(dir, 'runs', 'cut', 'checkpoints')).filter((f) => f.includes('.tmp-'));
  expect(leftovers).toEqual([]);
  readSafetensors(path.join(dir, 'runs', 'cut', 'checkpoints', 'last.safetensors'));

  const resumed = spawnSync(process.execPath, [KILN_BIN, 'train', '--set', 'output.name=cut', '--resume', 'runs/cut'], { cwd: dir, encoding: 'utf8' });
  expect(resumed.stderr).toMatch(/resumed from .*last\.safetensors at epoch [2-4]/);
  expect(resumed.status).toBe(0);
  const a = weights('full');
  const b = weights('cut');
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  for (const key of Object.keys(a)) expect(b[key]).toEqual(a[key]);
});
