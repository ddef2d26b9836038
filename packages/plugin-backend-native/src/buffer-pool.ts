import * as os from 'os';

/**
 * Output buffers for native kernels, recycled when their tensor is disposed.
 *
 * tfjs's cpu backend gives every op a fresh zero-filled TypedArray; for big tensors that is a new
 * mmap whose pages fault in on first write, which costs 5–10× the arithmetic of an element-wise op
 * (measured: relu on 4M floats 0.6 ms, with a fresh output 5.3 ms). A disposed tensor's array is
 * reused for the next output of the same length, unless anything else may still see it: arrays
 * handed out by readSync/read (dataSync() returns the backend's own array), arrays something made
 * a view of (the JS Slice kernel returns subarrays), and arrays registered under a second data id.
 */
export class BufferPool {
  /** Arrays shorter than this come from `new Float32Array` (small allocations are cheap). */
  static readonly MIN_ELEMENTS = 1 << 14;
  private readonly free = new Map<number, Float32Array[]>();
  private bytes = 0;
  private readonly ours = new WeakSet<Float32Array>();
  private readonly byBuffer = new WeakMap<ArrayBufferLike, Float32Array>();
  private readonly blocked = new WeakSet<Float32Array>();
  private readonly registered = new WeakSet<Float32Array>();

  constructor(private readonly maxBytes = defaultPoolBytes()) {}

  /** An uninitialised array of n floats: the caller writes every element. */
  take(n: number): Float32Array {
    const reused = this.free.get(n)?.pop();
    if (reused) {
      this.bytes -= reused.byteLength;
      return reused;
    }
    const fresh = new Float32Array(n);
    if (n >= BufferPool.MIN_ELEMENTS) {
      this.ours.add(fresh);
      this.byBuffer.set(fresh.buffer, fresh);
    }
    return fresh;
  }

  /** Called when values are stored under a data id. */
  noteStored(values: unknown): void {
    if (!ArrayBuffer.isView(values)) return;
    const owner = this.byBuffer.get(values.buffer);
    if (owner === undefined) return;
    if (owner !== values || this.registered.has(owner)) this.blocked.add(owner);
    else this.registered.add(owner);
  }

  /** Called when values leave the backend (readSync/read): never reuse them. */
  noteExposed(values: unknown): void {
    if (!ArrayBuffer.isView(values)) return;
    const owner = this.byBuffer.get(values.buffer);
    if (owner !== undefined) this.blocked.add(owner);
  }

  /** Called when the data id holding values is deleted. */
  release(values: unknown): void {
    if (!(values instanceof Float32Array) || !this.ours.has(values) || this.blocked.has(values)) return;
    this.registered.delete(values);
    if (this.bytes + values.byteLength > this.maxBytes) return;
    const list = this.free.get(values.length);
    if (list) list.push(values);
    else this.free.set(values.length, [values]);
    this.bytes += values.byteLength;
  }

  get pooledBytes(): number {
    return this.bytes;
  }
}

/**
 * 2 GiB, or an eighth of the machine's memory if that is less: a ResNet-18 training step at batch 64 cycles
 * through ~1.24 GB of outputs; with a 1 GiB cap ~40 outputs per step (up to 16 MB each) were fresh pages again.
 */
export function defaultPoolBytes(): number {
  return Math.min(2 ** 31, Math.floor(os.totalmem() / 8));
}

/** The pool shared by every native kernel in this process. */
export const bufferPool = new BufferPool();

interface CpuDataStore {
  has(dataId: object): boolean;
  get(dataId: object): { values?: unknown; refCount: number } | undefined;
}
interface PatchableCpuBackend {
  data: CpuDataStore;
  write(values: unknown, shape: number[], dtype: string): object;
  move(dataId: object, values: unknown, shape: number[], dtype: string, refCount: number): void;
  readSync(dataId: object): unknown;
  read(dataId: object): Promise<unknown>;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** Hooks a MathBackendCPU instance so the pool sees every store, read and delete of tensor data. */
export function attachPool(backend: object, pool: BufferPool): void {
  const b = backend as PatchableCpuBackend;
  const write = b.write.bind(b);
  const move = b.move.bind(b);
  const readSync = b.readSync.bind(b);
  const read = b.read.bind(b);
  const disposeData = b.disposeData.bind(b);
  b.write = (values, shape, dtype) => {
    pool.noteStored(values);
    return write(values, shape, dtype);
  };
  b.move = (dataId, values, shape, dtype, refCount) => {
    pool.noteStored(values);
    move(dataId, values, shape, dtype, refCount);
  };
  b.readSync = (dataId) => {
    pool.noteExposed(b.data.has(dataId) ? b.data.get(dataId)?.values : undefined);
    return readSync(dataId);
  };
  b.read = (dataId) => {
    pool.noteExposed(b.data.has(dataId) ? b.data.get(dataId)?.values : undefined);
    return read(dataId);
  };
  b.disposeData = (dataId, force) => {
    const values = b.data.has(dataId) ? b.data.get(dataId)?.values : undefined;
    const released = disposeData(dataId, force);
    if (values !== undefined && !b.data.has(dataId)) pool.release(values);
    return released;
  };
}
