/**
 * `consul.semaphore(prefix, { limit })`: at most `limit` holders at once, compatible with
 * Consul's Go `api.Semaphore` and `consul lock -n <limit>`.
 *
 * @packageDocumentation
 */
import type { KVPair, KVValue } from '../../api/kv.js';
import { ConflictError, ValidationError } from '../../errors.js';
import type { CallOptions } from '../../transport/types.js';
import { findCoordinationPair, liveHolders, type SemaphoreLayout } from './semaphore-state.js';
import { semaphoreAlgorithm } from './semaphore-algorithm.js';
import { HeldPrimitive } from './held-primitive.js';
import { sessionCall, type PrimitiveHost } from './session-algorithm.js';
import {
  checkSessionOptionKeys,
  DESTROY_OPTION_KEYS,
  resolveSessionOptions,
  resolveValue,
  SESSION_OPTION_KEYS,
  type ResolvedSessionOptions,
  type SessionOptions,
} from './session-options.js';
import { checkOptionKeys, optionKeys } from '../../options-check.js';

/** Options of {@link Consul.semaphore}. */
export interface SemaphoreOptions extends SessionOptions {
  /** Slots: how many may hold it at once. Every contender on the prefix must agree. Required. */
  limit: number;
  /** Value of this contender's key `<prefix>/<session>` (e.g. who it is). Default: empty. */
  value?: KVValue;
}

/** Every key of {@link SemaphoreOptions}. */
export const SEMAPHORE_OPTION_KEYS = optionKeys<SemaphoreOptions>()([
  ...SESSION_OPTION_KEYS,
  'limit',
  'value',
]);

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
export class Semaphore extends HeldPrimitive<KVPair[]> {
  /** The prefix, without a trailing slash. */
  readonly prefix: string;
  /** Slots. */
  readonly limit: number;
  readonly #host: PrimitiveHost;
  readonly #settings: ResolvedSessionOptions;
  readonly #layout: SemaphoreLayout;

  /**
   * @internal Use `consul.semaphore(prefix, options)`.
   * @throws ValidationError for a bad prefix, a limit that is not a positive integer, or bad options
   */
  constructor(host: PrimitiveHost, prefix: string, options: SemaphoreOptions) {
    checkSessionOptionKeys(options, SEMAPHORE_OPTION_KEYS, 'semaphore()');
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
    const layout: SemaphoreLayout = { prefix: normalized, limit };
    super(host, 'semaphore', normalized, settings, semaphoreAlgorithm(host, layout, value, settings));
    this.prefix = normalized;
    this.limit = limit;
    this.#host = host;
    this.#settings = settings;
    this.#layout = layout;
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

  /**
   * Deletes the coordination key when no live holder remains (Go's `Semaphore.Destroy`).
   *
   * @throws ConflictError when this object holds a slot, live holders remain ("in use"), or
   *   the key belongs to something else or another limit
   */
  async destroy(options: Pick<CallOptions, 'signal' | 'timeout'> = {}): Promise<void> {
    checkOptionKeys(options, DESTROY_OPTION_KEYS, 'destroy()');
    if (this.held)
      throw new ConflictError(`the semaphore ${this.prefix} is held by this object; release it first`);
    const call = sessionCall(this.#settings, options);
    const pairs = await this.#host.kv.list(`${this.prefix}/`, { ...call, consistency: 'consistent' });
    const pair = findCoordinationPair(pairs, this.prefix);
    if (pair === undefined) return;
    const holders = liveHolders(pairs, this.#layout);
    if (holders.size > 0)
      throw new ConflictError(`the semaphore ${this.prefix} is in use by ${holders.size} holder(s)`);
    const removed = await this.#host.kv.delete(pair.Key, { ...call, cas: pair.ModifyIndex });
    if (!removed)
      throw new ConflictError(`the semaphore ${this.prefix} is in use (it changed while being destroyed)`);
  }
}
