/**
 * The types a registration's parts share: what it needs from the client, and its events.
 * Public ones are re-exported by `registration.ts`.
 *
 * @packageDocumentation
 */
import type { Logger } from 'pino';
import type { AgentServiceRegistration } from '../../api/agent/agent-types.js';
import type { ClientResource } from '../../client.js';
import type { CallOptions } from '../../transport/types.js';
import type { CheckStatus } from './registration-options.js';

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

/** @internal Logs a background failure and emits it as `error`. */
export type ReportFailure = (error: unknown, message: string, level: 'debug' | 'warn' | 'error') => void;
