import type { KilnConfigInput } from '@kiln/core';

/** What every task preset shares: the default backend, a seed, and the standard callbacks. */
const base: KilnConfigInput = {
  seed: 42,
  backend: 'auto',
  sampler: { type: 'random' },
  callbacks: [
    { type: 'progress-bar' },
    { type: 'checkpoint' },
    { type: 'metrics-log' },
  ],
  output: { dir: 'runs' },
};

export default base;
