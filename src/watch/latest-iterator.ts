/**
 * An async iterator with latest-value semantics: it holds at most one unread value, and a
 * newer value replaces an unread older one. A slow consumer therefore always gets the newest
 * snapshot and memory stays bounded, however fast the producer is.
 *
 * @packageDocumentation
 */

interface Waiter<T> {
  resolve(result: IteratorResult<T, undefined>): void;
  reject(error: unknown): void;
}

/** The producer's side of a {@link LatestValueIterator}. */
export class LatestValueIterator<T> implements AsyncIterableIterator<T, undefined> {
  #slot: { value: T } | undefined;
  #waiters: Waiter<T>[] = [];
  #ended = false;
  #error: { reason: unknown } | undefined;
  readonly #onReturn: (() => Promise<void> | void) | undefined;

  /**
   * @param onReturn - called once when the consumer stops early (`break`, `return()`), so the
   *   producer can release what feeds the iterator; `return()` settles after it has
   */
  constructor(onReturn?: () => Promise<void> | void) {
    this.#onReturn = onReturn;
  }

  /** Whether the iterator has ended (no value will be produced any more). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Offers a value: hands it to a waiting consumer, or replaces the unread one. */
  push(value: T): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve({ value, done: false });
    else this.#slot = { value };
  }

  /**
   * Ends the iterator. An unread value is still delivered first, unless `discardUnread` is
   * set (the producer has closed, and that value is stale); then `next()` rejects with
   * `error` once (if given) and reports `done` afterwards.
   */
  end(error?: unknown, options: { discardUnread?: boolean } = {}): void {
    if (this.#ended) return;
    this.#ended = true;
    if (options.discardUnread === true) this.#slot = undefined;
    if (error !== undefined) this.#error = { reason: error };
    for (const waiter of this.#waiters.splice(0)) {
      if (this.#error) {
        waiter.reject(this.#error.reason);
        this.#error = undefined;
      } else {
        waiter.resolve({ value: undefined, done: true });
      }
    }
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#slot) {
      const { value } = this.#slot;
      this.#slot = undefined;
      return Promise.resolve({ value, done: false });
    }
    if (this.#ended) {
      const error = this.#error;
      this.#error = undefined;
      return error ? Promise.reject(error.reason) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** The consumer stops (`break` in `for await`): ends the iterator and tells the producer. */
  async return(): Promise<IteratorResult<T, undefined>> {
    const early = !this.#ended;
    this.#slot = undefined;
    this.#error = undefined;
    this.end();
    if (early) await this.#onReturn?.();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
