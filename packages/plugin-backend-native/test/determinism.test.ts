import * as tf from '@tensorflow/tfjs-core';
import { activateNative, describeNative, rand } from './helpers';
import { NATIVE_TF_BACKEND } from '../src/kernels/register';

/**
 * Kiln promises the same weights for the same seed (and a resumed run ending where an uninterrupted
 * one does), so a kernel that sums across threads must add the same partial sums in the same order on
 * every call, however the threads happen to be scheduled. The filter gradient is where per-thread
 * partial sums are: the pixel-blocked path (few channels, large images) and the Winograd path (3×3,
 * stride 1, ≥ 64 channels). Each is called repeatedly and must give the same bits every time.
 */
const CASES: [string, [number, number, number, number], number][] = [
  ['pixel-blocked filter gradient, 16 channels at 32×32', [16, 32, 32, 16], 16],
  ['Winograd filter gradient, 64 channels at 16×16', [8, 16, 16, 64], 64],
  ['Winograd filter gradient, 128 channels at 8×8', [16, 8, 8, 128], 128],
];

describeNative('run-to-run determinism of cross-thread sums', () => {
  beforeAll(async () => {
    await activateNative();
    tf.setBackend(NATIVE_TF_BACKEND);
  });

  it.each(CASES)('%s: the same bits on every call', (_, xShape, outChannels) => {
    const x = rand(xShape, 11) as tf.Tensor4D;
    const filter = rand([3, 3, xShape[3], outChannels], 12) as tf.Tensor4D;
    const dy = rand([...xShape.slice(0, 3), outChannels], 13);
    const filterGrad = () => tf.tidy(() => tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, 1, 'same'), dy)))(filter).dataSync() as Float32Array);
    const first = Buffer.from(filterGrad().buffer);
    for (let call = 0; call < 12; call++) expect(Buffer.from(filterGrad().buffer).equals(first)).toBe(true);
    tf.dispose([x, filter, dy]);
  });
});
