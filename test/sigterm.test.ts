import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
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
trainer:
  epochs: 50
  batchSize: 16
tracker:
  type: mlflow
`;

const epochsDone = () => epochsLogged(path.join(dir, 'runs', 'stopped'));

/** Every run's meta.yaml under mlruns/, as text. */
function runMetas(): string[] {
  const root = path.join(dir, 'mlruns');
  const out: string[] = [];
  for (const experiment of fs.readdirSync(root)) {
    const expDir = path.join(root, experiment);
    if (!fs.statSync(expDir).isDirectory()) continue;
    for (const run of fs.readdirSync(expDir)) {
      const meta = path.join(expDir, run, 'meta.yaml');
      if (run !== 'meta.yaml' && fs.existsSync(meta)) out.push(fs.readFileSync(meta, 'utf8'));
    }
  }
  return out;
}

it('SIGTERM marks the run KILLED in run.json and in the tracker, keeps its checkpoints, and exits 143', async () => {
  dir = tempProject({ 'kiln.config.yaml': CONFIG });
  const child = spawn(process.execPath, [KILN_BIN, 'train', '--set', 'output.name=stopped'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (epochsDone() < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGTERM');
  expect(await exited).toBe(143);
  expect(stderr).toMatch(/SIGTERM: marking the run KILLED/);
  const record = JSON.parse(fs.readFileSync(path.join(dir, 'runs', 'stopped', 'run.json'), 'utf8'));
  expect(record).toMatchObject({ status: 'KILLED', signal: 'SIGTERM' });
  expect(fs.existsSync(path.join(dir, 'runs', 'stopped', 'checkpoints', 'last.safetensors'))).toBe(true);
  const metas = runMetas();
  expect(metas).toHaveLength(1);
  // MLflow RunStatus enum: RUNNING 1, SCHEDULED 2, FINISHED 3, FAILED 4, KILLED 5.
  expect(metas[0]).toMatch(/^status: 5$/m);
  expect(metas[0]).toMatch(/^end_time: \d+$/m);
}, 90_000);
