/**
 * Lets the acquisition loop sleep until its watch has news, instead of polling.
 *
 * @packageDocumentation
 */
import type { Watch } from '../../watch/types.js';

/** Counts a watch's changes and errors so that a loop can sleep until one comes. */
export class WatchWaker<W> {
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

  /** Stops listening, and wakes every waiter. */
  detach(): void {
    this.#watch.off('change', this.#onChange);
    this.#watch.off('error', this.#onError);
    this.#wakeAll();
  }

  #wakeAll(): void {
    for (const wake of [...this.#wakers]) wake();
  }
}
