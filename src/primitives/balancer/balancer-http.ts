/**
 * The balancer's HTTP client for application traffic.
 *
 * This is the one module outside `transport/` that uses undici, on purpose: it carries the
 * application's own requests to the instances of a service, not Consul API calls. None of
 * the transport's concerns apply (Consul address, token header, Consul error mapping,
 * blocking-query timeouts), and the traffic must not share the transport's connection pools,
 * which are bounded by Consul's per-client connection limit. Each balancer owns one undici
 * `Agent` (a pool per instance origin), closed with the balancer.
 *
 * `undici.request` is used rather than `fetch`: fetch refuses the "bad ports" of the Fetch
 * standard (e.g. 1, 25, 5060, 6000), which a service may well listen on, and its errors wrap
 * the cause that tells a refused connection from a reset one.
 *
 * @packageDocumentation
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, Headers, Response, request, type Dispatcher } from 'undici';
import { tlsConnectOptions } from '../../transport/tls-connect.js';
import type { BalancerInstance } from './balancer-members.js';

/**
 * TLS settings for a balancer whose instances serve HTTPS. PEM contents; read files with
 * `readFileSync` first. One setting applies to every instance of the service.
 */
export interface BalancerTlsOptions {
  /**
   * CA that signed the instances' certificates: one PEM string or Buffer, which may hold
   * several certificates one after another. Default: Node's bundled roots.
   */
  ca?: string | Buffer;
  /** Client certificate, for instances that require one (mutual TLS). Needs `key`. */
  cert?: string | Buffer;
  /** Private key of `cert`. */
  key?: string | Buffer;
  /**
   * Name the instances' certificates are checked against, and sent as SNI (a `Host` header
   * given to `request()` takes its place for SNI). Instances are
   * reached by their catalog address, usually an IP; set this when their certificates name
   * the service (e.g. `api.service.consul`) rather than that IP.
   */
  serverName?: string;
  /** Verify the instances' certificates. Default `true`; `false` is for tests only. */
  rejectUnauthorized?: boolean;
}

/** Options of the per-balancer HTTP client. */
export interface InstanceHttpOptions {
  /** `http` or `https`. */
  readonly scheme: 'http' | 'https';
  /** Longest time to establish a connection, in milliseconds. */
  readonly connectTimeoutMs: number;
  /** TLS settings for `https` (validated by the balancer). */
  readonly tls?: BalancerTlsOptions | undefined;
}

/** One request as the balancer sends it to one instance. */
export interface InstanceRequest {
  readonly method: string;
  /** Path and query, starting with `/`. */
  readonly path: string;
  readonly headers: Headers;
  readonly body: string | Uint8Array | undefined;
  /** Longest wait for the response headers, and then between two chunks of the body, in milliseconds. */
  readonly timeoutMs: number | undefined;
  readonly signal: AbortSignal;
}

/**
 * A response from an instance: a standard Fetch `Response` (read it with `text()`, `json()`,
 * `arrayBuffer()` or `body`), plus which instance answered and after how many attempts.
 */
export class BalancerResponse extends Response {
  /** The instance that answered. */
  readonly instance: BalancerInstance;
  /** Attempts made by the call, this one included (1 when no retry was needed). */
  readonly attempts: number;

  /** @internal Made by `lb.request()`. */
  constructor(
    body: ConstructorParameters<typeof Response>[0],
    init: AnswerInit,
    instance: BalancerInstance,
    attempts: number,
  ) {
    super(body, init);
    this.instance = instance;
    this.attempts = attempts;
  }
}

/** Status line and headers of a {@link BalancerResponse}. */
interface AnswerInit {
  status: number;
  statusText: string;
  headers: Headers;
}

/** An instance's answer, up to its headers; the body is still to be read (or discarded). */
export interface InstanceAnswer extends AnswerInit {
  body: Dispatcher.ResponseData['body'];
}

/** Statuses whose response may not carry a body (the `Response` constructor rejects one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * Codes of failures that happen before a request leaves the client: the instance never saw
 * it, so sending it elsewhere is safe whatever the method.
 */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Codes of connection failures once the request may have been sent (reset, closed, timed out). */
const CONNECTION_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** How a failed attempt failed. */
export type AttemptFailure = 'not-sent' | 'connection' | 'timeout' | 'other';

function codesOf(error: unknown, seen = new Set<unknown>()): string[] {
  if (typeof error !== 'object' || error === null || seen.has(error)) return [];
  seen.add(error);
  const codes: string[] = [];
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') codes.push(code);
  // Happy-eyeballs connects report one failure per address tried in an AggregateError.
  if (Array.isArray(errors)) for (const inner of errors) codes.push(...codesOf(inner, seen));
  codes.push(...codesOf(cause, seen));
  return codes;
}

/** Classifies an error thrown by {@link InstanceHttpClient.send}. */
export function classifyFailure(error: unknown): AttemptFailure {
  const codes = codesOf(error);
  if (codes.includes('UND_ERR_HEADERS_TIMEOUT')) return 'timeout';
  if (codes.some((code) => NOT_SENT_CODES.has(code))) return 'not-sent';
  if (codes.some((code) => CONNECTION_CODES.has(code))) return 'connection';
  return 'other';
}

function toHeaders(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  return headers;
}

function hostOf(address: string): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
}

/** The balancer's connection pools and the one-attempt send. */
export class InstanceHttpClient {
  readonly #agent: Agent;
  readonly #scheme: 'http' | 'https';

  constructor(options: InstanceHttpOptions) {
    this.#scheme = options.scheme;
    this.#agent = new Agent({
      connect: { timeout: options.connectTimeoutMs, ...tlsConnectOptions(options.tls ?? {}) },
    });
  }

  /** The origin of an instance, e.g. `http://10.0.0.7:8080`. */
  originOf(instance: BalancerInstance): string {
    return `${this.#scheme}://${hostOf(instance.address)}:${instance.port}`;
  }

  /**
   * Sends one request to one instance and resolves at its response headers. Throws what
   * undici throws (see {@link classifyFailure}) or the signal's reason.
   */
  async send(instance: BalancerInstance, spec: InstanceRequest): Promise<InstanceAnswer> {
    const options: NonNullable<Parameters<typeof request>[1]> = {
      dispatcher: this.#agent,
      method: spec.method as Dispatcher.HttpMethod,
      headers: Object.fromEntries(spec.headers),
      body: spec.body ?? null,
      signal: spec.signal,
    };
    if (spec.timeoutMs !== undefined) {
      options.headersTimeout = spec.timeoutMs;
      options.bodyTimeout = spec.timeoutMs;
    }
    const response = await request(`${this.originOf(instance)}${spec.path}`, options);
    return {
      status: response.statusCode,
      statusText: response.statusText,
      headers: toHeaders(response.headers),
      body: response.body,
    };
  }

  /** Wraps an answer into a {@link BalancerResponse}. */
  respond(answer: InstanceAnswer, instance: BalancerInstance, attempts: number): BalancerResponse {
    let body: ConstructorParameters<typeof Response>[0] = answer.body;
    if (NULL_BODY_STATUSES.has(answer.status)) {
      answer.body.destroy();
      body = null;
    }
    return new BalancerResponse(
      body,
      { status: answer.status, statusText: answer.statusText, headers: answer.headers },
      instance,
      attempts,
    );
  }

  /** Drops a response body that will not be read, freeing (or closing) its connection. */
  async discard(answer: InstanceAnswer): Promise<void> {
    await answer.body.dump({ limit: 64 * 1024 });
  }

  /** Closes every connection at once; requests still running fail. */
  close(): Promise<void> {
    return this.#agent.destroy();
  }
}

/** An error in words for messages: its message, with its code when the message lacks it. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code)
    ? `${error.message} (${code})`
    : error.message;
}
