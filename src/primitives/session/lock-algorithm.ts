/**
 * The lock's algorithm (Consul's Go `api.Lock`), as the session holder runs it: wait until no
 * session holds the key, then acquire it for this session with the lock flags, in a
 * one-operation transaction whose answer carries the fencing token.
 *
 * @packageDocumentation
 */
import type { KVPair } from '../../api/kv.js';
import { txnKV } from '../../api/txn/txn.js';
import { lockFencingToken } from './fencing.js';
import { acquireWithIndex } from './indexed-write.js';
import { LOCK_FLAGS } from './key-flags.js';
import { holdsLock, lockLossReason, planLock } from './lock-state.js';
import {
  releaseTimeoutMs,
  sessionCall,
  type PrimitiveHost,
  type SessionAlgorithm,
} from './session-algorithm.js';
import { primitiveWatchOptions, type ResolvedSessionOptions } from './session-options.js';

/** The algorithm of a lock on `key`, whose holder writes `value` into it. */
export function lockAlgorithm(
  host: PrimitiveHost,
  key: string,
  value: Buffer,
  settings: ResolvedSessionOptions,
): SessionAlgorithm<KVPair | undefined> {
  const watchOptions = primitiveWatchOptions(settings.token);
  return {
    behavior: 'release',
    lockDelayProtects: true,
    openWatch: () => host.watch.key(key, watchOptions),
    openMonitor: (session, token) =>
      host.watch.query(
        {
          endpoint: 'lock.monitor',
          params: { key, session, term: String(token) },
          read: (options) => host.kv.get(key, options),
        },
        watchOptions,
      ),
    // A lock needs nothing per session before its first attempt.
    enter: () => Promise.resolve(),
    async step(pair, session, signal) {
      const plan = planLock(pair, session);
      if (plan.kind === 'held') return { kind: 'held', token: plan.token, baseline: plan.token };
      if (plan.kind === 'busy') return { kind: 'blocked' };
      const result = await acquireWithIndex(
        host.txn,
        txnKV.lock(key, value, session, { flags: LOCK_FLAGS }),
        sessionCall(settings, { signal }),
      );
      // Refused: someone acquired first (the watch will show it) or a lock-delay is running
      // (nothing will change; the loop retries after a short backoff).
      if (result.kind === 'refused') return { kind: 'refused' };
      const token = lockFencingToken(result.entry, session);
      if (token === undefined) return { kind: 'refused' };
      return { kind: 'held', token, baseline: token };
    },
    holds: (pair, session) => holdsLock(pair, session),
    dataIndex: (pair, watchIndex) => pair?.ModifyIndex ?? watchIndex,
    lossReason: (pair, session) => lockLossReason(pair, session),
    async verify(session, signal) {
      const pair = await host.kv.get(key, {
        ...sessionCall(settings, { signal }),
        consistency: 'consistent',
      });
      return holdsLock(pair, session);
    },
    async releaseHeld(session) {
      // Releasing before the session is destroyed means no lock-delay for the next holder.
      // `false` means the key no longer names this session: nothing left to release.
      const call = sessionCall(settings, { timeout: releaseTimeoutMs(settings) });
      await host.kv.put(key, value, { ...call, release: session, flags: LOCK_FLAGS });
    },
  };
}
