/**
 * What both node kinds of `startCluster` (agent process, container) share: the delay relay in
 * front of the HTTP API, the queue that serialises faults on one node, the wait after a
 * restart, and a disposal that collects the error of every step.
 */
import { ValidationError } from '../errors.js';
import type { DelayRelay } from './delay-relay.js';
import { waitUntilReady } from './ready.js';

/** How long a (re)started agent may take to report a leader. */
const READY_TIMEOUT_MS = 90_000;

/** Base of the node classes of both backends; the fault operations are theirs. */
export abstract class RelayedClusterNode {
  readonly name: string;
  readonly proxyAddress: string;
  readonly #relay: DelayRelay;
  /** Serialises faults on one node: a restart racing a freeze would act on a dead agent. */
  #queue: Promise<unknown> = Promise.resolve();

  protected constructor(name: string, relay: DelayRelay) {
    this.name = name;
    this.proxyAddress = `http://${relay.hostPort}`;
    this.#relay = relay;
  }

  /** Last lines of the agent's output, for failure messages. */
  abstract outputTail(lines?: number): string;

  delay(ms: number): void {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new ValidationError('ms', `delay must be a finite number of milliseconds ≥ 0, not ${String(ms)}`);
    }
    this.#relay.setDelay(ms);
  }

  undelay(): void {
    this.#relay.setDelay(0);
  }

  /** Runs `fn` after every fault queued before it, whether those failed or not. */
  protected serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Waits until the restarted agent at `httpAddress` reports a leader; on failure the error
   * carries the agent's last output, which is what explains it.
   */
  protected async waitUntilBack(
    httpAddress: string,
    token: string | undefined,
    deadReason?: () => string | undefined,
  ): Promise<void> {
    try {
      await waitUntilReady({
        httpAddress,
        token,
        timeoutMs: READY_TIMEOUT_MS,
        ...(deadReason === undefined ? {} : { deadReason }),
      });
    } catch (error) {
      throw new Error(
        `consulkit/testing: ${this.name} did not come back: ${(error as Error).message}\n` +
          `--- last agent output ---\n${this.outputTail()}`,
        { cause: error },
      );
    }
  }

  /**
   * Once the queued faults have settled, runs `steps` and then closes the relay; the error of
   * every step is collected, not dropped, so one failing step does not leak the others.
   */
  protected async disposeSteps(steps: ReadonlyArray<() => Promise<unknown>>): Promise<unknown[]> {
    const errors: unknown[] = [];
    // The queue never rejects (serial keeps failures for the caller of each fault).
    await this.#queue;
    for (const step of [...steps, () => this.#relay.close()]) {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    }
    return errors;
  }
}
