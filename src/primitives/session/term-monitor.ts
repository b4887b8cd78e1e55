/**
 * One term of a lock or a semaphore, from `acquired` to `lost` or `released`: watches what is
 * held and the session that holds it, and declares the loss as soon as either shows it gone.
 * While the watch is failing, ownership must be confirmed by a one-shot read within a TTL,
 * or the hold is given up.
 *
 * @packageDocumentation
 */
import { LockLostError, type ConsulError } from '../../errors.js';
import { delay } from '../../timing/index.js';
import type { Watch } from '../../watch/types.js';
import type { HeldContext, SessionAlgorithm } from './session-algorithm.js';
import type { SessionKeeper } from './session-keeper.js';

/** A term, monitored from the moment it is made until {@link Term.end}. */
export class Term<W> {
  readonly keeper: SessionKeeper;
  readonly watch: Watch<W>;
  readonly token: bigint;
  /** Aborted when the term ends, with the reason (`LockLostError` or `ClosedError`). */
  readonly controller = new AbortController();
  /** The release of this term, once asked for: each term has its own. */
  releasing: Promise<void> | undefined;
  readonly #context: HeldContext;
  readonly #algorithm: SessionAlgorithm<W>;
  readonly #baseline: bigint;
  readonly #onLoss: (term: Term<W>, error: LockLostError) => void;
  readonly #detach: Array<() => void>;
  #ended = false;
  #blindTimer: NodeJS.Timeout | undefined;
  #verifying = false;

  /**
   * Starts monitoring. `onLoss` is called once when the hold is found gone; it is expected to
   * {@link Term.end} the term.
   *
   * @param untrack - undone when the term ends (unregisters the primitive from the client)
   */
  constructor(
    context: HeldContext,
    algorithm: SessionAlgorithm<W>,
    held: { keeper: SessionKeeper; watch: Watch<W>; token: bigint; baseline: bigint },
    untrack: () => void,
    onLoss: (term: Term<W>, error: LockLostError) => void,
  ) {
    this.#context = context;
    this.#algorithm = algorithm;
    this.keeper = held.keeper;
    this.watch = held.watch;
    this.token = held.token;
    this.#baseline = held.baseline;
    this.#onLoss = onLoss;
    const { watch, keeper } = held;
    const onChange = (value: W): void => this.#observe(value);
    const onWatchError = (error: Error): void => this.#watchFailed(error);
    const onKeeperLost = (error: LockLostError): void => this.#lose(error);
    const onKeeperError = (error: Error): void => context.reportError(error);
    watch.on('change', onChange);
    watch.on('error', onWatchError);
    keeper.on('lost', onKeeperLost);
    keeper.on('error', onKeeperError);
    this.#detach = [
      untrack,
      () => watch.off('change', onChange),
      () => watch.off('error', onWatchError),
      () => keeper.off('lost', onKeeperLost),
      () => keeper.off('error', onKeeperError),
    ];
  }

  /** Whether the term has ended (lost or released). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Declares the loss if the session died while the acquisition was finishing. */
  checkSession(): void {
    const { signal } = this.keeper;
    if (!signal.aborted) return;
    const reason: unknown = signal.reason;
    this.#lose(
      reason instanceof LockLostError ? reason : new LockLostError('the session ended', { cause: reason }),
    );
  }

  /** Ends the term without reporting; the caller says why through the signal's reason. */
  end(reason: ConsulError): void {
    this.#ended = true;
    clearTimeout(this.#blindTimer);
    this.#blindTimer = undefined;
    for (const detach of this.#detach.splice(0)) detach();
    this.controller.abort(reason);
  }

  #observe(value: W): void {
    if (this.#ended) return;
    const session = this.keeper.id;
    const index = this.#algorithm.dataIndex(value, this.watch.index);
    // An answer sent before the acquisition may arrive after it (another connection).
    if (index !== undefined && index < this.#baseline) return;
    if (this.#algorithm.holds(value, session)) {
      this.#confirm();
      return;
    }
    const { kind, target } = this.#context;
    this.#lose(new LockLostError(`${this.#algorithm.lossReason(value, session)} (${kind} ${target})`));
  }

  #watchFailed(error: Error): void {
    if (this.#ended) return;
    this.#context.reportError(error);
    if (this.watch.closed) {
      this.#lose(new LockLostError(`the ${this.#context.kind} can no longer be watched`, { cause: error }));
      return;
    }
    this.#goBlind();
  }

  #lose(error: LockLostError): void {
    if (this.#ended) return;
    this.#onLoss(this, error);
  }

  /**
   * The watch failed transiently, so changes to the key may go unseen. Ownership must be
   * confirmed (by the watch, or a one-shot read) within a TTL, or the hold is given up.
   */
  #goBlind(): void {
    const { kind, settings } = this.#context;
    if (this.#blindTimer === undefined) {
      const ttlMs = settings.ttlMs;
      this.#blindTimer = setTimeout(() => {
        this.#lose(new LockLostError(`the ${kind} could not be confirmed for ${ttlMs} ms (watch failing)`));
      }, ttlMs);
    }
    if (this.#verifying) return;
    this.#verifying = true;
    this.#verifyLoop().catch((error: unknown) => {
      // #verifyLoop handles every failure of its reads; this would be a bug in it.
      this.#lose(new LockLostError(`confirming the ${kind} failed unexpectedly`, { cause: error }));
    });
  }

  async #verifyLoop(): Promise<void> {
    const { kind, settings, logger } = this.#context;
    const pause = Math.max(1_000, settings.ttlMs / 10);
    try {
      while (!this.#ended && this.#blindTimer !== undefined) {
        try {
          const holds = await this.#algorithm.verify(this.keeper.id, this.controller.signal);
          if (this.#ended) return;
          if (!holds) {
            this.#lose(
              new LockLostError(`the ${kind} is no longer held (found while its watch was failing)`),
            );
            return;
          }
          this.#confirm();
          return;
        } catch (error) {
          if (this.#ended) return;
          logger.debug({ err: error }, `consulkit: confirming the ${kind} failed; retrying`);
        }
        try {
          await delay(pause, this.controller.signal);
        } catch {
          return;
        }
      }
    } finally {
      this.#verifying = false;
    }
  }

  #confirm(): void {
    if (this.#blindTimer === undefined) return;
    clearTimeout(this.#blindTimer);
    this.#blindTimer = undefined;
  }
}
