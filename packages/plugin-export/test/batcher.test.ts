import { KILN_VERSION, type InputSpec } from '@kiln/core';
import { DynamicBatcher } from '../src/serve/batcher';
import type { InputArray, Predictor } from '../src/predict/predictor';

/** y = factor · x over one input of 1 value; each run waits for `release()`, so a test controls when a batch ends. */
class GatedScaler implements Predictor {
  readonly runtime = 'kiln' as const;
  readonly inputs: InputSpec[] = [{ name: 'x', shape: [1], dtype: 'float32' }];
  readonly card = { name: 'scale', task: 'regression' as const, inputs: [{ name: 'x', shape: [null, 1], dtype: 'float32' as const }], kilnVersion: KILN_VERSION };
  readonly batches: number[][] = [];
  disposed = false;
  private gates: (() => void)[] = [];

  constructor(
    readonly version: string,
    private readonly factor: number,
  ) {}

  get name(): string {
    return 'scale';
  }

  async run(inputs: InputArray[], batch: number): Promise<{ data: Float32Array; width: number }> {
    if (this.disposed) throw new Error(`version ${this.version} used after dispose`);
    this.batches.push(Array.from(inputs[0]));
    await new Promise<void>((resolve) => this.gates.push(resolve));
    if (this.disposed) throw new Error(`version ${this.version} disposed during its batch`);
    return { data: Float32Array.from(inputs[0], (v) => v * this.factor), width: inputs[0].length / batch };
  }

  release(): void {
    this.gates.shift()?.();
  }

  get waiting(): number {
    return this.gates.length;
  }

  dispose(): void {
    this.disposed = true;
  }
}

const tick = () => new Promise((r) => setImmediate(r));
const row = (v: number): InputArray[] => [Float32Array.of(v)];

test('swap: the batch in flight finishes on the old version, later batches run on the new one, and swap resolves only after', async () => {
  const v1 = new GatedScaler('1', 2);
  const v2 = new GatedScaler('2', 10);
  const batcher = new DynamicBatcher(v1, { maxBatch: 8, maxWaitMs: 0 });
  const first = batcher.submit([row(1)]);
  await tick();
  expect(v1.waiting).toBe(1); // batch [1] is running on v1
  const queued = batcher.submit([row(3)]); // waits behind the running batch
  let swapped = false;
  const swap = batcher.swap(v2).then((old) => {
    swapped = true;
    old.dispose();
    return old;
  });
  await tick();
  expect(swapped).toBe(false); // v1 still has a batch in flight
  const later = batcher.submit([row(5)]);
  v1.release();
  const a = await first;
  expect(a.predictor).toBe(v1);
  expect(Array.from(a.outputs[0])).toEqual([2]);
  expect(await swap).toBe(v1);
  expect(swapped).toBe(true);
  // The queued and the later request form the next batch, on v2 alone.
  await tick();
  expect(v2.batches).toEqual([[3, 5]]);
  v2.release();
  const [b, c] = await Promise.all([queued, later]);
  expect([b.predictor, c.predictor]).toEqual([v2, v2]);
  expect([b.outputs[0][0], c.outputs[0][0]]).toEqual([30, 50]);
  expect(v1.batches).toEqual([[1]]);
});

test('swap with no batch running resolves at once; rows encoded for the old version are re-encoded for the new one', async () => {
  const v1 = new GatedScaler('1', 2);
  const v2 = new GatedScaler('2', 10);
  const batcher = new DynamicBatcher(v1, { maxBatch: 8, maxWaitMs: 50 });
  // Encoded for v1 (x = 1) while a 50 ms wait holds the batch; v2's preprocessing doubles x.
  const pending = batcher.submit({ rows: [row(1)], encodedFor: v1, reencode: (p) => [row(p === v2 ? 2 : 1)] });
  expect(await batcher.swap(v2)).toBe(v1);
  const deadline = Date.now() + 5000;
  while (v2.waiting === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  v2.release();
  const out = await pending;
  expect(out.predictor).toBe(v2);
  expect(out.outputs[0][0]).toBe(20);
  // A re-encoding that fails (the new version rejects the input) fails that request alone.
  const v3 = new GatedScaler('3', 1);
  const refused = batcher.submit({ rows: [row(1)], encodedFor: v2, reencode: () => { throw new Error('not valid for version 3'); } });
  const plain = batcher.submit([row(4)]);
  await batcher.swap(v3);
  while (v3.waiting === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  v3.release();
  await expect(refused).rejects.toThrow(/not valid for version 3/);
  expect((await plain).outputs[0][0]).toBe(4);
  expect(v3.batches).toEqual([[4]]);
});
