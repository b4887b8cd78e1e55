/**
 * `consul.registerService()`: a service registered with its local agent, kept registered by
 * TTL heartbeats (re-registered at once when the agent forgets it, retried while the agent is
 * away), and deregistered on `stop()`, `consul.close()`, its signal, or SIGTERM/SIGINT. The
 * README's "Service registration" section is the behaviour contract; the comments below say
 * why each part does what it does.
 *
 * Worth knowing when reading `/v1/health/*`: the agent pushes a status change to the catalog
 * at once, but a note-only change only every `check_update_interval` (5 min by default).
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { EventEmitter } from 'eventemitter3';
import type { Logger } from 'pino';
import type { AgentServiceRegistration } from '../../api/agent/agent-types.js';
import type { ClientResource } from '../../client.js';
import {
  ClosedError,
  ConsulHttpError,
  ConsulUnavailableError,
  NotFoundError,
  PermissionDeniedError,
  TimeoutError,
  ValidationError,
} from '../../errors.js';
import { safeEmit } from '../../safe-emit.js';
import type { CallOptions } from '../../transport/types.js';
import { abortable, backoffDelay, jitterBelow, sleep, timeoutSignal } from '../../timing/index.js';
import {
  isCheckStatus,
  normalizeHealthReport,
  resolveRegistrationOptions,
  truncateNote,
  type CheckStatus,
  type HealthFunction,
  type RegisterServiceOptions,
  type ResolvedRegistrationOptions,
} from './registration-options.js';
import { claimRegistrationIds } from './registration-ids.js';
import { onTerminationSignal } from './termination-signals.js';

/** @internal The calls of the agent endpoint group a registration makes. */
export interface RegistrationAgent {
  readonly service: {
    register(definition: AgentServiceRegistration, options?: CallOptions): Promise<void>;
    deregister(serviceId: string, options?: CallOptions): Promise<void>;
    maintenance(serviceId: string, enable: boolean, reason?: string, options?: CallOptions): Promise<void>;
    get(serviceId: string, options?: CallOptions): Promise<unknown>;
  };
  readonly check: {
    update(checkId: string, status: CheckStatus, output?: string, options?: CallOptions): Promise<void>;
  };
}

/** @internal What a registration needs from the client (the `Consul` class provides it). */
export interface RegistrationHost {
  readonly agent: RegistrationAgent;
  readonly logger: Logger;
  /** Which agent the client talks to: registrations of one ID on one agent are refused. */
  readonly transport: { readonly config: { readonly origin: string; readonly socketPath?: string } };
  readonly closed: boolean;
  track(resource: ClientResource): () => void;
}

/**
 * Why the service was (re-)registered:
 * - `initial`: by {@link registerService}, before it resolved;
 * - `agent-forgot`: the agent answered but no longer knew the service (deregistered by
 *   someone else, reaped after being critical too long, or an agent restart that went
 *   unnoticed between two heartbeats);
 * - `agent-restarted`: the agent could not be reached for a while and came back without it.
 */
export type RegisteredReason = 'initial' | 'agent-forgot' | 'agent-restarted';

/** Payload of the `registered` event. */
export interface RegisteredEvent {
  /** Why it was registered: first time, the agent forgot it, or the agent restarted. */
  reason: RegisteredReason;
  /** The service instance ID. */
  serviceId: string;
}

/** Payload of the `heartbeat` event: what the agent now holds for the TTL check. */
export interface HeartbeatEvent {
  /** The status the TTL check now has. */
  status: CheckStatus;
  /** The check's output; `''` when there is none. */
  note: string;
  /** Who decided the status: `health()`, {@link ServiceRegistration.setStatus}, or the default (`passing`). */
  source: 'health' | 'override' | 'default';
}

/** Payload of the `draining` event. */
export interface DrainingEvent {
  /** How the instance is taken out of rotation before it deregisters. */
  mode: 'critical' | 'maintenance';
  /** How long the registration stays before deregistering, in milliseconds. */
  delayMs: number;
}

/** Events of a {@link ServiceRegistration}. */
export interface RegistrationEvents {
  /** Registered again after the agent forgot the service (also emitted, unseen, for the initial registration). */
  registered: [event: RegisteredEvent];
  /** A heartbeat reached the agent. */
  heartbeat: [event: HeartbeatEvent];
  /**
   * A background failure: a heartbeat or re-registration that failed (it is retried), or a
   * failed deregistration. Every one is also logged on the client's logger, so nothing is lost
   * when no listener is attached (eventemitter3 does not throw on an unhandled `error`).
   */
  error: [error: unknown];
  /** Stopping has begun with a drain: the instance is now unroutable and waits `delayMs`. */
  draining: [event: DrainingEvent];
  /** The service was deregistered by {@link ServiceRegistration.stop}. */
  deregistered: [event: { serviceId: string }];
}

/** Options of {@link ServiceRegistration.stop}. */
export interface StopRegistrationOptions {
  /** Drain first when the registration was created with `drain`. Default true. */
  drain?: boolean;
}

type TickOutcome = { ok: true; delayMs: number } | { ok: false; error: unknown; delayMs: number };

type State = 'starting' | 'active' | 'stopping' | 'stopped';

/** While registerService waits for an unreachable agent, it warns this often. */
const START_WAIT_WARN_EVERY_MS = 30_000;

/** Whether a failure means the agent could not be reached at all (as opposed to a refusal). */
function isUnreachable(error: unknown): boolean {
  return error instanceof ConsulUnavailableError || error instanceof TimeoutError;
}

/** Whether the agent refused the connection itself, so that no request reached it. */
function connectionRefused(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    if ((current as { code?: unknown }).code === 'ECONNREFUSED') return true;
    current = current.cause;
  }
  return false;
}

/** Loop retries while the agent cannot be reached happen at least this often. */
const UNREACHABLE_RETRY_CAP_MS = 1_000;
const RETRY_BASE_MS = 250;

/**
 * A service registered by {@link Consul.registerService}. It keeps itself registered and
 * healthy until {@link ServiceRegistration.stop} (or `consul.close()`, or a handled signal).
 *
 * Status precedence: a status set with {@link ServiceRegistration.setStatus} wins over
 * `health()` until {@link ServiceRegistration.clearStatus}; maintenance mode is separate (a
 * second, critical check that Consul adds) and hides the instance whatever the TTL check says.
 */
export class ServiceRegistration
  extends EventEmitter<RegistrationEvents>
  implements AsyncDisposable, ClientResource
{
  /** The service ID this instance is registered under. */
  readonly id: string;
  /** The service name. */
  readonly name: string;
  /** ID of the TTL check the heartbeats update. */
  readonly checkId: string;

  readonly #host: RegistrationHost;
  /** For listener failures; the other log lines name the service ID themselves. */
  readonly #logger: Logger;
  readonly #options: ResolvedRegistrationOptions;
  readonly #health: HealthFunction | undefined;
  readonly #abort = new AbortController();
  /** Aborted as soon as stop() is called, to end a start's wait for an unreachable agent. */
  readonly #stopRequested = new AbortController();
  #state: State = 'starting';
  #registerAttempted = false;
  #everRegistered = false;
  #healthFailing = false;
  #startWork: Promise<unknown> | undefined;
  #needsRegistration = false;
  #reregisterReason: RegisteredReason = 'agent-forgot';
  #unreachableSince: number | undefined;
  #failures = 0;
  #override: { status: CheckStatus; note: string } | undefined;
  #maintenance: { reason: string | undefined } | undefined;
  #last: HeartbeatEvent | undefined;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<TickOutcome> | undefined;
  #waiters: ((outcome: TickOutcome) => void)[] = [];
  #stopping: Promise<void> | undefined;
  #cleanups: (() => void)[] = [];

  /** @internal Use {@link registerService} (`consul.registerService`). */
  constructor(
    host: RegistrationHost,
    options: ResolvedRegistrationOptions,
    health: HealthFunction | undefined,
  ) {
    super();
    this.#host = host;
    this.#options = options;
    this.#health = health;
    this.id = options.serviceId;
    this.name = options.name;
    this.checkId = options.checkId;
    this.#logger = host.logger.child({ serviceId: options.serviceId });
  }

  /** What the last successful heartbeat delivered; `undefined` before the first. */
  get lastHeartbeat(): HeartbeatEvent | undefined {
    return this.#last;
  }

  /** True between a successful start and {@link ServiceRegistration.stop}. */
  get active(): boolean {
    return this.#state === 'active';
  }

  /** Whether {@link ServiceRegistration.maintenance} turned maintenance mode on. */
  get inMaintenance(): boolean {
    return this.#maintenance !== undefined;
  }

  /** Heartbeat interval in use, in milliseconds. */
  get heartbeatIntervalMs(): number {
    return this.#options.intervalMs;
  }

  /** @internal Registers, sends the first heartbeat, then starts the loop. */
  async start(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    const { origin, socketPath } = this.#host.transport.config;
    // Freed by #shutdown once the deregistration is done, so a successor never races it.
    this.#cleanups.push(
      claimRegistrationIds({
        agent: socketPath === undefined ? origin : `unix://${socketPath}`,
        serviceId: this.id,
        checkIds: (this.#options.definition.Checks ?? []).flatMap((check) =>
          check.CheckID === undefined ? [] : [check.CheckID],
        ),
      }),
    );
    this.#cleanups.push(this.#host.track(this));
    if (this.#options.signals.length > 0) {
      this.#cleanups.push(
        onTerminationSignal(
          this.#options.signals,
          () => this.stop(),
          // stop() already logged and emitted what failed; this only records that the signal path saw it.
          (error) =>
            this.#host.logger.debug(
              { err: error, serviceId: this.id },
              'consulkit: deregistration on signal failed',
            ),
        ),
      );
    }
    if (signal) {
      const onAbort = (): void => {
        this.stop().catch((error: unknown) =>
          this.#host.logger.debug({ err: error, serviceId: this.id }, 'consulkit: stop after abort failed'),
        );
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }
    const work = this.#firstRegistration();
    // stop() during start waits for the call in flight instead of cutting it: a registration
    // cut after it was sent could reach the agent after the deregistration.
    this.#startWork = Promise.allSettled([work]);
    try {
      await work;
    } catch (error) {
      const stoppedFirst = this.#stopping !== undefined;
      try {
        await this.stop({ drain: false });
      } catch {
        // #shutdown logged and emitted that failure; the caller gets the error that made start fail.
      }
      if (stoppedFirst)
        throw new ClosedError(`the registration of ${this.id} was stopped before it completed`);
      throw error;
    }
    if (this.#stopping)
      throw new ClosedError(`the registration of ${this.id} was stopped before it completed`);
    this.#state = 'active';
    this.#schedule(this.#nextDelay());
  }

  /**
   * Registers and sends the first heartbeat. While the agent cannot be reached at all it
   * keeps trying (a process may start before its local agent), for at most `startTimeout`;
   * anything the agent answers that is not a success fails at once.
   */
  async #firstRegistration(): Promise<void> {
    const started = performance.now();
    const limitMs = this.#options.startTimeoutMs;
    let lastWarned = started;
    for (let failures = 0; ;) {
      try {
        const report = await this.#evaluate();
        this.#throwIfStopping();
        await this.#register('initial', report.status);
        this.#throwIfStopping();
        await this.#heartbeat(report);
        if (failures > 0) {
          this.#host.logger.info(
            { serviceId: this.id, waitedMs: Math.round(performance.now() - started), attempts: failures + 1 },
            'consulkit: the agent answered; service registered',
          );
        }
        return;
      } catch (error) {
        if (this.#stopping || !isUnreachable(error)) throw error;
        failures++;
        const now = performance.now();
        const delayMs = backoffDelay(failures, { initialMs: RETRY_BASE_MS, maxMs: UNREACHABLE_RETRY_CAP_MS });
        if (limitMs !== undefined && now + delayMs - started >= limitMs) {
          throw new TimeoutError(
            `the agent could not be reached within ${limitMs} ms to register ${this.id}: ${error instanceof Error ? error.message : String(error)}`,
            limitMs,
            { cause: error },
          );
        }
        const warn = failures === 1 || now - lastWarned >= START_WAIT_WARN_EVERY_MS;
        if (warn) lastWarned = now;
        this.#host.logger[warn ? 'warn' : 'debug'](
          { err: error, serviceId: this.id, waitedMs: Math.round(now - started), attempts: failures },
          'consulkit: the agent cannot be reached; registerService keeps trying',
        );
        await this.#pauseUnlessStopping(delayMs);
        this.#throwIfStopping();
      }
    }
  }

  /** Waits `ms`, or less if stop() is called meanwhile (a start waiting for its agent gives up at once). */
  async #pauseUnlessStopping(ms: number): Promise<void> {
    await sleep(ms, this.#stopRequested.signal);
  }

  #throwIfStopping(): void {
    if (this.#stopping)
      throw new ClosedError(`the registration of ${this.id} was stopped before it completed`);
  }

  /**
   * Overrides `health()`: every heartbeat sends this status and note until
   * {@link ServiceRegistration.clearStatus}. Sends a heartbeat at once and resolves when the
   * agent has it.
   *
   * @throws ValidationError for an unknown status; ClosedError after stop; the heartbeat's
   *   error when it failed (the override stays, and the loop keeps retrying)
   */
  async setStatus(status: CheckStatus, note = ''): Promise<void> {
    if (!isCheckStatus(status)) {
      throw new ValidationError('status', `'${String(status)}' is not passing, warning or critical`);
    }
    if (typeof note !== 'string') throw new ValidationError('note', 'must be a string');
    this.#requireActive();
    this.#override = { status, note: truncateNote(note) };
    const outcome = await this.#kick();
    if (!outcome.ok) throw outcome.error;
  }

  /** Ends a {@link ServiceRegistration.setStatus} override: `health()` decides again, from a heartbeat sent at once. */
  async clearStatus(): Promise<void> {
    this.#requireActive();
    this.#override = undefined;
    const outcome = await this.#kick();
    if (!outcome.ok) throw outcome.error;
  }

  /**
   * Turns the agent's maintenance mode for this service on or off. While on, Consul adds a
   * critical check, so the instance leaves `?passing` results whatever its heartbeats say. The
   * mode is restored after a re-registration.
   *
   * @throws ClosedError after stop; the agent's error when the call failed
   */
  async maintenance(enable: boolean, reason?: string): Promise<void> {
    if (typeof enable !== 'boolean') throw new ValidationError('enable', 'must be a boolean');
    if (reason !== undefined && typeof reason !== 'string')
      throw new ValidationError('reason', 'must be a string');
    this.#requireActive();
    await this.#host.agent.service.maintenance(this.id, enable, reason, this.#loopCall());
    this.#maintenance = enable ? { reason } : undefined;
  }

  /**
   * Stops heartbeats and deregisters the service (after the drain, when one is configured).
   * Idempotent: every call returns the same promise. Failures are logged, emitted as `error`,
   * and reject the promise after everything else was cleaned up.
   */
  stop(options: StopRegistrationOptions = {}): Promise<void> {
    this.#stopping ??= this.#shutdown(options.drain ?? true);
    return this.#stopping;
  }

  /** Same as {@link ServiceRegistration.stop} (lets `consul.close()` stop it). */
  close(): Promise<void> {
    return this.stop();
  }

  /** Same as {@link ServiceRegistration.stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #requireActive(): void {
    if (this.#state !== 'active') throw new ClosedError(`the registration of ${this.id} is ${this.#state}`);
  }

  /** Options of calls made by the loop: cancelled by stop, bounded by one interval. */
  #loopCall(): CallOptions {
    return {
      signal: this.#abort.signal,
      timeout: Math.max(1_000, this.#options.intervalMs),
      ...(this.#options.token !== undefined && { token: this.#options.token }),
    };
  }

  /** Options of calls made while stopping: not cancelled (stop must finish), bounded by stopTimeout. */
  #stopCall(): CallOptions {
    return {
      timeout: this.#options.stopTimeoutMs,
      ...(this.#options.token !== undefined && { token: this.#options.token }),
    };
  }

  #nextDelay(): number {
    return jitterBelow(this.#options.intervalMs, 0.1);
  }

  /**
   * Registers the service with its TTL check already in `status`, so that the agent's first
   * sync to the catalog carries the right health, and watchers never see a fresh instance
   * flap through critical. The heartbeat that follows adds the note (which the catalog picks
   * up with the next status change or `check_update_interval`, as Consul defers note-only
   * updates).
   */
  async #register(reason: RegisteredReason, status: CheckStatus): Promise<void> {
    this.#registerAttempted = true;
    const { definition } = this.#options;
    const [ttlCheck, ...extra] = definition.Checks ?? [];
    const withStatus = { ...definition, Checks: [{ ...ttlCheck, Status: status }, ...extra] };
    try {
      await this.#host.agent.service.register(withStatus, this.#loopCall());
    } catch (error) {
      // A refusal (ACL, a definition Consul rejects) registered nothing, so stop() has nothing
      // to deregister; a timeout or a 5xx may have registered it all the same.
      // A refused connection never carried the request either.
      if (
        !this.#everRegistered &&
        ((error instanceof ConsulHttpError && error.status < 500) || connectionRefused(error))
      ) {
        this.#registerAttempted = false;
      }
      throw error;
    }
    this.#everRegistered = true;
    if (this.#maintenance) {
      await this.#host.agent.service.maintenance(this.id, true, this.#maintenance.reason, this.#loopCall());
    }
    this.#needsRegistration = false;
    const level = reason === 'initial' ? 'debug' : 'info';
    this.#host.logger[level]({ serviceId: this.id, reason }, 'consulkit: service registered');
    this.#emitSafely('registered', { reason, serviceId: this.id });
  }

  async #heartbeat(report: HeartbeatEvent): Promise<void> {
    await this.#host.agent.check.update(this.checkId, report.status, report.note, this.#loopCall());
    this.#last = report;
    this.#emitSafely('heartbeat', report);
  }

  /** The status to send: the override, else `health()` bounded by healthTimeout, else passing. */
  async #evaluate(): Promise<HeartbeatEvent> {
    if (this.#override) return { ...this.#override, source: 'override' };
    const health = this.#health;
    if (!health) return { status: 'passing', note: '', source: 'default' };
    const timeoutMs = this.#options.healthTimeoutMs;
    // Unref'd like the ticker: a registration alone does not keep the process alive.
    const timeout = timeoutSignal(
      timeoutMs,
      () => new TimeoutError(`health() did not answer within ${timeoutMs} ms`, timeoutMs),
      { unref: true },
    );
    try {
      const report = await abortable(
        Promise.resolve().then(() => health(timeout.signal)),
        timeout.signal,
      );
      this.#healthFailing = false;
      return { ...normalizeHealthReport(report), source: 'health' };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // Warn when health() starts failing; while it keeps failing, every heartbeat says so anyway.
      this.#host.logger[this.#healthFailing ? 'debug' : 'warn'](
        { err: error, serviceId: this.id },
        'consulkit: health() failed; reporting critical',
      );
      this.#healthFailing = true;
      return { status: 'critical', note: truncateNote(`health() failed: ${message}`), source: 'health' };
    } finally {
      timeout.dispose();
    }
  }

  /** One heartbeat, with an immediate re-registration when the agent forgot the service. Never rejects. */
  async #runTick(): Promise<TickOutcome> {
    for (let attempt = 0; ; attempt++) {
      const registering = this.#needsRegistration;
      try {
        const report = await this.#evaluate();
        if (registering) await this.#register(this.#reregisterReason, report.status);
        await this.#heartbeat(report);
        if (this.#unreachableSince !== undefined) {
          this.#host.logger.info(
            { serviceId: this.id, downMs: Date.now() - this.#unreachableSince },
            'consulkit: agent reachable again',
          );
        }
        this.#unreachableSince = undefined;
        this.#failures = 0;
        return { ok: true, delayMs: this.#nextDelay() };
      } catch (error) {
        if (this.#state !== 'active') return { ok: false, error, delayMs: 0 };
        if (attempt === 0 && !registering && (await this.#agentForgot(error))) {
          this.#needsRegistration = true;
          this.#reregisterReason = this.#unreachableSince === undefined ? 'agent-forgot' : 'agent-restarted';
          this.#host.logger.info(
            { serviceId: this.id, reason: this.#reregisterReason },
            'consulkit: the agent no longer knows the service; registering again',
          );
          continue;
        }
        return this.#failed(error);
      }
    }
  }

  /**
   * Whether a failed heartbeat means the agent no longer has the service. A 404 says so;
   * Consul 1.8 answers other statuses for an unknown TTL check (e.g. 500 "CheckID … does not
   * have associated TTL"), so for any other refusal the agent itself is asked, rather
   * than the wording of a message: `GET /v1/agent/service/<id>` answers 404 once it is gone.
   */
  async #agentForgot(error: unknown): Promise<boolean> {
    if (error instanceof NotFoundError) return true;
    if (!(error instanceof ConsulHttpError) || error instanceof PermissionDeniedError) return false;
    try {
      return (await this.#host.agent.service.get(this.id, this.#loopCall())) === undefined;
    } catch (probeError) {
      if (this.#state === 'active')
        this.#report(probeError, 'could not ask the agent for the service', 'warn');
      return false;
    }
  }

  #failed(error: unknown): TickOutcome {
    this.#failures++;
    const unreachable = isUnreachable(error);
    if (unreachable) this.#unreachableSince ??= Date.now();
    // While the agent is away, poll it often so the instance is back as soon as it answers;
    // other refusals (ACL, a 5xx) are retried at the normal pace.
    const delayMs = unreachable
      ? backoffDelay(this.#failures, {
          initialMs: RETRY_BASE_MS,
          maxMs: Math.min(UNREACHABLE_RETRY_CAP_MS, this.#options.intervalMs),
        })
      : this.#nextDelay();
    // The first failure of a run is a warning; the retries that follow (every second or so while
    // the agent is away) go to debug, and every one of them to the `error` event.
    this.#report(
      error,
      this.#needsRegistration ? 're-registration failed' : 'heartbeat failed',
      this.#failures === 1 ? 'warn' : 'debug',
    );
    return { ok: false, error, delayMs };
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    // Unref'd: a registration alone does not keep the process alive (the server it announces does).
    this.#timer = setTimeout(() => this.#startTick(), delayMs);
    this.#timer.unref();
  }

  #startTick(): Promise<TickOutcome> {
    this.#timer = undefined;
    const waiters = this.#waiters.splice(0);
    const tick = this.#runTick().then((outcome) => {
      this.#tick = undefined;
      for (const resolve of waiters) resolve(outcome);
      if (this.#state === 'active') {
        // A setStatus() during this tick needs a heartbeat that carries it: run one now.
        if (this.#waiters.length > 0) void this.#startTick();
        else this.#schedule(outcome.delayMs);
      } else {
        this.#releaseWaiters();
      }
      return outcome;
    });
    this.#tick = tick;
    return tick;
  }

  /** Runs a heartbeat now (or right after the running one) and resolves with its outcome. */
  #kick(): Promise<TickOutcome> {
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      if (this.#tick === undefined) {
        clearTimeout(this.#timer);
        void this.#startTick();
      }
    });
  }

  #releaseWaiters(): void {
    const error = new ClosedError(`the registration of ${this.id} was stopped`);
    for (const resolve of this.#waiters.splice(0)) resolve({ ok: false, error, delayMs: 0 });
  }

  async #shutdown(drain: boolean): Promise<void> {
    const registered = this.#state === 'active';
    const starting = this.#state === 'starting';
    this.#state = 'stopping';
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stopRequested.abort();
    if (starting) await this.#startWork;
    this.#abort.abort(new ClosedError(`the registration of ${this.id} was stopped`));
    if (this.#tick) await this.#tick;
    this.#releaseWaiters();

    const errors: unknown[] = [];
    if (this.#registerAttempted) {
      const plan = this.#options.drain;
      if (drain && plan && registered) {
        try {
          if (plan.mode === 'maintenance') {
            await this.#host.agent.service.maintenance(this.id, true, plan.note, this.#stopCall());
          } else {
            await this.#host.agent.check.update(this.checkId, 'critical', plan.note, this.#stopCall());
          }
          this.#host.logger.info(
            { serviceId: this.id, mode: plan.mode, delayMs: plan.delayMs },
            'consulkit: draining',
          );
          this.#emitSafely('draining', { mode: plan.mode, delayMs: plan.delayMs });
          // Referenced on purpose: the drain must run to its end even if nothing else keeps the process alive.
          await new Promise((resolve) => setTimeout(resolve, plan.delayMs));
        } catch (error) {
          // Balancers would not see a drain that was never marked: deregister straight away.
          if (!(error instanceof NotFoundError)) {
            errors.push(error);
            this.#report(error, 'could not mark the service for drain', 'error');
          }
        }
      }
      try {
        await this.#host.agent.service.deregister(this.id, this.#stopCall());
      } catch (error) {
        // Already gone is the state stop() wants.
        if (!(error instanceof NotFoundError)) {
          errors.push(error);
          this.#report(error, 'deregistration failed', 'error');
        }
      }
    }
    this.#state = 'stopped';
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    if (errors.length > 0) throw errors[0];
    if (this.#registerAttempted) {
      this.#host.logger.info({ serviceId: this.id }, 'consulkit: service deregistered');
      this.#emitSafely('deregistered', { serviceId: this.id });
    }
  }

  #report(error: unknown, message: string, level: 'debug' | 'warn' | 'error'): void {
    this.#host.logger[level]({ err: error, serviceId: this.id }, `consulkit: registration: ${message}`);
    this.#emitSafely('error', error);
  }

  /** Emits without letting a throwing listener break the heartbeat loop or crash the process. */
  #emitSafely<E extends keyof RegistrationEvents>(
    event: E,
    ...args: EventEmitter.EventArgs<RegistrationEvents, E>
  ): void {
    safeEmit<RegistrationEvents, E>(this, this.#logger, 'registration', event, ...args);
  }
}

/**
 * Registers a service with the local agent and keeps it registered; see
 * {@link RegisterServiceOptions} and {@link ServiceRegistration}. Resolves once the service
 * is registered and the first heartbeat set its TTL check (passing, unless `health()` said
 * otherwise).
 *
 * @throws ValidationError for bad options, before any request, and when a registration of
 *   this process that has not stopped yet holds the same service ID or one of the same check
 *   IDs on the same agent; ClosedError when the client is closed; the agent's error when the registration or the first heartbeat failed (anything
 *   registered is deregistered again)
 */
export async function registerService(
  host: RegistrationHost,
  options: RegisterServiceOptions,
): Promise<ServiceRegistration> {
  const resolved = resolveRegistrationOptions(options, {
    hostname: hostname(),
    pid: process.pid,
    random: randomBytes(3).toString('hex'),
  });
  if (host.closed) throw new ClosedError();
  const registration = new ServiceRegistration(host, resolved, options.health);
  await registration.start(options.signal);
  return registration;
}
