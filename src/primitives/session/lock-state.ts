/**
 * The decisions of the lock's algorithm, as pure functions. They follow Consul's Go
 * `api.Lock`: the key carries flags 0x2ddccbc058a50c18, a key with other flags belongs to
 * something else, a key already held by our own session is ours again ("reclaim"), and a key
 * held by another session is waited on.
 *
 * @packageDocumentation
 */
import type { KVPair } from '../../api/kv.js';
import { ConflictError } from '../../errors.js';
import { describeFlags, LOCK_FLAGS } from './key-flags.js';

/** What an acquiring lock should do next, given the key. */
export type LockPlan =
  /** The key already names our session: held, with this fencing token. */
  | { readonly kind: 'held'; readonly token: bigint }
  /** Another session holds the key: wait for a change. */
  | { readonly kind: 'busy'; readonly holder: string }
  /** Nobody holds the key (or it does not exist): try to acquire. */
  | { readonly kind: 'free' };

/**
 * Decides the next step of an acquisition.
 *
 * @throws ConflictError when the key exists with flags other than the lock's
 */
export function planLock(pair: KVPair | undefined, session: string): LockPlan {
  if (pair === undefined) return { kind: 'free' };
  if (pair.Flags !== LOCK_FLAGS) {
    throw new ConflictError(`${pair.Key} holds ${describeFlags(pair.Flags)}, not a lock`);
  }
  if (pair.Session === session) return { kind: 'held', token: pair.ModifyIndex };
  if (pair.Session) return { kind: 'busy', holder: pair.Session };
  return { kind: 'free' };
}

/**
 * Whether the key (as watched) still shows the lock held by `session`. Only the session
 * counts, as in Go's monitor: a plain write to a held key (which may reset its flags) does
 * not release the lock in Consul.
 */
export function holdsLock(pair: KVPair | undefined, session: string): boolean {
  return pair !== undefined && pair.Session === session;
}

/** Why a lock held by `session` is gone, from the key as watched; for the `lost` error. */
export function lockLossReason(pair: KVPair | undefined, session: string): string {
  if (pair === undefined) return 'the lock key was deleted';
  if (!pair.Session)
    return 'the lock was released in Consul (session invalidated or released by someone else)';
  if (pair.Session !== session) return `the lock was taken over by session ${pair.Session}`;
  return 'the lock is still held';
}
