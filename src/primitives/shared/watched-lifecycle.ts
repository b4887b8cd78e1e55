/**
 * The lifecycle every watched primitive shares (balancer, config map, layered config): it
 * consumes one watch, hands each value to the primitive, and owns the ending — `ready()`
 * waiters, snapshot iterators, close on an AbortSignal, an idempotent `close()`, and the
 * untracking from the client. The primitive keeps only what it makes of the values.
 *
 * @packageDocumentation
 */
import type { Logger } from 'pino';
import type { ClientResource } from '../../client.js';
import { ClosedError, ValidationError } from '../../errors.js';
import { LatestValueIterator } from '../../watch/latest-iterator.js';
import type { Watch } from '../../watch/types.js';

/** How a primitive plugs into a {@link WatchedLifecycle}. */
export interface WatchedLifecycleOptions<W> {
  /** The primitive in words (`'balancer'`), for its `ClosedError` and log lines. */
  readonly what: string;
  /** The watch that feeds it; the lifecycle closes it. */
  readonly watch: Watch<W>;
  readonly logger: Logger;
  /** The primitive itself, tracked by the client until it ends. */
  readonly resource: ClientResource;
  /** Registers a resource for `consul.close()`; returns the function that unregisters it. */
  readonly track: (resource: ClientResource) => () => void;
  /** Closes the primitive when aborted. */
  readonly signal?: AbortSignal | undefined;
  /** Hands each value of the watch to the primitive (awaited before the next). */
  readonly apply: (value: W) => void | Promise<void>;
  /** Reports the watch's errors (the watch loop has logged them already). */
  readonly reportError: (error: Error) => void;
  /** Runs once when the primitive ends (closed, or its watch failed fatally). */
  readonly onStop?: (reason: unknown, failed: boolean) => void;
  /** Releases what else the primitive holds, on `close()`. */
  readonly closeAlso?: () => Promise<unknown>;
  /** Stops tracking the primitive as soon as its watch ends (by its signal, or a failure). Default false. */
  readonly untrackWhenWatchEnds?: boolean;
  /**
   * Whether `close()` drops a snapshot an iterator has not read yet (it is stale once
   * closed). A fatal failure always delivers it before the error. Default true.
   */
  readonly discardUnreadOnClose?: boolean;
}

/** Why a primitive ended. */
export interface Ending {
  readonly reason: unknown;
  /** A fatal watch failure (rather than a close). */
  readonly failed: boolean;
}

/** Checks a primitive's `signal` option before anything is opened. */
export function checkSignal(signal: unknown): void {
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new ValidationError('signal', 'must be an AbortSignal');
}

/**
 * The shared part of a watched primitive: see the module comment. `R` is what `ready()`
 * resolves to and what the iterators yield.
 */
export class WatchedLifecycle<W, R> {
  readonly #options: WatchedLifecycleOptions<W>;
  readonly #untrack: () => void;
  readonly #consumer: Promise<void>;
  readonly #iterators = new Set<LatestValueIterator<R>>();
  #readyWaiters: { resolve(value: R): void; reject(error: unknown): void }[] = [];
  #ending: Ending | undefined;
  #closing: Promise<void> | undefined;
  readonly #onAbort = (): void => {
    this.close().catch((error: unknown) =>
      this.#options.logger.error(
        { err: error },
        `consulkit: closing an aborted ${this.#options.what} failed`,
      ),
    );
  };

  constructor(options: WatchedLifecycleOptions<W>) {
    this.#options = options;
    options.watch.on('error', options.reportError);
    this.#untrack = options.track(options.resource);
    this.#consumer = this.#consume();
    const { signal } = options;
    if (signal?.aborted) this.#onAbort();
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Why the primitive ended; `undefined` while it runs. */
  get ending(): Ending | undefined {
    return this.#ending;
  }

  /** Whether the primitive has stopped: closed, or its watch failed fatally. */
  get closed(): boolean {
    return this.#ending !== undefined;
  }

  /**
   * `current` at once when there is one; else the ending's reason, else `pending` (a failure
   * that leaves no value yet), else the next {@link resolveReady}.
   */
  ready(current: R | undefined, pending?: Error): Promise<R> {
    if (current !== undefined) return Promise.resolve(current);
    if (this.#ending !== undefined) return Promise.reject(this.#ending.reason);
    if (pending !== undefined) return Promise.reject(pending);
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  /** The first value: settles the `ready()` waiters. */
  resolveReady(value: R): void {
    for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve(value);
  }

  /** A failure before the first value: rejects the `ready()` waiters, the primitive goes on. */
  rejectReady(error: Error): void {
    for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(error);
  }

  /**
   * An iterator with latest-value semantics, starting at `current` (when there is one).
   * Leaving the loop early closes the primitive; a fatal failure ends it with the error.
   */
  iterate(current: R | undefined): AsyncIterableIterator<R, undefined> {
    const iterator = new LatestValueIterator<R>(() => this.close());
    if (current !== undefined) iterator.push(current);
    if (this.#ending === undefined) this.#iterators.add(iterator);
    else iterator.end(this.#ending.failed ? this.#ending.reason : undefined);
    return iterator;
  }

  /** Hands a new value to every iterator. */
  publish(value: R): void {
    for (const iterator of this.#iterators) iterator.push(value);
  }

  /** Stops watching and releases everything; idempotent. Rejects with the first failure to release. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#untrack();
    this.#stop(new ClosedError(`the ${this.#options.what} was closed`), false);
    const results = await Promise.allSettled([
      this.#options.watch.close(),
      this.#options.closeAlso?.(),
      this.#consumer,
    ]);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async #consume(): Promise<void> {
    try {
      for await (const value of this.#options.watch) {
        if (this.#ending !== undefined) break;
        await this.#options.apply(value);
      }
      // The watch ended without an error: closed by us, by its signal or by `consul.close()`.
      this.#stop(new ClosedError(`the ${this.#options.what} was closed`), false);
    } catch (error) {
      // A fatal watch failure: the watch already reported it on `error`.
      this.#stop(error, true);
    } finally {
      if (this.#options.untrackWhenWatchEnds === true) this.#untrack();
    }
  }

  #stop(reason: unknown, failed: boolean): void {
    if (this.#ending !== undefined) return;
    this.#ending = { reason, failed };
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    this.#options.onStop?.(reason, failed);
    for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(reason);
    const discardUnread = !failed && this.#options.discardUnreadOnClose !== false;
    for (const iterator of this.#iterators) iterator.end(failed ? reason : undefined, { discardUnread });
    this.#iterators.clear();
  }
}
