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
 * - **Semaphore of limit 1**: the `ModifyIndex` written by the check-and-set on the
 *   coordination key (`.lock`) that added this holder.
 * - **Semaphore of a larger limit**: no fencing token (`fencingToken` is `undefined`). Its
 *   `admissionIndex` is made the same way and identifies the hold, but it is not a fence:
 *   several holders are legitimate at once, so "refuse anything older than the largest token
 *   seen" would refuse legitimate older holders, and Consul's layout has no slot number that
 *   a per-slot rule could use. Protect such a resource with its own per-holder leases, or use
 *   limit 1.
 *
 * Why that is strictly increasing: Raft indexes grow strictly across the whole cluster, and
 * the next holder of a lock can only acquire after this one let go, which is a later write.
 * Deleting and recreating the key does not reset them (unlike `LockIndex`, which starts over
 * at 1 for a new key, and is therefore not used). A limit-1 semaphore admits its next holder
 * with a check-and-set after this one left the holders (released, or pruned once its session
 * died), so that write is later too.
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
import type { KVPair } from '../../api/kv.js';

/**
 * The fencing token of a hold granted to `session`, from the entry the granting write
 * returned; `undefined` when that entry does not name the session (a lock) or is missing.
 */
export function lockFencingToken(written: KVPair | undefined, session: string): bigint | undefined {
  if (written === undefined || written.Session !== session) return undefined;
  return written.ModifyIndex;
}

/** The admission index of a semaphore hold: the index its check-and-set wrote (a fencing token only at limit 1). */
export function admissionFencingToken(written: KVPair): bigint {
  return written.ModifyIndex;
}

/**
 * Whether a resource that has accepted `highest` (or nothing yet) should accept a request
 * carrying `token`: tokens may repeat (the same holder writing twice) but never go back.
 * Sound for the tokens consulkit offers (`fencingToken` of a lock, an election, a limit-1
 * semaphore), which have one legitimate holder at a time; never feed it a semaphore's
 * `admissionIndex` of a larger limit.
 */
export function acceptsFencingToken(highest: bigint | undefined, token: bigint): boolean {
  return highest === undefined || token >= highest;
}
