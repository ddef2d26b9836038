import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { MemoryLogger } from '@kiln/core';
import { tune, type StudyData } from '../src';
import { cleanup, requireBuilt, SPACE, tempDir, tinyConfig } from './helpers';

beforeAll(requireBuilt);

afterAll(cleanup);

const DIST = path.resolve(__dirname, '..', 'dist', 'index.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readStudy(file: string): StudyData | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as StudyData;
  } catch {
    return undefined;
  }
}

describe('kill mid-study, then --resume', () => {
  it('continues where it stopped: interrupted trials rerun under their id, none counted twice', async () => {
    const dir = tempDir();
    // R = 9, η = 3: 9@1 → 3@3 → 1@9, 5@3 → 1@9, 3@9 = 22 trials
    const config = tinyConfig(dir, { space: SPACE, objective: 'val/accuracy', tuner: { type: 'hyperband', maxEpochs: 9, eta: 3 } });
    const script = path.join(dir, 'study.js');
    fs.writeFileSync(script, `require(${JSON.stringify(DIST)}).tune(${JSON.stringify(config)}, { cwd: ${JSON.stringify(dir)} }).then(() => process.exit(0));\n`);
    const studyFile = path.join(dir, 'runs', 'tune', 'study.json');
    const child = spawn(process.execPath, [script], { stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    let before: StudyData | undefined;
    for (let i = 0; i < 1200; i++) {
      await sleep(25);
      const s = readStudy(studyFile);
      const done = s?.trials.filter((t) => t.status === 'completed').length ?? 0;
      if (done >= 4 && s!.trials.some((t) => t.status === 'running' && t.epochs.length > 0)) {
        child.kill('SIGKILL');
        break;
      }
    }
    await exited;
    before = readStudy(studyFile)!;
    const interrupted = before.trials.filter((t) => t.status === 'running');
    expect(before.status).toBe('running');
    expect(interrupted.length).toBe(1);
    expect(before.trials.length).toBeLessThan(22);

    const logger = new MemoryLogger();
    const outcome = await tune(config, { cwd: dir, resume: true, logger });
    const after = readStudy(studyFile)!;
    const ids = after.trials.map((t) => t.id);
    expect(ids).toEqual(Array.from({ length: 22 }, (_, i) => String(i)));
    expect(after.trials.every((t) => t.status === 'completed')).toBe(true);
    // finished trials were not rerun; the interrupted one was, once
    for (const t of before.trials.filter((x) => x.status === 'completed')) {
      expect(after.trials[Number(t.id)]).toMatchObject({ startedAt: t.startedAt, value: t.value, attempts: 1 });
    }
    expect(after.trials[Number(interrupted[0].id)].attempts).toBe(2);
    expect(logger.lines.filter((l) => /^trial \d+ completed/.test(l.message))).toHaveLength(22 - (before.trials.length - 1));
    // the schedule is intact: 9·1 + 3·(3−1) + 1·(9−3) + 5·3 + 1·(9−3) + 3·9 epochs
    expect(outcome.epochsTrained).toBe(9 + 6 + 6 + 15 + 6 + 27);
    expect(after.trials.map((t) => t.budget.epochs)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 9, 3, 3, 3, 3, 3, 9, 9, 9, 9]);
  });
});

describe('local parallel workers', () => {
  it('runs trials in child processes with --workers 2', async () => {
    const dir = tempDir();
    const outcome = await tune(tinyConfig(dir, { space: SPACE, objective: 'val/accuracy', tuner: { type: 'random', trials: 3, epochs: 2 } }), { cwd: dir, workers: 2, logger: new MemoryLogger() });
    const study = readStudy(outcome.studyFile)!;
    expect(study.trials.map((t) => t.status)).toEqual(['completed', 'completed', 'completed']);
    expect(study.trials.every((t) => t.epochs.map((e) => e.epoch).join() === '1,2')).toBe(true);
    expect(new Set(study.trials.map((t) => t.runDir)).size).toBe(3);
  });
});
