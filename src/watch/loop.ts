/**
 * One blocking loop: the only code in consulkit that sends a read with `index=`. It is shared
 * by every watch of the same query, keeps at most one request in flight, follows Consul's
 * index rules, paces itself, backs off on transient failures and stops on fatal ones.
 *
 * @packageDocumentation
 */
import type { Logger } from 'pino';
import type { WithMeta } from '../api/read.js';
import {
  ConsulHttpError,
  ConsulUnavailableError,
  InvalidResponseError,
  isRetryable,
  PermissionDeniedError,
} from '../errors.js';
import { backoffDelay, rateLimitDelay, sleep } from '../timing/index.js';
import { asError } from '../safe-emit.js';
import { deepEqual } from './deep-equal.js';
import { nextIndex } from './index-rules.js';
import type { Telemetry } from '../observability/telemetry.js';
import { describeQuery, type LoopSettings, type WatchQuery } from './query.js';
import type { LimitGovernor } from './limit-governor.js';
import type { SlotScheduler, Turn } from './slot-scheduler.js';
import type { WatchSource } from './source.js';
import { SubscriberList } from './subscriber-list.js';

/**
 * Where a loop is:
 * - `reading`: a read is in flight (or about to be sent);
 * - `backoff`: waiting after a transient failure;
 * - `stopped`: its last watch left, or the client closed;
 * - `failed`: stopped by a failure that retrying cannot fix (400, 403…).
 */
export type LoopState = 'reading' | 'backoff' | 'stopped' | 'failed';

/** How a loop is doing, as its watches report it: no answer yet, last read good, or retrying. */
export type LoopHealth = 'starting' | 'live' | 'retrying';

/**
 * Whether a failed read is worth repeating. Beyond the transient failures every request
 * retries, a watch also retries a refused read (403): a token being rotated, a policy not
 * yet replicated, or an operator about to grant it are all fixed without a restart, and a
 * config map or balancer that died for good on the first 403 would stay dead for the
 * process's life. What cannot fix itself (a 400, a 404 that is an error, bad input) stops
 * the loop.
 */
export function isWatchRetryable(error: unknown, retryDenied = true): boolean {
  return isRetryable(error) || (retryDenied && error instanceof PermissionDeniedError);
}

/** What a loop tells each watch attached to it. */
export interface LoopSubscriber<T> {
  /** The data changed (or this is the first answer). */
  deliver(value: T): void;
  /** A transient failure; the loop keeps going. */
  report(error: Error): void;
  /** A fatal failure; the loop has stopped and forgets its subscribers. */
  fail(error: Error): void;
  /** The loop is being shut down by the client. */
  end(): void;
}

/**
 * Whether the agent refused the connection because its per-client limit is full: the
 * transport's `CONNECTION_LIMIT` (closed before any answer), or the 429 the agent tries to
 * write first (a proxy in between may deliver it). A state of the host, not of this query.
 */
export function isConnectionLimit(error: unknown): boolean {
  return (
    (error instanceof Error && (error as Error & { code?: unknown }).code === 'CONNECTION_LIMIT') ||
    (error instanceof ConsulHttpError && error.status === 429)
  );
}

/** How long a blocking read must have been held for its cut to count as a dropped connection. */
const HELD_BEFORE_CUT_MS = 1000;

/** What the loops of one engine share: turns on the blocking connections, and the limit governor. */
export interface LoopShared {
  readonly scheduler: SlotScheduler;
  readonly limits?: LimitGovernor;
  /** Metrics, channels and the health report's list of failing watches. */
  readonly telemetry?: Telemetry;
}

/** A shared, reference-counted blocking loop over one {@link WatchQuery}. */
export class BlockingLoop<T> implements WatchSource<T> {
  /** The query in words, for logs (never the token). */
  readonly description: string;
  readonly #query: WatchQuery<T>;
  readonly #settings: LoopSettings;
  readonly #logger: Logger;
  readonly #onStop: () => void;
  readonly #scheduler: SlotScheduler | undefined;
  readonly #limits: LimitGovernor | undefined;
  readonly #telemetry: Telemetry | undefined;
  readonly #subscribers = new SubscriberList<LoopSubscriber<T>>();
  readonly #controller = new AbortController();
  #state: LoopState = 'reading';
  #health: LoopHealth = 'starting';
  #lastError: Error | undefined;
  #unindexedError: Error | undefined;
  #current: { value: T } | undefined;
  #index: bigint | undefined;
  #reads = 0;
  #running: Promise<void> | undefined;

  /**
   * @param onStop - called once, synchronously, when the loop stops or fails, so that its
   *   owner stops handing it to new watches
   * @param shared - the scheduler that shares the blocking connections among loops (each
   *   blocking read, index above 0, waits for a turn from it, with the wait it grants) and
   *   the governor told of reads refused by the agent's per-client limit
   */
  constructor(
    query: WatchQuery<T>,
    settings: LoopSettings,
    logger: Logger,
    onStop: () => void,
    shared?: LoopShared,
  ) {
    this.#query = query;
    this.#settings = settings;
    this.#logger = logger;
    this.#onStop = onStop;
    this.#scheduler = shared?.scheduler;
    this.#limits = shared?.limits;
    this.#telemetry = shared?.telemetry;
    this.description = describeQuery(query);
  }

  /** Current state. */
  get state(): LoopState {
    return this.#state;
  }

  /** Whether the last read succeeded (`live`), failed and is being retried, or none answered yet. */
  get health(): LoopHealth {
    return this.#health;
  }

  /** The failure of the last read while the loop is retrying (or was stopped by); else `undefined`. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** The latest answer, or `undefined` before the first. */
  get current(): { readonly value: T } | undefined {
    return this.#current;
  }

  /** `X-Consul-Index` of the latest answer. */
  get index(): bigint | undefined {
    return this.#index;
  }

  /** Reads sent so far (each attempt counts). */
  get reads(): number {
    return this.#reads;
  }

  /** Watches attached. */
  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** Whether the loop has stopped or failed; such a loop takes no subscribers. */
  get finished(): boolean {
    return this.#state === 'stopped' || this.#state === 'failed';
  }

  /** Adds a watch; the first one starts the loop. */
  attach(subscriber: LoopSubscriber<T>): void {
    if (this.finished) throw new Error(`consulkit: watch loop ${this.description} is ${this.#state}`);
    this.#subscribers.add(subscriber);
    this.#running ??= this.#run();
  }

  /** Removes a watch; when the last one leaves, the loop stops and the promise settles once it has. */
  detach(subscriber: LoopSubscriber<T>): Promise<void> {
    this.#subscribers.delete(subscriber);
    return this.#subscribers.size === 0 ? this.stop() : Promise.resolve();
  }

  /** Ends every attached watch and stops the loop (the client is closing). */
  shutdown(): Promise<void> {
    for (const subscriber of this.#subscribers.takeAll()) subscriber.end();
    return this.stop();
  }

  /**
   * Stops the loop: the read in flight is aborted (its connection is dropped, so nothing is
   * left open) and the promise settles when the loop has exited. Idempotent.
   */
  stop(): Promise<void> {
    if (!this.finished) {
      this.#state = 'stopped';
      this.#controller.abort();
      this.#telemetry?.watchStopped(this.description);
      this.#onStop();
    }
    return this.#running ?? Promise.resolve();
  }

  async #run(): Promise<void> {
    const signal = this.#controller.signal;
    const settings = this.#settings;
    let index = 0n;
    let lastStart: number | undefined;
    let failures = 0;
    // Answers in a row that carried no X-Consul-Index (see #missingIndex).
    let unindexed = 0;
    let paceMs = 0;
    // Whether the last failure was answered by an immediate reconnect (see below).
    let reconnected = false;
    const leave = this.#scheduler?.join();
    try {
      while (!signal.aborted) {
        await sleep(
          Math.max(paceMs, rateLimitDelay(lastStart, performance.now(), settings.minIntervalMs)),
          signal,
        );
        if (signal.aborted) break;
        paceMs = 0;
        // A read with index 0 answers at once and goes through the short pool: no turn.
        let turn: Turn | undefined;
        if (index > 0n && this.#scheduler !== undefined) {
          try {
            turn = await this.#scheduler.acquire(settings.waitMs, signal);
          } catch {
            break; // only the loop's own signal rejects a waiting turn
          }
        }
        lastStart = performance.now();
        this.#state = 'reading';
        this.#reads++;
        let answer: WithMeta<T>;
        try {
          answer = await this.#query
            .read({
              index,
              wait: turn?.waitMs ?? settings.waitMs,
              timeout: settings.marginMs,
              // This loop backs off on its own and must drop the index after a failure; a
              // transport retry would re-send the old index to a possibly restarted agent.
              retries: 0,
              // A read in a turn is known to the transport's gate by this signal: no second turn.
              signal: turn === undefined ? signal : turn.signalFor(signal),
              ...(settings.consistency !== undefined && { consistency: settings.consistency }),
              ...(settings.datacenter !== undefined && { datacenter: settings.datacenter }),
              ...(settings.token !== undefined && { token: settings.token }),
              ...(settings.cached && { cached: true }),
            })
            .withMeta();
        } catch (thrown) {
          if (signal.aborted) break;
          // The scheduler took the slot back for a waiting loop: not a failure; the index is
          // kept, so the next turn answers at once if the data moved meanwhile.
          if (turn?.signal.aborted === true) continue;
          const error = asError(thrown);
          if (!isWatchRetryable(error, settings.retryDenied)) {
            this.#fail(error);
            break;
          }
          if (
            failures === 0 &&
            !reconnected &&
            index > 0n &&
            error instanceof ConsulUnavailableError &&
            !isConnectionLimit(error) &&
            performance.now() - (lastStart ?? 0) >= HELD_BEFORE_CUT_MS
          ) {
            // A long poll cut after it was held a while, right after a good answer: an
            // HTTP/2 GOAWAY (a graceful agent shutdown or reload) fails every stream of its
            // connection at once, and a proxy may drop a quiet connection. Reconnecting at
            // once with a plain read, without backoff or a warning per loop, keeps those
            // watches current; if the agent is really gone, that read fails and the usual
            // backoff and reporting follow.
            reconnected = true;
            index = 0n;
            this.#logger.debug(
              { err: error, watch: this.description },
              'consulkit: blocking read cut; reconnecting at once',
            );
            continue;
          }
          failures++;
          const delay = backoffDelay(failures, settings.backoff);
          this.#state = 'backoff';
          this.#health = 'retrying';
          this.#lastError = error;
          this.#telemetry?.watchFailed(this.description, error, false);
          const limited = isConnectionLimit(error);
          if (limited) {
            // A full per-client limit refuses every loop at once: the governor shrinks the
            // slots and logs once per episode; each loop tells its watches once per streak.
            this.#limits?.refused();
            if (failures === 1)
              for (const subscriber of this.#subscribers.current()) subscriber.report(error);
          } else {
            this.#logger.warn(
              { err: error, watch: this.description, failures, retryInMs: delay },
              'consulkit: watch read failed; retrying',
            );
            for (const subscriber of this.#subscribers.current()) subscriber.report(error);
            // The agent may have come back with less state (a restarted dev agent, a restored
            // snapshot): blocking on the old index would hold until that index is reached
            // again. A plain read re-establishes the baseline at once. (A refused connection
            // reached no agent state: the index stays.)
            index = 0n;
          }
          turn?.release();
          turn = undefined;
          await sleep(delay, signal);
          continue;
        } finally {
          turn?.release();
        }
        reconnected = false;
        if (failures > 0) {
          this.#logger.info({ watch: this.description, failures }, 'consulkit: watch recovered');
          failures = 0;
        }
        this.#health = 'live';
        this.#telemetry?.watchRead(this.description);
        // An answer without an index is data, but still a misbehaving path: it stays the
        // last error until an indexed answer comes.
        if (answer.meta.index !== undefined) this.#lastError = undefined;
        index = nextIndex(index, answer.meta.index, this.#query.indexMode ?? 'raft');
        if (answer.meta.index !== undefined) {
          this.#index = answer.meta.index;
          if (unindexed > 0) {
            this.#logger.info({ watch: this.description }, 'consulkit: watch answers carry an index again');
            unindexed = 0;
          }
        } else {
          unindexed++;
          paceMs = this.#missingIndex(unindexed);
        }
        if (this.#current === undefined || !deepEqual(this.#current.value, answer.data)) {
          this.#current = { value: answer.data };
          const answeredAt = performance.now();
          for (const subscriber of this.#subscribers.current()) subscriber.deliver(answer.data);
          this.#telemetry?.watchDelivered(this.description, answeredAt);
        }
      }
    } catch (unexpected) {
      // Subscribers shield themselves from their listeners, so this is a bug in the loop;
      // still, the loop's promise must never reject unobserved.
      if (!this.finished) this.#fail(asError(unexpected));
      else this.#logger.error({ err: unexpected, watch: this.description }, 'consulkit: watch loop failed');
    } finally {
      leave?.();
    }
  }

  /**
   * An answer without `X-Consul-Index` cannot be blocked on: every next read would return at
   * once, and the loop would poll at its rate limit (10 reads a second by default) with
   * nobody told. It happens behind a proxy that strips headers. The data is still delivered;
   * the first such answer of a streak is reported once (log and `error`), and the reads are
   * paced by the backoff schedule, so the poll slows to `backoff.maxDelay` (30 s by default).
   *
   * @returns how long to wait before the next read
   */
  #missingIndex(streak: number): number {
    const delay = backoffDelay(streak, this.#settings.backoff);
    if (streak > 1 && this.#lastError === undefined) this.#lastError = this.#unindexedError;
    if (streak === 1) {
      const error = new InvalidResponseError({
        status: 200,
        method: 'GET',
        path: this.description,
        body: 'the answer carries no X-Consul-Index header (is a proxy stripping it?); the watch cannot block and polls with backoff instead',
      });
      this.#lastError = error;
      this.#logger.warn(
        { err: error, watch: this.description },
        'consulkit: watch answer has no index; polling with backoff',
      );
      for (const subscriber of this.#subscribers.current()) subscriber.report(error);
    }
    return delay;
  }

  #fail(error: Error): void {
    this.#state = 'failed';
    this.#lastError = error;
    this.#telemetry?.watchFailed(this.description, error, true);
    this.#controller.abort();
    this.#onStop();
    this.#logger.error({ err: error, watch: this.description }, 'consulkit: watch stopped by an error');
    for (const subscriber of this.#subscribers.takeAll()) subscriber.fail(error);
  }
}
