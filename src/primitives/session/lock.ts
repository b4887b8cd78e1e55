/**
 * `consul.lock(key)`: a distributed mutex on one KV key, compatible with Consul's Go
 * `api.Lock` and `consul lock`.
 *
 * @packageDocumentation
 */
import { EventEmitter } from 'eventemitter3';
import { validateKey, type KVPair } from '../../api/kv.js';
import type { ClientResource } from '../../client.js';
import { ConflictError } from '../../errors.js';
import type { CallOptions } from '../../transport/types.js';
import { describeFlags, LOCK_FLAGS } from './key-flags.js';
import { lockAlgorithm } from './lock-algorithm.js';
import { heldContext, sessionCall, type HeldEvents, type PrimitiveHost } from './session-algorithm.js';
import { SessionHolder } from './session-holder.js';
import {
  resolveSessionOptions,
  resolveValue,
  type AcquireOptions,
  type LockOptions,
  type ResolvedSessionOptions,
  type TryAcquireOptions,
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
export class Lock extends EventEmitter<HeldEvents> implements ClientResource, AsyncDisposable {
  /** The Consul key, exactly as given. */
  readonly key: string;
  readonly #host: PrimitiveHost;
  readonly #settings: ResolvedSessionOptions;
  readonly #holder: SessionHolder<KVPair | undefined>;

  /**
   * @internal Use `consul.lock(key, options)`.
   * @throws ValidationError for a bad key or options
   */
  constructor(host: PrimitiveHost, key: string, options: LockOptions = {}) {
    validateKey(key);
    const settings = resolveSessionOptions(options, `consulkit lock ${key}`);
    const value = resolveValue(options.value);
    super();
    this.key = key;
    this.#host = host;
    this.#settings = settings;
    this.#holder = new SessionHolder(
      heldContext(this, host, 'lock', key, settings),
      lockAlgorithm(host, key, value, settings),
      this,
    );
  }

  /** Whether it is held now. Checks the renewal deadline synchronously too. */
  get held(): boolean {
    return this.#holder.held;
  }

  /**
   * Aborted when the lock is lost (reason: `LockLostError`) or released (reason:
   * `ClosedError`). Before the first acquisition it is already aborted; after a loss or
   * release it stays the aborted signal of that acquisition until the next one.
   */
  get signal(): AbortSignal {
    return this.#holder.signal;
  }

  /** Fencing token of the current acquisition (see `fencing.ts`); `undefined` when not held. */
  get fencingToken(): bigint | undefined {
    return this.#holder.fencingToken;
  }

  /** ID of the session of the current acquisition; `undefined` when not held. */
  get sessionId(): string | undefined {
    return this.#holder.sessionId;
  }

  /** Whether `close()` was called (or the client closed it). */
  get closed(): boolean {
    return this.#holder.closed;
  }

  /**
   * Waits until held, and resolves to this object (which `await using` releases).
   *
   * @throws TimeoutError after `timeout`; the signal's reason when aborted
   * @throws ConflictError when already held or being acquired by this object, or when the key
   *   belongs to something else (other flags)
   * @throws ClosedError after `close()`, or when `release()` was called meanwhile
   * @throws PermissionDeniedError when the token lacks the rights (see the ACL notes)
   */
  async acquire(options: AcquireOptions = {}): Promise<this> {
    await this.#holder.acquire(options);
    return this;
  }

  /**
   * One attempt (or, with `wait`, attempts for that long). Resolves `true` when held, `false`
   * when someone else holds it or a lock-delay is in effect.
   *
   * @throws ConflictError, PermissionDeniedError, ClosedError as {@link Lock.acquire}
   */
  tryAcquire(options: TryAcquireOptions = {}): Promise<boolean> {
    return this.#holder.tryAcquire(options);
  }

  /**
   * Acquires, runs `fn` with a signal that aborts if the lock is lost, and releases, whatever
   * `fn` did. Rejects with `fn`'s error, or with the `LockLostError` when the lock was lost
   * before `fn` settled (its work may then have run unprotected), or with the release's error.
   */
  withLock<T>(fn: (signal: AbortSignal) => Promise<T> | T, options: AcquireOptions = {}): Promise<T> {
    return this.#holder.withHold(fn, options);
  }

  /**
   * Gives up the lock: aborts the signal first (so that dependent work stops before anyone
   * else can acquire), releases the key, emits `released` as soon as Consul confirms it,
   * then destroys the session it created. Cancels an acquisition in progress instead, when
   * nothing is held.
   *
   * Each acquisition has its own release: calling `release()` again while one runs returns
   * the same promise, but a `release()` after a later `acquire()` releases that later
   * acquisition (it never returns an earlier one's promise). With nothing held or being
   * acquired, it resolves once earlier releases and loss cleanups have finished.
   *
   * @throws the failure when the hold may remain in Consul (the release and the session
   *   destroy both failed): it then ends when the session expires (within 2 × TTL)
   */
  release(): Promise<void> {
    return this.#holder.release();
  }

  /** Releases and refuses further acquisitions. Idempotent. */
  close(): Promise<void> {
    return this.#holder.close();
  }

  /** Same as {@link Lock.release}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /**
   * Deletes the lock key when nobody holds it (Go's `Lock.Destroy`). Not needed in normal use.
   *
   * @throws ConflictError when this object holds it, another session holds it ("in use"), or
   *   the key belongs to something else
   */
  async destroy(options: Pick<CallOptions, 'signal' | 'timeout'> = {}): Promise<void> {
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
