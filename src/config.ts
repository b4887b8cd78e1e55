/**
 * Client options and their resolution against the environment, following the Go client's
 * (`github.com/hashicorp/consul/api`) environment variables and precedence.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { ValidationError } from './errors.js';
import { checkOptionKeys, optionKeys } from './options-check.js';
import { toMilliseconds, type Duration } from './duration.js';
import { validateToken } from './transport/token.js';
import type { ObservabilityOptions } from './observability/telemetry.js';

/** Read consistency mode. `default` lets the leader answer without a quorum check; `stale` lets any server answer; `consistent` forces a leadership check. */
export type ConsistencyMode = 'default' | 'stale' | 'consistent';

/** TLS settings for `https://` addresses. PEM contents or file paths; contents win when both are given. */
export interface TlsOptions {
  /** CA certificate(s) to trust, PEM. Default: Node's bundled roots. */
  ca?: string | Buffer;
  /** Path to a CA PEM file (env `CONSUL_CACERT`). */
  caFile?: string;
  /** Client certificate, PEM, for agents that verify incoming connections. */
  cert?: string | Buffer;
  /** Path to the client certificate (env `CONSUL_CLIENT_CERT`). */
  certFile?: string;
  /** Client private key, PEM. */
  key?: string | Buffer;
  /** Path to the client key (env `CONSUL_CLIENT_KEY`). */
  keyFile?: string;
  /** Server name for SNI and certificate verification (env `CONSUL_TLS_SERVER_NAME`). */
  serverName?: string;
  /** Verify the server certificate. Default `true` (env `CONSUL_HTTP_SSL_VERIFY=false` turns it off). */
  rejectUnauthorized?: boolean;
}

/** Retry policy for idempotent requests that fail transiently (connection errors, 5xx, 429). */
export interface RetryOptions {
  /** Retries after the first attempt. Default 3; 0 disables retries. */
  retries?: number;
  /** Delay before the first retry. Default 100 ms. */
  minDelay?: Duration;
  /** Longest delay between retries. Default 2 s. Delays are jittered ×1–2. */
  maxDelay?: Duration;
}

/** Options of {@link Consul}. Every field is optional; defaults follow the Consul CLI environment. */
export interface ConsulOptions extends ObservabilityOptions {
  /**
   * Agent address: `http://host:port`, `https://host:port`, `unix:///path/to/socket` or a bare
   * `host:port`. Default: env `CONSUL_HTTP_ADDR`, else `http://127.0.0.1:8500`.
   */
  address?: string;
  /** ACL token, sent only in the `X-Consul-Token` header. Default: env `CONSUL_HTTP_TOKEN`. */
  token?: string;
  /** File holding the ACL token; wins over `token` (Go client precedence). Default: env `CONSUL_HTTP_TOKEN_FILE`. */
  tokenFile?: string;
  /** Datacenter for every request that does not name one. Default: the agent's own. */
  datacenter?: string;
  /** Default consistency mode of reads. Default `'default'`. */
  consistency?: ConsistencyMode;
  /** TLS settings; also enabled by env `CONSUL_HTTP_SSL=true`. */
  tls?: TlsOptions;
  /** pino logger. Default: a pino logger on stderr at level `warn` (env `CONSULKIT_LOG_LEVEL`). */
  logger?: Logger;
  /**
   * Time bound of a non-blocking request (and of the margin added to blocking ones). A request
   * without an answer by then fails with `TimeoutError`. Default 30 s.
   */
  timeout?: Duration;
  /** Retry policy for idempotent requests. */
  retry?: RetryOptions;
  /**
   * Connections for ordinary (non-blocking) requests. Blocking queries use a separate pool,
   * so a `put` or a session renewal never waits behind watches. Default 8 (4 over HTTPS).
   */
  connections?: number;
  /**
   * Connections for blocking queries (watches, locks, elections, config maps, balancers).
   * However many watches run, no more are opened: when there are more distinct blocking
   * loops than this allows, KV key watches of one folder share one recursive read and the
   * other loops take turns with shorter waits (see the README, "Connection budget").
   * Default: `connectionBudget - connections` over plain HTTP (24); 2 over HTTPS, where
   * each HTTP/2 connection carries up to 200 blocking queries at once.
   */
  blockingConnections?: number;
  /**
   * Most TCP connections this client ever holds to its agent, both pools together. The agent
   * accepts at most `http_max_conns_per_client` (200 by default) from one IP address, and
   * every process of the host that talks to it over loopback shares that limit. Default 32
   * (`connections + blockingConnections` when only those are given): five such clients on
   * one host still leave 40 connections to everything else.
   */
  connectionBudget?: number;
  /**
   * The agent's `http_max_conns_per_client`, only to reject a budget it could never honour.
   * Default 200 (Consul's default).
   */
  agentConnectionLimit?: number;
  /** Environment to read defaults from. Default `process.env`; pass `{}` to ignore the environment. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Every key of {@link TlsOptions}. */
export const TLS_OPTION_KEYS = optionKeys<TlsOptions>()([
  'ca',
  'caFile',
  'cert',
  'certFile',
  'key',
  'keyFile',
  'serverName',
  'rejectUnauthorized',
]);

/** Every key of {@link RetryOptions}. */
export const RETRY_OPTION_KEYS = optionKeys<RetryOptions>()(['retries', 'minDelay', 'maxDelay']);

/** Every key of {@link ConsulOptions}, the observability ones included. */
export const CONSUL_OPTION_KEYS = optionKeys<ConsulOptions>()([
  'address',
  'token',
  'tokenFile',
  'datacenter',
  'consistency',
  'tls',
  'logger',
  'timeout',
  'retry',
  'connections',
  'blockingConnections',
  'connectionBudget',
  'agentConnectionLimit',
  'env',
  'meterProvider',
  'tracerProvider',
]);

/**
 * Refuses unknown keys in the client's options and in its `tls` and `retry` objects.
 *
 * @throws UnknownOptionError for a key that is not an option
 */
export function checkConsulOptionKeys(options: ConsulOptions): void {
  const where = 'new Consul()';
  checkOptionKeys(options, CONSUL_OPTION_KEYS, where);
  if (options === null || typeof options !== 'object') return;
  checkOptionKeys(options.tls, TLS_OPTION_KEYS, where, 'tls');
  checkOptionKeys(options.retry, RETRY_OPTION_KEYS, where, 'retry');
}

/** TLS material after resolution: file contents loaded. */
export interface ResolvedTls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  serverName?: string;
  rejectUnauthorized: boolean;
}

/** Options after defaults, environment and validation are applied. Internal. */
export interface ResolvedConfig {
  /** Origin used by undici: `http://host:port`, `https://host:port`, or `http://localhost` for sockets. */
  origin: string;
  /** Unix socket path, when the address is `unix://`. */
  socketPath?: string;
  token?: string;
  datacenter?: string;
  consistency: ConsistencyMode;
  tls?: ResolvedTls;
  timeoutMs: number;
  retries: number;
  retryMinDelayMs: number;
  retryMaxDelayMs: number;
  connections: number;
  /** Blocking connections (HTTP/1.1) or HTTP/2 connections carrying blocking queries. */
  blockingConnections: number;
  /** Whether blocking queries go over HTTP/2 (HTTPS only). */
  blockingH2: boolean;
  /** Blocking queries at once: connections over HTTP/1.1, connections × streams over HTTP/2. */
  blockingSlots: number;
  /** Total connections: short + blocking. */
  connectionBudget: number;
}

/** Concurrent streams per HTTP/2 connection: under the 250 that Consul's Go server allows. */
export const H2_STREAMS_PER_CONNECTION = 200;

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ValidationError(name, `expected a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * Splits the connection budget into the short and the blocking pool (see
 * {@link ConsulOptions.connectionBudget}).
 *
 * @throws ValidationError for non-positive counts, pools that exceed the budget, or a budget
 *   above the agent's per-client limit
 */
export function resolveBudget(
  options: Pick<
    ConsulOptions,
    'connections' | 'blockingConnections' | 'connectionBudget' | 'agentConnectionLimit'
  >,
  https: boolean,
): Pick<
  ResolvedConfig,
  'connections' | 'blockingConnections' | 'blockingH2' | 'blockingSlots' | 'connectionBudget'
> {
  const limit = positiveInteger('agentConnectionLimit', options.agentConnectionLimit ?? 200);
  const connections = positiveInteger('connections', options.connections ?? (https ? 4 : 8));
  const given = options.connectionBudget;
  const budget =
    given === undefined
      ? connections + (options.blockingConnections ?? (https ? 2 : 24))
      : positiveInteger('connectionBudget', given);
  const blocking = positiveInteger(
    'blockingConnections',
    options.blockingConnections ?? (https ? Math.min(2, budget - connections) : budget - connections),
  );
  if (connections + blocking > budget) {
    throw new ValidationError(
      'connectionBudget',
      `${connections} connections + ${blocking} blocking connections exceed the budget of ${budget}`,
    );
  }
  if (budget > limit) {
    throw new ValidationError(
      'connectionBudget',
      `${budget} exceeds the agent's per-client limit of ${limit} (http_max_conns_per_client); the agent would refuse the rest`,
    );
  }
  return {
    connections,
    blockingConnections: blocking,
    blockingH2: https,
    blockingSlots: https ? blocking * H2_STREAMS_PER_CONNECTION : blocking,
    connectionBudget: budget,
  };
}

/** Parses a boolean the way Go's `strconv.ParseBool` does. */
function parseBool(name: string, value: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new ValidationError(name, `'${value}' is not a boolean`);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function readFile(field: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError(field, `cannot read ${path}: ${(error as Error).message}`);
  }
}

/**
 * Splits an address into an origin (and socket path). Go client rules: `unix://` means a
 * socket; an explicit `http://`/`https://` picks the scheme; a bare `host:port` uses https only
 * when `CONSUL_HTTP_SSL` (or TLS options) ask for it.
 */
export function parseAddress(
  address: string,
  preferHttps: boolean,
): { origin: string; https: boolean; socketPath?: string } {
  const trimmed = address.trim();
  if (trimmed.startsWith('unix://')) {
    const socketPath = trimmed.slice('unix://'.length);
    if (!socketPath) throw new ValidationError('address', `'${address}' names no socket path`);
    return { origin: 'http://localhost', https: false, socketPath };
  }
  let https = preferHttps;
  let rest = trimmed;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed);
  if (scheme) {
    const name = (scheme[1] as string).toLowerCase();
    if (name !== 'http' && name !== 'https') {
      throw new ValidationError(
        'address',
        `unsupported scheme '${name}' in '${address}'; use http, https or unix`,
      );
    }
    // As in the Go client, an explicit http:// never reverts a TLS request to plain text.
    https = name === 'https' || preferHttps;
    rest = trimmed.slice(scheme[0].length);
  }
  rest = rest.replace(/\/+$/, '');
  if (!rest || rest.includes('/')) {
    throw new ValidationError(
      'address',
      `'${address}' is not host:port, http(s)://host:port or unix:///path`,
    );
  }
  let url: URL;
  try {
    url = new URL(`${https ? 'https' : 'http'}://${rest}`);
  } catch {
    throw new ValidationError('address', `'${address}' is not a valid address`);
  }
  return { origin: url.origin, https };
}

/**
 * Resolves {@link ConsulOptions} against the environment. Explicit options win over the
 * environment; a token file wins over a token at the same level (`tokenFile` over `token`,
 * `CONSUL_HTTP_TOKEN_FILE` over `CONSUL_HTTP_TOKEN`), as in the Go client.
 *
 * @throws ValidationError for malformed addresses, durations, booleans or unreadable files
 */
export function resolveConfig(options: ConsulOptions = {}): ResolvedConfig {
  checkConsulOptionKeys(options);
  const env = options.env ?? process.env;
  const envSsl = nonEmpty(env.CONSUL_HTTP_SSL);
  const envVerify = nonEmpty(env.CONSUL_HTTP_SSL_VERIFY);
  // TLS options given in code ask for https just as CONSUL_HTTP_SSL does; silently dropping
  // them on a plain-http connection would be worse than either.
  const wantsHttps =
    (envSsl !== undefined && parseBool('CONSUL_HTTP_SSL', envSsl)) || options.tls !== undefined;
  const address = nonEmpty(options.address) ?? nonEmpty(env.CONSUL_HTTP_ADDR) ?? '127.0.0.1:8500';
  const parsed = parseAddress(address, wantsHttps);

  // The Go client's precedence: token file option, token option, CONSUL_HTTP_TOKEN_FILE,
  // CONSUL_HTTP_TOKEN. A file wins over a literal at the same level because it is what an
  // operator rotates.
  const tokenFile = nonEmpty(options.tokenFile);
  let token: string | undefined;
  let tokenSource = 'tokenFile';
  if (tokenFile !== undefined) token = nonEmpty(readFile('tokenFile', tokenFile));
  if (token === undefined && options.token !== undefined) {
    if (typeof options.token !== 'string') validateToken(options.token, 'token');
    token = nonEmpty(options.token);
    tokenSource = 'token';
  }
  if (token === undefined) {
    const envFile = nonEmpty(env.CONSUL_HTTP_TOKEN_FILE);
    if (envFile !== undefined) token = nonEmpty(readFile('CONSUL_HTTP_TOKEN_FILE', envFile));
    tokenSource = 'CONSUL_HTTP_TOKEN_FILE';
  }
  if (token === undefined) {
    token = nonEmpty(env.CONSUL_HTTP_TOKEN);
    tokenSource = 'CONSUL_HTTP_TOKEN';
  }
  // Surrounding whitespace (a file's final newline) is trimmed; anything header-illegal left
  // inside is a configuration error, raised here rather than on every request.
  if (token !== undefined) validateToken(token, tokenSource);

  const tlsIn: TlsOptions = options.tls ?? {};
  const caFile = tlsIn.caFile ?? nonEmpty(env.CONSUL_CACERT);
  const certFile = tlsIn.certFile ?? nonEmpty(env.CONSUL_CLIENT_CERT);
  const keyFile = tlsIn.keyFile ?? nonEmpty(env.CONSUL_CLIENT_KEY);
  const tls: ResolvedTls = {
    rejectUnauthorized:
      tlsIn.rejectUnauthorized ??
      (envVerify === undefined ? true : parseBool('CONSUL_HTTP_SSL_VERIFY', envVerify)),
  };
  const ca = tlsIn.ca ?? (caFile ? readFile('tls.caFile', caFile) : undefined);
  const cert = tlsIn.cert ?? (certFile ? readFile('tls.certFile', certFile) : undefined);
  const key = tlsIn.key ?? (keyFile ? readFile('tls.keyFile', keyFile) : undefined);
  const serverName = tlsIn.serverName ?? nonEmpty(env.CONSUL_TLS_SERVER_NAME);
  if (ca !== undefined) tls.ca = ca;
  if (cert !== undefined) tls.cert = cert;
  if (key !== undefined) tls.key = key;
  if (serverName !== undefined) tls.serverName = serverName;
  if ((cert === undefined) !== (key === undefined)) {
    throw new ValidationError('tls', 'a client certificate needs both cert and key');
  }

  const consistency = options.consistency ?? 'default';
  if (!['default', 'stale', 'consistent'].includes(consistency)) {
    throw new ValidationError('consistency', `'${String(consistency)}' is not default, stale or consistent`);
  }
  const budget = resolveBudget(options, parsed.https);
  const retries = options.retry?.retries ?? 3;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new ValidationError('retry.retries', `expected a non-negative integer, got ${String(retries)}`);
  }
  const timeoutMs = toMilliseconds(options.timeout ?? 30_000, 'timeout');
  if (timeoutMs <= 0) throw new ValidationError('timeout', 'must be greater than zero');

  const resolved: ResolvedConfig = {
    origin: parsed.origin,
    consistency,
    timeoutMs,
    retries,
    retryMinDelayMs: toMilliseconds(options.retry?.minDelay ?? 100, 'retry.minDelay'),
    retryMaxDelayMs: toMilliseconds(options.retry?.maxDelay ?? 2000, 'retry.maxDelay'),
    ...budget,
  };
  if (parsed.socketPath !== undefined) resolved.socketPath = parsed.socketPath;
  if (token !== undefined) resolved.token = token;
  const datacenter = nonEmpty(options.datacenter);
  if (datacenter !== undefined) resolved.datacenter = datacenter;
  if (parsed.https) resolved.tls = tls;
  return resolved;
}
