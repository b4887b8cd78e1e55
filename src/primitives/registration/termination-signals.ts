/**
 * Process termination signals (SIGTERM, SIGINT…) for primitives that must clean up before
 * the process exits, such as a registration that deregisters itself.
 *
 * The rule: consulkit never decides by itself that the process goes on living, nor that it
 * ends. When a handled signal arrives, every registered cleanup runs (in parallel), and then:
 * - if, at the moment the signal arrived, the application had no listener of its own for it
 *   (so without consulkit the signal would have ended the process), consulkit removes its
 *   listener and raises the signal again: the process ends exactly as it would have, by the
 *   signal's default action, or through `signal-exit`, whose exit hooks then run;
 * - otherwise exiting is left to the application's listener.
 * A second signal while cleanups run ends the process at once when the application has no
 * listener of its own, and is left to the application otherwise.
 *
 * How "the application's own listener" is told apart:
 * - consulkit's listener is installed with `prependListener`, so it runs before every
 *   listener added with `process.once`: Node removes a once-listener just before calling it,
 *   and a listener running after it would believe the application had none;
 * - the listeners `signal-exit` (v3 and v4, which many libraries load) installs do not count:
 *   signal-exit only acts when it believes it is alone, and re-raises the signal itself. Its
 *   own rule compares the signal's listener count with the number of signal-exit instances
 *   loaded, so consulkit keeps its listener installed until its cleanups have settled (else
 *   signal-exit would kill the process mid-deregistration), then removes it and re-raises,
 *   which lets signal-exit run its exit hooks and end the process;
 * - listeners marked {@link PASSIVE_SIGNAL_LISTENER} only tidy up and do not count.
 * A once-listener the application prepends *after* consulkit's is the one case this cannot
 * see: consulkit then believes it is alone.
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
/** Set while the cleanups of a first signal run. */
let shuttingDown = false;

/**
 * The signals signal-exit listens to on Linux and the BSDs (its `signals` list): only for
 * those does each loaded signal-exit instance add one listener.
 */
const SIGNAL_EXIT_SIGNALS: ReadonlySet<string> = new Set([
  'SIGHUP',
  'SIGINT',
  'SIGTERM',
  'SIGALRM',
  'SIGABRT',
  'SIGVTALRM',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGUSR2',
  'SIGTRAP',
  'SIGSYS',
  'SIGQUIT',
  'SIGIOT',
  'SIGIO',
  'SIGPOLL',
  'SIGPWR',
  'SIGSTKFLT',
]);

function loadedCount(emitter: unknown): number {
  if (typeof emitter !== 'object' || emitter === null) return 0;
  const count = (emitter as { count?: unknown }).count;
  return typeof count === 'number' && Number.isInteger(count) && count > 0 ? count : 0;
}

/**
 * How many listeners of `signal` belong to signal-exit: one per loaded instance, counted the
 * way signal-exit counts itself (v4 keeps a shared emitter on a global symbol, v3 on
 * `process.__signal_exit_emitter__`).
 */
function signalExitListeners(signal: NodeJS.Signals): number {
  if (!SIGNAL_EXIT_SIGNALS.has(signal)) return 0;
  const v4 = (globalThis as Record<symbol, unknown>)[Symbol.for('signal-exit emitter')];
  const v3 = (process as unknown as Record<string, unknown>)['__signal_exit_emitter__'];
  return loadedCount(v4) + loadedCount(v3);
}

function isPassive(listener: unknown): boolean {
  return typeof listener === 'function' && PASSIVE_SIGNAL_LISTENER in listener;
}

/**
 * Whether the application has a listener of its own for `signal`, leaving out `own`
 * (consulkit's), passive listeners and signal-exit's.
 */
function applicationListens(signal: NodeJS.Signals, own: unknown): boolean {
  const others = process.listeners(signal).filter((listener) => listener !== own && !isPassive(listener));
  return others.length > signalExitListeners(signal);
}

function removeListener(signal: NodeJS.Signals): void {
  const listener = listeners.get(signal);
  if (!listener) return;
  process.removeListener(signal, listener);
  listeners.delete(signal);
}

function reRaise(signal: NodeJS.Signals): void {
  for (const name of [...listeners.keys()]) removeListener(name);
  process.kill(process.pid, signal);
}

function handle(signal: NodeJS.Signals): void {
  // Decided now, while every once-listener of the application is still installed.
  const alone = !applicationListens(signal, listeners.get(signal));
  if (shuttingDown) {
    if (alone) reRaise(signal);
    return;
  }
  shuttingDown = true;
  const pending = [...(cleanups.get(signal) ?? [])];
  // Every cleanup runs once per process: drop it from all signals.
  for (const set of cleanups.values()) for (const cleanup of pending) set.delete(cleanup);
  void Promise.allSettled(
    pending.map((cleanup) => cleanup.stop().then(undefined, (error: unknown) => cleanup.onError(error))),
  ).then(() => {
    shuttingDown = false;
    if (alone) {
      reRaise(signal);
      return;
    }
    for (const [name] of listeners) if ((cleanups.get(name)?.size ?? 0) === 0) removeListener(name);
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
      process.prependListener(signal, listener);
    }
  }
  return () => {
    for (const signal of signals) {
      const set = cleanups.get(signal);
      set?.delete(cleanup);
      // While a signal's cleanups run the listener stays, so that signal-exit keeps waiting.
      if (!shuttingDown && (set?.size ?? 0) === 0) removeListener(signal);
    }
  };
}
