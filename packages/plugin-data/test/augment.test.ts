import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Hooks, SeededRng } from '@kiln/core';
import type { Batch, StepInfo, TrainerHandle } from '@kiln/core';
import { RandomCrop, RandomCropOptions, RandomFlip, RandomFlipOptions } from '../src/augment/augmentations';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// Two 3×3 single-channel images with values 1…9 and 11…19.
const H = 3;
const W = 3;
const pixels = [...Array.from({ length: 9 }, (_, i) => i + 1), ...Array.from({ length: 9 }, (_, i) => i + 11)];
const value = (n: number, y: number, x: number) => pixels[n * 9 + y * 3 + x];

function stepInfo(batch: Batch, step: number): StepInfo {
  // The augmentations read only epoch and step; the trainer is not touched.
  return { trainer: {} as TrainerHandle, epoch: 0, step, stepInEpoch: step, stepsPerEpoch: 10, batch };
}

test('random-crop (zeros): each example is its padded image cropped at its offset', () => {
  const crop = new RandomCrop(RandomCropOptions.parse({ padding: 1 }), new SeededRng(1));
  const image = tf.tensor4d(pixels, [2, H, W, 1]);
  const offsets = crop.offsets(2, new SeededRng(7));
  const out = crop.transform(image, new SeededRng(7));
  const data = out.dataSync();
  for (let n = 0; n < 2; n++) {
    const [dy, dx] = offsets[n];
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const sy = y + dy - 1;
        const sx = x + dx - 1;
        const expected = sy < 0 || sy >= H || sx < 0 || sx >= W ? 0 : value(n, sy, sx);
        expect(data[n * 9 + y * 3 + x]).toBe(expected);
      }
    }
  }
  tf.dispose([image, out]);
});

test('random-crop (reflect) mirrors without repeating the edge', () => {
  const crop = new RandomCrop(RandomCropOptions.parse({ padding: 1, mode: 'reflect' }), new SeededRng(1));
  const image = tf.tensor4d(pixels, [2, H, W, 1]);
  // Search a seed whose first offset is (0, 0): the top-left padded pixel reflects to source (1, 1).
  let seed = 0;
  while (crop.offsets(1, new SeededRng(seed))[0].join() !== '0,0') seed++;
  const out = crop.transform(image, new SeededRng(seed));
  expect(out.dataSync()[0]).toBe(value(0, 1, 1));
  expect(out.dataSync()[1]).toBe(value(0, 1, 0));
  tf.dispose([image, out]);
});

test('random-flip mirrors exactly the chosen examples; p = 0.5 flips about half', () => {
  const flip = new RandomFlip(RandomFlipOptions.parse({}), new SeededRng(1));
  const image = tf.tensor4d(pixels, [2, H, W, 1]);
  for (let seed = 0; seed < 8; seed++) {
    const decisions = flip.decisions(2, new SeededRng(seed));
    const out = flip.transform(image, new SeededRng(seed)).dataSync();
    for (let n = 0; n < 2; n++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) expect(out[n * 9 + y * 3 + x]).toBe(value(n, y, decisions[n] ? W - 1 - x : x));
  }
  const many = flip.decisions(4000, new SeededRng(3)).filter(Boolean).length;
  expect(Math.abs(many - 2000)).toBeLessThan(130);
  image.dispose();
});

test('through hooks.modifyBatch: deterministic per step, replaced tensors disposed, no leaks', () => {
  const run = () => {
    const hooks = new Hooks();
    new RandomCrop(RandomCropOptions.parse({ padding: 2 }), new SeededRng(11)).apply(hooks);
    new RandomFlip(RandomFlipOptions.parse({}), new SeededRng(12)).apply(hooks);
    const results: number[][] = [];
    const before = tf.memory().numTensors;
    for (let step = 0; step < 5; step++) {
      const batch: Batch = { inputs: { image: tf.tensor4d(pixels, [2, H, W, 1]) }, targets: tf.tensor1d([0, 1], 'int32'), indices: [0, 1] };
      const original = batch.inputs.image;
      const out = hooks.modifyBatch.call(batch, stepInfo(batch, step));
      expect(original.isDisposed).toBe(true);
      expect(out.inputs.image.shape).toEqual([2, H, W, 1]);
      expect(out.targets).toBe(batch.targets);
      results.push(Array.from(out.inputs.image.dataSync()));
      tf.dispose([out.inputs.image, out.targets]);
    }
    expect(tf.memory().numTensors).toBe(before);
    return results;
  };
  const a = run();
  expect(run()).toEqual(a);
  // Different steps get different augmentations.
  expect(new Set(a.map((r) => r.join())).size).toBeGreaterThan(1);
});
