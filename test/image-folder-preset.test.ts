import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { SeededRng } from '@kiln/core';
import { KILN_BIN, removeProject, tempProject } from './helpers/project';

// Issue #8: the image-classification preset trains on a user's `<root>/<class>/*` folder by
// changing only the data path — grayscale and RGB, PNG and JPEG, any size — then evaluate and
// predict work on what it saved.

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeProject));

const kiln = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [KILN_BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });

/** Class k's texture (unchanged by the preset's flips and crops): horizontal stripes, vertical stripes, a checkerboard, or flat. */
function draw(k: number, w: number, h: number, rng: SeededRng): (x: number, y: number) => number {
  const period = Math.max(4, Math.round(Math.min(w, h) / 5));
  const on = [(x: number, y: number) => Math.floor(y / period) % 2 === 0, (x: number) => Math.floor(x / period) % 2 === 0,
    (x: number, y: number) => (Math.floor(x / period) + Math.floor(y / period)) % 2 === 0, () => false][k];
  const flat = 60 + Math.round(rng.next() * 120);
  return (x, y) => Math.max(0, Math.min(255, (k === 3 ? flat : on(x, y) ? 210 : 40) + Math.round(rng.normal() * 15)));
}

function grayPng(file: string, k: number, w: number, h: number, rng: SeededRng) {
  const png = new PNG({ width: w, height: h, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  const f = draw(k, w, h, rng);
  const data = Buffer.alloc(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = f(x, y);
  png.data = data;
  fs.writeFileSync(file, PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }));
}

function rgbJpeg(file: string, k: number, w: number, h: number, rng: SeededRng) {
  const f = draw(k, w, h, rng);
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = f(x, y);
      data.set([v, 255 - v, v >> 1, 255], (y * w + x) * 4);
    }
  }
  fs.writeFileSync(file, jpeg.encode({ data, width: w, height: h }, 92).data);
}

it('trains the image-classification preset on a folder of mixed grayscale PNGs and RGB JPEGs of several sizes, then evaluates and predicts', () => {
  const dir = tempProject();
  dirs.push(dir);
  const rng = new SeededRng(11);
  const classes = ['horizontal', 'vertical', 'checkered', 'flat'];
  classes.forEach((name, k) => {
    fs.mkdirSync(path.join(dir, 'photos', name), { recursive: true });
    for (let n = 0; n < 10; n++) {
      if (n % 2 === 0) grayPng(path.join(dir, 'photos', name, `${n}.png`), k, 24 + n, 20 + 2 * n, rng);
      else rgbJpeg(path.join(dir, 'photos', name, `${n}.jpg`), k, 48 + 3 * n, 40, rng);
    }
  });
  rgbJpeg(path.join(dir, 'query.jpg'), 1, 64, 50, rng);

  const train = kiln(dir, 'train', '--preset', 'image-classification',
    '--set', 'data={"type":"image-folder","path":"./photos","size":[32,32]}',
    // Small and short so the test takes seconds; everything else is the preset's.
    '--set', 'model.widthMultiplier=0.125', '--set', 'trainer.epochs=12', '--set', 'trainer.batchSize=8', '--set', 'tracker=false',
    '--set', 'optimizer.schedule.warmupSteps=4', '--set', 'output.name=photos');
  expect(train.stderr).not.toMatch(/error/i);
  expect(train.status).toBe(0);
  const record = JSON.parse(fs.readFileSync(path.join(dir, 'runs', 'photos', 'run.json'), 'utf8'));
  expect(record.status).toBe('FINISHED');
  // 40 images, 20 % held out: 8 validation images; the textures are learnt.
  expect(record.best.value).toBeGreaterThanOrEqual(0.75);

  const evaluated = kiln(dir, 'evaluate', '--checkpoint', 'runs/photos', '--json');
  expect(evaluated.status).toBe(0);
  const logs = JSON.parse(evaluated.stdout).logs;
  expect(logs['val/accuracy']).toBeCloseTo(record.best.value, 6);

  const predicted = kiln(dir, 'predict', 'query.jpg', '--checkpoint', 'runs/photos');
  expect(predicted.status).toBe(0);
  const answer = JSON.parse(predicted.stdout.trim().split('\n').pop()!);
  expect(classes).toContain(answer.label);
  expect(Object.keys(answer.scores).sort()).toEqual([...classes].sort());
}, 120_000);
