/**
 * The heartbeated TTL check a session can be bound to for fast failover (see
 * {@link HeartbeatOptions}).
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import type { AgentServiceRegistration } from '../../api/agent/agent-types.js';
import { formatDuration } from '../../duration.js';
import type { CallOptions } from '../../transport/types.js';
import type { ResolvedHeartbeat } from './session-options.js';

/** The agent endpoints a heartbeat check needs (structurally `consul.agent`). */
export interface HeartbeatAgent {
  readonly service: {
    register(definition: AgentServiceRegistration, options?: CallOptions): Promise<void>;
    deregister(serviceId: string, options?: CallOptions): Promise<void>;
  };
  readonly check: {
    pass(checkId: string, note?: string, options?: CallOptions): Promise<void>;
  };
}

/**
 * One heartbeat service instance with its TTL check. Consul reaps the instance a minute or
 * so after the check turned critical, so a crashed holder leaves nothing behind.
 */
export class HeartbeatCheck {
  /** Service instance ID, unique per session. */
  readonly serviceId: string;
  /** ID of the TTL check the session is bound to. */
  readonly checkId: string;
  readonly #agent: HeartbeatAgent;
  readonly #settings: ResolvedHeartbeat;
  readonly #token: string | undefined;

  constructor(agent: HeartbeatAgent, settings: ResolvedHeartbeat, token: string | undefined) {
    this.#agent = agent;
    this.#settings = settings;
    this.#token = token;
    this.serviceId = `${settings.serviceName}-${randomUUID()}`;
    this.checkId = `${this.serviceId}:ttl`;
  }

  /** TTL of the check, in milliseconds. */
  get ttlMs(): number {
    return this.#settings.ttlMs;
  }

  /** Time between heartbeats, in milliseconds. */
  get intervalMs(): number {
    return this.#settings.intervalMs;
  }

  /** Registers the instance with its check already passing (a session cannot bind to a critical check). */
  register(description: string, options: CallOptions): Promise<void> {
    return this.#agent.service.register(
      {
        ID: this.serviceId,
        Name: this.#settings.serviceName,
        Tags: ['consulkit'],
        Meta: { purpose: 'session-heartbeat' },
        Check: {
          CheckID: this.checkId,
          Name: `consulkit session heartbeat`,
          Notes: description,
          TTL: formatDuration(this.#settings.ttlMs),
          Status: 'passing',
          // Consul's minimum; the reaper runs every 30 s.
          DeregisterCriticalServiceAfter: '1m',
        },
      },
      this.#call(options),
    );
  }

  /** Sends one heartbeat. */
  pass(options: CallOptions): Promise<void> {
    return this.#agent.check.pass(this.checkId, undefined, this.#call(options));
  }

  /** Removes the instance and its check. */
  deregister(options: CallOptions): Promise<void> {
    return this.#agent.service.deregister(this.serviceId, this.#call(options));
  }

  #call(options: CallOptions): CallOptions {
    return this.#token === undefined ? options : { ...options, token: this.#token };
  }
}
