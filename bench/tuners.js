#!/usr/bin/env node
// Hyperband vs random search on a deterministic learning-curve simulator (no training):
// does Hyperband find a configuration within 1% of random search's best with ≤ 1/3 of its epochs?
// Usage: node bench/tuners.js [--seeds 10] [--R 81] [--eta 3] [--random 64]
const path = require('node:path');
const { SearchSpace, SequenceTuner, createHyperbandTuner, HyperbandOptions } = require(path.join(__dirname, '..', 'packages', 'plugin-tuners', 'dist'));

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), Number(all[i + 1])]] : acc), []));
const SEEDS = args.seeds ?? 10;
const R = args.R ?? 81;
const ETA = args.eta ?? 3;
const RANDOM_CONFIGS = args.random ?? 64;

const space = SearchSpace.parse({
  'optimizer.lr': { type: 'loguniform', min: 1e-4, max: 1 },
  'model.width': { type: 'int', min: 8, max: 512, log: true },
  'model.dropout': { type: 'uniform', min: 0, max: 0.6 },
});

/** A deterministic hash in [0, 1) of a string, for reproducible observation noise. */
function hash01(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0;
  return (h ^ (h >>> 13)) / 4294967296;
}

/**
 * Validation accuracy of a configuration after `epoch` epochs: it rises from 0.1 toward a ceiling
 * set by lr (best near 3e-3), width (more is better, saturating) and dropout (best near 0.2).
 * Learning speed grows with lr and falls with dropout:
 * - 'typical': speed saturates at lr ≈ 3e-3, so early rankings mostly hold (dropout still reorders them);
 * - 'deceptive': speed keeps growing up to lr ≈ 3e-2, so the fastest early learners plateau lower —
 *   the case where early stopping on partial curves is misled.
 * Observations carry ±0.004 deterministic noise.
 */
function quality(p, scenario) {
  const lr = Math.log10(p['optimizer.lr']);
  const width = Math.log2(p['model.width']);
  const ceiling = 0.95 - 0.06 * (lr + 2.5) ** 2 - 0.08 * Math.exp(-(width - 3)) - 0.4 * (p['model.dropout'] - 0.2) ** 2;
  const speed = scenario === 'deceptive' ? Math.min(1, p['optimizer.lr'] * 30) : Math.min(1, p['optimizer.lr'] * 300);
  const rate = 0.02 + 0.25 * speed * (1 - 0.6 * p['model.dropout']);
  return { ceiling: Math.max(0.1, ceiling), rate };
}
let SCENARIO = 'typical';
function accuracy(p, epoch, noise = true) {
  const { ceiling, rate } = quality(p, SCENARIO);
  const value = ceiling - (ceiling - 0.1) * Math.exp(-rate * epoch);
  return noise ? value + 0.008 * (hash01(`${JSON.stringify(p)}@${epoch}`) - 0.5) : value;
}

/** Runs a tuner to the end against the simulator; promotions continue, so a trial costs epochs beyond its predecessor's. */
function simulate(tuner) {
  const reached = new Map();
  let epochs = 0;
  let best;
  for (let s = tuner.ask(); s !== null; s = tuner.ask()) {
    if (s === 'wait') throw new Error('sequential simulation never waits');
    const start = s.resumeFrom !== undefined ? reached.get(s.resumeFrom) : 0;
    epochs += s.budget.epochs - start;
    reached.set(s.id, s.budget.epochs);
    const value = accuracy(s.params, s.budget.epochs);
    tuner.tell({ id: s.id, status: 'completed', value });
    // the answer is the best configuration observed at the full budget R
    if (s.budget.epochs >= R && (!best || value > best.value)) best = { params: s.params, value };
  }
  return { epochs, best, trueValue: accuracy(best.params, R, false) };
}

function run(scenario) {
  SCENARIO = scenario;
  const rows = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const env = { space, mode: 'max', seed, epochs: R, trials: RANDOM_CONFIGS };
    const random = simulate(new SequenceTuner('random', { trials: RANDOM_CONFIGS, epochs: R }, { ...env, seed: seed + 1000 }));
    const hyperband = simulate(createHyperbandTuner(HyperbandOptions.parse({ maxEpochs: R, eta: ETA }), env));
    const bohb = simulate(createHyperbandTuner(HyperbandOptions.parse({ maxEpochs: R, eta: ETA, sampler: 'tpe' }), env));
    rows.push({ seed, random, hyperband, bohb });
  }
  const f = (x) => x.toFixed(4);
  console.log(`\n[${scenario}] R = ${R} epochs, η = ${ETA}; random search: ${RANDOM_CONFIGS} configs × ${R} epochs; ${SEEDS} seeds`);
  console.log('seed  random(acc, epochs)   hyperband(acc, epochs)   hyperband+tpe(acc, epochs)   hb/random acc');
  for (const r of rows) {
    console.log(`${String(r.seed).padEnd(4)}  ${f(r.random.trueValue)} ${String(r.random.epochs).padStart(6)}      ${f(r.hyperband.trueValue)} ${String(r.hyperband.epochs).padStart(6)}          ${f(r.bohb.trueValue)} ${String(r.bohb.epochs).padStart(6)}              ${f(r.hyperband.trueValue / r.random.trueValue)}`);
  }
  const mean = (k, field) => rows.reduce((s, r) => s + r[k][field], 0) / rows.length;
  const accRatio = mean('hyperband', 'trueValue') / mean('random', 'trueValue');
  const tpeRatio = mean('bohb', 'trueValue') / mean('random', 'trueValue');
  const epochRatio = mean('hyperband', 'epochs') / mean('random', 'epochs');
  console.log(`mean best accuracy: random ${f(mean('random', 'trueValue'))}, hyperband ${f(mean('hyperband', 'trueValue'))}, hyperband+tpe ${f(mean('bohb', 'trueValue'))}`);
  console.log(`mean epochs:        random ${mean('random', 'epochs')}, hyperband ${mean('hyperband', 'epochs')}, hyperband+tpe ${mean('bohb', 'epochs')}`);
  console.log(`hyperband / random: accuracy ${f(accRatio)} (target ≥ 0.99), epochs ${f(epochRatio)} (target ≤ 0.3333) → ${accRatio >= 0.99 && epochRatio <= 1 / 3 ? 'PASS' : 'FAIL'}`);
  console.log(`hyperband+tpe / random: accuracy ${f(tpeRatio)}, epochs ${f(epochRatio)} → ${tpeRatio >= 0.99 && epochRatio <= 1 / 3 ? 'PASS' : 'FAIL'}`);
}

run('typical');
run('deceptive');
