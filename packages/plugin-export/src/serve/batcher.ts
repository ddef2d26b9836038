import type { InputArray, Predictor } from '../predict/predictor';

interface Pending {
  rows: InputArray[][];
  count: number;
  resolve(out: Float32Array[]): void;
  reject(error: unknown): void;
}

export interface BatcherOptions {
  /** Largest number of rows run together. */
  maxBatch: number;
  /** How long the first waiting request may wait for others to join its batch. */
  maxWaitMs: number;
  onBatch?(size: number): void;
}

/**
 * Dynamic batching: concurrent requests queue their rows; a batch runs when it is full or the
 * oldest request has waited maxWaitMs (at once when maxWaitMs is 0). One batch runs at a time per
 * model, so requests arriving during a run are batched together right after it.
 */
export class DynamicBatcher {
  private queue: Pending[] = [];
  private queued = 0;
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly predictor: Predictor,
    private readonly options: BatcherOptions,
  ) {}

  /** `rows[r][i]`: input i of row r. Resolves with one output row per input row. */
  submit(rows: InputArray[][]): Promise<Float32Array[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, count: rows.length, resolve, reject });
      this.queued += rows.length;
      if (this.queued >= this.options.maxBatch || this.options.maxWaitMs <= 0) this.kick();
      else this.timer ??= setTimeout(() => this.kick(), this.options.maxWaitMs);
    });
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.queue.length === 0) return;
    void this.runOne();
  }

  private async runOne(): Promise<void> {
    this.running = true;
    const taken: Pending[] = [];
    let n = 0;
    // Always take at least one request, even when it alone exceeds maxBatch.
    while (this.queue.length > 0 && (taken.length === 0 || n + this.queue[0].count <= this.options.maxBatch)) {
      const p = this.queue.shift()!;
      taken.push(p);
      n += p.count;
    }
    this.queued -= n;
    try {
      const inputs = this.predictor.inputs.map((spec, i) => {
        const size = spec.shape.reduce((a, b) => a * b, 1);
        const out = spec.dtype === 'int32' ? new Int32Array(size * n) : new Float32Array(size * n);
        let r = 0;
        for (const p of taken) for (const row of p.rows) out.set(row[i], size * r++);
        return out;
      });
      this.options.onBatch?.(n);
      const { data, width } = await this.predictor.run(inputs, n);
      let r = 0;
      for (const p of taken) {
        const rows: Float32Array[] = [];
        for (let k = 0; k < p.count; k++, r++) rows.push(data.slice(r * width, (r + 1) * width));
        p.resolve(rows);
      }
    } catch (error) {
      for (const p of taken) p.reject(error);
    } finally {
      this.running = false;
      // Requests that queued while this batch ran have already waited; run them now.
      if (this.queue.length > 0) this.kick();
    }
  }
}
