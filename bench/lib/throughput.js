// Training and inference throughput of one model, as bert.js and resnet.js measure it.
const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

/**
 * One warm-up step, `trainSteps` timed training steps (the tensor count must not grow), then one
 * warm-up inference and `inferSteps` timed ones. Returns samples per second for both.
 */
function throughput(tf, { step, infer, samples, trainSteps, inferSteps, log }) {
  let t0 = process.hrtime.bigint();
  step();
  log(`  first step (warm-up) ${seconds(t0).toFixed(1)} s`);
  const tensors = tf.memory().numTensors;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < trainSteps; i++) step();
  const train = (samples * trainSteps) / seconds(t0);
  if (tf.memory().numTensors !== tensors) throw new Error(`tensor leak: ${tensors} → ${tf.memory().numTensors}`);
  infer();
  t0 = process.hrtime.bigint();
  for (let i = 0; i < inferSteps; i++) infer();
  const inference = (samples * inferSteps) / seconds(t0);
  return { train, inference };
}

module.exports = { throughput, seconds };
