/**
 * The agent calls a registration makes while it runs (register, heartbeat, maintenance, the
 * "does the agent still know it" probe), with the call options and the few facts the other
 * parts read back: whether anything may have been registered, the last heartbeat, the
 * maintenance mode to restore.
 *
 * @packageDocumentation
 */
import type { Logger } from 'pino';
import {
  ConsulHttpError,
  ConsulUnavailableError,
  NotFoundError,
  PermissionDeniedError,
  TimeoutError,
} from '../../errors.js';
import type { CallOptions } from '../../transport/types.js';
import type { CheckStatus, ResolvedRegistrationOptions } from './registration-options.js';
import type {
  HeartbeatEvent,
  RegisteredEvent,
  RegisteredReason,
  RegistrationAgent,
} from './registration-types.js';

/** Retries while the agent cannot be reached start this far apart… */
export const RETRY_BASE_MS = 250;
/** …and happen at least this often. */
export const UNREACHABLE_RETRY_CAP_MS = 1_000;

/** Whether a failure means the agent could not be reached at all (as opposed to a refusal). */
export function isUnreachable(error: unknown): boolean {
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

/** @internal Where a successful call is announced (the registration emits it). */
export interface RegistrationCallEvents {
  registered(event: RegisteredEvent): void;
  heartbeat(event: HeartbeatEvent): void;
}

/** @internal The agent calls of one registration. */
export class RegistrationCalls {
  readonly #agent: RegistrationAgent;
  readonly #logger: Logger;
  readonly #options: ResolvedRegistrationOptions;
  readonly #events: RegistrationCallEvents;
  readonly #abort = new AbortController();
  /** While the start is bounded by startTimeout: stop's signal or the deadline, whichever fires first. */
  #startSignal: AbortSignal | undefined;
  #registerAttempted = false;
  #everRegistered = false;
  #maintenance: { reason: string | undefined } | undefined;
  #last: HeartbeatEvent | undefined;

  constructor(
    agent: RegistrationAgent,
    logger: Logger,
    options: ResolvedRegistrationOptions,
    events: RegistrationCallEvents,
  ) {
    this.#agent = agent;
    this.#logger = logger;
    this.#options = options;
    this.#events = events;
  }

  /** Whether a registration was sent that may have reached the agent (so stop must deregister). */
  get registerAttempted(): boolean {
    return this.#registerAttempted;
  }

  /** What the last successful heartbeat delivered. */
  get lastHeartbeat(): HeartbeatEvent | undefined {
    return this.#last;
  }

  /** Whether maintenance mode was turned on (and is restored after a re-registration). */
  get inMaintenance(): boolean {
    return this.#maintenance !== undefined;
  }

  /** Cancels the calls in flight and every later loop call. */
  cancel(reason: unknown): void {
    this.#abort.abort(reason);
  }

  /**
   * Bounds the calls of the start by `deadline` as well (undefined: unbound again): a call
   * in flight when `startTimeout` runs out is cut there, retries and all, so the start gives
   * up on time instead of one attempt late.
   */
  boundStart(deadline: AbortSignal | undefined): void {
    this.#startSignal = deadline === undefined ? undefined : AbortSignal.any([this.#abort.signal, deadline]);
  }

  /** Options of calls made by the loop: cancelled by stop, bounded by one interval. */
  loopCall(): CallOptions {
    return {
      signal: this.#startSignal ?? this.#abort.signal,
      timeout: Math.max(1_000, this.#options.intervalMs),
      ...(this.#options.token !== undefined && { token: this.#options.token }),
    };
  }

  /** Options of calls made while stopping: not cancelled (stop must finish), bounded by stopTimeout. */
  stopCall(): CallOptions {
    return {
      timeout: this.#options.stopTimeoutMs,
      ...(this.#options.token !== undefined && { token: this.#options.token }),
    };
  }

  /**
   * Registers the service with its TTL check already in `status`, so that the agent's first
   * sync to the catalog carries the right health, and watchers never see a fresh instance
   * flap through critical. The heartbeat that follows adds the note (which the catalog picks
   * up with the next status change or `check_update_interval`, as Consul defers note-only
   * updates).
   */
  async register(reason: RegisteredReason, status: CheckStatus): Promise<void> {
    this.#registerAttempted = true;
    const { definition, serviceId } = this.#options;
    const [ttlCheck, ...extra] = definition.Checks ?? [];
    const withStatus = { ...definition, Checks: [{ ...ttlCheck, Status: status }, ...extra] };
    try {
      await this.#agent.service.register(withStatus, this.loopCall());
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
      await this.#agent.service.maintenance(serviceId, true, this.#maintenance.reason, this.loopCall());
    }
    const level = reason === 'initial' ? 'debug' : 'info';
    this.#logger[level]({ serviceId, reason }, 'consulkit: service registered');
    this.#events.registered({ reason, serviceId });
  }

  /** Sets the TTL check to what `report` says. */
  async heartbeat(report: HeartbeatEvent): Promise<void> {
    await this.#agent.check.update(this.#options.checkId, report.status, report.note, this.loopCall());
    this.#last = report;
    this.#events.heartbeat(report);
  }

  /** Turns the agent's maintenance mode for the service on or off, and remembers it. */
  async maintenance(enable: boolean, reason: string | undefined): Promise<void> {
    await this.#agent.service.maintenance(this.#options.serviceId, enable, reason, this.loopCall());
    this.#maintenance = enable ? { reason } : undefined;
  }

  /**
   * Whether a failed heartbeat means the agent no longer has the service. A 404 says so;
   * Consul 1.8 answers other statuses for an unknown TTL check (e.g. 500 "CheckID … does not
   * have associated TTL"), so for any other refusal the agent itself is asked, rather
   * than the wording of a message: `GET /v1/agent/service/<id>` answers 404 once it is gone.
   *
   * @throws the probe's own failure (the caller decides whether to report it)
   */
  async agentForgot(error: unknown): Promise<boolean> {
    if (error instanceof NotFoundError) return true;
    if (!(error instanceof ConsulHttpError) || error instanceof PermissionDeniedError) return false;
    return (await this.#agent.service.get(this.#options.serviceId, this.loopCall())) === undefined;
  }
}
