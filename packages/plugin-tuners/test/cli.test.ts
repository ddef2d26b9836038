import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanup, kiln, requireBuilt, SPACE, tempDir } from './helpers';

beforeAll(requireBuilt);

afterAll(cleanup);

function project(tune: Record<string, unknown>): string {
  const dir = tempDir();
  const config = {
    extends: '@kiln/presets/tabular-classification',
    plugins: ['@kiln/plugin-tuners'],
    data: { type: 'synthetic-tabular', trainSize: 120, valSize: 60 },
    model: { type: 'mlp', hiddenUnits: [8] },
    callbacks: [{ type: 'checkpoint' }],
    trainer: { batchSize: 40, epochs: 2 },
    tune,
  };
  fs.writeFileSync(path.join(dir, 'kiln.config.json'), JSON.stringify(config, null, 2));
  return dir;
}

describe('kiln tune', () => {
  it('--dry-run prints the Hyperband brackets of R = 81, η = 3 as one JSON object', async () => {
    const dir = project({ space: SPACE, tuner: { type: 'hyperband', maxEpochs: 81, eta: 3 } });
    const r = await kiln(dir, 'tune', '--dry-run');
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      brackets: [
        { s: 4, rungs: [{ n: 81, r: 1 }, { n: 27, r: 3 }, { n: 9, r: 9 }, { n: 3, r: 27 }, { n: 1, r: 81 }] },
        { s: 3, rungs: [{ n: 34, r: 3 }, { n: 11, r: 9 }, { n: 3, r: 27 }, { n: 1, r: 81 }] },
        { s: 2, rungs: [{ n: 15, r: 9 }, { n: 5, r: 27 }, { n: 1, r: 81 }] },
        { s: 1, rungs: [{ n: 8, r: 27 }, { n: 2, r: 81 }] },
        { s: 0, rungs: [{ n: 5, r: 81 }] },
      ],
    });
    expect(fs.existsSync(path.join(dir, 'runs'))).toBe(false);
  });

  it('reports a bad space as one error naming tune.space.<param> and the file', async () => {
    const dir = project({ space: { 'optimizer.lr': { type: 'loguniform', min: 0, max: 0.1 } } });
    const r = await kiln(dir, 'tune', '--dry-run');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error E_CONFIG: .*tune\.space\.optimizer\.lr: a log-scale range must be above 0/);
  });

  it('runs a small study, then --report prints the table and writes report.html', async () => {
    const dir = project({ space: SPACE, objective: 'val/accuracy', tuner: { type: 'successive-halving', configs: 3, minEpochs: 1, maxEpochs: 3, eta: 3 }, study: 'sh' });
    const run = await kiln(dir, 'tune', '--set', 'model.hiddenUnits=[4]');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/best {6}trial \d: val\/accuracy=/);
    expect(run.stdout).toContain(path.join('runs', 'sh', 'best.config.json'));
    // --set reached every trial
    const study = JSON.parse(fs.readFileSync(path.join(dir, 'runs', 'sh', 'study.json'), 'utf8'));
    expect(study.trials).toHaveLength(4);
    const trialConfig = JSON.parse(fs.readFileSync(path.join(study.trials[0].runDir, 'config.json'), 'utf8'));
    expect(trialConfig.model.hiddenUnits).toEqual([4]);
    expect(trialConfig.trainer.epochs).toBe(1);
    const report = await kiln(dir, 'tune', '--report');
    expect(report.code).toBe(0);
    expect(report.stdout.split('\n')[0]).toMatch(/^rank\s+trial\s+status\s+val\/accuracy\s+epochs\s+params$/);
    expect(report.stdout.split('\n').filter((l) => /^\d+\s/.test(l))).toHaveLength(4);
    const html = fs.readFileSync(path.join(dir, 'runs', 'sh', 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('learning curves');
  });
});
