/**
 * One subscriber's view of a shared blocking loop: the object `consul.watch.*` hands out.
 * It owns its listeners and iterators, shields the loop (and other listeners) from listener
 * failures, and leaves the loop on `close()`.
 *
 * @packageDocumentation
 */
import { EventEmitter } from 'eventemitter3';
import type { Logger } from 'pino';
import { ClosedError } from '../errors.js';
import { asError, callListener, logListenerFailure } from '../safe-emit.js';
import { LatestValueIterator } from './latest-iterator.js';
import type { LoopSubscriber } from './loop.js';
import type { WatchSource } from './source.js';
import type { Watch, WatchEvents, WatchState } from './types.js';

/**
 * No value yet. A sentinel rather than a `{ value }` box, because a delivery to a thousand
 * watches of one key would allocate two boxes per watch (`undefined` is a real value: a
 * missing key).
 */
const NONE: unique symbol = Symbol('none');

/**
 * The reason of a watch its owner closed, until somebody asks for it. Most closes have no
 * pending `ready()` and nobody calls `ready()` afterwards, and an error with its stack trace
 * costs more than the rest of `close()`: it is made only when a caller would receive it.
 */
const CLOSED_BY_OWNER: unique symbol = Symbol('closed by owner');

interface Deferred<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * A {@link Watch} attached to a {@link BlockingLoop}.
 *
 * Listener failures: a `change` listener that throws (or returns a rejected promise) is
 * logged at error level and its error is emitted on this watch's `error` listeners; the
 * other listeners, the other watches and the loop carry on. It is not rethrown on a new tick
 * (as etcd3's WatchManager does), because in Node that is an uncaught exception that ends
 * the process. An `error` listener that throws is logged only.
 */
export class WatchHandle<T> implements Watch<T>, LoopSubscriber<T> {
  readonly #loop: WatchSource<T>;
  readonly #logger: Logger;
  readonly #emitter = new EventEmitter<WatchEvents<T>>();
  /**
   * The `change` listeners as an array, made again only when they change: eventemitter3's
   * `listeners()` copies on every call, and a change of one key watched a thousand times
   * would copy a thousand arrays. Replaced, never mutated, so a listener added or removed
   * during a delivery takes effect from the next one.
   */
  #changeListeners: readonly WatchEvents<T>['change'][] | undefined;
  readonly #iterators = new Set<LatestValueIterator<T>>();
  #latest: T | typeof NONE = NONE;
  #emitted: T | typeof NONE = NONE;
  #open = true;
  /** Why the watch ended: what `ready()` rejects with and, for a failure, what iterators throw. */
  #ending: { reason: unknown; failed: boolean } | undefined;
  /** Made from {@link CLOSED_BY_OWNER} on first use, then the same error for every caller. */
  #closedError: ClosedError | undefined;
  #finalIndex: bigint | undefined;
  #readyWaiters: Deferred<T>[] = [];
  /** Made once: a delivery must not allocate a closure per listener. */
  readonly #changeFailed = (error: Error): void => this.#listenerFailed('change', error);
  #closing: Promise<void> | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => {
    this.#leave(this.#signal?.reason ?? new ClosedError('the watch was aborted')).catch((error: unknown) =>
      this.#logger.error(
        { err: error, watch: this.#loop.description },
        'consulkit: closing an aborted watch failed',
      ),
    );
  };

  /** @internal Use `consul.watch.*`. */
  constructor(loop: WatchSource<T>, logger: Logger, signal?: AbortSignal) {
    this.#loop = loop;
    this.#logger = logger;
    this.#signal = signal;
    if (signal?.aborted) {
      this.#open = false;
      this.#ending = { reason: signal.reason, failed: false };
      this.#closing = Promise.resolve();
      return;
    }
    loop.attach(this);
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    const current = loop.current;
    if (current !== undefined) {
      // A late subscriber has the value at once (`current`, `ready()`, the iterator) and, like
      // the first one, sees it as its first `change`: after the caller had a chance to add
      // listeners.
      this.#latest = current.value;
      queueMicrotask(() => {
        const latest = this.#latest;
        if (this.#open && this.#emitted === NONE && latest !== NONE) this.#emitChange(latest);
      });
    }
  }

  get current(): T | undefined {
    return this.#latest === NONE ? undefined : this.#latest;
  }

  get index(): bigint | undefined {
    return this.#open ? this.#loop.index : this.#finalIndex;
  }

  get closed(): boolean {
    return !this.#open;
  }

  get state(): WatchState {
    return this.#open ? this.#loop.health : 'closed';
  }

  get lastError(): Error | undefined {
    if (this.#open) return this.#loop.lastError;
    return this.#ending?.failed === true && this.#ending.reason instanceof Error
      ? this.#ending.reason
      : undefined;
  }

  ready(): Promise<T> {
    const latest = this.#latest;
    if (latest !== NONE) return Promise.resolve(latest);
    if (!this.#open) return Promise.reject(this.#endReason());
    return new Promise<T>((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  on<E extends keyof WatchEvents<T>>(event: E, listener: WatchEvents<T>[E]): this {
    // eventemitter3's listener type is computed from the same map; TypeScript cannot see
    // through the generic index, hence the narrowing casts here and in `off`.
    this.#emitter.on(event, listener as EventEmitter.EventListener<WatchEvents<T>, E>);
    if (event === 'change') this.#changeListeners = undefined;
    return this;
  }

  off<E extends keyof WatchEvents<T>>(event: E, listener: WatchEvents<T>[E]): this {
    this.#emitter.off(event, listener as EventEmitter.EventListener<WatchEvents<T>, E>);
    if (event === 'change') this.#changeListeners = undefined;
    return this;
  }

  /**
   * Yields the current value (if any) and then every change, with latest-value semantics: a
   * consumer slower than the changes skips to the newest snapshot, nothing queues up. Leaving
   * the loop early (`break`, `return`, a thrown error) closes the watch. The iteration ends
   * when the watch is closed, and throws the error that stopped the watch; a value not yet
   * read when the watch ends is dropped, never yielded after `close()`.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T, undefined> {
    const iterator = new LatestValueIterator<T>(() => this.close());
    if (this.#open) {
      const latest = this.#latest;
      if (latest !== NONE) iterator.push(latest);
      this.#iterators.add(iterator);
    } else {
      iterator.end(this.#ending?.failed ? this.#ending.reason : undefined);
    }
    return iterator;
  }

  close(): Promise<void> {
    return this.#leave(CLOSED_BY_OWNER);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @internal */
  deliver(value: T): void {
    if (!this.#open) return;
    this.#latest = value;
    if (this.#readyWaiters.length > 0)
      for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve(value);
    if (this.#iterators.size > 0) for (const iterator of this.#iterators) iterator.push(value);
    this.#emitChange(value);
  }

  /** @internal */
  report(error: Error): void {
    if (this.#open) this.#emitError(error);
  }

  /** @internal */
  fail(error: Error): void {
    if (!this.#open) return;
    this.#emitError(error);
    this.#terminate(error, true);
    this.#closing = Promise.resolve();
  }

  /** @internal */
  end(): void {
    if (!this.#open) return;
    this.#terminate(new ClosedError('the Consul client was closed'), false);
    this.#closing = Promise.resolve();
  }

  #leave(reason: unknown): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#terminate(reason, false);
    this.#closing = this.#loop.detach(this);
    return this.#closing;
  }

  #terminate(reason: unknown, failed: boolean): void {
    this.#finalIndex = this.#loop.index;
    this.#open = false;
    this.#ending = { reason, failed };
    this.#signal?.removeEventListener('abort', this.#onAbort);
    if (this.#readyWaiters.length > 0) {
      const rejection = this.#endReason();
      for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(rejection);
    }
    // Whatever an iterator has not read yet is stale now: after close() (or a failure, or the
    // client closing) a consumer gets the end or the error, never one more old value.
    for (const iterator of this.#iterators)
      iterator.end(failed ? reason : undefined, { discardUnread: true });
    this.#iterators.clear();
  }

  /** What `ready()` rejects with once the watch has ended. */
  #endReason(): unknown {
    const reason = this.#ending?.reason;
    if (reason !== CLOSED_BY_OWNER && reason !== undefined) return reason;
    return (this.#closedError ??= new ClosedError(
      reason === CLOSED_BY_OWNER ? 'the watch was closed before its first answer' : 'the watch was closed',
    ));
  }

  #emitChange(value: T): void {
    const previous = this.#emitted === NONE ? undefined : this.#emitted;
    this.#emitted = value;
    // This runs once per watch for every change: a thousand watches of one key run it a
    // thousand times in a row, so the common case (a listener that returns nothing) costs
    // no closure; a returned promise goes through callListener for its rejection.
    const listeners = (this.#changeListeners ??= this.#emitter.listeners('change'));
    for (const listener of listeners) {
      let result: unknown;
      try {
        result = listener(value, previous);
      } catch (thrown) {
        this.#changeFailed(asError(thrown));
        continue;
      }
      if (result !== undefined) callListener(() => result, this.#changeFailed);
    }
  }

  #emitError(error: Error): void {
    for (const listener of this.#emitter.listeners('error')) this.#invoke('error', () => listener(error));
  }

  #invoke(event: keyof WatchEvents<T>, call: () => unknown): void {
    callListener(call, (error) => this.#listenerFailed(event, error));
  }

  #listenerFailed(event: keyof WatchEvents<T>, error: Error): void {
    logListenerFailure(this.#logger, 'watch', event, error, { watch: this.#loop.description });
    // A failing 'error' listener is only logged: reporting it to itself could loop forever.
    if (event !== 'error') this.#emitError(error);
  }
}
