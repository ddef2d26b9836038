import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { Batch, Callback, Hooks, Rng, StepInfo } from '@kiln/core';

/** Per-step generator forked from the component's: the same step gets the same augmentation after a resume. */
function stepRng(rng: Rng, step: StepInfo): Rng {
  return rng.fork(`step:${step.epoch}:${step.step}`);
}

function replaceImage(batch: Batch, inputName: string, image: tf.Tensor): Batch {
  const old = batch.inputs[inputName];
  const next = { ...batch, inputs: { ...batch.inputs, [inputName]: image } };
  old.dispose();
  return next;
}

export const RandomCropOptions = z.strictObject({
  padding: z.number().int().min(0).default(4).describe('Pixels added on every side before cropping back to the original size'),
  mode: z.enum(['zeros', 'reflect']).default('zeros').describe('Fill for the padding: zeros or a mirror of the edge (without repeating it)'),
  input: z.string().default('image').describe('Name of the NHWC image input to transform'),
});
export type RandomCropOptions = z.output<typeof RandomCropOptions>;

/** Pads training images and crops each back to size at its own random offset. */
export class RandomCrop implements Callback {
  readonly name = 'random-crop';

  constructor(
    private readonly options: RandomCropOptions,
    private readonly rng: Rng,
  ) {}

  /** Offsets [dy, dx] per example into the padded image, each in [0, 2·padding]. */
  offsets(batchSize: number, rng: Rng): [number, number][] {
    const p = this.options.padding;
    return Array.from({ length: batchSize }, () => [rng.int(0, 2 * p), rng.int(0, 2 * p)] as [number, number]);
  }

  transform(image: tf.Tensor4D, rng: Rng): tf.Tensor4D {
    const p = this.options.padding;
    if (p === 0) return image.clone();
    const [n, h, w, c] = image.shape;
    const offsets = this.offsets(n, rng);
    return tf.tidy(() => {
      const pads: [number, number][] = [[0, 0], [p, p], [p, p], [0, 0]];
      const padded = this.options.mode === 'reflect' ? tf.mirrorPad(image, pads, 'reflect') : tf.pad(image, pads);
      const crops = offsets.map(([dy, dx], i) => tf.slice(padded, [i, dy, dx, 0], [1, h, w, c]));
      return tf.concat(crops, 0) as tf.Tensor4D;
    });
  }

  apply(hooks: Hooks): void {
    hooks.modifyBatch.tap(this.name, (batch, step) => {
      const image = batch.inputs[this.options.input];
      if (!image || image.rank !== 4) return batch;
      return replaceImage(batch, this.options.input, this.transform(image as tf.Tensor4D, stepRng(this.rng, step)));
    });
  }
}

export const RandomFlipOptions = z.strictObject({
  probability: z.number().min(0).max(1).default(0.5).describe('Chance each training image is mirrored left–right'),
  input: z.string().default('image').describe('Name of the NHWC image input to transform'),
});
export type RandomFlipOptions = z.output<typeof RandomFlipOptions>;

/** Mirrors each training image horizontally with probability `probability`. */
export class RandomFlip implements Callback {
  readonly name = 'random-flip';

  constructor(
    private readonly options: RandomFlipOptions,
    private readonly rng: Rng,
  ) {}

  /** Which examples of a batch are flipped. */
  decisions(batchSize: number, rng: Rng): boolean[] {
    return Array.from({ length: batchSize }, () => rng.next() < this.options.probability);
  }

  transform(image: tf.Tensor4D, rng: Rng): tf.Tensor4D {
    const n = image.shape[0];
    const flip = this.decisions(n, rng);
    return tf.tidy(() => {
      const mask = tf.tensor4d(flip.map((f) => (f ? 1 : 0)), [n, 1, 1, 1], image.dtype as 'float32');
      // Blend with a 0/1 mask: exact, and one kernel for the whole batch.
      return tf.add(tf.mul(tf.reverse(image, 2), mask), tf.mul(image, tf.sub(1, mask))) as tf.Tensor4D;
    });
  }

  apply(hooks: Hooks): void {
    hooks.modifyBatch.tap(this.name, (batch, step) => {
      const image = batch.inputs[this.options.input];
      if (!image || image.rank !== 4) return batch;
      return replaceImage(batch, this.options.input, this.transform(image as tf.Tensor4D, stepRng(this.rng, step)));
    });
  }
}
