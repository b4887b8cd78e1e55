/**
 * The semaphore's shared state and the decisions of its algorithm, as pure functions. The
 * algorithm and the layout are those of Consul's Go `api.Semaphore` (and `consul lock -n`):
 * - each contender holds a key `<prefix>/<session>` acquired with its session;
 * - the coordination key `<prefix>/.lock` holds `{"Limit":N,"Holders":{"<session>":true}}`;
 * - a contender becomes a holder by adding its session to `Holders` with a check-and-set;
 * - holders whose contender key no longer carries their session are dead and are pruned
 *   before counting;
 * - every key has flags 0xe0f69a2baa414de0.
 *
 * @packageDocumentation
 */
import type { KVPair } from '../../api/kv.js';
import { ConflictError } from '../../errors.js';
import { COORDINATION_KEY, describeFlags, SEMAPHORE_FLAGS } from './key-flags.js';

/** The decoded coordination key. */
export interface SemaphoreState {
  /** Slots, as every contender must agree. */
  readonly limit: number;
  /** Sessions holding a slot. */
  readonly holders: ReadonlySet<string>;
}

/** Where the semaphore's keys live. */
export interface SemaphoreLayout {
  /** Prefix without a trailing slash. */
  readonly prefix: string;
  /** Slots this contender expects. */
  readonly limit: number;
}

/** `<prefix>/.lock`. */
export function coordinationKey(prefix: string): string {
  return `${prefix}/${COORDINATION_KEY}`;
}

/** `<prefix>/<session>`. */
export function contenderKey(prefix: string, session: string): string {
  return `${prefix}/${session}`;
}

/**
 * Decodes the coordination key's value. An empty value is an empty semaphore of `limit`.
 *
 * @throws ConflictError when the value is not the semaphore's JSON
 */
export function decodeSemaphoreState(value: Uint8Array, limit: number): SemaphoreState {
  if (value.byteLength === 0) return { limit, holders: new Set() };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value).toString('utf8'));
  } catch (error) {
    throw new ConflictError('the semaphore coordination key does not hold valid JSON', { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConflictError('the semaphore coordination key does not hold a JSON object');
  }
  const { Limit, Holders } = parsed as { Limit?: unknown; Holders?: unknown };
  // Go decodes a missing Limit as 0, which then conflicts with every positive limit.
  const decodedLimit = Limit === undefined ? 0 : Limit;
  if (typeof decodedLimit !== 'number' || !Number.isSafeInteger(decodedLimit)) {
    throw new ConflictError(`the semaphore coordination key has a malformed Limit: ${JSON.stringify(Limit)}`);
  }
  if (Holders !== undefined && Holders !== null && (typeof Holders !== 'object' || Array.isArray(Holders))) {
    throw new ConflictError('the semaphore coordination key has malformed Holders');
  }
  // Go treats Holders as a set: a present key is a holder, whatever its value.
  return { limit: decodedLimit, holders: new Set(Object.keys(Holders ?? {})) };
}

/** Encodes the state as Go's `json.Marshal` does (fields in order, holders sorted). */
export function encodeSemaphoreState(state: SemaphoreState): Buffer {
  const holders: Record<string, true> = {};
  for (const session of [...state.holders].sort()) holders[session] = true;
  return Buffer.from(JSON.stringify({ Limit: state.limit, Holders: holders }), 'utf8');
}

/** Sessions that hold some key under the prefix (contender keys name their session). */
export function liveSessions(pairs: readonly KVPair[]): Set<string> {
  const alive = new Set<string>();
  for (const pair of pairs) if (pair.Session) alive.add(pair.Session);
  return alive;
}

/** The holders whose session still holds a key under the prefix. */
export function pruneDeadHolders(holders: ReadonlySet<string>, pairs: readonly KVPair[]): Set<string> {
  const alive = liveSessions(pairs);
  return new Set([...holders].filter((holder) => alive.has(holder)));
}

/** Finds the coordination key among the prefix's entries. */
export function findCoordinationPair(pairs: readonly KVPair[], prefix: string): KVPair | undefined {
  const key = coordinationKey(prefix);
  return pairs.find((pair) => pair.Key === key);
}

/** What an acquiring contender should do next, given the prefix's entries. */
export type SemaphorePlan =
  /** This contender's own key is missing: (re)create it. */
  | { readonly kind: 'enter' }
  /** Every slot is taken: wait for a change. */
  | { readonly kind: 'full' }
  /**
   * Take a slot: write `value` to the coordination key with check-and-set on `casIndex`
   * (0 when the key does not exist yet: create it).
   */
  | { readonly kind: 'admit'; readonly casIndex: bigint; readonly value: Buffer };

/**
 * Decides the next step of an acquisition.
 *
 * @throws ConflictError when the coordination key holds something else (a lock's flags,
 *   foreign JSON) or a different limit
 */
export function planSemaphore(
  pairs: readonly KVPair[],
  layout: SemaphoreLayout,
  session: string,
): SemaphorePlan {
  const pair = findCoordinationPair(pairs, layout.prefix);
  const state =
    pair === undefined ? { limit: layout.limit, holders: new Set<string>() } : checkedState(pair, layout);
  const own = pairs.find((entry) => entry.Key === contenderKey(layout.prefix, session));
  if (own === undefined || own.Session !== session) return { kind: 'enter' };
  const holders = pruneDeadHolders(state.holders, pairs);
  // A session that already holds a slot (a reclaim) takes it again whatever the count.
  if (!holders.has(session) && holders.size >= state.limit) return { kind: 'full' };
  holders.add(session);
  return {
    kind: 'admit',
    casIndex: pair?.ModifyIndex ?? 0n,
    value: encodeSemaphoreState({ limit: state.limit, holders }),
  };
}

/**
 * Whether `session` holds a slot according to the prefix's entries: it is in `Holders` and
 * still alive (Go's monitor rule).
 */
export function holdsSlot(pairs: readonly KVPair[], layout: SemaphoreLayout, session: string): boolean {
  const pair = findCoordinationPair(pairs, layout.prefix);
  if (pair === undefined || pair.Flags !== SEMAPHORE_FLAGS) return false;
  let state: SemaphoreState;
  try {
    state = decodeSemaphoreState(pair.Value, layout.limit);
  } catch {
    // Someone overwrote the coordination key with something else: the slot is gone.
    return false;
  }
  return pruneDeadHolders(state.holders, pairs).has(session);
}

/**
 * The state after `session` leaves, or `undefined` when it is not a holder. Dead holders are
 * kept as they are (Go's release does not prune either).
 *
 * @throws ConflictError when the key holds something else
 */
export function withoutHolder(pair: KVPair, layout: SemaphoreLayout, session: string): Buffer | undefined {
  if (pair.Flags !== SEMAPHORE_FLAGS) {
    throw new ConflictError(`${pair.Key} holds ${describeFlags(pair.Flags)}, not a semaphore`);
  }
  const state = decodeSemaphoreState(pair.Value, layout.limit);
  if (!state.holders.has(session)) return undefined;
  const holders = new Set(state.holders);
  holders.delete(session);
  return encodeSemaphoreState({ limit: state.limit, holders });
}

/**
 * The holders that keep the semaphore in use (for `destroy()`): live holders of a valid key.
 *
 * @throws ConflictError when the key holds something else
 */
export function liveHolders(pairs: readonly KVPair[], layout: SemaphoreLayout): Set<string> {
  const pair = findCoordinationPair(pairs, layout.prefix);
  if (pair === undefined) return new Set();
  return pruneDeadHolders(checkedState(pair, layout).holders, pairs);
}

function checkedState(pair: KVPair, layout: SemaphoreLayout): SemaphoreState {
  if (pair.Flags !== SEMAPHORE_FLAGS) {
    throw new ConflictError(`${pair.Key} holds ${describeFlags(pair.Flags)}, not a semaphore`);
  }
  const state = decodeSemaphoreState(pair.Value, layout.limit);
  if (state.limit !== layout.limit) {
    throw new ConflictError(`semaphore limit conflict (lock: ${state.limit}, local: ${layout.limit})`);
  }
  return state;
}
