/**
 * Options of {@link Consul.registerService} (camelCase, the high-level layer) and their
 * explicit translation into the agent's wire-shaped service definition. Everything here is
 * pure so that every rule is unit-tested without an agent.
 *
 * @packageDocumentation
 */
import type { AgentServiceCheck, AgentServiceRegistration } from '../../api/agent/agent-types.js';
import { validateServiceMeta, validateTags } from '../../api/agent/agent-services.js';
import { boundedDuration, formatDuration, toMilliseconds, type Duration } from '../../duration.js';
import { ValidationError } from '../../errors.js';
import { checkOptionKeys, optionKeys } from '../../options-check.js';

/** Status of a Consul health check. */
export type CheckStatus = 'passing' | 'warning' | 'critical';

/** What a {@link HealthFunction} reports: a status alone, or a status with a note. */
export type HealthReport = CheckStatus | { status: CheckStatus; note?: string };

/**
 * Decides the status sent with each heartbeat. May be async. A function that throws, rejects,
 * returns something else than a {@link HealthReport}, or takes longer than `healthTimeout`
 * reports `critical`, with the reason as the note. The signal is aborted when that time is up.
 */
export type HealthFunction = (signal: AbortSignal) => HealthReport | Promise<HealthReport>;

/** An extra check the agent runs itself, beside the TTL check that heartbeats feed. */
export interface ExtraCheckOptions {
  /** Check ID, unique on the agent. Default: Consul's `service:<serviceId>:<n>`. */
  id?: string;
  /** Display name. Default: Consul's. */
  name?: string;
  /** URL the agent GETs (or sends `method` to); 2xx is passing, 429 warning, anything else critical. Exactly one of `http` and `tcp`. */
  http?: string;
  /** HTTP method of an `http` check. Default `GET`. */
  method?: string;
  /** Headers of an `http` check. */
  header?: Readonly<Record<string, readonly string[]>>;
  /** Skip TLS verification of an `https` URL. Default false. */
  tlsSkipVerify?: boolean;
  /** `host:port` the agent connects to; a connection is passing. Exactly one of `http` and `tcp`. */
  tcp?: string;
  /** How often the agent runs the check (Consul's minimum is 1s). Required. */
  interval: Duration;
  /** Time bound of one run. Default: Consul's (10s). */
  timeout?: Duration;
  /** Free text for operators. */
  notes?: string;
  /** Status until the first run. Default: Consul's (`critical`). */
  status?: CheckStatus;
  /**
   * Consul deregisters the whole service once this check has been critical that long. Off by
   * default for extra checks: the TTL check already carries the registration's backstop.
   */
  deregisterCriticalServiceAfter?: Duration;
}

/** Graceful drain before deregistering, so that load balancers stop routing first. */
export interface DrainOptions {
  /** How long to stay registered but unroutable before deregistering. Required. */
  delay: Duration;
  /**
   * How to become unroutable: `critical` sets the TTL check critical (default);
   * `maintenance` puts the service in maintenance mode (a separate critical check, which
   * operators see labelled as maintenance).
   */
  mode?: 'critical' | 'maintenance';
  /** Note shown on the check (or maintenance reason) while draining. Default `'draining'`. */
  note?: string;
}

/** Options of {@link Consul.registerService}. Durations accept `'15s'` or milliseconds. */
export interface RegisterServiceOptions {
  /** Service name; instances of one service share it. Must not contain `/`. Required. */
  name: string;
  /**
   * Service ID, unique on the agent. Default: `<name>-<hostname>-<pid>-<6 hex>`, stable for
   * this registration (re-registrations reuse it) and unique per instance.
   */
  id?: string;
  /** Address other services should use. Default: the agent's node address. */
  address?: string;
  /** Port, 1–65535. Default: none. */
  port?: number;
  /** Tags. */
  tags?: readonly string[];
  /** Metadata: at most 64 pairs; keys of letters, digits, `_` and `-`, up to 128 characters, not starting with `consul-`; values up to 512 characters. */
  meta?: Readonly<Record<string, string>>;
  /** DNS SRV weights and the balancer's `weighted` strategy. Default: Consul's `{ passing: 1, warning: 1 }`. */
  weights?: { passing: number; warning: number };
  /** Let anti-entropy keep tags changed in the catalog by others. Default false. */
  enableTagOverride?: boolean;
  /**
   * TTL of the heartbeat check: Consul sets it critical when no heartbeat arrived for that
   * long. Default `'15s'`; at least `'1s'`, at most `'24h'`.
   */
  ttl?: Duration;
  /**
   * Time between heartbeats. Default: a third of `ttl`, so two may be lost before the TTL
   * runs out. Must be below `ttl`. Each wait is shortened by up to 10 % at random.
   */
  heartbeatInterval?: Duration;
  /** Decides each heartbeat's status. Default: always `passing`. */
  health?: HealthFunction;
  /** Time bound of one `health()` call. Default: half of `heartbeatInterval`; must be below it. */
  healthTimeout?: Duration;
  /** Checks the agent runs itself beside the TTL check (HTTP or TCP). */
  checks?: readonly ExtraCheckOptions[];
  /**
   * Backstop for a process that dies without deregistering: Consul removes the service once
   * its TTL check has been critical this long. Default `'1m'`, Consul's minimum (its reaper
   * runs every 30 s, so removal comes 1m–1m30s after the TTL expired). `false` turns it off.
   * A `health()` that stays critical that long gets the service reaped too; the registration
   * then registers it again (reason `agent-forgot`).
   */
  deregisterCriticalServiceAfter?: Duration | false;
  /** Drain before deregistering, on {@link ServiceRegistration.stop} and on signals. Default: none. */
  drain?: DrainOptions;
  /**
   * Deregister when the process receives these signals. `true` (default) means SIGTERM and
   * SIGINT; `false` leaves signals alone. When the application has no listener of its own
   * for the signal (signal-exit's do not count), consulkit re-raises it after deregistering,
   * so the process ends exactly as it would have; when the application has listeners of its
   * own (`process.on` or `process.once`), exiting is left to them.
   */
  handleSignals?: boolean | readonly NodeJS.Signals[];
  /** Time bound of each call made while stopping (drain mark, deregistration). Default `'10s'`. */
  stopTimeout?: Duration;
  /**
   * How long `registerService` keeps trying while the agent cannot be reached at all
   * (connection refused or reset, no answer in time), as when the process starts before its
   * local agent under systemd or in a pod. Default: no limit; the wait is logged (a warning
   * at once, then every 30 s) and `signal` cancels it. Once the time is up (a call in flight is
   * cut then) it rejects with a `TimeoutError` whose cause is the last failure, after
   * withdrawing a registration that may have reached the agent (bounded by `stopTimeout`). An agent that answers with a refusal
   * (403, a definition it rejects) fails the call at once, whatever this says.
   */
  startTimeout?: Duration;
  /** ACL token for this registration's calls. Default: the client's. Needs `service "<name>" { policy = "write" }`. */
  token?: string;
  /** Aborting it stops the registration (deregisters), and rejects a registration still in progress. */
  signal?: AbortSignal;
}

/** Every key of {@link RegisterServiceOptions}. */
export const REGISTER_SERVICE_OPTION_KEYS = optionKeys<RegisterServiceOptions>()([
  'name',
  'id',
  'address',
  'port',
  'tags',
  'meta',
  'weights',
  'enableTagOverride',
  'ttl',
  'heartbeatInterval',
  'health',
  'healthTimeout',
  'checks',
  'deregisterCriticalServiceAfter',
  'drain',
  'handleSignals',
  'stopTimeout',
  'startTimeout',
  'token',
  'signal',
]);

/** Every key of {@link ExtraCheckOptions}. */
export const EXTRA_CHECK_OPTION_KEYS = optionKeys<ExtraCheckOptions>()([
  'id',
  'name',
  'http',
  'method',
  'header',
  'tlsSkipVerify',
  'tcp',
  'interval',
  'timeout',
  'notes',
  'status',
  'deregisterCriticalServiceAfter',
]);

/** Every key of {@link DrainOptions}. */
export const DRAIN_OPTION_KEYS = optionKeys<DrainOptions>()(['delay', 'mode', 'note']);

/** Every key of {@link RegisterServiceOptions.weights}. */
export const WEIGHTS_OPTION_KEYS = optionKeys<NonNullable<RegisterServiceOptions['weights']>>()([
  'passing',
  'warning',
]);

/** Refuses unknown keys in the options of `registerService()` and in its nested option objects. */
function checkRegistrationOptionKeys(options: RegisterServiceOptions): void {
  const where = 'registerService()';
  checkOptionKeys(options, REGISTER_SERVICE_OPTION_KEYS, where);
  if (options === null || typeof options !== 'object') return;
  checkOptionKeys(options.weights, WEIGHTS_OPTION_KEYS, where, 'weights');
  checkOptionKeys(options.drain, DRAIN_OPTION_KEYS, where, 'drain');
  if (Array.isArray(options.checks)) {
    options.checks.forEach((check: unknown, index) =>
      checkOptionKeys(check, EXTRA_CHECK_OPTION_KEYS, where, `checks[${index}]`),
    );
  }
}

/** Default TTL of the heartbeat check. */
export const DEFAULT_REGISTRATION_TTL = '15s';
/** Default for {@link RegisterServiceOptions.deregisterCriticalServiceAfter}. */
export const DEFAULT_DEREGISTER_CRITICAL_AFTER = '1m';
/** Shortest TTL accepted; below it heartbeats would be a busy loop. */
export const MIN_REGISTRATION_TTL_MS = 1_000;
/** Longest TTL accepted (timers and Consul alike handle it comfortably). */
export const MAX_REGISTRATION_TTL_MS = 86_400_000;
/** Consul raises any shorter `DeregisterCriticalServiceAfter` to one minute (with a warning in its log). */
export const MIN_DEREGISTER_CRITICAL_AFTER_MS = 60_000;
/** Consul keeps at most this much of a check's output by default (`check_output_max_size`). */
export const MAX_CHECK_OUTPUT_LENGTH = 4096;
/** Signals handled when {@link RegisterServiceOptions.handleSignals} is `true`. */
export const DEFAULT_TERMINATION_SIGNALS: readonly NodeJS.Signals[] = Object.freeze(['SIGTERM', 'SIGINT']);

/** What makes a default service ID unique: supplied by the caller so tests can fix it. */
export interface InstanceIdentity {
  hostname: string;
  pid: number;
  /** A few random hex characters. */
  random: string;
}

/** Validated options, with defaults applied and the wire definition built. */
export interface ResolvedRegistrationOptions {
  name: string;
  serviceId: string;
  /** ID of the TTL check heartbeats update. */
  checkId: string;
  /** Body of `PUT /v1/agent/service/register`. */
  definition: AgentServiceRegistration;
  ttlMs: number;
  intervalMs: number;
  healthTimeoutMs: number;
  drain: { delayMs: number; mode: 'critical' | 'maintenance'; note: string } | undefined;
  signals: readonly NodeJS.Signals[];
  stopTimeoutMs: number;
  /** Longest wait for an unreachable agent at start; undefined: no limit. */
  startTimeoutMs: number | undefined;
  token: string | undefined;
}

const STATUSES: readonly string[] = ['passing', 'warning', 'critical'];

function isCheckStatus(value: unknown): value is CheckStatus {
  return typeof value === 'string' && STATUSES.includes(value);
}

function requireId(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(field, 'is required and must be a non-empty string');
  }
  // Service and check IDs travel as path segments (/v1/agent/check/update/<id>).
  if (value.includes('/')) throw new ValidationError(field, `'${value}' must not contain '/'`);
  // A control character would reach Consul's catalog and every DNS and health lookup of the
  // service; no service name or ID legitimately holds one.
  if (CONTROL_CHARACTER.test(value)) {
    throw new ValidationError(field, `${JSON.stringify(value)} must not contain control characters`);
  }
  return value;
}

// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

function optionalString(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new ValidationError(field, 'must be a non-empty string');
  return value;
}

function validatePort(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65_535) {
    throw new ValidationError('port', `expected an integer from 1 to 65535, got ${String(value)}`);
  }
  return value;
}

function validateWeights(
  value: RegisterServiceOptions['weights'] | undefined,
): AgentServiceRegistration['Weights'] {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object')
    throw new ValidationError('weights', 'must be { passing, warning }');
  const { passing, warning } = value;
  if (!Number.isInteger(passing) || passing < 1) {
    throw new ValidationError('weights.passing', `expected an integer of at least 1, got ${String(passing)}`);
  }
  if (!Number.isInteger(warning) || warning < 0) {
    throw new ValidationError('weights.warning', `expected a non-negative integer, got ${String(warning)}`);
  }
  return { Passing: passing, Warning: warning };
}

function extraCheck(check: ExtraCheckOptions, index: number): AgentServiceCheck {
  const field = `checks[${index}]`;
  if (check === null || typeof check !== 'object') throw new ValidationError(field, 'must be an object');
  const hasHttp = check.http !== undefined;
  const hasTcp = check.tcp !== undefined;
  if (hasHttp === hasTcp) throw new ValidationError(field, 'needs exactly one of http and tcp');
  if (check.interval === undefined) throw new ValidationError(`${field}.interval`, 'is required');
  const wire: AgentServiceCheck = {
    Interval: formatDuration(
      boundedDuration(check.interval, `${field}.interval`, 1_000, MAX_REGISTRATION_TTL_MS),
    ),
  };
  if (check.id !== undefined) wire.CheckID = requireId(`${field}.id`, check.id);
  const name = optionalString(`${field}.name`, check.name);
  if (name !== undefined) wire.Name = name;
  if (hasHttp) {
    const url = optionalString(`${field}.http`, check.http) as string;
    if (!/^https?:\/\//.test(url))
      throw new ValidationError(`${field}.http`, `'${url}' is not an http(s) URL`);
    wire.HTTP = url;
    const method = optionalString(`${field}.method`, check.method);
    if (method !== undefined) wire.Method = method;
    if (check.header !== undefined) {
      wire.Header = Object.fromEntries(
        Object.entries(check.header).map(([key, values]) => [key, [...values]]),
      );
    }
    if (check.tlsSkipVerify !== undefined) wire.TLSSkipVerify = check.tlsSkipVerify;
  } else {
    const address = optionalString(`${field}.tcp`, check.tcp) as string;
    if (!/^.+:\d+$/.test(address)) throw new ValidationError(`${field}.tcp`, `'${address}' is not host:port`);
    wire.TCP = address;
  }
  if (check.timeout !== undefined)
    wire.Timeout = formatDuration(toMilliseconds(check.timeout, `${field}.timeout`));
  if (check.notes !== undefined) wire.Notes = check.notes;
  if (check.status !== undefined) {
    if (!isCheckStatus(check.status)) {
      throw new ValidationError(
        `${field}.status`,
        `'${String(check.status)}' is not passing, warning or critical`,
      );
    }
    wire.Status = check.status;
  }
  if (check.deregisterCriticalServiceAfter !== undefined) {
    wire.DeregisterCriticalServiceAfter = formatDuration(
      boundedDuration(
        check.deregisterCriticalServiceAfter,
        `${field}.deregisterCriticalServiceAfter`,
        MIN_DEREGISTER_CRITICAL_AFTER_MS,
        Number.MAX_SAFE_INTEGER,
      ),
    );
  }
  return wire;
}

function sanitizeForId(value: string): string {
  return value.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '') || 'host';
}

function resolveSignals(value: RegisterServiceOptions['handleSignals']): readonly NodeJS.Signals[] {
  if (value === undefined || value === true) return DEFAULT_TERMINATION_SIGNALS;
  if (value === false) return [];
  if (
    !Array.isArray(value) ||
    value.some((signal) => typeof signal !== 'string' || !/^SIG[A-Z0-9]+$/.test(signal))
  ) {
    throw new ValidationError(
      'handleSignals',
      'must be a boolean or an array of signal names such as SIGTERM',
    );
  }
  if (value.includes('SIGKILL') || value.includes('SIGSTOP')) {
    throw new ValidationError('handleSignals', 'SIGKILL and SIGSTOP cannot be handled');
  }
  return Object.freeze([...new Set(value)]);
}

/**
 * Validates {@link RegisterServiceOptions}, applies defaults and builds the wire definition.
 * Never mutates `options`.
 *
 * @throws ValidationError for any bad option, before anything is sent to Consul
 */
export function resolveRegistrationOptions(
  options: RegisterServiceOptions,
  identity: InstanceIdentity,
): ResolvedRegistrationOptions {
  checkRegistrationOptionKeys(options);
  if (options === null || typeof options !== 'object')
    throw new ValidationError('options', 'must be an object');
  const name = requireId('name', options.name);
  const serviceId =
    options.id === undefined
      ? `${name}-${sanitizeForId(identity.hostname)}-${identity.pid}-${identity.random}`
      : requireId('id', options.id);

  const ttlMs = boundedDuration(
    options.ttl ?? DEFAULT_REGISTRATION_TTL,
    'ttl',
    MIN_REGISTRATION_TTL_MS,
    MAX_REGISTRATION_TTL_MS,
  );
  const intervalMs =
    options.heartbeatInterval === undefined
      ? Math.floor(ttlMs / 3)
      : toMilliseconds(options.heartbeatInterval, 'heartbeatInterval');
  if (intervalMs < 100 || intervalMs >= ttlMs) {
    throw new ValidationError(
      'heartbeatInterval',
      `${formatDuration(intervalMs)} must be at least 100ms and below the ttl (${formatDuration(ttlMs)})`,
    );
  }
  const healthTimeoutMs =
    options.healthTimeout === undefined
      ? Math.floor(intervalMs / 2)
      : toMilliseconds(options.healthTimeout, 'healthTimeout');
  if (healthTimeoutMs <= 0 || healthTimeoutMs >= intervalMs) {
    throw new ValidationError(
      'healthTimeout',
      `${formatDuration(healthTimeoutMs)} must be above zero and below the heartbeat interval (${formatDuration(intervalMs)})`,
    );
  }
  if (options.health !== undefined && typeof options.health !== 'function') {
    throw new ValidationError('health', 'must be a function');
  }

  const checkId = `service:${serviceId}:ttl`;
  const ttlCheck: AgentServiceCheck = {
    CheckID: checkId,
    Name: `Service '${name}' TTL heartbeat`,
    TTL: formatDuration(ttlMs),
    Notes: 'Heartbeats sent by the service itself (consulkit)',
  };
  const deregisterAfter = options.deregisterCriticalServiceAfter ?? DEFAULT_DEREGISTER_CRITICAL_AFTER;
  if (deregisterAfter !== false) {
    ttlCheck.DeregisterCriticalServiceAfter = formatDuration(
      boundedDuration(
        deregisterAfter,
        'deregisterCriticalServiceAfter',
        MIN_DEREGISTER_CRITICAL_AFTER_MS,
        Number.MAX_SAFE_INTEGER,
      ),
    );
  }
  if (options.checks !== undefined && !Array.isArray(options.checks)) {
    throw new ValidationError('checks', 'must be an array');
  }
  const extra = (options.checks ?? []).map(extraCheck);
  for (const check of extra) {
    if (check.CheckID === checkId)
      throw new ValidationError('checks', `check ID '${checkId}' is the TTL check's`);
  }

  const definition: AgentServiceRegistration = { Name: name, ID: serviceId, Checks: [ttlCheck, ...extra] };
  const address = optionalString('address', options.address);
  if (address !== undefined) definition.Address = address;
  const port = validatePort(options.port);
  if (port !== undefined) definition.Port = port;
  if (options.tags !== undefined) definition.Tags = [...validateTags('tags', options.tags)];
  if (options.meta !== undefined) definition.Meta = { ...validateServiceMeta('meta', options.meta) };
  const weights = validateWeights(options.weights);
  if (weights !== undefined) definition.Weights = weights;
  if (options.enableTagOverride !== undefined)
    definition.EnableTagOverride = options.enableTagOverride === true;

  let drain: ResolvedRegistrationOptions['drain'];
  if (options.drain !== undefined) {
    if (options.drain === null || typeof options.drain !== 'object') {
      throw new ValidationError('drain', 'must be { delay, mode?, note? }');
    }
    const mode = options.drain.mode ?? 'critical';
    if (mode !== 'critical' && mode !== 'maintenance') {
      throw new ValidationError('drain.mode', `'${String(mode)}' is not critical or maintenance`);
    }
    if (options.drain.delay === undefined) throw new ValidationError('drain.delay', 'is required');
    drain = {
      delayMs: boundedDuration(options.drain.delay, 'drain.delay', 0, MAX_REGISTRATION_TTL_MS),
      mode,
      note: options.drain.note ?? 'draining',
    };
  }

  const stopTimeoutMs = toMilliseconds(options.stopTimeout ?? '10s', 'stopTimeout');
  if (stopTimeoutMs <= 0) throw new ValidationError('stopTimeout', 'must be greater than zero');
  const startTimeoutMs =
    options.startTimeout === undefined ? undefined : toMilliseconds(options.startTimeout, 'startTimeout');
  if (startTimeoutMs !== undefined && startTimeoutMs <= 0)
    throw new ValidationError('startTimeout', 'must be greater than zero');
  const token = optionalString('token', options.token);

  return {
    name,
    serviceId,
    checkId,
    definition,
    ttlMs,
    intervalMs,
    healthTimeoutMs,
    drain,
    signals: resolveSignals(options.handleSignals),
    stopTimeoutMs,
    startTimeoutMs,
    token,
  };
}

/**
 * Turns whatever a {@link HealthFunction} returned into a status and a note. Anything that is
 * not a {@link HealthReport} is critical, so that a bug in `health()` cannot look healthy.
 */
export function normalizeHealthReport(report: unknown): { status: CheckStatus; note: string } {
  if (isCheckStatus(report)) return { status: report, note: '' };
  if (
    report !== null &&
    typeof report === 'object' &&
    isCheckStatus((report as { status?: unknown }).status)
  ) {
    const { status, note } = report as { status: CheckStatus; note?: unknown };
    return { status, note: truncateNote(note === undefined ? '' : String(note)) };
  }
  let shown: string;
  try {
    shown = JSON.stringify(report) ?? String(report);
  } catch {
    shown = String(report);
  }
  return {
    status: 'critical',
    note: truncateNote(`health() returned ${shown}, not passing, warning or critical`),
  };
}

/** Keeps a note within what Consul stores as check output. */
export function truncateNote(note: string): string {
  return note.length <= MAX_CHECK_OUTPUT_LENGTH ? note : `${note.slice(0, MAX_CHECK_OUTPUT_LENGTH - 1)}…`;
}

/** Whether a value is a {@link CheckStatus}. */
export { isCheckStatus };
