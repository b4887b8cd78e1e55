/**
 * The rate limit of a blocking loop. Consul's blocking-query documentation asks clients to
 * limit their request rate: an endpoint whose index moves without its data changing, or a
 * server that answers at once, would otherwise turn a watch into a busy loop.
 *
 * @packageDocumentation
 */

/**
 * Milliseconds to wait before starting the next read, so that two reads of one loop start at
 * least `minIntervalMs` apart. A loop whose reads block for a while never waits; only reads
 * that come back quickly (rapid changes, a misbehaving agent) are paced.
 *
 * @param lastStartMs - when the previous read started (`performance.now()`), or `undefined` for the first read
 * @param nowMs - the current time on the same clock
 */
export function rateLimitDelay(
  lastStartMs: number | undefined,
  nowMs: number,
  minIntervalMs: number,
): number {
  if (lastStartMs === undefined) return 0;
  // Computed from the elapsed time and capped, so that float rounding of large clock values
  // (or a clock that stepped back) can never make a loop wait longer than the interval.
  const elapsed = nowMs - lastStartMs;
  return Math.min(minIntervalMs, Math.max(0, minIntervalMs - elapsed));
}
