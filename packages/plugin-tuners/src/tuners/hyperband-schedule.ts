/** One rung of a successive-halving bracket: n configurations trained to r epochs. */
export interface Rung {
  n: number;
  r: number;
}
export interface BracketPlan {
  s: number;
  rungs: Rung[];
}

const EPS = 1e-9;

/** ⌊log_η x⌋ by repeated multiplication, so 81 with η = 3 gives 4, not 3.9999… */
export function floorLog(x: number, eta: number): number {
  let s = 0;
  let p = eta;
  while (p <= x * (1 + EPS)) {
    s++;
    p *= eta;
  }
  return s;
}

/** ⌊x⌋ and ⌈x⌉ that ignore float noise (81·3⁻⁴ = 0.99999…). */
const floorRobust = (x: number) => Math.floor(x + EPS * Math.max(1, Math.abs(x)));
const ceilRobust = (x: number) => Math.ceil(x - EPS * Math.max(1, Math.abs(x)));

/** Epochs are whole: a fractional r (R not a power of η) rounds to the nearest epoch, at least 1. */
export const wholeEpochs = (r: number) => Math.max(1, Math.round(r));

/** The rungs of one successive-halving bracket: n configurations at r, keeping ⌊n_i/η⌋ each time. */
export function successiveHalvingRungs(n: number, r: number, eta: number, rungs: number): Rung[] {
  const out: Rung[] = [];
  let ni = n;
  for (let i = 0; i < rungs && ni >= 1; i++) {
    out.push({ n: ni, r: r * eta ** i });
    ni = floorRobust(ni / eta);
  }
  return out;
}

/**
 * Hyperband (Li et al., JMLR 2018, Algorithm 1): s_max = ⌊log_η R⌋; bracket s = s_max…0 starts
 * n = ⌈(s_max+1)/(s+1) · η^s⌉ configurations at r = R·η^(−s); rung i has n_i = ⌊n·η^(−i)⌋ at r_i = r·η^i.
 * `r` is in (possibly fractional) epochs; the tuner trains wholeEpochs(r).
 */
export function hyperbandSchedule(R: number, eta: number): BracketPlan[] {
  const sMax = floorLog(R, eta);
  const brackets: BracketPlan[] = [];
  for (let s = sMax; s >= 0; s--) {
    const n = ceilRobust(((sMax + 1) / (s + 1)) * eta ** s);
    const r = R * eta ** -s;
    const rungs: Rung[] = [];
    for (let i = 0; i <= s; i++) rungs.push({ n: floorRobust(n * eta ** -i), r: r * eta ** i });
    brackets.push({ s, rungs });
  }
  return brackets;
}

/** Total epochs a schedule trains when promotions continue from checkpoints (each rung adds r_i − r_{i−1}). */
export function scheduleEpochs(brackets: BracketPlan[], resume = true): number {
  let total = 0;
  for (const b of brackets) {
    b.rungs.forEach((rung, i) => {
      const prev = i > 0 && resume ? wholeEpochs(b.rungs[i - 1].r) : 0;
      total += rung.n * (wholeEpochs(rung.r) - prev);
    });
  }
  return total;
}
