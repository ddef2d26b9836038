import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { DataError, KilnError, MemoryLogger, readSafetensors, SeededRng, train, type KilnConfigInput } from '@kiln/core';
import { encodePng } from '@kiln/plugin-data';
import { removeProject, tempProject } from './helpers/project';

// Worker threads run the built packages (dist), so these tests need `npm run build` first, as `npm test` does.

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeProject));

/** `<dir>/images/<class>/<n>.png`: 3 classes of 16×16 RGB images (a bright bar whose position is the class) with seeded noise. */
function imageProject(perClass = 8): string {
  const dir = tempProject();
  dirs.push(dir);
  const rng = new SeededRng(3);
  ['left', 'middle', 'right'].forEach((name, label) => {
    fs.mkdirSync(path.join(dir, 'images', name), { recursive: true });
    for (let n = 0; n < perClass; n++) {
      const px = new Uint8Array(16 * 16 * 3);
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 16; x++) {
          const on = Math.floor(x / 6) === label ? 180 : 30;
          for (let c = 0; c < 3; c++) px[(y * 16 + x) * 3 + c] = Math.max(0, Math.min(255, on + Math.round(rng.normal() * 20)));
        }
      }
      fs.writeFileSync(path.join(dir, 'images', name, `${n}.png`), encodePng(px, 16, 16, 3));
    }
  });
  return dir;
}

const config = (workers: number, over: Partial<KilnConfigInput> = {}): KilnConfigInput => ({
  seed: 7,
  backend: 'cpu',
  data: { type: 'image-folder', path: 'images', size: [12, 12], valSplit: 0.25, cacheSize: 0 },
  model: { type: 'simple-cnn', filters: [4], denseUnits: [8] },
  loss: { type: 'cross-entropy' },
  optimizer: { type: 'adam', lr: 0.01 },
  metrics: [{ type: 'accuracy' }],
  callbacks: [{ type: 'checkpoint', monitor: 'val/accuracy', mode: 'max' }],
  trainer: { epochs: 3, batchSize: 4, workers, prefetch: 2, monitor: 'val/accuracy' },
  output: { dir: 'runs', name: `workers-${workers}` },
  ...over,
});

function weightsOf(runDir: string): Record<string, number[]> {
  const { tensors } = readSafetensors(path.join(runDir, 'checkpoints', 'last.safetensors'));
  return Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith('model/')).map(([k, t]) => [k, Array.from(t.data)]));
}

describe('trainer.workers: reading and collating batches in worker threads', () => {
  it('trains to the same weights and metrics with 0, 1 and 2 workers, without leaking tensors', async () => {
    const dir = imageProject();
    const results = [];
    const tensorsAfter: number[] = [];
    for (const workers of [0, 1, 2]) {
      results.push(await train(config(workers), { cwd: dir, logger: new MemoryLogger() }));
      tensorsAfter.push(tf.memory().numTensors);
    }
    const [inline, one, two] = results;
    expect(inline.stepsRun).toBe(3 * Math.ceil(18 / 4));
    expect(one.history).toEqual(inline.history);
    expect(two.history).toEqual(inline.history);
    expect(weightsOf(one.runDir)).toEqual(weightsOf(inline.runDir));
    expect(weightsOf(two.runDir)).toEqual(weightsOf(inline.runDir));
    // Each run disposes its model; nothing a loader made is left behind.
    expect(tensorsAfter[2]).toBe(tensorsAfter[0]);
    expect(tensorsAfter[1]).toBe(tensorsAfter[0]);
  }, 60_000);

  it("reports an image that fails to decode in a worker as a DataError naming the file, and marks the run FAILED", async () => {
    const dir = imageProject(4);
    // A PNG whose header is intact (the reader checks headers before training) but whose data is cut off.
    const victim = path.join(dir, 'images', 'middle', '2.png');
    const bytes = fs.readFileSync(victim);
    fs.writeFileSync(victim, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const logger = new MemoryLogger();
    const error = await train(config(2, { trainer: { epochs: 1, batchSize: 4, workers: 2 } }), { cwd: dir, logger }).catch((e: unknown) => e);
    expect(KilnError.is(error)).toBe(true);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).where).toContain(path.join('middle', '2.png'));
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'runs', 'workers-2', 'run.json'), 'utf8'));
    expect(record.status).toBe('FAILED');
    expect(logger.lines).toContainEqual({ level: 'warn', message: `run ${path.join('runs', 'workers-2')} FAILED before its first checkpoint` });
  }, 60_000);

  it('stops its threads when a step budget ends the run mid-epoch, so the process exits by itself', () => {
    const dir = imageProject(4);
    const script = `
      const { train, MemoryLogger } = require('@kiln/core');
      train(${JSON.stringify(config(2, { trainer: { steps: 2, batchSize: 2, workers: 2, prefetch: 3 } }))}, { cwd: ${JSON.stringify(dir)}, logger: new MemoryLogger() })
        .then((r) => console.log('steps', r.stepsRun))
        .catch((e) => { console.error(e.message); process.exitCode = 1; });`;
    const child = spawnSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8', timeout: 45_000 });
    expect(child.error).toBeUndefined(); // a timeout (lingering worker threads) would set it
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('steps 2');
    expect(child.status).toBe(0);
  }, 60_000);
});
