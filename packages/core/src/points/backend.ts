export interface BackendInfo {
  name: string;
  /** tfjs backend name it activates (`wasm`, `cpu`, `tensorflow`). */
  tfBackend: string;
  version: string;
  threads: number;
  simd?: boolean;
  details?: Record<string, string | number | boolean>;
}

/**
 * Whether a backend can run here. `warn: true` marks a backend that is installed but failed
 * (e.g. a native addon that did not build): `backend: auto` then says in one line why it fell
 * back, instead of skipping it quietly as it does for backends that are simply not installed.
 */
export type Availability = { ok: true } | { ok: false; reason: string; install?: string; warn?: boolean };

/** Token and interface of the Backend point: a tensor engine Kiln can run on. */
export const Backend: unique symbol = Symbol.for('kiln.point.Backend');
export interface Backend {
  readonly name: string;
  /** Higher wins under `backend: auto`. */
  readonly priority: number;
  availability(): Promise<Availability>;
  /** Registers (if needed) and selects the tfjs backend, and any kernels Kiln adds to it. */
  activate(): Promise<BackendInfo>;
}
