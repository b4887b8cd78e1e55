/**
 * `consul.healthReport()`: one snapshot for readiness and liveness endpoints. It asks the
 * agent one cheap question (who the Raft leader is) and reads everything else from what the
 * observability hooks tracked, so it can be polled every few seconds.
 *
 * @packageDocumentation
 */
import type { Duration } from '../duration.js';
import { ValidationError } from '../errors.js';
import { optionKeys } from '../options-check.js';
import { errorType } from './telemetry.js';
import type { TrackedState } from './tracked-state.js';

/** Options of `consul.healthReport()`. */
export interface ClientHealthReportOptions {
  /** Time bound of the agent probe. Default `'2s'`: a probe must answer faster than the prober's own timeout. */
  timeout?: Duration;
  /** Cancels the agent probe. */
  signal?: AbortSignal;
}

/** Every key of {@link ClientHealthReportOptions}: `healthReport()` refuses any other. */
export const HEALTH_REPORT_OPTION_KEYS = optionKeys<ClientHealthReportOptions>()(['timeout', 'signal']);

/** The agent, as the probe found it. */
export interface AgentHealth {
  /** The agent answered `/v1/status/leader`. */
  readonly reachable: boolean;
  /** The Raft leader's address; `undefined` when unreachable or when the cluster has none. */
  readonly leader: string | undefined;
  /** How long the probe took, in milliseconds. */
  readonly latencyMs: number;
  /** Why it is unreachable: the error's code (`timeout`, `unavailable`, `permission_denied`…) and message. */
  readonly error?: { readonly type: string; readonly message: string };
}

/** A service registration of this client. */
export interface RegistrationHealth {
  readonly serviceId: string;
  /** When the agent last accepted a heartbeat (or the registration itself). ISO 8601. */
  readonly lastHeartbeatAt: string;
  /** Milliseconds since then. */
  readonly sinceLastHeartbeatMs: number;
  /** Heartbeats that failed since then; above 0 the registration is failing. */
  readonly failuresInARow: number;
  /** The last failure, while failing. */
  readonly lastError?: string;
}

/** A lock, semaphore slot or leadership this client holds. */
export interface HeldHealth {
  readonly kind: 'lock' | 'semaphore' | 'election';
  /** The lock key, the semaphore prefix or the election key. */
  readonly key: string;
  /** The fencing token, as a decimal string (JSON has no bigint). */
  readonly fencingToken: string;
  /** Milliseconds it has been held. */
  readonly heldForMs: number;
}

/** A watch loop whose reads are failing (it keeps retrying with backoff). */
export interface FailingWatchHealth {
  /** The query in words (never the token). */
  readonly query: string;
  readonly kind: string;
  /** Milliseconds since its first failure in a row. */
  readonly failingForMs: number;
  readonly failures: number;
  readonly lastError: string;
}

/** The snapshot `consul.healthReport()` resolves to. It serializes with `JSON.stringify`. */
export interface ClientHealthReport {
  /**
   * The agent answered with a known leader, no registration's heartbeat is failing and no
   * watch is failing. A readiness probe can answer 200/503 on this alone.
   */
  readonly healthy: boolean;
  /** When the report was made. ISO 8601. */
  readonly checkedAt: string;
  readonly agent: AgentHealth;
  readonly registrations: readonly RegistrationHealth[];
  readonly held: readonly HeldHealth[];
  readonly watches: {
    /** Blocking loops running. */
    readonly loops: number;
    readonly failing: readonly FailingWatchHealth[];
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Builds the report from the probe's outcome and the tracked state.
 *
 * @param probe - asks the agent for the Raft leader; rejects when it cannot be reached
 * @param loops - blocking loops running now
 * @param signal - the caller's: when it aborts the probe, the report is abandoned, not made
 * @throws ValidationError for bad probe options; the signal's reason when it aborted
 */
export async function buildHealthReport(
  state: TrackedState,
  probe: () => Promise<string>,
  loops: number,
  signal?: AbortSignal,
): Promise<ClientHealthReport> {
  const started = performance.now();
  let agent: AgentHealth;
  try {
    const leader = await probe();
    agent = {
      reachable: true,
      leader: leader === '' ? undefined : leader,
      latencyMs: performance.now() - started,
    };
  } catch (error) {
    // Bad options and the caller's own cancel are the caller's business, not the agent's health.
    if (error instanceof ValidationError) throw error;
    if (signal?.aborted) throw signal.reason;
    agent = {
      reachable: false,
      leader: undefined,
      latencyMs: performance.now() - started,
      error: { type: errorType(error), message: describe(error) },
    };
  }
  const now = performance.now();
  const registrations = state.liveRegistrations().map((record): RegistrationHealth => ({
    serviceId: record.serviceId,
    lastHeartbeatAt: record.lastGoodDate.toISOString(),
    sinceLastHeartbeatMs: now - record.lastGoodAt,
    failuresInARow: record.failuresInARow,
    ...(record.failuresInARow > 0 && { lastError: describe(record.lastError) }),
  }));
  const held = [...state.held.values()].map((record): HeldHealth => ({
    kind: record.kind,
    key: record.key,
    fencingToken: record.fencingToken.toString(),
    heldForMs: now - record.since,
  }));
  const failing = [...state.failingWatches.values()].map((record): FailingWatchHealth => ({
    query: record.query,
    kind: record.kind,
    failingForMs: now - record.since,
    failures: record.failures,
    lastError: record.lastError.message,
  }));
  const healthy =
    agent.reachable &&
    agent.leader !== undefined &&
    registrations.every((registration) => registration.failuresInARow === 0) &&
    failing.length === 0;
  return {
    healthy,
    checkedAt: new Date().toISOString(),
    agent,
    registrations,
    held,
    watches: { loops, failing },
  };
}
