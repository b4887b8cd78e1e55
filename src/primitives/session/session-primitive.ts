/**
 * What the lock and the semaphore share: a session kept by a {@link SessionKeeper}, an
 * acquisition loop that waits on the shared watcher (never polls), monitoring of what is
 * held, loss signalled at once through an AbortSignal and a `lost` event, and an idempotent
 * release. Each primitive supplies only its algorithm (the steps of acquiring, how to read
 * "still held" from the watched data, how to release).
 *
 * @packageDocumentation
 */
import { EventEmitter } from 'eventemitter3';
import type { Logger } from 'pino';
import type { KV, KVPair } from '../../api/kv.js';
import type { SessionBehavior } from '../../api/session.js';
import type { Txn, TxnKVOperation } from '../../api/txn.js';
import type { ClientResource } from '../../client.js';
import {
  ClosedError,
  ConflictError,
  ConsulError,
  isRetryable,
  LockLostError,
  TxnError,
} from '../../errors.js';
import { asError, safeEmit } from '../../safe-emit.js';
import type { CallOptions } from '../../transport/types.js';
import type { Watch } from '../../watch/types.js';
import type { Watches } from '../../watch/watches.js';
import type { AcquireOptions, ResolvedSessionOptions, TryAcquireOptions } from './session-options.js';
import {
  abortable,
  abortedSignal,
  backoffStep,
  boundedSignal,
  delay,
  graceSignal,
  type BackoffPolicy,
} from '../../timing/index.js';
import { SessionKeeper, type KeeperHost } from './session-keeper.js';

/** What the primitives need from the client (structurally, `Consul`). */
export interface PrimitiveHost extends KeeperHost {
  readonly kv: KV;
  readonly txn: Txn;
  readonly watch: Watches;
  /** Registers a resource for `consul.close()`; returns the function that unregisters it. */
  track(resource: ClientResource): () => void;
}

/** Events of a lock, a semaphore and (as their base) an election. */
export interface HeldEvents {
  /**
   * Acquired; with the fencing token of this acquisition (for a semaphore: its admission
   * index, which is a fencing token only at limit 1).
   */
  acquired: (fencingToken: bigint) => void;
  /** Lost while held (the signal was aborted with this error first). Not emitted on `release()`. */
  lost: (error: LockLostError) => void;
  /**
   * Released by `release()` (or `close()`, `withLock` finishing, disposal): emitted as soon as
   * Consul confirms the release, before the session is destroyed, so never after another
   * holder's `acquired`.
   */
  released: () => void;
  /** A background failure: a renewal, heartbeat or watch read that failed, a cleanup that failed. */
  error: (error: Error) => void;
}

/** The outcome of one step of an acquisition. */
export type AcquireStep =
  /** Acquired, with this fencing token; `baseline` is the index below which watched data predates it. */
  | { readonly kind: 'held'; readonly token: bigint; readonly baseline: bigint }
  /** Someone else holds it: wait for a change. */
  | { readonly kind: 'blocked' }
  /** This step wrote something (a contender key, an empty coordination key): continue after the change. */
  | { readonly kind: 'progress' }
  /** The attempt was refused: retry after a change, or after `retryAfterMs` when nothing changes (lock-delay). */
  | { readonly kind: 'refused'; readonly retryAfterMs?: number }
  /**
   * A check-and-set lost to another contender's write while a slot looked free: not an
   * answer, even for a one-shot try; retry on the newer data (as Go's one-shot mode does).
   */
  | { readonly kind: 'contended' };

/** The outcome of {@link acquireWithIndex}. */
export type IndexedWrite =
  /** Applied; the entry as written (its `ModifyIndex` is the write's index). */
  | { readonly kind: 'written'; readonly entry: KVPair }
  /** Refused by Consul: held by another session, a lock-delay, a stale check-and-set index. */
  | { readonly kind: 'refused' };

/**
 * Applies one KV write (`lock`, or `cas`) as a transaction, which answers with the entry as
 * written, so with the exact index of the write (the fencing token). An ACL denial rejects
 * with `PermissionDeniedError` (the txn group tells it from a refusal), so it is never
 * retried as if the key were busy.
 */
export async function acquireWithIndex(
  txn: Txn,
  operation: TxnKVOperation,
  call: CallOptions,
): Promise<IndexedWrite> {
  try {
    const { results } = await txn.execute([operation], call);
    const first = results[0];
    if (first === undefined || !('KV' in first)) {
      throw new ConsulError(
        'HTTP_ERROR',
        `Consul answered a ${operation.KV.Verb} transaction without its entry`,
      );
    }
    return { kind: 'written', entry: first.KV };
  } catch (error) {
    if (error instanceof TxnError) return { kind: 'refused' };
    throw error;
  }
}

/** One acquisition, from `acquired` to `lost` or `released`. */
interface Term<W> {
  readonly keeper: SessionKeeper;
  readonly watch: Watch<W>;
  readonly controller: AbortController;
  readonly token: bigint;
  readonly baseline: bigint;
  ended: boolean;
  readonly detach: Array<() => void>;
  blindTimer: NodeJS.Timeout | undefined;
  verifying: boolean;
  /** The release of this term, once asked for: each term has its own. */
  releasing: Promise<void> | undefined;
}

/** Retries of an acquisition refused by Consul's lock-delay, when Consul gave no wait of its own. */
const LOCK_DELAY_RETRY: BackoffPolicy = { initialMs: 100, maxMs: 1_000 };
/** Re-evaluates the watched data at least this often while waiting, in case a wake-up was missed. */
const RECHECK_MS = 30_000;
/** Retries of an acquisition after a transient failure. */
const ERROR_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 5_000 };
/** Longest wait for newer data after a lost check-and-set; a change normally comes at once. */
const CONTENDED_RETRY_MS = 1_000;
/** Lost check-and-sets in a row after which a one-shot try answers `false`. */
const ONE_SHOT_CONTENTION_LIMIT = 20;
/**
 * How long an acquisition that was aborted waits for the answer of a write it had in flight
 * (it may have taken the key), before releasing on the chance that it did.
 */
const IN_FLIGHT_GRACE_MS = 2_000;

/** Counts a watch's changes and errors so that the acquisition loop can sleep until one comes. */
class WatchWaker<W> {
  count = 0;
  lastError: Error | undefined;
  readonly #watch: Watch<W>;
  readonly #wakers = new Set<() => void>();
  readonly #onChange = (): void => {
    this.count++;
    this.#wakeAll();
  };
  readonly #onError = (error: Error): void => {
    this.lastError = error;
    this.#wakeAll();
  };

  constructor(watch: Watch<W>) {
    this.#watch = watch;
    watch.on('change', this.#onChange);
    watch.on('error', this.#onError);
  }

  /**
   * Resolves when a change arrives after `seen` changes, when the watch reports an error, when
   * one of `wake` aborts, or after `timeoutMs`; rejects when `signal` aborts.
   */
  wait(seen: number, signal: AbortSignal, wake: readonly AbortSignal[], timeoutMs: number): Promise<void> {
    signal.throwIfAborted();
    if (this.count !== seen || wake.some((s) => s.aborted)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.#wakers.delete(onWake);
        signal.removeEventListener('abort', onAbort);
        for (const s of wake) s.removeEventListener('abort', onWake);
      };
      const onWake = (): void => {
        finish();
        resolve();
      };
      const onAbort = (): void => {
        finish();
        reject(signal.reason as unknown);
      };
      const timer = setTimeout(onWake, timeoutMs);
      this.#wakers.add(onWake);
      signal.addEventListener('abort', onAbort, { once: true });
      for (const s of wake) s.addEventListener('abort', onWake, { once: true });
    });
  }

  detach(): void {
    this.#watch.off('change', this.#onChange);
    this.#watch.off('error', this.#onError);
    this.#wakeAll();
  }

  #wakeAll(): void {
    for (const wake of [...this.#wakers]) wake();
  }
}

/**
 * Base of {@link Lock} and {@link Semaphore}. `W` is the watched data (the key, or the
 * prefix's entries).
 */
export abstract class SessionPrimitive<W>
  extends EventEmitter<HeldEvents>
  implements ClientResource, AsyncDisposable
{
  /** @internal */
  protected readonly host: PrimitiveHost;
  /** @internal */
  protected readonly logger: Logger;
  /** @internal */
  protected readonly settings: ResolvedSessionOptions;
  readonly #kind: string;
  readonly #target: string;
  readonly #behavior: SessionBehavior;
  #term: Term<W> | undefined;
  #lastSignal: AbortSignal;
  #acquiring: { readonly cancel: AbortController; readonly done: Promise<void> } | undefined;
  /** Releases of earlier terms still running; a `release()` with nothing held waits for them. */
  readonly #releases = new Set<Promise<void>>();
  #cleanup: Promise<void> | undefined;
  #closed = false;

  /** @internal */
  protected constructor(
    host: PrimitiveHost,
    kind: string,
    target: string,
    settings: ResolvedSessionOptions,
    behavior: SessionBehavior,
  ) {
    super();
    this.host = host;
    this.#kind = kind;
    this.#target = target;
    this.settings = settings;
    this.#behavior = behavior;
    this.logger = host.logger.child({ primitive: kind, key: target });
    this.#lastSignal = abortedSignal(new ClosedError(`the ${kind} is not held`));
  }

  /** Opens the (shared) watch the acquisition waits on. */
  protected abstract openWatch(): Watch<W>;
  /**
   * Opens the watch that monitors one acquisition: a loop of its own (its identity includes
   * the session and the fencing token), so its first read is sent after the acquisition and every later change is
   * a change relative to it. A loop shared with earlier observers would compare against what
   * it saw before the acquisition, and could take "deleted again" for "no change".
   */
  protected abstract openMonitor(session: string, token: bigint): Watch<W>;
  /** Work needed once per session before the first step (the semaphore's contender key). */
  protected abstract enter(session: string, signal: AbortSignal): Promise<void>;
  /** One step of the algorithm, given the latest watched data. */
  protected abstract step(value: W, session: string, signal: AbortSignal): Promise<AcquireStep>;
  /** Whether the watched data shows `session` holding it. */
  protected abstract holds(value: W, session: string): boolean;
  /** The index in the watched data that tells whether it predates an acquisition (compared to its baseline). */
  protected abstract dataIndex(value: W, watchIndex: bigint | undefined): bigint | undefined;
  /** Why the watched data shows the hold gone, for the `lost` error. */
  protected abstract lossReason(value: W, session: string): string;
  /** A one-shot read of whether `session` still holds it (used while the watch is failing). */
  protected abstract verify(session: string, signal: AbortSignal): Promise<boolean>;
  /**
   * Gives up what `session` holds in Consul (before the session is destroyed). Its calls are
   * bounded by {@link SessionPrimitive.releaseTimeoutMs}.
   */
  protected abstract releaseHeld(session: string): Promise<void>;

  /**
   * Whether the session's lock-delay keeps others out after an invalidation (a lock: yes; a
   * semaphore, whose slots are freed by pruning dead holders: no). Decides the default
   * session checks (see `sessionChecks`).
   */
  protected get lockDelayProtects(): boolean {
    return true;
  }

  /**
   * Time bound of each call of a release: short, because it also runs after a loss caused by
   * an unreachable agent, and the session expires on its own anyway.
   */
  protected get releaseTimeoutMs(): number {
    return Math.min(this.settings.ttlMs, 10_000);
  }

  /** Whether it is held now. Checks the renewal deadline synchronously too. */
  get held(): boolean {
    const term = this.#term;
    if (term === undefined || term.ended) return false;
    // check() may declare the loss on the spot (event loop stalled past the deadline).
    term.keeper.check();
    return !term.ended;
  }

  /**
   * Aborted when what is held is lost (reason: `LockLostError`) or released (reason:
   * `ClosedError`). Before the first acquisition it is already aborted; after a loss or
   * release it stays the aborted signal of that acquisition until the next one.
   */
  get signal(): AbortSignal {
    return this.#term?.controller.signal ?? this.#lastSignal;
  }

  /** Fencing token of the current acquisition (see `fencing.ts`); `undefined` when not held. */
  get fencingToken(): bigint | undefined {
    return this.#term?.token;
  }

  /** ID of the session of the current acquisition; `undefined` when not held. */
  get sessionId(): string | undefined {
    return this.#term?.keeper.id;
  }

  /** Whether `close()` was called (or the client closed it). */
  get closed(): boolean {
    return this.#closed;
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
    await this.#contend(options.signal, options.timeout, false);
    return this;
  }

  /**
   * One attempt (or, with `wait`, attempts for that long). Resolves `true` when held, `false`
   * when someone else holds it, every slot is taken, or a lock-delay is in effect.
   *
   * @throws ConflictError, PermissionDeniedError, ClosedError as {@link SessionPrimitive.acquire}
   */
  async tryAcquire(options: TryAcquireOptions = {}): Promise<boolean> {
    const wait = options.wait;
    if (wait === undefined || wait === 0 || wait === '0')
      return this.#contend(options.signal, undefined, true);
    return this.#contend(options.signal, wait, false, true);
  }

  /**
   * Acquires, runs `fn` with a signal that aborts if the hold is lost, and releases, whatever
   * `fn` did. Rejects with `fn`'s error, or with the `LockLostError` when the hold was lost
   * before `fn` settled (its work may then have run unprotected), or with the release's error.
   */
  async withLock<T>(fn: (signal: AbortSignal) => Promise<T> | T, options: AcquireOptions = {}): Promise<T> {
    await this.acquire(options);
    const signal = this.signal;
    let result: T;
    try {
      result = await fn(signal);
    } catch (error) {
      try {
        await this.release();
      } catch (releaseError) {
        this.logger.error(
          { err: releaseError },
          `consulkit: releasing the ${this.#kind} after a failed task failed`,
        );
        this.#emitError(releaseError);
      }
      throw error;
    }
    await this.release();
    if (signal.reason instanceof LockLostError) throw signal.reason;
    return result;
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
    const term = this.#term;
    if (term !== undefined) return this.#releaseTerm(term);
    const acquiring = this.#acquiring;
    if (acquiring !== undefined) return this.#cancelAcquisition(acquiring);
    return this.#settled();
  }

  /** Releases and refuses further acquisitions. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    return this.release();
  }

  /** Same as {@link SessionPrimitive.release}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  #releaseTerm(term: Term<W>): Promise<void> {
    if (term.releasing === undefined) {
      const releasing = this.#giveBack(term);
      term.releasing = releasing;
      this.#releases.add(releasing);
      const forget = (): void => {
        this.#releases.delete(releasing);
      };
      // The caller gets `releasing` itself (with its failure); this copy only tidies up.
      releasing.then(forget, forget);
    }
    return term.releasing;
  }

  async #cancelAcquisition(acquiring: {
    readonly cancel: AbortController;
    readonly done: Promise<void>;
  }): Promise<void> {
    acquiring.cancel.abort(new ClosedError(`the ${this.#kind} was released while being acquired`));
    await acquiring.done;
    // An acquisition that won just before the cancel became a term: release it.
    const term = this.#term;
    if (term !== undefined) await this.#releaseTerm(term);
    await this.#settled();
  }

  async #settled(): Promise<void> {
    await Promise.all([...this.#releases, this.#cleanup]);
  }

  async #giveBack(term: Term<W>): Promise<void> {
    this.#endTerm(term, new ClosedError(`the ${this.#kind} was released`));
    let releaseFailure: unknown;
    let destroyFailure: unknown;
    let announced = false;
    try {
      await this.releaseHeld(term.keeper.id);
      // Consul confirmed it: from here another holder may take it, so say so before that.
      this.#announceRelease(term);
      announced = true;
    } catch (error) {
      releaseFailure = error;
    }
    try {
      await term.keeper.stop();
    } catch (error) {
      destroyFailure = error;
    }
    await term.watch.close();
    // When the release failed, the destroy released it (with a lock-delay), or nothing could.
    if (!announced) this.#announceRelease(term);
    const stillHeld = releaseFailure !== undefined && (destroyFailure !== undefined || !term.keeper.owned);
    if (stillHeld) {
      this.logger.error(
        { err: releaseFailure, destroyError: destroyFailure },
        `consulkit: releasing the ${this.#kind} failed; it stays held in Consul until its session expires`,
      );
      throw releaseFailure;
    }
    for (const failure of [releaseFailure, destroyFailure]) {
      if (failure === undefined) continue;
      // The hold is gone either way (the destroy releases with a lock-delay, or the release
      // worked and the session expires on its own); still worth knowing.
      this.logger.warn({ err: failure }, `consulkit: part of the ${this.#kind} release failed`);
      this.#emitError(failure);
    }
  }

  #announceRelease(term: Term<W>): void {
    this.logger.debug({ session: term.keeper.id }, `consulkit: ${this.#kind} released`);
    this.#safeEmit('released');
  }

  async #contend(
    callerSignal: AbortSignal | undefined,
    timeout: AcquireOptions['timeout'],
    once: boolean,
    timeoutMeansFalse = false,
  ): Promise<boolean> {
    if (this.#closed) throw new ClosedError(`the ${this.#kind} was closed`);
    if (this.#acquiring)
      throw new ConflictError(`an acquisition of this ${this.#kind} is already in progress`);
    if (this.held) throw new ConflictError(`the ${this.#kind} is already held by this object`);
    const cancel = new AbortController();
    const bounded = boundedSignal(
      `acquiring the ${this.#kind} ${this.#target}`,
      { signal: callerSignal, timeout },
      cancel.signal,
    );
    let settle!: () => void;
    const done = new Promise<void>((resolve) => (settle = resolve));
    this.#acquiring = { cancel, done };
    const untrack = this.host.track(this);
    const progress: LoopProgress = {
      keeper: undefined,
      failing: undefined,
      wrote: false,
      took: false,
      inflight: undefined,
    };
    let watch: Watch<W> | undefined;
    try {
      watch = this.openWatch();
      const outcome = await this.#loop(watch, bounded.signal, once, progress);
      if (outcome === undefined) throw new NotAcquired();
      const acquiring = watch;
      watch = undefined;
      await acquiring.close();
      if (this.#closed || cancel.signal.aborted) {
        // Released or closed meanwhile: the cleanup below gives it back cleanly (destroying
        // the session alone would put a lock-delay on it).
        progress.took = true;
        throw new ClosedError(
          `the ${this.#kind} was ${this.#closed ? 'closed' : 'released'} while being acquired`,
        );
      }
      watch = this.openMonitor(outcome.keeper.id, outcome.token);
      this.#hold(outcome.keeper, watch, outcome.token, outcome.baseline, untrack);
      return true;
    } catch (error) {
      untrack();
      await this.#abandon(progress);
      if (watch) await watch.close();
      if (error instanceof NotAcquired) return false;
      const timedOut =
        bounded.signal.aborted &&
        error === bounded.signal.reason &&
        !cancel.signal.aborted &&
        !(callerSignal?.aborted ?? false);
      // Out of time while Consul kept failing: that failure is the answer, not "taken".
      if (timedOut && timeoutMeansFalse) {
        if (progress.failing !== undefined) throw progress.failing;
        return false;
      }
      throw error;
    } finally {
      bounded.dispose();
      this.#acquiring = undefined;
      settle();
    }
  }

  /**
   * Cleans up after an acquisition that did not become a term. A write it sent may have
   * taken the key or a slot even though the acquisition ended (aborted while the write was in
   * flight): wait for that write's answer, then give back whatever the session may hold
   * before destroying it, so the next holder gets it at once instead of after a lock-delay.
   */
  async #abandon(progress: LoopProgress): Promise<void> {
    const keeper = progress.keeper;
    if (keeper === undefined) return;
    if (progress.inflight !== undefined) {
      try {
        await progress.inflight;
      } catch (error) {
        this.logger.debug({ err: error }, `consulkit: an abandoned ${this.#kind} write failed`);
      }
    }
    // A session this object did not create outlives it: whatever it wrote must go back too.
    if (progress.took || progress.inflight !== undefined || (progress.wrote && !keeper.owned)) {
      try {
        await this.releaseHeld(keeper.id);
      } catch (error) {
        this.logger.warn(
          { err: error, session: keeper.id },
          `consulkit: giving back what an abandoned ${this.#kind} acquisition may hold failed`,
        );
        this.#emitError(error);
      }
    }
    await this.#stopKeeper(keeper, 'after a failed acquisition');
  }

  async #loop(
    watch: Watch<W>,
    signal: AbortSignal,
    once: boolean,
    progress: LoopProgress,
  ): Promise<{ keeper: SessionKeeper; token: bigint; baseline: bigint } | undefined> {
    const waker = new WatchWaker(watch);
    let keeper: SessionKeeper | undefined;
    let failures = 0;
    let refusals = 0;
    let contentions = 0;
    try {
      while (true) {
        signal.throwIfAborted();
        try {
          if (keeper === undefined || !keeper.check()) {
            const fresh = await this.#newKeeper(keeper, signal, progress);
            keeper = fresh;
            await this.#write(progress, signal, fresh, (writeSignal) => this.enter(fresh.id, writeSignal));
          }
          if (watch.closed)
            throw waker.lastError ?? new ClosedError(`the watch of the ${this.#kind} was closed`);
          const value = await abortable(watch.ready(), signal);
          const seen = waker.count;
          const current = keeper;
          const step = await this.#write(progress, signal, keeper, (writeSignal) =>
            this.step(value, current.id, writeSignal),
          );
          failures = 0;
          progress.failing = undefined;
          if (step.kind === 'held') return { keeper, token: step.token, baseline: step.baseline };
          contentions = step.kind === 'contended' ? contentions + 1 : 0;
          if (once && (step.kind === 'blocked' || step.kind === 'refused')) return undefined;
          if (once && contentions > ONE_SHOT_CONTENTION_LIMIT) return undefined;
          let timeoutMs = RECHECK_MS;
          if (step.kind === 'refused') {
            refusals++;
            if (step.retryAfterMs !== undefined) timeoutMs = step.retryAfterMs;
            else timeoutMs = backoffStep(refusals, LOCK_DELAY_RETRY);
          } else {
            refusals = 0;
            if (step.kind === 'contended') timeoutMs = CONTENDED_RETRY_MS;
          }
          await waker.wait(seen, signal, [keeper.signal], timeoutMs);
        } catch (error) {
          if (signal.aborted) throw signal.reason;
          if (once || error instanceof ConflictError || !isRetryable(error)) throw error;
          failures++;
          progress.failing = asError(error);
          const backoff = backoffStep(failures, ERROR_BACKOFF);
          this.logger.warn(
            { err: error, retryInMs: backoff },
            `consulkit: acquiring the ${this.#kind} failed; retrying`,
          );
          this.#emitError(error);
          await delay(backoff, signal);
        }
      }
    } finally {
      waker.detach();
    }
  }

  /** Replaces a lost session (or makes the first one) while waiting. */
  async #newKeeper(
    previous: SessionKeeper | undefined,
    signal: AbortSignal,
    progress: LoopProgress,
  ): Promise<SessionKeeper> {
    if (previous !== undefined) {
      this.logger.info(
        { session: previous.id },
        `consulkit: session lost while waiting for the ${this.#kind}; creating a new one`,
      );
      await this.#stopKeeper(previous, 'after it was lost');
    }
    progress.keeper = undefined;
    progress.wrote = false;
    progress.inflight = undefined;
    const keeper = await SessionKeeper.create(
      this.host,
      {
        ...this.settings,
        behavior: this.#behavior,
        description: `consulkit ${this.#kind} ${this.#target}`,
        lockDelayProtects: this.lockDelayProtects,
        onBackgroundError: (error) => this.#emitError(error),
      },
      signal,
    );
    progress.keeper = keeper;
    return keeper;
  }

  /**
   * Runs one step that may write for `keeper`'s session. The write is not cut off when the
   * acquisition is aborted (see `graceSignal`); the caller stops waiting at once, and
   * {@link SessionPrimitive.#abandon} waits for the answer and gives back what it took.
   */
  async #write<T>(
    progress: LoopProgress,
    signal: AbortSignal,
    keeper: SessionKeeper,
    write: (writeSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const grace = graceSignal(signal, IN_FLIGHT_GRACE_MS, keeper.signal);
    progress.wrote = true;
    const pending = write(grace.signal).finally(() => grace.dispose());
    progress.inflight = pending;
    try {
      return await abortable(pending, signal);
    } finally {
      if (!signal.aborted) progress.inflight = undefined;
    }
  }

  #hold(keeper: SessionKeeper, watch: Watch<W>, token: bigint, baseline: bigint, untrack: () => void): void {
    const session = keeper.id;
    const term: Term<W> = {
      keeper,
      watch,
      controller: new AbortController(),
      token,
      baseline,
      ended: false,
      detach: [untrack],
      blindTimer: undefined,
      verifying: false,
      releasing: undefined,
    };
    const onChange = (value: W): void => {
      if (term.ended) return;
      const index = this.dataIndex(value, watch.index);
      // An answer sent before the acquisition may arrive after it (another connection).
      if (index !== undefined && index < term.baseline) return;
      if (this.holds(value, session)) {
        this.#confirm(term);
        return;
      }
      this.#lose(
        term,
        new LockLostError(`${this.lossReason(value, session)} (${this.#kind} ${this.#target})`),
      );
    };
    const onWatchError = (error: Error): void => {
      if (term.ended) return;
      this.#emitError(error);
      if (watch.closed) {
        this.#lose(term, new LockLostError(`the ${this.#kind} can no longer be watched`, { cause: error }));
        return;
      }
      this.#goBlind(term);
    };
    const onKeeperLost = (error: LockLostError): void => this.#lose(term, error);
    const onKeeperError = (error: Error): void => this.#emitError(error);
    watch.on('change', onChange);
    watch.on('error', onWatchError);
    keeper.on('lost', onKeeperLost);
    keeper.on('error', onKeeperError);
    term.detach.push(
      () => watch.off('change', onChange),
      () => watch.off('error', onWatchError),
      () => keeper.off('lost', onKeeperLost),
      () => keeper.off('error', onKeeperError),
    );
    this.#term = term;
    this.#lastSignal = term.controller.signal;
    this.logger.debug({ session, fencingToken: String(token) }, `consulkit: ${this.#kind} acquired`);
    this.#safeEmit('acquired', token);
    // The keeper may have died while the acquisition was finishing.
    if (keeper.signal.aborted) {
      const reason: unknown = keeper.signal.reason;
      this.#lose(
        term,
        reason instanceof LockLostError ? reason : new LockLostError('the session ended', { cause: reason }),
      );
    }
  }

  /**
   * The watch failed transiently, so changes to the key may go unseen. Ownership must be
   * confirmed (by the watch, or a one-shot read) within a TTL, or the hold is given up.
   */
  #goBlind(term: Term<W>): void {
    if (term.blindTimer === undefined) {
      const ttlMs = this.settings.ttlMs;
      term.blindTimer = setTimeout(() => {
        this.#lose(
          term,
          new LockLostError(`the ${this.#kind} could not be confirmed for ${ttlMs} ms (watch failing)`),
        );
      }, ttlMs);
    }
    if (term.verifying) return;
    term.verifying = true;
    this.#verifyLoop(term).catch((error: unknown) => {
      // #verifyLoop handles every failure of its reads; this would be a bug in it.
      this.#lose(
        term,
        new LockLostError(`confirming the ${this.#kind} failed unexpectedly`, { cause: error }),
      );
    });
  }

  async #verifyLoop(term: Term<W>): Promise<void> {
    const pause = Math.max(1_000, this.settings.ttlMs / 10);
    try {
      while (!term.ended && term.blindTimer !== undefined) {
        try {
          const holds = await this.verify(term.keeper.id, term.controller.signal);
          if (term.ended) return;
          if (!holds) {
            this.#lose(
              term,
              new LockLostError(`the ${this.#kind} is no longer held (found while its watch was failing)`),
            );
            return;
          }
          this.#confirm(term);
          return;
        } catch (error) {
          if (term.ended) return;
          this.logger.debug({ err: error }, `consulkit: confirming the ${this.#kind} failed; retrying`);
        }
        try {
          await delay(pause, term.controller.signal);
        } catch {
          return;
        }
      }
    } finally {
      term.verifying = false;
    }
  }

  #confirm(term: Term<W>): void {
    if (term.blindTimer === undefined) return;
    clearTimeout(term.blindTimer);
    term.blindTimer = undefined;
  }

  /** Ends a term without reporting; the caller says why through the signal's reason. */
  #endTerm(term: Term<W>, reason: ConsulError): void {
    term.ended = true;
    if (this.#term === term) this.#term = undefined;
    clearTimeout(term.blindTimer);
    term.blindTimer = undefined;
    for (const detach of term.detach.splice(0)) detach();
    term.controller.abort(reason);
  }

  #lose(term: Term<W>, error: LockLostError): void {
    if (term.ended) return;
    this.#endTerm(term, error);
    this.logger.warn({ err: error, session: term.keeper.id }, `consulkit: ${this.#kind} lost`);
    this.#safeEmit('lost', error);
    const previous = this.#cleanup;
    const cleanup = (async () => {
      try {
        await previous;
        await this.#stopKeeper(term.keeper, 'after the loss');
        await term.watch.close();
      } catch (error) {
        this.logger.error({ err: error }, `consulkit: cleaning up after the ${this.#kind} was lost failed`);
        this.#emitError(error);
      }
    })();
    this.#cleanup = cleanup;
    void cleanup.then(() => {
      if (this.#cleanup === cleanup) this.#cleanup = undefined;
    });
  }

  /** Stops a keeper; a failure is reported (log and `error`), never thrown. */
  async #stopKeeper(keeper: SessionKeeper, when: string): Promise<void> {
    try {
      await keeper.stop();
    } catch (error) {
      this.logger.warn(
        { err: error, session: keeper.id },
        `consulkit: destroying the session ${when} failed; it expires on its own`,
      );
      this.#emitError(error);
    }
  }

  #emitError(error: unknown): void {
    this.#safeEmit('error', asError(error));
  }

  #safeEmit<E extends keyof HeldEvents>(event: E, ...args: EventEmitter.EventArgs<HeldEvents, E>): void {
    safeEmit<HeldEvents, E>(this, this.logger, this.#kind, event, ...args);
  }
}

/** What the acquisition loop made so far, for the cleanup after it failed. */
interface LoopProgress {
  /** The session created last. */
  keeper: SessionKeeper | undefined;
  /** The error of the last step when it failed transiently (and is being retried). */
  failing: Error | undefined;
  /** Whether a write for the current session was sent. */
  wrote: boolean;
  /** Whether the acquisition won, but ended before it became a term (closed or released meanwhile). */
  took: boolean;
  /** The write that was in flight when the acquisition was aborted. */
  inflight: Promise<unknown> | undefined;
}

/** Internal: `once` mode found the lock taken. */
class NotAcquired extends Error {}
