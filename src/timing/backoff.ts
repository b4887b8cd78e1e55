/**
 * Backoff after a transient failure: exponential, capped, with jitter so that many clients
 * cut off by the same outage do not return in step. Used by the watch loop, the session
 * primitives' acquisition loop and the registration ticker.
 *
 * @packageDocumentation
 */

/** Bounds of the backoff, in milliseconds. */
export interface BackoffPolicy {
  /** Delay after the first failure (before jitter). */
  readonly initialMs: number;
  /** Longest delay (before jitter). */
  readonly maxMs: number;
}

/**
 * The exponential step after `failures` consecutive failures (1 for the first), without
 * jitter: `min(maxMs, initialMs × 2^(failures-1))`. For waits that must stay predictable (a
 * retry paced by Consul's lock-delay); everything else uses {@link backoffDelay}.
 */
export function backoffStep(failures: number, policy: BackoffPolicy): number {
  // 52 keeps 2^n exact in a double; the cap applies long before that anyway.
  const exponent = Math.max(0, Math.min(failures - 1, 52));
  return Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
}

/**
 * Delay before the next attempt after `failures` consecutive failures (1 for the first).
 * "Equal jitter": half of the exponential step is kept and the other half is random, so the
 * delay never collapses to zero (which would hammer an agent that is coming back) while
 * clients still spread out. The result lies in `[step/2, step]` with
 * `step = min(maxMs, initialMs × 2^(failures-1))`.
 *
 * @param random - source of randomness in `[0, 1)`; injectable for tests
 */
export function backoffDelay(
  failures: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const half = backoffStep(failures, policy) / 2;
  return Math.round(half + random() * half);
}

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
