import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateCoco, type CocoDataset, type CocoParams, type CocoResult, type IouType } from '../src';

interface FixtureCase {
  name: string;
  iouType: IouType;
  params: Partial<CocoParams>;
  gt: CocoDataset;
  dt: CocoResult[];
  stats: number[];
}

// Reference numbers from the real pycocotools; see the fixture's "description" and generate-pycocotools-cases.py.
const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'pycocotools-cases.json'), 'utf8')) as { description: string; cases: FixtureCase[] };

describe('agreement with pycocotools COCOeval.stats (recorded fixture)', () => {
  test('the fixture says how it was made', () => {
    expect(fixture.description).toMatch(/pycocotools/);
    expect(fixture.cases.length).toBeGreaterThanOrEqual(13);
  });

  test.each(fixture.cases.map((c) => [c.name, c] as const))('%s: all stats within 1e-9', (_name, c) => {
    const r = evaluateCoco(c.gt, c.dt, { iouType: c.iouType, ...c.params });
    expect(r.stats).toHaveLength(c.stats.length);
    c.stats.forEach((s, i) => expect(Math.abs(r.stats[i]! - s)).toBeLessThanOrEqual(1e-9));
  });
});
