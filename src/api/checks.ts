/**
 * Check definitions: validation of wire-shaped checks, and the `Check` builders that make
 * them (`Check.ttl('15s')`, `Check.http(url, '10s')`, …).
 *
 * The rules follow Consul's own `CheckType.Validate` (agent/structs/check_type.go): a check
 * has exactly one kind, script/HTTP/TCP/gRPC/Docker checks need an interval, and a TTL
 * check must not have one. consulkit also refuses fields that belong to another kind (a
 * `Method` on a TCP check), which Consul would silently ignore.
 *
 * @packageDocumentation
 */
import { formatDuration, toMilliseconds, type Duration } from '../duration.js';
import { ValidationError } from '../errors.js';
import type { AgentServiceCheck } from './agent/agent-types.js';
import { isHealthStatus, type HealthStatus } from './health/health-types.js';

/** The kinds of check Consul runs. */
export type CheckKind = 'ttl' | 'http' | 'tcp' | 'grpc' | 'script' | 'docker' | 'alias';

/** The fields that define how a check runs, shared by service checks and check registrations. */
export type CheckFields = Omit<AgentServiceCheck, 'CheckID' | 'Name'>;

const INTERVAL_KINDS: ReadonlySet<CheckKind> = new Set(['http', 'tcp', 'grpc', 'script', 'docker']);

// Fields that only make sense for some kinds; Consul ignores them elsewhere, which hides typos.
const KIND_ONLY_FIELDS: ReadonlyArray<readonly [keyof CheckFields, ReadonlySet<CheckKind>]> = [
  ['Method', new Set(['http'])],
  ['Header', new Set(['http'])],
  ['Body', new Set(['http'])],
  ['GRPCUseTLS', new Set(['grpc'])],
  ['TLSSkipVerify', new Set(['http', 'grpc'])],
  ['Shell', new Set(['docker'])],
  ['Timeout', INTERVAL_KINDS],
];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function nonEmptyString(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(field, 'must be a non-empty string');
  }
  return value;
}

function positiveDuration(field: string, value: Duration): string {
  const ms = toMilliseconds(value, field);
  if (ms <= 0) throw new ValidationError(field, 'must be greater than zero');
  return formatDuration(ms);
}

function nonNegativeInteger(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(field, `expected a non-negative integer, got ${String(value)}`);
  }
  return value;
}

/** Validates a port number: an integer from 0 to 65535. */
export function validatePort(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65_535) {
    throw new ValidationError(field, `expected an integer from 0 to 65535, got ${String(value)}`);
  }
  return value;
}

/** Validates a check status. */
export function validateStatus(field: string, value: unknown): HealthStatus {
  if (!isHealthStatus(value)) {
    throw new ValidationError(field, `'${String(value)}' is not passing, warning or critical`);
  }
  return value;
}

function validateHttpUrl(field: string, value: unknown): string {
  const url = nonEmptyString(field, value);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(field, `'${url}' is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ValidationError(field, `'${url}' must be an http:// or https:// URL`);
  }
  return url;
}

// Go's net.Dial form: host:port, with brackets around an IPv6 host.
const HOST_PORT = /^(?:\[[^\]\s]+\]|[^:\s[\]]+):(\d{1,5})$/;

function validateHostPort(field: string, value: unknown): string {
  const address = nonEmptyString(field, value);
  const match = HOST_PORT.exec(address);
  if (!match || Number(match[1]) > 65_535) {
    throw new ValidationError(field, `'${address}' is not host:port (IPv6 hosts in brackets)`);
  }
  return address;
}

function validateArgs(field: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((arg) => typeof arg !== 'string')) {
    throw new ValidationError(field, 'must be a non-empty array of strings (the command and its arguments)');
  }
  const args = value as string[];
  nonEmptyString(`${field}[0]`, args[0]);
  return [...args];
}

function validateHeader(field: string, value: unknown): Record<string, string[]> {
  if (!isPlainObject(value)) throw new ValidationError(field, 'must be an object of header name to string[]');
  const header: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(value)) {
    if (name === '') throw new ValidationError(field, 'header names must not be empty');
    if (!Array.isArray(values) || values.some((item) => typeof item !== 'string')) {
      throw new ValidationError(`${field}.${name}`, 'must be an array of strings');
    }
    header[name] = [...(values as string[])];
  }
  return header;
}

/**
 * Finds the one kind of a check.
 *
 * @throws ValidationError when the check has no kind or more than one
 */
export function checkKind(check: CheckFields, field = 'check'): CheckKind {
  const kinds: CheckKind[] = [];
  if (check.TTL !== undefined) kinds.push('ttl');
  if (check.HTTP !== undefined) kinds.push('http');
  if (check.TCP !== undefined) kinds.push('tcp');
  if (check.GRPC !== undefined) kinds.push('grpc');
  // Consul runs a Docker check's Args inside the container, so Args alone is a script check.
  if (check.DockerContainerID !== undefined) kinds.push('docker');
  else if (check.Args !== undefined) kinds.push('script');
  if (check.AliasService !== undefined || check.AliasNode !== undefined) kinds.push('alias');
  const [kind] = kinds;
  if (kind === undefined) {
    throw new ValidationError(
      field,
      'needs one of TTL, HTTP, TCP, GRPC, Args (script), DockerContainerID (with Args) or AliasService/AliasNode',
    );
  }
  if (kinds.length > 1) {
    throw new ValidationError(field, `mixes ${kinds.join(' and ')}; a check has exactly one kind`);
  }
  return kind;
}

/**
 * Validates the fields that define how a check runs and returns a copy with durations as
 * Consul strings.
 *
 * @param field - name of the check in error messages, e.g. `Checks[1]`
 * @throws ValidationError for a check without exactly one kind, a missing or unwanted
 *   interval, a malformed URL or address, a non-positive duration, an unknown status, or a
 *   field that belongs to another kind
 */
export function normalizeCheckFields(check: CheckFields, field = 'check'): CheckFields {
  if (!isPlainObject(check)) throw new ValidationError(field, 'must be an object');
  const kind = checkKind(check, field);
  const out: CheckFields = { ...check };

  for (const [name, kinds] of KIND_ONLY_FIELDS) {
    if (check[name] !== undefined && !kinds.has(kind)) {
      throw new ValidationError(`${field}.${name}`, `does not apply to a ${kind} check`);
    }
  }
  if (INTERVAL_KINDS.has(kind)) {
    if (check.Interval === undefined) {
      throw new ValidationError(`${field}.Interval`, `is required for a ${kind} check`);
    }
    out.Interval = positiveDuration(`${field}.Interval`, check.Interval);
  } else if (check.Interval !== undefined) {
    throw new ValidationError(`${field}.Interval`, `does not apply to a ${kind} check`);
  }

  switch (kind) {
    case 'ttl':
      out.TTL = positiveDuration(`${field}.TTL`, check.TTL as Duration);
      break;
    case 'http':
      validateHttpUrl(`${field}.HTTP`, check.HTTP);
      if (check.Method !== undefined) nonEmptyString(`${field}.Method`, check.Method);
      if (check.Header !== undefined) out.Header = validateHeader(`${field}.Header`, check.Header);
      if (check.Body !== undefined && typeof check.Body !== 'string') {
        throw new ValidationError(`${field}.Body`, 'must be a string');
      }
      break;
    case 'tcp':
      validateHostPort(`${field}.TCP`, check.TCP);
      break;
    case 'grpc':
      nonEmptyString(`${field}.GRPC`, check.GRPC);
      break;
    case 'script':
      out.Args = validateArgs(`${field}.Args`, check.Args);
      break;
    case 'docker':
      nonEmptyString(`${field}.DockerContainerID`, check.DockerContainerID);
      if (check.Args === undefined) {
        throw new ValidationError(`${field}.Args`, 'is required for a docker check (the command to run)');
      }
      out.Args = validateArgs(`${field}.Args`, check.Args);
      if (check.Shell !== undefined) nonEmptyString(`${field}.Shell`, check.Shell);
      break;
    case 'alias':
      if (check.AliasService !== undefined) nonEmptyString(`${field}.AliasService`, check.AliasService);
      if (check.AliasNode !== undefined) nonEmptyString(`${field}.AliasNode`, check.AliasNode);
      break;
  }

  if (check.Timeout !== undefined) out.Timeout = positiveDuration(`${field}.Timeout`, check.Timeout);
  if (check.DeregisterCriticalServiceAfter !== undefined) {
    out.DeregisterCriticalServiceAfter = positiveDuration(
      `${field}.DeregisterCriticalServiceAfter`,
      check.DeregisterCriticalServiceAfter,
    );
  }
  if (check.Status !== undefined) validateStatus(`${field}.Status`, check.Status);
  if (check.Notes !== undefined && typeof check.Notes !== 'string') {
    throw new ValidationError(`${field}.Notes`, 'must be a string');
  }
  for (const name of ['SuccessBeforePassing', 'FailuresBeforeCritical'] as const) {
    if (check[name] !== undefined) nonNegativeInteger(`${field}.${name}`, check[name]);
  }
  if (
    check.OutputMaxSize !== undefined &&
    nonNegativeInteger(`${field}.OutputMaxSize`, check.OutputMaxSize) === 0
  ) {
    throw new ValidationError(`${field}.OutputMaxSize`, 'must be greater than zero');
  }
  for (const name of ['GRPCUseTLS', 'TLSSkipVerify'] as const) {
    if (check[name] !== undefined && typeof check[name] !== 'boolean') {
      throw new ValidationError(`${field}.${name}`, 'must be a boolean');
    }
  }
  return out;
}

/**
 * Validates a service check (the `Check`/`Checks` of a service registration) and returns a
 * copy with durations as Consul strings.
 *
 * @throws ValidationError as {@link normalizeCheckFields}, or for an empty `CheckID`/`Name`
 */
export function normalizeServiceCheck(check: AgentServiceCheck, field = 'check'): AgentServiceCheck {
  if (!isPlainObject(check)) throw new ValidationError(field, 'must be an object');
  // CheckID ends up in agent/check/pass/<id> paths, where a '/' would split the ID.
  if (check.CheckID !== undefined && nonEmptyString(`${field}.CheckID`, check.CheckID).includes('/')) {
    throw new ValidationError(`${field}.CheckID`, `'${check.CheckID}' must not contain '/'`);
  }
  if (check.Name !== undefined) nonEmptyString(`${field}.Name`, check.Name);
  return { ...check, ...normalizeCheckFields(check, field) };
}

/** Options every check builder takes. */
export interface CheckOptions {
  /** Check name. Default: Consul's `Service '<name>' check`. */
  name?: string;
  /** Free-form notes. */
  notes?: string;
  /** Initial status. Default: `critical` (Consul's default). */
  status?: HealthStatus;
  /** Deregister the service once the check stayed critical this long (minimum 1 min in Consul). */
  deregisterCriticalServiceAfter?: Duration;
}

/** Options of the checks the agent runs on an interval. */
export interface IntervalCheckOptions extends CheckOptions {
  /** Time bound of one run. Consul's default is 10 s. */
  timeout?: Duration;
  /** Consecutive passing results before the status turns passing (Consul 1.7+). */
  successBeforePassing?: number;
  /** Consecutive failing results before the status turns critical (Consul 1.7+). */
  failuresBeforeCritical?: number;
}

/** Options of {@link Check.http}. */
export interface HttpCheckOptions extends IntervalCheckOptions {
  /** Request method. Default `GET`. */
  method?: string;
  /** Request headers; a string is one value. */
  header?: Record<string, string | string[]>;
  /** Request body (Consul 1.7+). */
  body?: string;
  /** Skip TLS certificate verification for `https://` URLs. */
  tlsSkipVerify?: boolean;
}

/** Options of {@link Check.grpc}. */
export interface GrpcCheckOptions extends IntervalCheckOptions {
  /** Connect with TLS. */
  useTls?: boolean;
  /** Skip TLS certificate verification. */
  tlsSkipVerify?: boolean;
}

/** Options of {@link Check.alias}. */
export interface AliasCheckOptions extends CheckOptions {
  /** Node of the aliased service. Default: this agent's node. */
  node?: string;
}

function common(options: CheckOptions): AgentServiceCheck {
  const check: AgentServiceCheck = {};
  if (options.name !== undefined) check.Name = options.name;
  if (options.notes !== undefined) check.Notes = options.notes;
  if (options.status !== undefined) check.Status = options.status;
  if (options.deregisterCriticalServiceAfter !== undefined) {
    check.DeregisterCriticalServiceAfter = options.deregisterCriticalServiceAfter;
  }
  return check;
}

function interval(every: Duration, options: IntervalCheckOptions): AgentServiceCheck {
  const check = common(options);
  check.Interval = every;
  if (options.timeout !== undefined) check.Timeout = options.timeout;
  if (options.successBeforePassing !== undefined) check.SuccessBeforePassing = options.successBeforePassing;
  if (options.failuresBeforeCritical !== undefined)
    check.FailuresBeforeCritical = options.failuresBeforeCritical;
  return check;
}

function header(field: string, value: Record<string, string | string[]>): Record<string, string[]> {
  if (!isPlainObject(value)) throw new ValidationError(field, 'must be an object of header name to value(s)');
  return Object.fromEntries(Object.entries(value).map(([name, values]) => [name, [values].flat()]));
}

/**
 * Builders of service checks, in the spirit of python-consul's `Check`. Each validates its
 * input (throwing `ValidationError`) and returns an {@link AgentServiceCheck} with durations
 * as Consul strings, ready for `agent.service.register({ …, Check })` or, spread with a
 * `Name`, for `agent.check.register`.
 *
 * @example
 * ```ts
 * await consul.agent.service.register({
 *   Name: 'web',
 *   Port: 8080,
 *   Checks: [Check.http('http://127.0.0.1:8080/health', '10s', { timeout: '2s' }), Check.ttl('30s')],
 * });
 * ```
 */
export const Check = Object.freeze({
  /**
   * A TTL check: critical unless the application reports within `ttl` through
   * `agent.check.pass/warn/fail/update`.
   */
  ttl(ttl: Duration, options: CheckOptions = {}): AgentServiceCheck {
    return normalizeServiceCheck({ ...common(options), TTL: ttl }, 'Check.ttl');
  },

  /** An HTTP check: Consul requests `url` every `interval`; 2xx passes, 429 warns, anything else is critical. */
  http(url: string, every: Duration, options: HttpCheckOptions = {}): AgentServiceCheck {
    const check = interval(every, options);
    check.HTTP = url;
    if (options.method !== undefined) check.Method = options.method;
    if (options.header !== undefined) check.Header = header('Check.http.header', options.header);
    if (options.body !== undefined) check.Body = options.body;
    if (options.tlsSkipVerify !== undefined) check.TLSSkipVerify = options.tlsSkipVerify;
    return normalizeServiceCheck(check, 'Check.http');
  },

  /** A TCP check: Consul connects to `address` (`host:port`) every `interval`. */
  tcp(address: string, every: Duration, options: IntervalCheckOptions = {}): AgentServiceCheck {
    return normalizeServiceCheck({ ...interval(every, options), TCP: address }, 'Check.tcp');
  },

  /**
   * A script check: the agent runs `args` every `interval`; exit 0 passes, 1 warns, anything
   * else is critical. The agent needs `enable_script_checks` (or `enable_local_script_checks`).
   */
  script(args: readonly string[], every: Duration, options: IntervalCheckOptions = {}): AgentServiceCheck {
    return normalizeServiceCheck({ ...interval(every, options), Args: [...args] }, 'Check.script');
  },

  /** A Docker check: the agent runs `args` with `shell` inside container `containerId` every `interval`. */
  docker(
    containerId: string,
    shell: string,
    args: readonly string[],
    every: Duration,
    options: IntervalCheckOptions = {},
  ): AgentServiceCheck {
    return normalizeServiceCheck(
      { ...interval(every, options), DockerContainerID: containerId, Shell: shell, Args: [...args] },
      'Check.docker',
    );
  },

  /** A gRPC check against the standard health protocol at `target` (`host:port` or `host:port/service`). */
  grpc(target: string, every: Duration, options: GrpcCheckOptions = {}): AgentServiceCheck {
    const check = interval(every, options);
    check.GRPC = target;
    if (options.useTls !== undefined) check.GRPCUseTLS = options.useTls;
    if (options.tlsSkipVerify !== undefined) check.TLSSkipVerify = options.tlsSkipVerify;
    return normalizeServiceCheck(check, 'Check.grpc');
  },

  /** An alias check: mirrors the health of service `serviceId` (on `options.node`, default this node). */
  alias(serviceId: string, options: AliasCheckOptions = {}): AgentServiceCheck {
    const check = common(options);
    check.AliasService = serviceId;
    if (options.node !== undefined) check.AliasNode = options.node;
    return normalizeServiceCheck(check, 'Check.alias');
  },
});
