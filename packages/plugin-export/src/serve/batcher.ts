import type { InputArray, Predictor } from '../predict/predictor';

/** Rows of one request, encoded for a given predictor; `reencode` redoes it for another (after a hot swap), else the rows serve as they are. */
export interface BatchRequest {
  rows: InputArray[][];
  /** The predictor whose preprocessing produced `rows` (default: the one serving at submit time). */
  encodedFor?: Predictor;
  reencode?(predictor: Predictor): InputArray[][];
}

/** The outputs of a request and the predictor (model version) that computed all of them. */
export interface BatchResult {
  outputs: Float32Array[];
  predictor: Predictor;
}

interface Pending {
  request: BatchRequest;
  encodedFor: Predictor;
  count: number;
  resolve(out: BatchResult): void;
  reject(error: unknown): void;
}

export interface BatcherOptions {
  /** Largest number of rows run together. */
  maxBatch: number;
  /** How long the first waiting request may wait for others to join its batch. */
  maxWaitMs: number;
  onBatch?(size: number, predictor: Predictor): void;
}

/**
 * Dynamic batching: concurrent requests queue their rows; a batch runs when it is full or the
 * oldest request has waited maxWaitMs (at once when maxWaitMs is 0). One batch runs at a time per
 * model, so requests arriving during a run are batched together right after it. `swap` replaces the
 * predictor between batches: a batch runs entirely on one predictor, so no request mixes versions.
 */
export class DynamicBatcher {
  private queue: Pending[] = [];
  private queued = 0;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private runningOn?: Predictor;

  constructor(
    private current: Predictor,
    private readonly options: BatcherOptions,
  ) {}

  get predictor(): Predictor {
    return this.current;
  }

  /**
   * Serves `next` from the next batch on. Resolves with the previous predictor once the batch that
   * may still be running on it has finished, so the caller can dispose it safely.
   */
  async swap(next: Predictor): Promise<Predictor> {
    const previous = this.current;
    this.current = next;
    // Batches started after the swap run on `next`; wait only for one still running on `previous`.
    while (this.running && this.runningOn === previous) await this.running;
    return previous;
  }

  /** `rows[r][i]`: input i of row r. Resolves with one output row per input row. */
  submit(request: BatchRequest | InputArray[][]): Promise<BatchResult> {
    const req: BatchRequest = Array.isArray(request) ? { rows: request } : request;
    return new Promise((resolve, reject) => {
      this.queue.push({ request: req, encodedFor: req.encodedFor ?? this.current, count: req.rows.length, resolve, reject });
      this.queued += req.rows.length;
      if (this.queued >= this.options.maxBatch || this.options.maxWaitMs <= 0) this.kick();
      else this.timer ??= setTimeout(() => this.kick(), this.options.maxWaitMs);
    });
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.queue.length === 0) return;
    this.running = this.runOne().finally(() => {
      this.running = undefined;
      // Requests that queued while this batch ran have already waited; run them now.
      if (this.queue.length > 0) this.kick();
    });
  }

  private async runOne(): Promise<void> {
    const predictor = this.current;
    this.runningOn = predictor;
    const taken: { pending: Pending; rows: InputArray[][] }[] = [];
    let n = 0;
    // Always take at least one request, even when it alone exceeds maxBatch.
    while (this.queue.length > 0 && (taken.length === 0 || n + this.queue[0].count <= this.options.maxBatch)) {
      const p = this.queue.shift()!;
      this.queued -= p.count;
      let rows = p.request.rows;
      if (p.encodedFor !== predictor && p.request.reencode) {
        // Encoded before a swap: redo it with the new version's preprocessing (or fail this request only).
        // Without `reencode` the rows are used as they are (a swap keeps the input signature).
        try {
          rows = p.request.reencode(predictor);
        } catch (error) {
          p.reject(error);
          continue;
        }
      }
      taken.push({ pending: p, rows });
      n += rows.length;
    }
    if (taken.length === 0) return;
    try {
      const inputs = predictor.inputs.map((spec, i) => {
        const size = spec.shape.reduce((a, b) => a * b, 1);
        const out = spec.dtype === 'int32' ? new Int32Array(size * n) : new Float32Array(size * n);
        let r = 0;
        for (const t of taken) for (const row of t.rows) out.set(row[i], size * r++);
        return out;
      });
      this.options.onBatch?.(n, predictor);
      const { data, width } = await predictor.run(inputs, n);
      let r = 0;
      for (const t of taken) {
        const outputs: Float32Array[] = [];
        for (let k = 0; k < t.rows.length; k++, r++) outputs.push(data.slice(r * width, (r + 1) * width));
        t.pending.resolve({ outputs, predictor });
      }
    } catch (error) {
      for (const t of taken) t.pending.reject(error);
    }
  }
}
