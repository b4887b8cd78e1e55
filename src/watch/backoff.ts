/**
 * Backoff of a blocking loop after a transient failure: exponential, capped, with jitter so
 * that many clients cut off by the same outage do not return in step.
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
  const exponent = Math.max(0, Math.min(failures - 1, 52));
  const step = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  const half = step / 2;
  return Math.round(half + random() * half);
}
