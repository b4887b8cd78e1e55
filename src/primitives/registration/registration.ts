/**
 * `consul.registerService()`: a service registered with its local agent, kept registered by
 * TTL heartbeats (re-registered at once when the agent forgets it, retried while the agent is
 * away), and deregistered on `stop()`, `consul.close()`, its signal, or SIGTERM/SIGINT. The
 * README's "Service registration" section is the behaviour contract.
 *
 * This file is the public face and its life cycle (starting, active, stopping, stopped); the
 * work is done by its parts: {@link firstRegistration} (registration-start.ts),
 * {@link HeartbeatTicker} (heartbeat-ticker.ts), {@link drainAndDeregister}
 * (registration-stop.ts), over {@link RegistrationCalls} and {@link HealthEvaluator}.
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
import type { ClientResource } from '../../client.js';
import { ClosedError, ValidationError } from '../../errors.js';
import { checkOptionKeys, optionKeys } from '../../options-check.js';
import { safeEmit } from '../../safe-emit.js';
import { HealthEvaluator } from './health-evaluator.js';
import { HeartbeatTicker } from './heartbeat-ticker.js';
import { RegistrationCalls } from './registration-calls.js';
import { claimRegistrationIds } from './registration-ids.js';
import {
  isCheckStatus,
  resolveRegistrationOptions,
  truncateNote,
  type CheckStatus,
  type HealthFunction,
  type RegisterServiceOptions,
  type ResolvedRegistrationOptions,
} from './registration-options.js';
import { firstRegistration } from './registration-start.js';
import { drainAndDeregister } from './registration-stop.js';
import type { HeartbeatEvent, RegistrationEvents, RegistrationHost } from './registration-types.js';
import { onTerminationSignal } from './termination-signals.js';

export type {
  DrainingEvent,
  HeartbeatEvent,
  RegisteredEvent,
  RegisteredReason,
  RegistrationAgent,
  RegistrationEvents,
  RegistrationHost,
} from './registration-types.js';

/** Options of {@link ServiceRegistration.stop}. */
export interface StopRegistrationOptions {
  /** Drain first when the registration was created with `drain`. Default true. */
  drain?: boolean;
}

/** Every key of {@link StopRegistrationOptions}. */
export const STOP_REGISTRATION_OPTION_KEYS = optionKeys<StopRegistrationOptions>()(['drain']);

type State = 'starting' | 'active' | 'stopping' | 'stopped';

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
  readonly #health: HealthEvaluator;
  readonly #calls: RegistrationCalls;
  readonly #ticker: HeartbeatTicker;
  /** Aborted as soon as stop() is called, to end a start's wait for an unreachable agent. */
  readonly #stopRequested = new AbortController();
  #state: State = 'starting';
  #startWork: Promise<unknown> | undefined;
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
    this.id = options.serviceId;
    this.name = options.name;
    this.checkId = options.checkId;
    this.#logger = host.logger.child({ serviceId: options.serviceId });
    this.#health = new HealthEvaluator(health, options.healthTimeoutMs, host.logger, this.id);
    this.#calls = new RegistrationCalls(host.agent, host.logger, options, {
      registered: (event) => this.#emitSafely('registered', event),
      heartbeat: (event) => this.#emitSafely('heartbeat', event),
    });
    this.#ticker = new HeartbeatTicker({
      calls: this.#calls,
      health: this.#health,
      logger: host.logger,
      serviceId: this.id,
      intervalMs: options.intervalMs,
      isActive: () => this.#state === 'active',
      report: (error, message, level) => this.#report(error, message, level),
    });
  }

  /** What the last successful heartbeat delivered; `undefined` before the first. */
  get lastHeartbeat(): HeartbeatEvent | undefined {
    return this.#calls.lastHeartbeat;
  }

  /** True between a successful start and {@link ServiceRegistration.stop}. */
  get active(): boolean {
    return this.#state === 'active';
  }

  /** Whether {@link ServiceRegistration.maintenance} turned maintenance mode on. */
  get inMaintenance(): boolean {
    return this.#calls.inMaintenance;
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
    const work = firstRegistration({
      calls: this.#calls,
      health: this.#health,
      logger: this.#host.logger,
      serviceId: this.id,
      startTimeoutMs: this.#options.startTimeoutMs,
      stopRequested: this.#stopRequested.signal,
      throwIfStopping: () => this.#throwIfStopping(),
    });
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
    this.#throwIfStopping();
    this.#state = 'active';
    this.#ticker.start();
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
    this.#health.override = { status, note: truncateNote(note) };
    const outcome = await this.#ticker.kick();
    if (!outcome.ok) throw outcome.error;
  }

  /** Ends a {@link ServiceRegistration.setStatus} override: `health()` decides again, from a heartbeat sent at once. */
  async clearStatus(): Promise<void> {
    this.#requireActive();
    this.#health.override = undefined;
    const outcome = await this.#ticker.kick();
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
    await this.#calls.maintenance(enable, reason);
  }

  /**
   * Stops heartbeats and deregisters the service (after the drain, when one is configured).
   * Idempotent: every call returns the same promise. Failures are logged, emitted as `error`,
   * and reject the promise after everything else was cleaned up.
   */
  stop(options: StopRegistrationOptions = {}): Promise<void> {
    try {
      checkOptionKeys(options, STOP_REGISTRATION_OPTION_KEYS, 'stop()');
    } catch (error) {
      return Promise.reject(error as Error);
    }
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

  async #shutdown(drain: boolean): Promise<void> {
    const registered = this.#state === 'active';
    const starting = this.#state === 'starting';
    this.#state = 'stopping';
    this.#ticker.halt();
    this.#stopRequested.abort();
    if (starting) await this.#startWork;
    this.#calls.cancel(new ClosedError(`the registration of ${this.id} was stopped`));
    await this.#ticker.settle();

    let errors: unknown[] = [];
    if (this.#calls.registerAttempted) {
      errors = await drainAndDeregister({
        agent: this.#host.agent,
        logger: this.#host.logger,
        serviceId: this.id,
        checkId: this.checkId,
        call: this.#calls.stopCall(),
        drain: drain && registered ? this.#options.drain : undefined,
        report: (error, message, level) => this.#report(error, message, level),
        onDraining: (event) => this.#emitSafely('draining', event),
      });
    }
    this.#state = 'stopped';
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    if (errors.length > 0) throw errors[0];
    if (this.#calls.registerAttempted) {
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
