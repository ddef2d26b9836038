// Per-kernel self time of one training step, for the benches' --profile (core's KernelProfiler).
const path = require('node:path');
const { KernelProfiler } = require(path.join(__dirname, '../../packages/core/dist'));

/** Runs `step` once with every kernel timed; rows are [kernel, { ms, calls }], slowest first. */
function profileStep(step) {
  const profiler = new KernelProfiler();
  profiler.start();
  try {
    step();
  } catch (error) {
    profiler.stop();
    throw error;
  }
  const { totalMs, kernels } = profiler.stop();
  return { stepMs: totalMs, rows: kernels.map((k) => [k.kernel, { ms: k.ms, calls: k.calls }]) };
}

module.exports = { profileStep };
