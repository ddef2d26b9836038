import { EventEmitter } from 'node:events';
import type { InputSpec } from '@kiln/core';
import type { InputArray, Predictor } from '../predict/predictor';
import { DynamicBatcher, type BatcherOptions, type BatchRequest, type BatchResult } from './batcher';

/** What a hot reload did: `swapped` to a new version, or `refused` it (the old one keeps serving). */
export interface ReloadEvent {
  model: string;
  outcome: 'swapped' | 'refused';
  version: string;
  previousVersion: string;
  error?: Error;
}

function sameSpecs(a: readonly InputSpec[], b: readonly InputSpec[]): boolean {
  return a.length === b.length && a.every((s, i) => s.name === b[i].name && s.dtype === b[i].dtype && s.shape.join(',') === b[i].shape.join(','));
}

function describe(specs: readonly InputSpec[]): string {
  return specs.map((s) => `${s.name} ${s.dtype}[${s.shape}]`).join(', ');
}

/** Zeros for every input (valid ids for integer inputs), `batch` rows. */
export function zeroInputs(predictor: Predictor, batch = 1): InputArray[] {
  return predictor.inputs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1) * batch;
    return s.dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
  });
}

/**
 * One served model: its predictor behind a dynamic batcher, and atomic replacement of that
 * predictor (hot reload). Emits `reload` with a ReloadEvent after each attempt.
 */
export class ServedModel extends EventEmitter {
  readonly name: string;
  private readonly batcher: DynamicBatcher;
  /** Output values per row, known after a warm-up or a first batch. */
  private width?: number;
  private chain: Promise<unknown> = Promise.resolve();
  private disposed = false;

  constructor(predictor: Predictor, options: BatcherOptions) {
    super();
    this.name = predictor.name;
    this.batcher = new DynamicBatcher(predictor, options);
  }

  get predictor(): Predictor {
    return this.batcher.predictor;
  }

  submit(request: BatchRequest): Promise<BatchResult> {
    return this.batcher.submit(request);
  }

  /** Runs one row of zeros; throws when the output is empty or not finite. Returns the output width. */
  static async warmUp(predictor: Predictor): Promise<number> {
    const { data, width } = await predictor.run(zeroInputs(predictor), 1);
    if (width === 0 || data.length !== width) throw new Error(`warm-up prediction returned ${data.length} values for one row`);
    for (const v of data) if (!Number.isFinite(v)) throw new Error('warm-up prediction is not finite (NaN or ±Infinity)');
    return width;
  }

  /** Warm-up of the serving predictor (records its output width for later compatibility checks). */
  async warmUp(): Promise<void> {
    this.width = await ServedModel.warmUp(this.predictor);
  }

  /**
   * Checks that `next` can replace the serving predictor (same inputs, task and output width; a
   * finite warm-up prediction), then swaps it in between batches and disposes the old one once its
   * last batch has finished. On a failed check `next` is disposed and the old one keeps serving.
   * Replacements run one at a time.
   */
  replace(next: Predictor): Promise<ReloadEvent> {
    const run = this.chain.then(() => this.replaceNow(next));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async replaceNow(next: Predictor): Promise<ReloadEvent> {
    const current = this.predictor;
    const event: ReloadEvent = { model: this.name, outcome: 'swapped', version: next.version, previousVersion: current.version };
    try {
      if (this.disposed) throw new Error('the server is closing');
      if (!sameSpecs(current.inputs, next.inputs)) throw new Error(`incompatible signature: inputs ${describe(next.inputs)} instead of ${describe(current.inputs)}`);
      if (current.card.task !== next.card.task) throw new Error(`incompatible task: ${next.card.task} instead of ${current.card.task}`);
      const width = await ServedModel.warmUp(next);
      this.width ??= await ServedModel.warmUp(current);
      if (width !== this.width) throw new Error(`incompatible outputs: ${width} values per row instead of ${this.width}`);
    } catch (error) {
      await next.dispose();
      const refused: ReloadEvent = { ...event, outcome: 'refused', error: error as Error };
      this.emit('reload', refused);
      return refused;
    }
    const previous = await this.batcher.swap(next);
    await previous.dispose();
    this.emit('reload', event);
    return event;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.chain;
    await this.predictor.dispose();
  }
}
