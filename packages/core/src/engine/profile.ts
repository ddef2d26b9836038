import * as tf from '@tensorflow/tfjs-core';

export interface KernelTime {
  kernel: string;
  /** Self time: the kernel's own work, without the kernels it ran inside itself. */
  ms: number;
  calls: number;
}

export interface KernelProfile {
  /** Wall time of the whole call. */
  totalMs: number;
  /** Slowest first. */
  kernels: KernelTime[];
}

/**
 * Times every kernel of the active backend between `start()` and `stop()` (self time per kernel
 * name), for finding where a training step goes. Each registered kernel is wrapped for the
 * duration and put back by `stop()`. Kernels built from other kernels (Kiln's wasm gradients,
 * composite ops) are charged only for their own work; their inner kernels count separately.
 * (`tf.profile` reports no self times, and fails on some models in tfjs 4.22.)
 *
 * One profiler at a time: it swaps process-wide kernel registrations.
 */
export class KernelProfiler {
  private originals?: tf.KernelConfig[];
  private backend = '';
  private startedAt = 0;
  private readonly byKernel = new Map<string, KernelTime>();
  private readonly childTime: number[] = [];

  get running(): boolean {
    return this.originals !== undefined;
  }

  start(): void {
    if (this.originals) return;
    this.backend = tf.getBackend();
    this.originals = tf.getKernelsForBackend(this.backend);
    for (const config of this.originals) {
      const inner = config.kernelFunc;
      tf.unregisterKernel(config.kernelName, this.backend);
      tf.registerKernel({ ...config, kernelFunc: (args) => this.timed(config.kernelName, () => inner(args)) });
    }
    this.startedAt = performance.now();
  }

  private timed<T>(kernel: string, run: () => T): T {
    this.childTime.push(0);
    const t0 = performance.now();
    try {
      return run();
    } finally {
      const total = performance.now() - t0;
      const children = this.childTime.pop()!;
      if (this.childTime.length > 0) this.childTime[this.childTime.length - 1] += total;
      const entry = this.byKernel.get(kernel) ?? { kernel, ms: 0, calls: 0 };
      entry.ms += total - children;
      entry.calls++;
      this.byKernel.set(kernel, entry);
    }
  }

  /** Puts the original kernels back and returns what was measured since `start()`. */
  stop(): KernelProfile {
    const totalMs = performance.now() - this.startedAt;
    for (const config of this.originals ?? []) {
      tf.unregisterKernel(config.kernelName, this.backend);
      tf.registerKernel(config);
    }
    this.originals = undefined;
    return { totalMs, kernels: [...this.byKernel.values()].sort((a, b) => b.ms - a.ms) };
  }
}

/** Profiles the kernels `fn` runs; the original kernels are restored also when it throws. */
export async function profileKernels(fn: () => unknown): Promise<KernelProfile> {
  const profiler = new KernelProfiler();
  profiler.start();
  try {
    await fn();
  } catch (error) {
    profiler.stop();
    throw error;
  }
  return profiler.stop();
}

/** The profile as an aligned text table: kernel, self ms, share of the total, calls. */
export function formatKernelProfile(profile: KernelProfile, top = 15): string {
  const rows = profile.kernels.slice(0, top);
  const width = Math.max('(outside kernels)'.length, ...rows.map((r) => r.kernel.length));
  const kernelMs = profile.kernels.reduce((a, r) => a + r.ms, 0);
  const lines = [`${'kernel'.padEnd(width)}  ${'self ms'.padStart(9)}  ${'share'.padStart(6)}  ${'calls'.padStart(6)}`];
  for (const r of rows) {
    lines.push(`${r.kernel.padEnd(width)}  ${r.ms.toFixed(2).padStart(9)}  ${((100 * r.ms) / profile.totalMs).toFixed(1).padStart(5)}%  ${String(r.calls).padStart(6)}`);
  }
  const outside = profile.totalMs - kernelMs;
  lines.push(`${'(outside kernels)'.padEnd(width)}  ${outside.toFixed(2).padStart(9)}  ${((100 * outside) / profile.totalMs).toFixed(1).padStart(5)}%`);
  return lines.join('\n');
}
