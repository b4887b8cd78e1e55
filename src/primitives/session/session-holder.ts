/**
 * What a lock and a semaphore do with their algorithm: acquire (once, or waiting), hold a
 * term until it is lost or released, and release idempotently. The public classes own one
 * holder each and hand it their {@link SessionAlgorithm}.
 *
 * @packageDocumentation
 */
import { ClosedError, ConflictError, LockLostError } from '../../errors.js';
import { abortedSignal, boundedSignal } from '../../timing/index.js';
import type { Watch } from '../../watch/types.js';
import { Acquisition, stopKeeper } from './acquisition.js';
import type { HeldContext, SessionAlgorithm } from './session-algorithm.js';
import { checkOptionKeys } from '../../options-check.js';
import {
  ACQUIRE_OPTION_KEYS,
  TRY_ACQUIRE_OPTION_KEYS,
  type AcquireOptions,
  type TryAcquireOptions,
} from './session-options.js';
import { Term } from './term-monitor.js';
import { beginLocalRelease, localReleasesAnnounced } from './local-releases.js';

/** An acquisition in progress, for a `release()` that cancels it. */
interface Acquiring {
  readonly cancel: AbortController;
  readonly done: Promise<void>;
}

/** Internal: `once` mode found it taken. */
class NotAcquired extends Error {}

/** The state and the operations shared by a lock and a semaphore. */
export class SessionHolder<W> {
  readonly #context: HeldContext;
  readonly #algorithm: SessionAlgorithm<W>;
  /** The primitive, as the client tracks it. */
  readonly #resource: { close(): Promise<void> };
  #term: Term<W> | undefined;
  #lastSignal: AbortSignal;
  #acquiring: Acquiring | undefined;
  /** Releases of earlier terms still running; a `release()` with nothing held waits for them. */
  readonly #releases = new Set<Promise<void>>();
  #cleanup: Promise<void> | undefined;
  #closed = false;

  /** The key (or prefix) of this primitive, as releases in flight in this process are known. */
  get #localKey(): string {
    return `${this.#context.kind}:${this.#context.target}`;
  }

  constructor(context: HeldContext, algorithm: SessionAlgorithm<W>, resource: { close(): Promise<void> }) {
    this.#context = context;
    this.#algorithm = algorithm;
    this.#resource = resource;
    this.#lastSignal = abortedSignal(new ClosedError(`the ${context.kind} is not held`));
  }

  /** Whether it is held now. Checks the renewal deadline synchronously too. */
  get held(): boolean {
    const term = this.#term;
    if (term === undefined || term.ended) return false;
    // check() may declare the loss on the spot (event loop stalled past the deadline).
    term.keeper.check();
    return !term.ended;
  }

  /** The signal of the current term, else of the last one (aborted). */
  get signal(): AbortSignal {
    return this.#term?.controller.signal ?? this.#lastSignal;
  }

  /** The fencing token of the current term. */
  get fencingToken(): bigint | undefined {
    return this.#term?.token;
  }

  /** The session of the current term. */
  get sessionId(): string | undefined {
    return this.#term?.keeper.id;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Waits until held.
   *
   * @param where - the public method, named by an unknown-option error (`withLock()` goes through here)
   */
  async acquire(options: AcquireOptions, where = 'acquire()'): Promise<void> {
    checkOptionKeys(options, ACQUIRE_OPTION_KEYS, where);
    await this.#contend(options.signal, options.timeout, false);
  }

  /** One attempt, or attempts for `wait`. */
  async tryAcquire(options: TryAcquireOptions): Promise<boolean> {
    // `timeout` here (acquire's name for it) would otherwise make a single attempt.
    checkOptionKeys(options, TRY_ACQUIRE_OPTION_KEYS, 'tryAcquire()');
    const wait = options.wait;
    if (wait === undefined || wait === 0 || wait === '0')
      return this.#contend(options.signal, undefined, true);
    return this.#contend(options.signal, wait, false, true);
  }

  /** Acquires, runs `fn` with the term's signal, and releases whatever `fn` did. */
  async withHold<T>(fn: (signal: AbortSignal) => Promise<T> | T, options: AcquireOptions): Promise<T> {
    await this.acquire(options, 'withLock()');
    const signal = this.signal;
    let result: T;
    try {
      result = await fn(signal);
    } catch (error) {
      try {
        await this.release();
      } catch (releaseError) {
        this.#context.logger.error(
          { err: releaseError },
          `consulkit: releasing the ${this.#context.kind} after a failed task failed`,
        );
        this.#context.reportError(releaseError);
      }
      throw error;
    }
    await this.release();
    if (signal.reason instanceof LockLostError) throw signal.reason;
    return result;
  }

  /** Releases the current term, or cancels an acquisition in progress, or waits for earlier releases. */
  release(): Promise<void> {
    const term = this.#term;
    if (term !== undefined) return this.#releaseTerm(term);
    const acquiring = this.#acquiring;
    if (acquiring !== undefined) return this.#cancelAcquisition(acquiring);
    return this.#settled();
  }

  /** Releases and refuses further acquisitions. */
  close(): Promise<void> {
    this.#closed = true;
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

  async #cancelAcquisition(acquiring: Acquiring): Promise<void> {
    acquiring.cancel.abort(new ClosedError(`the ${this.#context.kind} was released while being acquired`));
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
    const { kind, logger } = this.#context;
    this.#endTerm(term, new ClosedError(`the ${kind} was released`));
    let releaseFailure: unknown;
    let destroyFailure: unknown;
    let announced = false;
    const local = beginLocalRelease(this.#localKey);
    try {
      await this.#algorithm.releaseHeld(term.keeper.id);
      // Consul confirmed it: from here another holder may take it, so say so before that.
      this.#announceRelease(term);
      announced = true;
    } catch (error) {
      releaseFailure = error;
    } finally {
      // A local acquisition that won meanwhile waits for this; the failure path announces
      // later, but that is no reason to hold another holder back.
      local.announced();
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
      logger.error(
        { err: releaseFailure, destroyError: destroyFailure },
        `consulkit: releasing the ${kind} failed; it stays held in Consul until its session expires`,
      );
      throw releaseFailure;
    }
    for (const failure of [releaseFailure, destroyFailure]) {
      if (failure === undefined) continue;
      // The hold is gone either way (the destroy releases with a lock-delay, or the release
      // worked and the session expires on its own); still worth knowing.
      logger.warn({ err: failure }, `consulkit: part of the ${kind} release failed`);
      this.#context.reportError(failure);
    }
  }

  #announceRelease(term: Term<W>): void {
    this.#context.logger.debug({ session: term.keeper.id }, `consulkit: ${this.#context.kind} released`);
    this.#context.emit('released');
  }

  async #contend(
    callerSignal: AbortSignal | undefined,
    timeout: AcquireOptions['timeout'],
    once: boolean,
    timeoutMeansFalse = false,
  ): Promise<boolean> {
    const { kind, target, host } = this.#context;
    if (this.#closed) throw new ClosedError(`the ${kind} was closed`);
    if (this.#acquiring) throw new ConflictError(`an acquisition of this ${kind} is already in progress`);
    if (this.held) throw new ConflictError(`the ${kind} is already held by this object`);
    const cancel = new AbortController();
    const bounded = boundedSignal(
      `acquiring the ${kind} ${target}`,
      { signal: callerSignal, timeout },
      cancel.signal,
    );
    let settle!: () => void;
    const done = new Promise<void>((resolve) => (settle = resolve));
    this.#acquiring = { cancel, done };
    const untrack = host.track(this.#resource);
    const acquisition = new Acquisition(this.#context, this.#algorithm);
    let watch: Watch<W> | undefined;
    try {
      watch = this.#algorithm.openWatch();
      const outcome = await acquisition.run(watch, bounded.signal, once);
      if (outcome === undefined) throw new NotAcquired();
      const acquiring = watch;
      watch = undefined;
      await acquiring.close();
      await localReleasesAnnounced(this.#localKey);
      if (this.#closed || cancel.signal.aborted) {
        // Released or closed meanwhile: the cleanup below gives it back cleanly (destroying
        // the session alone would put a lock-delay on it).
        acquisition.took = true;
        throw new ClosedError(`the ${kind} was ${this.#closed ? 'closed' : 'released'} while being acquired`);
      }
      watch = this.#algorithm.openMonitor(outcome.keeper.id, outcome.token);
      this.#hold(
        new Term(this.#context, this.#algorithm, { ...outcome, watch }, untrack, (term, error) =>
          this.#lose(term, error),
        ),
      );
      return true;
    } catch (error) {
      untrack();
      await acquisition.abandon();
      if (watch) await watch.close();
      if (error instanceof NotAcquired) return false;
      const timedOut =
        bounded.signal.aborted &&
        error === bounded.signal.reason &&
        !cancel.signal.aborted &&
        !(callerSignal?.aborted ?? false);
      // Out of time while Consul kept failing: that failure is the answer, not "taken".
      if (timedOut && timeoutMeansFalse) {
        if (acquisition.failing !== undefined) throw acquisition.failing;
        return false;
      }
      throw error;
    } finally {
      bounded.dispose();
      this.#acquiring = undefined;
      settle();
    }
  }

  #hold(term: Term<W>): void {
    this.#term = term;
    this.#lastSignal = term.controller.signal;
    this.#context.logger.debug(
      { session: term.keeper.id, fencingToken: String(term.token) },
      `consulkit: ${this.#context.kind} acquired`,
    );
    this.#context.emit('acquired', term.token);
    // The keeper may have died while the acquisition was finishing.
    term.checkSession();
  }

  /** Ends a term without reporting; the caller says why through the signal's reason. */
  #endTerm(term: Term<W>, reason: ClosedError | LockLostError): void {
    if (this.#term === term) this.#term = undefined;
    term.end(reason);
  }

  #lose(term: Term<W>, error: LockLostError): void {
    if (term.ended) return;
    const { kind, logger } = this.#context;
    this.#endTerm(term, error);
    logger.warn({ err: error, session: term.keeper.id }, `consulkit: ${kind} lost`);
    this.#context.emit('lost', error);
    const previous = this.#cleanup;
    const cleanup = (async () => {
      try {
        await previous;
        await stopKeeper(this.#context, term.keeper, 'after the loss');
        await term.watch.close();
      } catch (error) {
        logger.error({ err: error }, `consulkit: cleaning up after the ${kind} was lost failed`);
        this.#context.reportError(error);
      }
    })();
    this.#cleanup = cleanup;
    void cleanup.then(() => {
      if (this.#cleanup === cleanup) this.#cleanup = undefined;
    });
  }
}
