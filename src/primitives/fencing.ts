/**
 * Fencing tokens: how a lock, semaphore slot or leadership term is numbered, and how a
 * protected resource uses the number.
 *
 * A Consul lock can be lost while its holder is still working (its session expired, an
 * operator deleted the key, its process stalled past the TTL). The holder learns of it through
 * its AbortSignal, but a request it already sent may still reach the resource afterwards. A
 * fencing token closes that gap: every acquisition carries a number that is larger than the
 * number of every earlier acquisition of the same key, so the resource can remember the
 * largest token it has seen and refuse anything older.
 *
 * How the numbers are made: the token is the Raft index of the write that granted the hold,
 * as Consul reports it in the answer to that write (the write is sent as a one-operation
 * transaction, which returns the entry it wrote).
 * - **Lock and election**: the `ModifyIndex` written by the acquire.
 * - **Semaphore**: the `ModifyIndex` written by the check-and-set on the coordination key
 *   (`.lock`) that added this holder.
 *
 * Why that is strictly increasing: Raft indexes grow strictly across the whole cluster, and
 * the next holder of a lock can only acquire after this one let go, which is a later write.
 * Deleting and recreating the key does not reset them (unlike `LockIndex`, which starts over
 * at 1 for a new key, and is therefore not used). For a semaphore every admission is a
 * check-and-set on the same key, so admissions are ordered and each one's index is larger
 * than the previous one's; concurrent holders have different tokens.
 *
 * How a resource uses them: store the largest token accepted next to the data and reject a
 * write whose token is smaller (a database column compared in the `UPDATE … WHERE`, a Consul
 * KV check-and-set on a key holding the token, an object-store precondition). Tokens are
 * `bigint`s; send them as decimal strings.
 *
 * @example
 * ```ts
 * await lock.withLock(async (signal) => {
 *   const token = lock.fencingToken!;
 *   await db.query('UPDATE jobs SET state = $1, fence = $2 WHERE id = $3 AND fence <= $2', [state, String(token), id]);
 * });
 * ```
 *
 * @packageDocumentation
 */
import type { KVPair } from '../api/kv.js';

/**
 * The fencing token of a hold granted to `session`, from the entry the granting write
 * returned; `undefined` when that entry does not name the session (a lock) or is missing.
 */
export function lockFencingToken(written: KVPair | undefined, session: string): bigint | undefined {
  if (written === undefined || written.Session !== session) return undefined;
  return written.ModifyIndex;
}

/** The fencing token of a semaphore admission: the index its check-and-set wrote. */
export function admissionFencingToken(written: KVPair): bigint {
  return written.ModifyIndex;
}

/**
 * Whether a resource that has accepted `highest` (or nothing yet) should accept a request
 * carrying `token`: tokens may repeat (the same holder writing twice) but never go back.
 */
export function acceptsFencingToken(highest: bigint | undefined, token: bigint): boolean {
  return highest === undefined || token >= highest;
}
