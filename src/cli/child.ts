/**
 * The child process a command runs (`run`, `lock`, `leader`): started with inherited stdio,
 * signalled, stopped with SIGTERM then SIGKILL after a grace period, and its exit turned into
 * an exit code the way shells do (128 + signal number).
 *
 * @packageDocumentation
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Logger } from 'pino';

/** How a child ended. */
export interface ChildExit {
  /** Exit code, or `null` when a signal ended it. */
  readonly code: number | null;
  /** The signal that ended it, or `null`. */
  readonly signal: NodeJS.Signals | null;
}

/** Exit code used when the command could not be started at all (as shells do for "not found"). */
export const SPAWN_FAILED_CODE = 127;

/** The exit code a shell would report for `exit`: the code, or 128 + the signal's number. */
export function exitCodeOf(exit: ChildExit): number {
  if (exit.code !== null) return exit.code;
  const number = exit.signal === null ? undefined : constants.signals[exit.signal];
  return 128 + (number ?? 0);
}

/** A running child command. */
export class Child {
  /** The process. */
  readonly process: ChildProcess;
  /** Resolves once the child has exited (never rejects; a failed start is exit 127). */
  readonly exited: Promise<ChildExit>;
  #exit: ChildExit | undefined;
  readonly #logger: Logger;

  /**
   * Starts `command[0]` with the rest as arguments (no shell), with this process's stdout and
   * stderr, stdin when `stdin` is true, and the environment plus `env`.
   */
  constructor(
    command: readonly string[],
    logger: Logger,
    options: { env?: Record<string, string>; stdin?: boolean } = {},
  ) {
    const [file, ...args] = command;
    this.#logger = logger;
    this.process = spawn(file ?? '', args, {
      stdio: [options.stdin === true ? 'inherit' : 'ignore', 'inherit', 'inherit'],
      env: { ...process.env, ...options.env },
    });
    this.exited = new Promise<ChildExit>((resolve) => {
      this.process.once('error', (error) => {
        // Only a failed start comes with no exit event; later errors (a failed kill) do not end it.
        if (this.process.pid === undefined) {
          logger.error({ err: error, command: file }, 'consulkit: the command could not be started');
          this.#exit = { code: SPAWN_FAILED_CODE, signal: null };
          resolve(this.#exit);
        }
      });
      this.process.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
    logger.info({ childPid: this.process.pid, command }, 'consulkit: started the command');
  }

  /** Whether the child has exited. */
  get running(): boolean {
    return this.#exit === undefined;
  }

  /** Sends `signal` if the child still runs; a failure (it just exited) is only logged. */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      this.process.kill(signal);
    } catch (error) {
      this.#logger.warn({ err: error, signal }, 'consulkit: could not signal the command');
    }
  }

  /**
   * Stops the child as `consul lock` does: SIGTERM, then SIGKILL once `graceMs` has passed.
   * Resolves with its exit.
   */
  async terminate(graceMs: number): Promise<ChildExit> {
    if (!this.running) return this.exited;
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace-over'>((resolve) => {
      timer = setTimeout(() => resolve('grace-over'), graceMs);
    });
    const outcome = await Promise.race([this.exited, graceOver]);
    clearTimeout(timer);
    if (outcome === 'grace-over') {
      this.#logger.warn({ graceMs }, 'consulkit: the command ignored SIGTERM; sending SIGKILL');
      this.signal('SIGKILL');
    }
    return this.exited;
  }
}

/**
 * Calls `handler` for each of `signals` this process receives, instead of Node's default of
 * dying, until the returned function is called.
 */
export function onSignals(
  signals: readonly NodeJS.Signals[],
  handler: (signal: NodeJS.Signals) => void,
): () => void {
  const listeners = signals.map((signal) => {
    const listener = (): void => handler(signal);
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) process.off(signal, listener);
  };
}
