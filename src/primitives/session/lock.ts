/**
 * `consul.lock(key)`: a distributed mutex on one KV key, compatible with Consul's Go
 * `api.Lock` and `consul lock`.
 *
 * @packageDocumentation
 */
import { validateKey, type KVPair } from '../../api/kv.js';
import { ConflictError } from '../../errors.js';
import { checkOptionKeys } from '../../options-check.js';
import type { CallOptions } from '../../transport/types.js';
import { describeFlags, LOCK_FLAGS } from './key-flags.js';
import { lockAlgorithm } from './lock-algorithm.js';
import { HeldPrimitive } from './held-primitive.js';
import { sessionCall, type PrimitiveHost } from './session-algorithm.js';
import {
  checkSessionOptionKeys,
  DESTROY_OPTION_KEYS,
  LOCK_OPTION_KEYS,
  resolveSessionOptions,
  resolveValue,
  type LockOptions,
  type ResolvedSessionOptions,
} from './session-options.js';

/**
 * A distributed lock on one Consul key (`consul.lock(key, options)`).
 *
 * How it works (Consul's Go `api.Lock` algorithm): it creates a session (TTL 15 s by
 * default, renewed every TTL/3), then waits on the key through the shared watcher until no
 * session holds it, and acquires it for the session with flags 0x2ddccbc058a50c18 (a
 * one-operation transaction, which is `?acquire=` that also returns the index it wrote: the
 * fencing token).
 * After a refused acquire with no holder in sight (a lock-delay is running) it retries with
 * a short backoff, never spinning. `consul.lock('jobs/x/.lock')` therefore contends with
 * `consul lock jobs/x …`, and a key with other flags is refused with `ConflictError`.
 *
 * While held, the key is watched and the session kept; the lock is lost, `signal` aborts
 * with a `LockLostError` and `lost` is emitted, as soon as the key is deleted, taken over,
 * released by someone else, the session is invalidated or destroyed, or renewals keep failing
 * for a full TTL (see `session-keeper.ts` for the exact guarantee and its limits). Use
 * {@link Lock.fencingToken} to make the protected resource safe even then.
 *
 * Failover after a holder's process crashes (until another process holds the lock): with
 * the defaults, 2 × TTL (Consul expires a TTL session up to twice its TTL after the last
 * renewal; 1.8 takes all of it) + lock-delay + up to 1 s of retry backoff, about 45–46 s;
 * with {@link FAST_FAILOVER} (a 2 s heartbeat check and a 1 s lock-delay) about 3.5 s, at
 * most 5 s. After the holder's node dies or is cut off from the servers: with the defaults
 * `serfHealth` ends the session within seconds and the 15 s lock-delay keeps the key until
 * the holder has given up (measured: next holder at about 21 s); with FAST_FAILOVER, whose
 * session is not bound to `serfHealth`, the TTL decides (about 31 s). A clean `release()`
 * hands over in milliseconds (no lock-delay).
 *
 * ACL policy (exact; `<node>` is the agent's node name):
 * ```hcl
 * key "<key>" { policy = "write" }
 * session "<node>" { policy = "write" }
 * # only with `heartbeat` / FAST_FAILOVER:
 * service "consulkit-session" { policy = "write" }
 * ```
 *
 * @example
 * ```ts
 * const lock = consul.lock('jobs/report/.lock', { value: os.hostname() });
 * await lock.withLock(async (signal) => {
 *   await generateReport({ signal, fencingToken: lock.fencingToken });
 * });
 * ```
 */
export class Lock extends HeldPrimitive<KVPair | undefined> {
  /** The Consul key, exactly as given. */
  readonly key: string;
  readonly #host: PrimitiveHost;
  readonly #settings: ResolvedSessionOptions;

  /**
   * @internal Use `consul.lock(key, options)`.
   * @throws ValidationError for a bad key or options
   */
  constructor(host: PrimitiveHost, key: string, options: LockOptions = {}) {
    checkSessionOptionKeys(options, LOCK_OPTION_KEYS, 'lock()');
    validateKey(key);
    const settings = resolveSessionOptions(options, `consulkit lock ${key}`);
    const value = resolveValue(options.value);
    super(host, 'lock', key, settings, lockAlgorithm(host, key, value, settings));
    this.key = key;
    this.#host = host;
    this.#settings = settings;
  }

  /**
   * Deletes the lock key when nobody holds it (Go's `Lock.Destroy`). Not needed in normal use.
   *
   * @throws ConflictError when this object holds it, another session holds it ("in use"), or
   *   the key belongs to something else
   */
  async destroy(options: Pick<CallOptions, 'signal' | 'timeout'> = {}): Promise<void> {
    checkOptionKeys(options, DESTROY_OPTION_KEYS, 'destroy()');
    if (this.held) throw new ConflictError(`the lock ${this.key} is held by this object; release it first`);
    const call = sessionCall(this.#settings, options);
    const pair = await this.#host.kv.get(this.key, { ...call, consistency: 'consistent' });
    if (pair === undefined) return;
    if (pair.Flags !== LOCK_FLAGS)
      throw new ConflictError(`${this.key} holds ${describeFlags(pair.Flags)}, not a lock`);
    if (pair.Session) throw new ConflictError(`the lock ${this.key} is in use by session ${pair.Session}`);
    const removed = await this.#host.kv.delete(this.key, { ...call, cas: pair.ModifyIndex });
    if (!removed)
      throw new ConflictError(`the lock ${this.key} is in use (it changed while being destroyed)`);
  }
}
