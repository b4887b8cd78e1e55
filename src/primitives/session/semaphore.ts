/**
 * `consul.semaphore(prefix, { limit })`: at most `limit` holders at once, compatible with
 * Consul's Go `api.Semaphore` and `consul lock -n <limit>`.
 *
 * @packageDocumentation
 */
import type { KVPair, KVValue } from '../../api/kv.js';
import { txnKV } from '../../api/txn.js';
import { ConflictError, ValidationError } from '../../errors.js';
import type { CallOptions } from '../../transport/types.js';
import type { Watch } from '../../watch/types.js';
import { admissionFencingToken } from './fencing.js';
import { SEMAPHORE_FLAGS } from './key-flags.js';
import {
  primitiveWatchOptions,
  resolveSessionOptions,
  resolveValue,
  type SessionOptions,
} from './session-options.js';
import {
  contenderKey,
  coordinationKey,
  decodeSemaphoreState,
  findCoordinationPair,
  holdsSlot,
  liveHolders,
  planSemaphore,
  withoutHolder,
  type SemaphoreLayout,
} from './semaphore-state.js';
import {
  acquireWithIndex,
  SessionPrimitive,
  type AcquireStep,
  type PrimitiveHost,
} from './session-primitive.js';

/** Options of {@link Consul.semaphore}. */
export interface SemaphoreOptions extends SessionOptions {
  /** Slots: how many may hold it at once. Every contender on the prefix must agree. Required. */
  limit: number;
  /** Value of this contender's key `<prefix>/<session>` (e.g. who it is). Default: empty. */
  value?: KVValue;
}

/** Attempts of a release's check-and-set before giving up (each one lost a race). */
const RELEASE_ATTEMPTS = 20;

/**
 * Validates a semaphore prefix and returns it without trailing slashes.
 *
 * @throws ValidationError for an empty prefix or one starting with `/`
 */
export function normalizeSemaphorePrefix(prefix: unknown): string {
  if (typeof prefix !== 'string') throw new ValidationError('prefix', 'must be a string');
  const trimmed = prefix.replace(/\/+$/, '');
  if (trimmed === '') throw new ValidationError('prefix', 'must name a key prefix (not empty, not only "/")');
  if (trimmed.startsWith('/')) throw new ValidationError('prefix', `'${prefix}' must not start with '/'`);
  return trimmed;
}

/**
 * A distributed counting semaphore on a KV prefix (`consul.semaphore(prefix, { limit })`).
 * Same surface as {@link Lock}: `acquire`, `tryAcquire`, `withLock`, `release`, `held`,
 * `signal`, `fencingToken`, events `acquired`/`lost`/`released`/`error`.
 *
 * How it works (Consul's Go `api.Semaphore` algorithm): each contender creates
 * `<prefix>/<session>` with its session; the coordination key `<prefix>/.lock` holds
 * `{"Limit":N,"Holders":{…}}`; a contender takes a slot by adding its session to `Holders`
 * with a check-and-set, after pruning holders whose contender key lost its session. All keys
 * carry flags 0xe0f69a2baa414de0; a `.lock` with other flags (a `consul lock` without `-n`)
 * or a different `Limit` is refused with `ConflictError`. Sessions use behavior `delete`, so a
 * crashed contender's key disappears with its session.
 *
 * The slot is lost when the session is (see {@link Lock}), when this session is removed from
 * `Holders`, or when its contender key is deleted.
 *
 * Safety: a slot is freed by pruning a dead session, and no lock-delay covers pruning. So the
 * session is never bound to `serfHealth` by default (a node cut off from the servers would
 * lose its session within seconds while its holder still runs): only the TTL, which the
 * holder's own deadline precedes, or the FAST_FAILOVER heartbeat check, which the holder
 * guards the same way, can free a slot. The price: after a node failure the slot comes back
 * after the session TTL (up to 2 × TTL), not in seconds. Explicit `checks` are logged as a
 * warning. Fencing: see {@link Semaphore.fencingToken} (only at limit 1).
 *
 * ACL policy (exact; `<node>` is the agent's node name):
 * ```hcl
 * key_prefix "<prefix>/" { policy = "write" }
 * session "<node>" { policy = "write" }
 * # only with `heartbeat` / FAST_FAILOVER:
 * service "consulkit-session" { policy = "write" }
 * ```
 *
 * @example
 * ```ts
 * const slots = consul.semaphore('batch/encoders', { limit: 3 });
 * await slots.withLock(async (signal) => encode(file, { signal }));
 * ```
 */
export class Semaphore extends SessionPrimitive<KVPair[]> {
  /** The prefix, without a trailing slash. */
  readonly prefix: string;
  /** Slots. */
  readonly limit: number;
  readonly #value: Buffer;
  readonly #layout: SemaphoreLayout;

  /**
   * @internal Use `consul.semaphore(prefix, options)`.
   * @throws ValidationError for a bad prefix, a limit that is not a positive integer, or bad options
   */
  constructor(host: PrimitiveHost, prefix: string, options: SemaphoreOptions) {
    const normalized = normalizeSemaphorePrefix(prefix);
    if (options === null || typeof options !== 'object') {
      throw new ValidationError('options', 'must be an object with a limit');
    }
    const limit = options.limit;
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit <= 0) {
      throw new ValidationError('limit', `must be a positive integer, got ${String(limit)}`);
    }
    const settings = resolveSessionOptions(options, `consulkit semaphore ${normalized}`);
    const value = resolveValue(options.value);
    super(host, 'semaphore', normalized, settings, 'delete');
    this.prefix = normalized;
    this.limit = limit;
    this.#value = value;
    this.#layout = { prefix: normalized, limit };
  }

  /**
   * Deletes the coordination key when no live holder remains (Go's `Semaphore.Destroy`).
   *
   * @throws ConflictError when this object holds a slot, live holders remain ("in use"), or
   *   the key belongs to something else or another limit
   */
  async destroy(options: Pick<CallOptions, 'signal' | 'timeout'> = {}): Promise<void> {
    if (this.held)
      throw new ConflictError(`the semaphore ${this.prefix} is held by this object; release it first`);
    const call = this.#call(options);
    const pairs = await this.host.kv.list(`${this.prefix}/`, { ...call, consistency: 'consistent' });
    const pair = findCoordinationPair(pairs, this.prefix);
    if (pair === undefined) return;
    const holders = liveHolders(pairs, this.#layout);
    if (holders.size > 0)
      throw new ConflictError(`the semaphore ${this.prefix} is in use by ${holders.size} holder(s)`);
    const removed = await this.host.kv.delete(pair.Key, { ...call, cas: pair.ModifyIndex });
    if (!removed)
      throw new ConflictError(`the semaphore ${this.prefix} is in use (it changed while being destroyed)`);
  }

  /**
   * The fencing token of the current hold, only for a semaphore of limit 1 (where it is the
   * index of the admission, and behaves exactly as a lock's: see `fencing.ts`); `undefined`
   * for a larger limit, where no single number can fence: several holders are legitimate at
   * once, so a resource that refused tokens older than the largest it saw would refuse
   * legitimate holders, and one that accepted them could not tell a stale holder apart. Use
   * {@link Semaphore.admissionIndex} to identify a hold.
   */
  override get fencingToken(): bigint | undefined {
    return this.limit === 1 ? super.fencingToken : undefined;
  }

  /**
   * The index of the write that admitted the current holder (also the argument of the
   * `acquired` event): unique per hold and strictly increasing in admission order, for any
   * limit; `undefined` when not held. A fencing token only at limit 1.
   */
  get admissionIndex(): bigint | undefined {
    return super.fencingToken;
  }

  /** @internal Slots are freed by pruning dead holders, which no lock-delay covers. */
  protected override get lockDelayProtects(): boolean {
    return false;
  }

  /** @internal */
  protected openWatch(): Watch<KVPair[]> {
    return this.host.watch.keyPrefix(`${this.prefix}/`, primitiveWatchOptions(this.settings.token));
  }

  /** @internal */
  protected openMonitor(session: string, token: bigint): Watch<KVPair[]> {
    const prefix = `${this.prefix}/`;
    return this.host.watch.query(
      {
        endpoint: 'semaphore.monitor',
        params: { prefix, session, term: String(token) },
        read: (options) => this.host.kv.list(prefix, options),
      },
      primitiveWatchOptions(this.settings.token),
    );
  }

  /** @internal */
  protected async enter(session: string, signal: AbortSignal): Promise<void> {
    const made = await this.host.kv.put(contenderKey(this.prefix, session), this.#value, {
      ...this.#call({ signal }),
      acquire: session,
      flags: SEMAPHORE_FLAGS,
    });
    if (!made)
      throw new ConflictError(`could not create the contender key ${contenderKey(this.prefix, session)}`);
  }

  /** @internal */
  protected async step(pairs: KVPair[], session: string, signal: AbortSignal): Promise<AcquireStep> {
    const plan = planSemaphore(pairs, this.#layout, session);
    switch (plan.kind) {
      case 'enter':
        await this.enter(session, signal);
        return { kind: 'progress' };
      case 'full':
        return { kind: 'blocked' };
      case 'admit': {
        const key = coordinationKey(this.prefix);
        const call = this.#call({ signal });
        const written = await acquireWithIndex(
          this.host.txn,
          txnKV.cas(key, plan.value, plan.casIndex, { flags: SEMAPHORE_FLAGS }),
          call,
        );
        // Another contender changed the key first; the watch brings its version, which may
        // still have a free slot: a lost race, not a refusal.
        if (written.kind === 'refused') return { kind: 'contended' };
        const token = admissionFencingToken(written.entry);
        return { kind: 'held', token, baseline: token };
      }
    }
  }

  /** @internal */
  protected holds(pairs: KVPair[], session: string): boolean {
    return holdsSlot(pairs, this.#layout, session);
  }

  /** @internal */
  protected dataIndex(pairs: KVPair[], watchIndex: bigint | undefined): bigint | undefined {
    return findCoordinationPair(pairs, this.prefix)?.ModifyIndex ?? watchIndex;
  }

  /** @internal */
  protected lossReason(pairs: KVPair[], session: string): string {
    const pair = findCoordinationPair(pairs, this.prefix);
    if (pair === undefined) return 'the semaphore coordination key was deleted';
    if (pair.Flags !== SEMAPHORE_FLAGS) return 'the semaphore coordination key was overwritten';
    try {
      decodeSemaphoreState(pair.Value, this.#layout.limit);
    } catch (error) {
      // Same flags but a value that is not the semaphore's JSON: say what is wrong with it.
      return `the semaphore coordination key was overwritten: ${(error as Error).message}`;
    }
    const own = pairs.find((entry) => entry.Key === contenderKey(this.prefix, session));
    if (own === undefined) return 'the contender key was deleted';
    if (own.Session !== session) return 'the contender key lost its session';
    return 'this session was removed from the semaphore holders';
  }

  /** @internal */
  protected async verify(session: string, signal: AbortSignal): Promise<boolean> {
    const pairs = await this.host.kv.list(`${this.prefix}/`, {
      ...this.#call({ signal }),
      consistency: 'consistent',
    });
    return holdsSlot(pairs, this.#layout, session);
  }

  /** @internal */
  protected async releaseHeld(session: string): Promise<void> {
    const call = this.#call({ timeout: this.releaseTimeoutMs });
    const key = coordinationKey(this.prefix);
    for (let attempt = 1; ; attempt++) {
      const pair = await this.host.kv.get(key, { ...call, consistency: 'consistent' });
      // Gone or overwritten: there is no slot left to give back.
      if (pair === undefined || pair.Flags !== SEMAPHORE_FLAGS) break;
      const next = withoutHolder(pair, this.#layout, session);
      if (next === undefined) break;
      const swapped = await this.host.kv.put(key, next, {
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
    await this.host.kv.delete(contenderKey(this.prefix, session), call);
  }

  #call(options: Pick<CallOptions, 'signal' | 'timeout'>): CallOptions {
    const token = this.settings.token;
    return token === undefined ? { ...options } : { ...options, token };
  }
}
