/**
 * Wire types of health checks as the catalog and the agent report them.
 *
 * @packageDocumentation
 */

/** The status of a health check. */
export type HealthStatus = 'passing' | 'warning' | 'critical';

/** The statuses {@link HealthStatus} allows, in order of severity. */
export const HEALTH_STATUSES: readonly HealthStatus[] = Object.freeze(['passing', 'warning', 'critical']);

/** What `/v1/health/state/:state` accepts: a check status, or `any`. */
export type HealthState = HealthStatus | 'any';

/** The states {@link HealthState} allows. */
export const HEALTH_STATES: readonly HealthState[] = Object.freeze(['any', 'passing', 'warning', 'critical']);

/** Whether a value is a {@link HealthStatus}. */
export function isHealthStatus(value: unknown): value is HealthStatus {
  return value === 'passing' || value === 'warning' || value === 'critical';
}

/**
 * How a check runs, as Consul reports it (durations as Go duration strings). Only the fields
 * of the check's own kind are set.
 */
export interface HealthCheckDefinition {
  /** URL of an HTTP check. */
  HTTP?: string;
  /** Whether an HTTP/gRPC check skips TLS verification. */
  TLSSkipVerify?: boolean;
  /** Request headers of an HTTP check. */
  Header?: Record<string, string[]>;
  /** Request method of an HTTP check. */
  Method?: string;
  /** Request body of an HTTP check. */
  Body?: string;
  /** `host:port` of a TCP check. */
  TCP?: string;
  /** How often the check runs, e.g. `'10s'`. */
  Interval?: string;
  /** Time bound of one run, e.g. `'1s'`. */
  Timeout?: string;
  /** How long the check may stay critical before Consul deregisters its service. */
  DeregisterCriticalServiceAfter?: string;
}

/** A health check as the catalog (`/v1/health/*`) and the agent (`/v1/agent/checks`) report it. */
export interface HealthCheck {
  /** Node the check belongs to. */
  Node: string;
  /** Check ID, unique on its node (e.g. `serfHealth`, `service:web1`, `_node_maintenance`). */
  CheckID: string;
  /** Human-readable name. */
  Name: string;
  /** Current status. */
  Status: HealthStatus;
  /** Free-form notes given at registration (the reason, for maintenance checks). */
  Notes: string;
  /** Output of the last run (or the note of the last TTL update). */
  Output: string;
  /** ID of the service the check belongs to; `''` for a node check. */
  ServiceID: string;
  /** Name of that service; `''` for a node check. */
  ServiceName: string;
  /** Tags of that service. */
  ServiceTags: string[] | null;
  /** Kind of check: `ttl`, `http`, `tcp`, `grpc`, `script`, `docker`, `alias`, `maintenance`, or `''` for serfHealth. */
  Type: string;
  /** How the check runs. */
  Definition?: HealthCheckDefinition;
  /** Raft index of creation (0 in agent-local answers). */
  CreateIndex: bigint;
  /** Raft index of the last change (0 in agent-local answers). */
  ModifyIndex: bigint;
  /** Namespace (Consul Enterprise). */
  Namespace?: string;
}
