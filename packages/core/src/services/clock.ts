/** Token and interface of the clock service (tests swap it for a fake). */
export const Clock: unique symbol = Symbol.for('kiln.service.Clock');
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** High-resolution milliseconds for durations. */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};
