/**
 * The public face a lock and a semaphore share: every method hands over to the
 * {@link SessionHolder} the primitive was built with. No hooks: what differs between them is
 * the {@link SessionAlgorithm} they pass in, and their own extra methods.
 *
 * @packageDocumentation
 */
import { EventEmitter } from 'eventemitter3';
import type { ClientResource } from '../../client.js';
import { asError, safeEmit } from '../../safe-emit.js';
import type { HeldContext, HeldEvents, PrimitiveHost, SessionAlgorithm } from './session-algorithm.js';
import { SessionHolder } from './session-holder.js';
import type { Telemetry } from '../../observability/telemetry.js';
import type { AcquireOptions, ResolvedSessionOptions, TryAcquireOptions } from './session-options.js';

/**
 * The context of a primitive that emits on `emitter` (the lock or semaphore object itself):
 * its events go out through `safeEmit`, and its logger names it.
 */
function heldContext(
  emitter: EventEmitter<HeldEvents>,
  host: PrimitiveHost,
  kind: string,
  target: string,
  settings: ResolvedSessionOptions,
): HeldContext {
  const logger = host.logger.child({ primitive: kind, key: target });
  return {
    host,
    kind,
    target,
    settings,
    logger,
    emit: (event, ...args) => safeEmit(emitter, logger, kind, event, ...args),
    reportError: (error) => safeEmit<HeldEvents, 'error'>(emitter, logger, kind, 'error', asError(error)),
  };
}

/** What a lock and a semaphore have in common, for the caller. */
export class HeldPrimitive<W> extends EventEmitter<HeldEvents> implements ClientResource, AsyncDisposable {
  readonly #holder: SessionHolder<W>;
  readonly #telemetry: Telemetry | undefined;
  readonly #kind: string;
  readonly #target: string;

  /** @internal */
  protected constructor(
    host: PrimitiveHost,
    kind: string,
    target: string,
    settings: ResolvedSessionOptions,
    algorithm: SessionAlgorithm<W>,
  ) {
    super();
    this.#holder = new SessionHolder(heldContext(this, host, kind, target, settings), algorithm, this);
    this.#telemetry = host.telemetry;
    this.#kind = kind;
    this.#target = target;
  }

  /** Whether it is held now. Checks the renewal deadline synchronously too. */
  get held(): boolean {
    return this.#holder.held;
  }

  /**
   * Aborted when what is held is lost (reason: `LockLostError`) or released (reason:
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
   *   belongs to something else (other flags, a different semaphore limit)
   * @throws ClosedError after `close()`, or when `release()` was called meanwhile
   * @throws PermissionDeniedError when the token lacks the rights (see the ACL notes)
   */
  async acquire(options: AcquireOptions = {}): Promise<this> {
    const acquiring = this.#holder.acquire(options);
    const telemetry = this.#telemetry;
    await (telemetry?.metricsEnabled === true
      ? telemetry.timeAcquire(this.#kind, this.#target, acquiring)
      : acquiring);
    return this;
  }

  /**
   * One attempt (or, with `wait`, attempts for that long). Resolves `true` when held, `false`
   * when someone else holds it, every slot is taken, or a lock-delay is in effect.
   *
   * @throws ConflictError, PermissionDeniedError, ClosedError as {@link HeldPrimitive.acquire}
   */
  tryAcquire(options: TryAcquireOptions = {}): Promise<boolean> {
    return this.#holder.tryAcquire(options);
  }

  /**
   * Acquires, runs `fn` with a signal that aborts if the hold is lost, and releases, whatever
   * `fn` did. Rejects with `fn`'s error, or with the `LockLostError` when the hold was lost
   * before `fn` settled (its work may then have run unprotected), or with the release's error.
   * A semaphore offers it under the same name on purpose, so that either can guard a task.
   */
  withLock<T>(fn: (signal: AbortSignal) => Promise<T> | T, options: AcquireOptions = {}): Promise<T> {
    if (this.#telemetry === undefined) return this.#holder.withHold(fn, options);
    return this.#telemetry.observeHold(
      this.#kind,
      this.#target,
      () => this.fencingToken,
      fn,
      (body) => this.#holder.withHold(body, options),
    );
  }

  /**
   * Gives up what is held: aborts the signal first (so that dependent work stops before anyone
   * else can acquire), releases in Consul, emits `released` as soon as Consul confirms it,
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

  /** Same as {@link HeldPrimitive.release}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}
