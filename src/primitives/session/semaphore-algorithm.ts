/**
 * The semaphore's algorithm (Consul's Go `api.Semaphore`), as the session holder runs it:
 * each contender creates `<prefix>/<session>` with its session, then takes a slot by adding
 * its session to the `Holders` of the coordination key `<prefix>/.lock` with a
 * check-and-set, after pruning holders whose contender key lost its session.
 *
 * @packageDocumentation
 */
import type { KVPair } from '../../api/kv.js';
import { txnKV } from '../../api/txn/txn.js';
import { ConflictError } from '../../errors.js';
import { admissionFencingToken } from './fencing.js';
import { acquireWithIndex } from './indexed-write.js';
import { SEMAPHORE_FLAGS } from './key-flags.js';
import {
  contenderKey,
  coordinationKey,
  decodeSemaphoreState,
  findCoordinationPair,
  holdsSlot,
  planSemaphore,
  withoutHolder,
  type SemaphoreLayout,
} from './semaphore-state.js';
import {
  releaseTimeoutMs,
  sessionCall,
  type PrimitiveHost,
  type SessionAlgorithm,
} from './session-algorithm.js';
import { primitiveWatchOptions, type ResolvedSessionOptions } from './session-options.js';

/** Attempts of a release's check-and-set before giving up (each one lost a race). */
const RELEASE_ATTEMPTS = 20;

/** Why the watched entries show `session` without its slot, for the `lost` error. */
function semaphoreLossReason(pairs: KVPair[], layout: SemaphoreLayout, session: string): string {
  const pair = findCoordinationPair(pairs, layout.prefix);
  if (pair === undefined) return 'the semaphore coordination key was deleted';
  if (pair.Flags !== SEMAPHORE_FLAGS) return 'the semaphore coordination key was overwritten';
  try {
    decodeSemaphoreState(pair.Value, layout.limit);
  } catch (error) {
    // Same flags but a value that is not the semaphore's JSON: say what is wrong with it.
    return `the semaphore coordination key was overwritten: ${(error as Error).message}`;
  }
  const own = pairs.find((entry) => entry.Key === contenderKey(layout.prefix, session));
  if (own === undefined) return 'the contender key was deleted';
  if (own.Session !== session) return 'the contender key lost its session';
  return 'this session was removed from the semaphore holders';
}

/** The algorithm of a semaphore laid out as `layout`, whose contender keys hold `value`. */
export function semaphoreAlgorithm(
  host: PrimitiveHost,
  layout: SemaphoreLayout,
  value: Buffer,
  settings: ResolvedSessionOptions,
): SessionAlgorithm<KVPair[]> {
  const prefix = `${layout.prefix}/`;
  const watchOptions = primitiveWatchOptions(settings.token);
  const enter = async (session: string, signal: AbortSignal): Promise<void> => {
    const key = contenderKey(layout.prefix, session);
    const made = await host.kv.put(key, value, {
      ...sessionCall(settings, { signal }),
      acquire: session,
      flags: SEMAPHORE_FLAGS,
    });
    if (!made) throw new ConflictError(`could not create the contender key ${key}`);
  };
  return {
    behavior: 'delete',
    // Slots are freed by pruning dead holders, which no lock-delay covers.
    lockDelayProtects: false,
    openWatch: () => host.watch.keyPrefix(prefix, watchOptions),
    openMonitor: (session, token) =>
      host.watch.query(
        {
          endpoint: 'semaphore.monitor',
          params: { prefix, session, term: String(token) },
          read: (options) => host.kv.list(prefix, options),
        },
        watchOptions,
      ),
    enter,
    async step(pairs, session, signal) {
      const plan = planSemaphore(pairs, layout, session);
      switch (plan.kind) {
        case 'enter':
          await enter(session, signal);
          return { kind: 'progress' };
        case 'full':
          return { kind: 'blocked' };
        case 'admit': {
          const written = await acquireWithIndex(
            host.txn,
            txnKV.cas(coordinationKey(layout.prefix), plan.value, plan.casIndex, { flags: SEMAPHORE_FLAGS }),
            sessionCall(settings, { signal }),
          );
          // Another contender changed the key first; the watch brings its version, which may
          // still have a free slot: a lost race, not a refusal.
          if (written.kind === 'refused') return { kind: 'contended' };
          const token = admissionFencingToken(written.entry);
          return { kind: 'held', token, baseline: token };
        }
      }
    },
    holds: (pairs, session) => holdsSlot(pairs, layout, session),
    dataIndex: (pairs, watchIndex) => findCoordinationPair(pairs, layout.prefix)?.ModifyIndex ?? watchIndex,
    lossReason: (pairs, session) => semaphoreLossReason(pairs, layout, session),
    async verify(session, signal) {
      const pairs = await host.kv.list(prefix, {
        ...sessionCall(settings, { signal }),
        consistency: 'consistent',
      });
      return holdsSlot(pairs, layout, session);
    },
    async releaseHeld(session) {
      const call = sessionCall(settings, { timeout: releaseTimeoutMs(settings) });
      const key = coordinationKey(layout.prefix);
      for (let attempt = 1; ; attempt++) {
        const pair = await host.kv.get(key, { ...call, consistency: 'consistent' });
        // Gone or overwritten: there is no slot left to give back.
        if (pair === undefined || pair.Flags !== SEMAPHORE_FLAGS) break;
        const next = withoutHolder(pair, layout, session);
        if (next === undefined) break;
        const swapped = await host.kv.put(key, next, {
          ...call,
          cas: pair.ModifyIndex,
          flags: SEMAPHORE_FLAGS,
        });
        if (swapped) break;
        if (attempt >= RELEASE_ATTEMPTS) {
          // The session destroy that follows makes the slot dead, and contenders prune it.
          throw new ConflictError(
            `could not remove this holder from ${key} after ${attempt} attempts (contention)`,
          );
        }
      }
      await host.kv.delete(contenderKey(layout.prefix, session), call);
    },
  };
}
