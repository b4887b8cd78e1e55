/**
 * Randomised delays for background loops, so that many instances started together (a
 * deployment rolling out, a fleet restarting after an agent upgrade) do not hit their agent
 * in lock-step.
 *
 * @packageDocumentation
 */

/**
 * Shortens a delay by a random fraction of itself, never lengthens it: a heartbeat scheduled
 * with `jitterBelow(interval, 0.1)` lands somewhere in the last 10 % before `interval` and so
 * still inside the TTL that `interval` was derived from.
 *
 * @param ms - the nominal delay, in milliseconds
 * @param fraction - how much of `ms` may be taken off, between 0 and 1
 * @param random - source of randomness in `[0, 1)`, for tests
 * @returns a delay in `[ms × (1 − fraction), ms]`
 */
export function jitterBelow(ms: number, fraction: number, random: () => number = Math.random): number {
  const bounded = Math.min(Math.max(fraction, 0), 1);
  return ms - ms * bounded * random();
}

/**
 * Delay before the next attempt after `failures` consecutive failures: doubles from `baseMs`,
 * never exceeds `capMs`, and is spread over its upper half so that retries do not align.
 *
 * @param failures - consecutive failures so far, at least 1
 * @param baseMs - delay after the first failure, in milliseconds
 * @param capMs - longest delay, in milliseconds
 * @param random - source of randomness in `[0, 1)`, for tests
 */
export function backoffDelay(
  failures: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  const nominal = Math.min(baseMs * 2 ** exponent, capMs);
  return jitterBelow(nominal, 0.5, random);
}
