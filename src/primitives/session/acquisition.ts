/**
 * One acquisition of a lock or a semaphore: a session (replaced if it is lost while waiting),
 * the algorithm's steps run each time the watched data changes, backoff on transient
 * failures, and, when the acquisition ends without holding, the cleanup of whatever its
 * writes may have taken.
 *
 * @packageDocumentation
 */
import { ClosedError, ConflictError, isRetryable } from '../../errors.js';
import { asError } from '../../safe-emit.js';
import { abortable, backoffStep, delay, graceSignal, type BackoffPolicy } from '../../timing/index.js';
import type { Watch } from '../../watch/types.js';
import type { HeldContext, SessionAlgorithm } from './session-algorithm.js';
import { SessionKeeper } from './session-keeper.js';
import { WatchWaker } from './watch-waker.js';

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

/** What an acquisition that succeeded holds. */
export interface Acquired {
  readonly keeper: SessionKeeper;
  readonly token: bigint;
  readonly baseline: bigint;
}

/** Stops a keeper; a failure is reported (log and `error`), never thrown. */
export async function stopKeeper(context: HeldContext, keeper: SessionKeeper, when: string): Promise<void> {
  try {
    await keeper.stop();
  } catch (error) {
    context.logger.warn(
      { err: error, session: keeper.id },
      `consulkit: destroying the session ${when} failed; it expires on its own`,
    );
    context.reportError(error);
  }
}

/** One acquisition, and what it made so far (for the cleanup after it failed). */
export class Acquisition<W> {
  /** The session created last. */
  keeper: SessionKeeper | undefined;
  /** The error of the last step when it failed transiently (and is being retried). */
  failing: Error | undefined;
  /** Whether a write for the current session was sent. */
  wrote = false;
  /** Whether the acquisition won, but ended before it became a term (closed or released meanwhile). */
  took = false;
  /** The write that was in flight when the acquisition was aborted. */
  inflight: Promise<unknown> | undefined;
  readonly #context: HeldContext;
  readonly #algorithm: SessionAlgorithm<W>;

  constructor(context: HeldContext, algorithm: SessionAlgorithm<W>) {
    this.#context = context;
    this.#algorithm = algorithm;
  }

  /**
   * Runs the algorithm on `watch` until it holds; `undefined` when `once` and it is taken.
   * Rejects with the signal's reason, or with a failure that is not retried.
   */
  async run(watch: Watch<W>, signal: AbortSignal, once: boolean): Promise<Acquired | undefined> {
    const { kind, logger } = this.#context;
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
            const fresh = await this.#newKeeper(keeper, signal);
            keeper = fresh;
            await this.#write(signal, fresh, (writeSignal) => this.#algorithm.enter(fresh.id, writeSignal));
          }
          if (watch.closed) throw waker.lastError ?? new ClosedError(`the watch of the ${kind} was closed`);
          const value = await abortable(watch.ready(), signal);
          const seen = waker.count;
          const current = keeper;
          const step = await this.#write(signal, keeper, (writeSignal) =>
            this.#algorithm.step(value, current.id, writeSignal),
          );
          failures = 0;
          this.failing = undefined;
          if (step.kind === 'held') return { keeper, token: step.token, baseline: step.baseline };
          contentions = step.kind === 'contended' ? contentions + 1 : 0;
          if (once && (step.kind === 'blocked' || step.kind === 'refused')) return undefined;
          if (once && contentions > ONE_SHOT_CONTENTION_LIMIT) return undefined;
          let timeoutMs = RECHECK_MS;
          if (step.kind === 'refused') {
            refusals++;
            timeoutMs = step.retryAfterMs ?? backoffStep(refusals, LOCK_DELAY_RETRY);
          } else {
            refusals = 0;
            if (step.kind === 'contended') timeoutMs = CONTENDED_RETRY_MS;
          }
          await waker.wait(seen, signal, [keeper.signal], timeoutMs);
        } catch (error) {
          if (signal.aborted) throw signal.reason;
          if (once || error instanceof ConflictError || !isRetryable(error)) throw error;
          failures++;
          this.failing = asError(error);
          const backoff = backoffStep(failures, ERROR_BACKOFF);
          logger.warn(
            { err: error, retryInMs: backoff },
            `consulkit: acquiring the ${kind} failed; retrying`,
          );
          this.#context.reportError(error);
          await delay(backoff, signal);
        }
      }
    } finally {
      waker.detach();
    }
  }

  /**
   * Cleans up after an acquisition that did not become a term. A write it sent may have
   * taken the key or a slot even though the acquisition ended (aborted while the write was in
   * flight): wait for that write's answer, then give back whatever the session may hold
   * before destroying it, so the next holder gets it at once instead of after a lock-delay.
   */
  async abandon(): Promise<void> {
    const { kind, logger } = this.#context;
    const keeper = this.keeper;
    if (keeper === undefined) return;
    if (this.inflight !== undefined) {
      try {
        await this.inflight;
      } catch (error) {
        logger.debug({ err: error }, `consulkit: an abandoned ${kind} write failed`);
      }
    }
    // A session this object did not create outlives it: whatever it wrote must go back too.
    if (this.took || this.inflight !== undefined || (this.wrote && !keeper.owned)) {
      try {
        await this.#algorithm.releaseHeld(keeper.id);
      } catch (error) {
        logger.warn(
          { err: error, session: keeper.id },
          `consulkit: giving back what an abandoned ${kind} acquisition may hold failed`,
        );
        this.#context.reportError(error);
      }
    }
    await stopKeeper(this.#context, keeper, 'after a failed acquisition');
  }

  /** Replaces a lost session (or makes the first one) while waiting. */
  async #newKeeper(previous: SessionKeeper | undefined, signal: AbortSignal): Promise<SessionKeeper> {
    const { host, kind, target, settings, logger } = this.#context;
    if (previous !== undefined) {
      logger.info(
        { session: previous.id },
        `consulkit: session lost while waiting for the ${kind}; creating a new one`,
      );
      await stopKeeper(this.#context, previous, 'after it was lost');
    }
    this.keeper = undefined;
    this.wrote = false;
    this.inflight = undefined;
    const keeper = await SessionKeeper.create(
      host,
      {
        ...settings,
        behavior: this.#algorithm.behavior,
        description: `consulkit ${kind} ${target}`,
        lockDelayProtects: this.#algorithm.lockDelayProtects,
        onBackgroundError: (error) => this.#context.reportError(error),
      },
      signal,
    );
    this.keeper = keeper;
    return keeper;
  }

  /**
   * Runs one step that may write for `keeper`'s session. The write is not cut off when the
   * acquisition is aborted (see `graceSignal`); the caller stops waiting at once, and
   * {@link Acquisition.abandon} waits for the answer and gives back what it took.
   */
  async #write<T>(
    signal: AbortSignal,
    keeper: SessionKeeper,
    write: (writeSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const grace = graceSignal(signal, IN_FLIGHT_GRACE_MS, keeper.signal);
    this.wrote = true;
    const pending = write(grace.signal).finally(() => grace.dispose());
    this.inflight = pending;
    try {
      return await abortable(pending, signal);
    } finally {
      if (!signal.aborted) this.inflight = undefined;
    }
  }
}
