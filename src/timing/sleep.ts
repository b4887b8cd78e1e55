/**
 * Timers a loop can be woken from.
 *
 * @packageDocumentation
 */

/**
 * Resolves after `ms` milliseconds, or at once when `signal` aborts (it never rejects: the
 * caller checks the signal). The timer keeps the process alive on purpose: a watch that is
 * backing off is still running, and the client's `close()` ends it.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Like {@link sleep}, but rejects with the signal's reason when it aborts (before or during the wait). */
export async function delay(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  await sleep(ms, signal);
  signal.throwIfAborted();
}
