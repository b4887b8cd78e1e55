/**
 * Process termination signals (SIGTERM, SIGINT…) for primitives that must clean up before
 * the process exits, such as a registration that deregisters itself.
 *
 * consulkit installs at most one listener per signal, however many primitives ask. When the
 * signal arrives, every registered cleanup runs in parallel. If consulkit's listener was the
 * only one the application had (so without consulkit the signal would have killed the
 * process), the listener removes itself and raises the signal again once every cleanup has
 * settled: the process then ends exactly as it would have, by that signal. If the
 * application listens to the signal itself, exiting is left to the application. A second
 * signal during cleanup meets the default action and ends the process at once.
 *
 * @packageDocumentation
 */

/**
 * Marks a signal listener that only tidies up and never decides whether the process exits
 * (the `consulkit/testing` harness uses it). Such listeners do not count as the
 * application's own when deciding whether to re-raise.
 */
export const PASSIVE_SIGNAL_LISTENER: unique symbol = Symbol.for('consulkit.passiveSignalListener');

type Cleanup = { stop: () => Promise<void>; onError: (error: unknown) => void };

const cleanups = new Map<NodeJS.Signals, Set<Cleanup>>();
const listeners = new Map<NodeJS.Signals, () => void>();

function isPassive(listener: unknown): boolean {
  return typeof listener === 'function' && PASSIVE_SIGNAL_LISTENER in listener;
}

function handle(signal: NodeJS.Signals): void {
  const own = listeners.get(signal);
  const others = process.listeners(signal).filter((listener) => listener !== own && !isPassive(listener));
  const alone = others.length === 0;
  const pending = [...(cleanups.get(signal) ?? [])];
  // Every cleanup runs once per process: drop them from all signals, and our listeners with them.
  for (const set of cleanups.values()) for (const cleanup of pending) set.delete(cleanup);
  for (const [name, listener] of listeners) {
    if ((cleanups.get(name)?.size ?? 0) === 0 || name === signal) {
      process.removeListener(name, listener);
      listeners.delete(name);
    }
  }
  void Promise.allSettled(
    pending.map((cleanup) => cleanup.stop().then(undefined, (error: unknown) => cleanup.onError(error))),
  ).then(() => {
    if (alone) process.kill(process.pid, signal);
  });
}

/**
 * Runs `stop` when the process receives one of `signals` (see the module documentation for
 * how the process then exits). Failures of `stop` go to `onError`.
 *
 * @returns a function that unregisters `stop` (idempotent)
 */
export function onTerminationSignal(
  signals: readonly NodeJS.Signals[],
  stop: () => Promise<void>,
  onError: (error: unknown) => void,
): () => void {
  const cleanup: Cleanup = { stop, onError };
  for (const signal of signals) {
    let set = cleanups.get(signal);
    if (!set) cleanups.set(signal, (set = new Set()));
    set.add(cleanup);
    if (!listeners.has(signal)) {
      const listener = (): void => handle(signal);
      listeners.set(signal, listener);
      process.on(signal, listener);
    }
  }
  return () => {
    for (const signal of signals) {
      const set = cleanups.get(signal);
      set?.delete(cleanup);
      const listener = listeners.get(signal);
      if (listener && (set?.size ?? 0) === 0) {
        process.removeListener(signal, listener);
        listeners.delete(signal);
      }
    }
  };
}
