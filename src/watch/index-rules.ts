/**
 * The index rules of Consul's blocking queries, as a pure function of the previous index and
 * the one an answer carried. They follow the "Implementation Details" of Consul's
 * blocking-query documentation (`/api-docs/features/blocking`).
 *
 * @packageDocumentation
 */

/**
 * How an endpoint's `X-Consul-Index` behaves.
 * - `raft`: a raft index that only grows (KV, catalog, health, sessions, …).
 * - `opaque`: an identifier with no order, compared only for equality. `/v1/event/list` is
 *   the one such endpoint: its index is a hash of the newest event's ID, and Consul blocks
 *   while the index *equals* the one sent.
 */
export type IndexMode = 'raft' | 'opaque';

/**
 * The index to send with the next read of a loop.
 *
 * - An answer without an index (an endpoint that does not block) gives 0: the next read is
 *   a plain one, which the loop's rate limit paces.
 * - `raft`: when the index went backwards (a snapshot restore, an agent that lost its
 *   state, tombstones reaped under a prefix), it is reset so the next read returns at once
 *   and re-establishes the baseline; otherwise the read would block until the old, higher
 *   index is reached again, or `wait` runs out. The reset value is 1, not 0: Consul's rule is
 *   never to send an index below 1 after the first read.
 * - After a read, an index below 1 becomes 1: Consul answers `index=0` at once, so a 0
 *   returned by a buggy server would make the loop spin.
 *
 * @param previous - the index sent with the read that produced this answer (0 for a plain read)
 * @param received - `X-Consul-Index` of the answer
 */
export function nextIndex(previous: bigint, received: bigint | undefined, mode: IndexMode): bigint {
  if (received === undefined) return 0n;
  // The reset: 1 returns at once against any real index (as 0 would) but still counts as a
  // blocking read, so a server stuck at index 0 gets index=1 every time instead of
  // alternating between plain reads and index=1.
  if (mode === 'raft' && received < previous) return 1n;
  return received < 1n ? 1n : received;
}
