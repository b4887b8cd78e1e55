/**
 * A Consul session kept alive in the background, with loss detection bound by its TTL. The
 * lock, the semaphore and the election each hold their keys through one of these.
 *
 * The guarantee: the keeper declares the session lost (aborts {@link SessionKeeper.signal})
 * no later than a full TTL after the send time of the last renewal that succeeded. Consul
 * never invalidates a TTL session earlier than one TTL after it processed a renewal (it may
 * wait up to two), and it processed that renewal after it was sent, so a holder that stops
 * at that moment has stopped before anyone else could acquire what it held. The same rule
 * applies to the heartbeat check of the fast-failover setting, with the check's TTL. A small
 * safety margin (5 % of the TTL, at most 500 ms) is taken off both bounds.
 *
 * Limits: the bound is enforced with timers, so a process whose event loop is stalled (a
 * long synchronous computation, a stop-the-world GC pause, a suspended VM) notices late;
 * clocks are compared only locally (monotonic time), but a server whose clock runs fast
 * could expire sessions early. A fencing token checked by the protected resource is what
 * makes it safe in those cases too.
 *
 * @packageDocumentation
 */
import { EventEmitter } from 'eventemitter3';
import type { Logger } from 'pino';
import type { Session, SessionBehavior, SessionCreateRequest } from '../../api/session.js';
import {
  ClosedError,
  ConsulError,
  isRetryable,
  LockLostError,
  NotFoundError,
  ValidationError,
} from '../../errors.js';
import { asError, safeEmit } from '../../safe-emit.js';
import type { CallOptions } from '../../transport/types.js';
import type { ResolvedSessionOptions } from './session-options.js';
import { abortable } from '../../timing/index.js';
import { HeartbeatCheck, type HeartbeatAgent } from './session-heartbeat.js';

/** What a keeper needs from the client. */
export interface KeeperHost {
  readonly session: Session;
  readonly logger: Logger;
  /** The local agent; needed only for the heartbeat check. */
  readonly agent?: HeartbeatAgent;
}

/** Events of a {@link SessionKeeper}. */
export interface SessionKeeperEvents {
  /** The session is lost (or can no longer be trusted); emitted once. */
  lost: (error: LockLostError) => void;
  /** A renewal or heartbeat failed; the keeper keeps trying until its deadline. */
  error: (error: Error) => void;
}

/** Settings of {@link SessionKeeper.create}. */
export interface SessionKeeperSettings extends ResolvedSessionOptions {
  /** What happens to held keys when the session is invalidated. */
  readonly behavior: SessionBehavior;
  /** Human-readable purpose, for logs and the heartbeat check's notes. */
  readonly description: string;
  /**
   * Whether the session's lock-delay keeps others out after an invalidation: true for a lock
   * or an election, false for a semaphore (its slots are freed by pruning, not by a release).
   */
  readonly lockDelayProtects: boolean;
  /**
   * Reports a failure of work that outlives the call, such as destroying a session whose
   * creation answered after `create()` was aborted.
   */
  readonly onBackgroundError?: (error: unknown) => void;
}

/**
 * The node checks a session is bound to (sent as `NodeChecks`; the keeper's own heartbeat
 * check goes in `ServiceChecks`).
 *
 * A check can invalidate the session at any moment, and the holder may only learn of it from
 * a failed renewal, up to one TTL later. For a lock, the next holder must then also wait out
 * the lock-delay; so Consul's default `serfHealth` (fast detection of a dead node) is bound
 * only when the lock-delay covers the TTL, which keeps the holder's "give up before anyone
 * else can acquire" rule true. A semaphore slot is freed by pruning dead sessions, which no
 * lock-delay covers (`lockDelayProtects: false`), so it never gets `serfHealth` by default:
 * only the TTL, which the holder's own deadline precedes, can free its slot. Explicit
 * `checks` are used as given.
 *
 * Never sent as the legacy `Checks` list: Consul 1.8 adds `serfHealth` to a session whose
 * `Checks` is non-empty, which would bind FAST_FAILOVER and explicit checks to it silently.
 */
export function sessionChecks(settings: {
  checks?: readonly string[] | undefined;
  ttlMs: number;
  lockDelayMs: number;
  lockDelayProtects: boolean;
}): string[] {
  if (settings.checks !== undefined) return [...settings.checks];
  return settings.lockDelayProtects && settings.lockDelayMs >= settings.ttlMs ? ['serfHealth'] : [];
}

/**
 * Whether explicit checks may free what the session holds before its holder can notice: a
 * lock's lock-delay shorter than the TTL, or any check on a semaphore (pruning ignores
 * lock-delay).
 */
export function checksOutrunHolder(settings: {
  checks?: readonly string[] | undefined;
  ttlMs: number;
  lockDelayMs: number;
  lockDelayProtects: boolean;
}): boolean {
  if (settings.checks === undefined || settings.checks.length === 0) return false;
  return !settings.lockDelayProtects || settings.lockDelayMs < settings.ttlMs;
}

/** Time bound of a call that undoes an abandoned write. */
function undoTimeoutMs(settings: { ttlMs: number }): number {
  return Math.min(settings.ttlMs, 10_000);
}

/** The part of the bound taken off as a safety margin. */
export function safetyMarginMs(ttlMs: number): number {
  return Math.min(ttlMs * 0.05, 500);
}

/** Delay before retrying a failed renewal or heartbeat. */
export function retryDelayMs(intervalMs: number, ttlMs: number): number {
  return Math.min(intervalMs, Math.max(200, ttlMs / 10));
}

/** One thing that must succeed regularly to keep the session: its renewal, or the heartbeat. */
interface Guard {
  readonly name: string;
  readonly ttlMs: number;
  readonly intervalMs: number;
  /** Send time (performance.now()) of the last success; the bound counts from it. */
  lastOkSentAt: number;
  lastError: unknown;
  timer: NodeJS.Timeout | undefined;
  send(options: CallOptions): Promise<unknown>;
}

/**
 * Keeps one session: creates it (and its heartbeat check), renews it every `ttl / 3`,
 * heartbeats the check, and declares it lost at once when Consul says it is gone, or when
 * nothing succeeded for a full TTL. `stop()` destroys what it created.
 */
export class SessionKeeper extends EventEmitter<SessionKeeperEvents> {
  /** Session ID. */
  readonly id: string;
  /** Whether this keeper created the session (and so renews and destroys it). */
  readonly owned: boolean;
  readonly #host: KeeperHost;
  readonly #logger: Logger;
  readonly #token: string | undefined;
  readonly #ttlMs: number;
  readonly #heartbeat: HeartbeatCheck | undefined;
  readonly #guards: Guard[] = [];
  readonly #controller = new AbortController();
  /** Aborts requests in flight when the keeper ends. */
  readonly #inflight = new AbortController();
  #deadlineTimer: NodeJS.Timeout | undefined;
  #ended = false;
  #stopping: Promise<void> | undefined;

  private constructor(
    host: KeeperHost,
    id: string,
    settings: SessionKeeperSettings,
    owned: boolean,
    sessionSentAt: number,
    heartbeat: { check: HeartbeatCheck; sentAt: number } | undefined,
  ) {
    super();
    this.#host = host;
    this.id = id;
    this.owned = owned;
    this.#token = settings.token;
    this.#ttlMs = settings.ttlMs;
    this.#logger = host.logger.child({ session: id });
    this.#heartbeat = heartbeat?.check;
    if (!owned) return;
    const ttlMs = settings.ttlMs;
    this.#guards.push({
      name: 'session renewal',
      ttlMs,
      intervalMs: ttlMs / 3,
      lastOkSentAt: sessionSentAt,
      lastError: undefined,
      timer: undefined,
      send: (options) => host.session.renew(id, options),
    });
    if (heartbeat) {
      const check = heartbeat.check;
      this.#guards.push({
        name: 'heartbeat',
        ttlMs: check.ttlMs,
        intervalMs: check.intervalMs,
        lastOkSentAt: heartbeat.sentAt,
        lastError: undefined,
        timer: undefined,
        send: (options) => check.pass(options),
      });
    }
    for (const guard of this.#guards)
      this.#schedule(guard, guard.intervalMs - (performance.now() - guard.lastOkSentAt));
    this.#armDeadline();
  }

  /**
   * Creates a session (and, with `heartbeat`, its check first) and starts keeping it; or,
   * with `session` set, wraps that existing session without renewing it.
   *
   * @throws ValidationError when `heartbeat` is set but the host has no agent API
   */
  static async create(
    host: KeeperHost,
    settings: SessionKeeperSettings,
    signal: AbortSignal,
  ): Promise<SessionKeeper> {
    if (settings.session !== undefined) {
      return new SessionKeeper(host, settings.session, settings, false, performance.now(), undefined);
    }
    signal.throwIfAborted();
    let heartbeat: { check: HeartbeatCheck; sentAt: number } | undefined;
    if (settings.heartbeat) {
      if (host.agent === undefined)
        throw new ValidationError('heartbeat', 'needs the agent API (consul.agent)');
      const check = new HeartbeatCheck(host.agent, settings.heartbeat, settings.token);
      const sentAt = performance.now();
      await undoIfAbandoned(
        host,
        settings,
        'a heartbeat check registration',
        check.register(settings.description, {}),
        signal,
        () => check.deregister({ timeout: undoTimeoutMs(settings) }),
      );
      heartbeat = { check, sentAt };
    }
    const request: SessionCreateRequest = {
      Name: settings.sessionName,
      TTL: settings.ttlMs,
      LockDelay: settings.lockDelayMs,
      Behavior: settings.behavior,
      NodeChecks: sessionChecks(settings),
      ServiceChecks: heartbeat ? [{ ID: heartbeat.check.checkId }] : [],
    };
    if (checksOutrunHolder(settings)) {
      host.logger.warn(
        { checks: settings.checks, ttlMs: settings.ttlMs, lockDelayMs: settings.lockDelayMs },
        'consulkit: session checks that can free the hold before this process notices (a lock-delay shorter than ' +
          'the TTL, or a semaphore, whose slots no lock-delay protects): another holder may acquire while this one ' +
          'still works (use the fencing token)',
      );
    }
    const sentAt = performance.now();
    let id: string;
    try {
      const token = settings.token !== undefined ? { token: settings.token } : {};
      id = await undoIfAbandoned(
        host,
        settings,
        'a session create',
        host.session.create(request, token),
        signal,
        (orphan) => host.session.destroy(orphan, { timeout: undoTimeoutMs(settings), ...token }),
      );
    } catch (error) {
      if (heartbeat) await deregisterQuietly(host.logger, heartbeat.check, settings.ttlMs);
      throw error;
    }
    const keeper = new SessionKeeper(host, id, settings, true, sentAt, heartbeat);
    keeper.#logger.debug({ description: settings.description }, 'consulkit: session created');
    return keeper;
  }

  /** Aborted with a {@link LockLostError} when the session is lost, or a `ClosedError` once stopped. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the session was declared lost. */
  get lost(): boolean {
    return this.#controller.signal.reason instanceof LockLostError;
  }

  /**
   * The moment (on the `performance.now()` clock) by which the session must be given up if
   * nothing succeeds before; `undefined` for a session this keeper does not renew.
   */
  get deadline(): number | undefined {
    if (this.#guards.length === 0) return undefined;
    return Math.min(
      ...this.#guards.map((guard) => guard.lastOkSentAt + guard.ttlMs - safetyMarginMs(guard.ttlMs)),
    );
  }

  /**
   * Checks the deadline synchronously, so that a caller whose event loop was blocked past it
   * learns of the loss before its timer fires. Returns whether the session is still alive.
   */
  check(): boolean {
    if (this.#ended) return false;
    const deadline = this.deadline;
    if (deadline !== undefined && performance.now() >= deadline) this.#expire();
    return !this.#ended;
  }

  /**
   * Stops renewing and, for a session it created, destroys it and removes its heartbeat
   * check. Idempotent. Rejects when the destroy failed (the session then expires on its own
   * within 2 × TTL).
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    this.#end(new ClosedError('the session was stopped'));
    if (!this.owned) return;
    // Bounded: this also runs after a loss caused by an unreachable agent.
    const timeout = Math.min(this.#ttlMs, 10_000);
    const call: CallOptions = { timeout, ...(this.#token !== undefined && { token: this.#token }) };
    let failure: unknown;
    try {
      await this.#host.session.destroy(this.id, call);
    } catch (error) {
      failure = error;
    }
    // After the destroy: removing the check first would invalidate the session, and that
    // would put a lock-delay on keys that the caller may not have released yet.
    if (this.#heartbeat) {
      try {
        await this.#heartbeat.deregister(call);
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
    this.#logger.debug('consulkit: session destroyed');
  }

  #schedule(guard: Guard, ms: number): void {
    guard.timer = setTimeout(
      () => {
        this.#beat(guard).catch((error: unknown) => {
          // #beat handles every failure of the call; this would be a bug in the keeper itself.
          this.#logger.error(
            { err: error, what: guard.name },
            'consulkit: session keep-alive failed unexpectedly',
          );
          this.#lose(`the ${guard.name} failed unexpectedly`, error);
        });
      },
      Math.max(0, ms),
    );
  }

  async #beat(guard: Guard): Promise<void> {
    guard.timer = undefined;
    if (this.#ended) return;
    const sentAt = performance.now();
    try {
      await guard.send({
        signal: this.#inflight.signal,
        // A hung call must not use up the time left for a second attempt.
        timeout: Math.max(guard.intervalMs, 500),
        ...(this.#token !== undefined && { token: this.#token }),
      });
    } catch (error) {
      if (this.#ended) return;
      guard.lastError = error;
      if (error instanceof NotFoundError) {
        this.#lose(
          `the ${guard.name} failed: Consul no longer knows it (invalidated, destroyed, or the agent lost its state)`,
          error,
        );
        return;
      }
      if (!isRetryable(error)) {
        this.#lose(`the ${guard.name} failed and cannot succeed on retry`, error);
        return;
      }
      this.#logger.warn({ err: error, what: guard.name }, 'consulkit: session keep-alive failed; retrying');
      this.#emitError(error);
      this.#schedule(guard, retryDelayMs(guard.intervalMs, guard.ttlMs));
      return;
    }
    if (this.#ended) return;
    guard.lastOkSentAt = Math.max(guard.lastOkSentAt, sentAt);
    guard.lastError = undefined;
    this.#armDeadline();
    this.#schedule(guard, guard.intervalMs - (performance.now() - sentAt));
  }

  #armDeadline(): void {
    clearTimeout(this.#deadlineTimer);
    const deadline = this.deadline;
    if (deadline === undefined) return;
    this.#deadlineTimer = setTimeout(() => this.#expire(), Math.max(0, deadline - performance.now()));
  }

  #expire(): void {
    if (this.#ended) return;
    const now = performance.now();
    const expired = this.#guards.find(
      (guard) => now >= guard.lastOkSentAt + guard.ttlMs - safetyMarginMs(guard.ttlMs),
    );
    if (expired === undefined) {
      // A success landed while the timer was due; wait for the new deadline.
      this.#armDeadline();
      return;
    }
    const since = Math.round(now - expired.lastOkSentAt);
    this.#lose(
      `no ${expired.name} succeeded for ${since} ms (TTL ${expired.ttlMs} ms): Consul may invalidate the session from now on`,
      expired.lastError,
    );
  }

  #lose(message: string, cause: unknown): void {
    if (this.#ended) return;
    const error = new LockLostError(message, cause === undefined ? undefined : { cause });
    this.#end(error);
    this.#logger.warn({ err: error }, 'consulkit: session lost');
    safeEmit<SessionKeeperEvents, 'lost'>(this, this.#logger, 'session', 'lost', error);
  }

  #end(reason: ConsulError): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#deadlineTimer);
    for (const guard of this.#guards) clearTimeout(guard.timer);
    this.#inflight.abort(reason);
    this.#controller.abort(reason);
  }

  #emitError(error: unknown): void {
    safeEmit<SessionKeeperEvents, 'error'>(this, this.#logger, 'session', 'error', asError(error));
  }
}

/**
 * Awaits a write that creates something (a session, the heartbeat check) without tying the
 * request to `signal`: an aborted request may still have been applied, and only its answer
 * names what it made. The caller is released as soon as `signal` aborts; the answer, when it
 * comes, is undone so that nothing is left behind (an orphan session would hold on for up to
 * 2 × TTL). A failed undo is logged and reported through `onBackgroundError`.
 */
async function undoIfAbandoned<T>(
  host: KeeperHost,
  settings: SessionKeeperSettings,
  what: string,
  write: Promise<T>,
  signal: AbortSignal,
  undo: (made: T) => Promise<unknown>,
): Promise<T> {
  try {
    return await abortable(write, signal);
  } catch (error) {
    if (!signal.aborted) throw error;
    void write.then(
      async (made) => {
        try {
          await undo(made);
          host.logger.debug(`consulkit: undid ${what}, which answered after its acquisition ended`);
        } catch (undoError) {
          host.logger.warn(
            { err: undoError },
            `consulkit: undoing ${what}, which answered after its acquisition ended, failed`,
          );
          settings.onBackgroundError?.(undoError);
        }
      },
      (writeError: unknown) => {
        // The acquisition already ended with the abort; a write that failed left nothing behind.
        host.logger.debug({ err: writeError }, `consulkit: an abandoned ${what} failed`);
      },
    );
    throw error;
  }
}

async function deregisterQuietly(logger: Logger, check: HeartbeatCheck, ttlMs: number): Promise<void> {
  try {
    await check.deregister({ timeout: Math.min(ttlMs, 10_000) });
  } catch (error) {
    // The caller is already failing with the session's error; this one is secondary, and the
    // agent reaps the instance once its check has been critical for a minute.
    logger.warn({ err: error, serviceId: check.serviceId }, 'consulkit: removing the heartbeat check failed');
  }
}
