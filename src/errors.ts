/**
 * The error classes of consulkit. Every failure a caller can see is a {@link ConsulError}
 * with a stable {@link ConsulError.code}; the transport picks the subclass in one place
 * (`transport/error-mapping.ts`), so callers can branch on `instanceof` or `code` and never on
 * message text.
 *
 * @packageDocumentation
 */

/** Stable machine-readable codes carried by every {@link ConsulError}. */
export type ConsulErrorCode =
  | 'HTTP_ERROR'
  | 'PERMISSION_DENIED'
  | 'NOT_FOUND'
  | 'UNAVAILABLE'
  | 'CONNECTION_LIMIT'
  | 'TIMEOUT'
  | 'VALIDATION'
  | 'LOCK_LOST'
  | 'CONFLICT'
  | 'CLOSED'
  | 'TXN_FAILED'
  | 'DECODE'
  | 'INVALID_RESPONSE'
  | 'BAD_REQUEST'
  | 'BALANCER_NO_INSTANCE'
  | 'BALANCER_REQUEST_FAILED';

/** Base class of every error consulkit raises. */
export class ConsulError extends Error {
  /** Stable code for programmatic handling; never changes between releases. */
  readonly code: ConsulErrorCode;

  constructor(code: ConsulErrorCode, message: string, options?: ErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** Details of the HTTP exchange that failed. */
export interface HttpErrorDetails {
  /** HTTP status Consul answered with. */
  status: number;
  /** Request method, e.g. `PUT`. */
  method: string;
  /** Request path without the query string (which may hold user data), e.g. `/v1/kv/app/x`. */
  path: string;
  /** Response body as text, whole. */
  body: string;
}

const MAX_BODY_IN_MESSAGE = 1000;

/** Consul answered with an HTTP status that is not a success. */
export class ConsulHttpError extends ConsulError {
  /** HTTP status code. */
  readonly status: number;
  /** Request method. */
  readonly method: string;
  /** Request path, without query string. */
  readonly path: string;
  /** The whole response body text (the message shows at most its first 1,000 characters). */
  readonly body: string;

  constructor(details: HttpErrorDetails, code: ConsulErrorCode = 'HTTP_ERROR', options?: ErrorOptions) {
    // The message stays readable; the whole body stays on `body`, where callers that decode
    // structured error answers (a rolled-back txn, an unhealthy autopilot report) need it.
    const full = details.body.trim();
    const text = full.length > MAX_BODY_IN_MESSAGE ? `${full.slice(0, MAX_BODY_IN_MESSAGE)}…` : full;
    super(
      code,
      `Consul answered ${details.status} to ${details.method} ${details.path}${text ? `: ${text}` : ''}`,
      options,
    );
    this.status = details.status;
    this.method = details.method;
    this.path = details.path;
    this.body = details.body;
  }
}

/** Consul refused the request under its ACL rules (HTTP 403). Check the token's policy. */
export class PermissionDeniedError extends ConsulHttpError {
  constructor(details: HttpErrorDetails, options?: ErrorOptions) {
    super(details, 'PERMISSION_DENIED', options);
  }
}

/**
 * A success status whose answer is not what Consul sends: a body that is not JSON (an HTML
 * page from a proxy or captive portal), or a blocking read without its `X-Consul-Index`
 * header (a proxy that strips headers). Something between the client and Consul is
 * misbehaving, usually for a while, so it is transient: the watcher backs off and retries,
 * and the transport retries idempotent requests. `body` holds what was received (for a
 * missing index, a description instead).
 */
export class InvalidResponseError extends ConsulHttpError {
  constructor(details: HttpErrorDetails, options?: ErrorOptions) {
    super(details, 'INVALID_RESPONSE', options);
  }
}

/**
 * Consul refused the request as malformed (HTTP 400, or Consul 1.8's 500 for a filter
 * expression it cannot parse). Sending it again cannot succeed, so it is never retried and
 * stops a watch.
 */
export class BadRequestError extends ConsulHttpError {
  constructor(details: HttpErrorDetails, options?: ErrorOptions) {
    super(details, 'BAD_REQUEST', options);
  }
}

/** The addressed object does not exist (HTTP 404 where absence is an error). */
export class NotFoundError extends ConsulHttpError {
  constructor(details: HttpErrorDetails, options?: ErrorOptions) {
    super(details, 'NOT_FOUND', options);
  }
}

/** Consul could not be reached: connection refused, reset, DNS failure, TLS failure. */
export class ConsulUnavailableError extends ConsulError {
  constructor(message: string, options?: ErrorOptions) {
    super('UNAVAILABLE', message, options);
  }
}

/**
 * The agent refused the connection because its per-client limit (`http_max_conns_per_client`,
 * 200 by default, shared by every process of the host that reaches it from one address) is
 * full: it closed the connection before answering anything. Nothing was processed; it is
 * retryable, and watches share fewer connections until the agent accepts again.
 */
export class ConnectionLimitError extends ConsulUnavailableError {
  override readonly code: ConsulErrorCode = 'CONNECTION_LIMIT';
}

/** A request got no answer within its time bound (including a silently dead connection). */
export class TimeoutError extends ConsulError {
  /** The bound that was exceeded, in milliseconds. */
  readonly timeoutMs: number;

  constructor(message: string, timeoutMs: number, options?: ErrorOptions) {
    super('TIMEOUT', message, options);
    this.timeoutMs = timeoutMs;
  }
}

/** Bad input, rejected before anything was sent to Consul. */
export class ValidationError extends ConsulError {
  /** Name of the offending argument or option, e.g. `key` or `ttl`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super('VALIDATION', `${field}: ${message}`);
    this.field = field;
  }
}

/** A lock, semaphore slot or leadership was lost while held. */
export class LockLostError extends ConsulError {
  constructor(message: string, options?: ErrorOptions) {
    super('LOCK_LOST', message, options);
  }
}

/** A key holds something incompatible with the requested use (e.g. a lock key used by a semaphore). */
export class ConflictError extends ConsulError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONFLICT', message, options);
  }
}

/** The client (or primitive) was closed before or while the call ran. */
export class ClosedError extends ConsulError {
  constructor(message = 'the Consul client is closed') {
    super('CLOSED', message);
  }
}

/**
 * A value under a config map's prefix could not be decoded (e.g. invalid JSON). The config
 * map keeps the key's last good value (or leaves the key out if it never had one); `cause`
 * is what the decoder threw.
 */
export class ConfigDecodeError extends ConsulError {
  /** The key, relative to the config map's prefix. */
  readonly key: string;
  /** The full Consul key. */
  readonly consulKey: string;

  constructor(key: string, consulKey: string, options?: ErrorOptions) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super('DECODE', `config value '${consulKey}' could not be decoded${reason}`, options);
    this.key = key;
    this.consulKey = consulKey;
  }
}

/** One failed operation of a rolled-back transaction. */
export interface TxnOpError {
  /** Position of the operation in the list given to `txn.execute`. */
  opIndex: number;
  /** Consul's description of the failure, e.g. `failed to set key "a", index is stale`. */
  what: string;
}

/**
 * Consul rolled a transaction back (HTTP 409): none of its operations took effect. `errors`
 * names the operations that failed; `cause` is the HTTP error.
 */
export class TxnError extends ConsulError {
  /** The failed operations, in Consul's order. */
  readonly errors: readonly TxnOpError[];

  constructor(errors: readonly TxnOpError[], options?: ErrorOptions) {
    const detail = errors.map((error) => `operation ${error.opIndex}: ${error.what}`).join('; ');
    super('TXN_FAILED', `transaction rolled back${detail ? `: ${detail}` : ''}`, options);
    this.errors = errors;
  }
}

/**
 * `acl.bootstrap()` was refused because the ACL system is already bootstrapped (or a master
 * token is configured). To bootstrap again, write {@link AclBootstrapError.resetIndex} to the
 * `acl-bootstrap-reset` file in the leader's data directory, as Consul's docs describe.
 */
export class AclBootstrapError extends PermissionDeniedError {
  /** The reset index Consul reported, when it did. */
  readonly resetIndex: bigint | undefined;

  constructor(details: HttpErrorDetails, resetIndex: bigint | undefined, options?: ErrorOptions) {
    super(details, options);
    this.resetIndex = resetIndex;
  }
}

/**
 * A balancer had no instance of its service to send to: none is in rotation (none
 * registered, none healthy), or every one was tried by this call. About the balanced
 * service, not about Consul; retryable, since instances come and go.
 */
export class BalancerNoInstanceError extends ConsulError {
  /** The balanced service. */
  readonly service: string;

  constructor(service: string, message: string, options?: ErrorOptions) {
    super('BALANCER_NO_INSTANCE', message, options);
    this.service = service;
  }
}

/**
 * A balanced request failed on the instances it was sent to: the connection could not be
 * made or broke, on every attempt (`cause` is the last failure). About the balanced service,
 * not about Consul; retryable.
 */
export class BalancerRequestError extends ConsulError {
  /** The balanced service. */
  readonly service: string;
  /** Attempts made by the call. */
  readonly attempts: number;

  constructor(service: string, attempts: number, message: string, options?: ErrorOptions) {
    super('BALANCER_REQUEST_FAILED', message, options);
    this.service = service;
    this.attempts = attempts;
  }
}

/**
 * Whether an error is transient: worth trying again after a pause. True for connection
 * failures, timeouts, HTTP 5xx and 429, answers mangled on the way (see
 * {@link InvalidResponseError}), and a balanced service that could not answer (see
 * {@link BalancerRequestError}). This single predicate drives the transport's retries and the
 * watcher's backoff.
 */
export function isRetryable(error: unknown): boolean {
  if (
    error instanceof ConsulUnavailableError ||
    error instanceof TimeoutError ||
    error instanceof InvalidResponseError ||
    error instanceof BalancerNoInstanceError ||
    error instanceof BalancerRequestError
  )
    return true;
  // Consul 1.8 reports some of these with status 500; they are answers, not transient faults.
  if (
    error instanceof NotFoundError ||
    error instanceof PermissionDeniedError ||
    error instanceof BadRequestError
  )
    return false;
  if (error instanceof ConsulHttpError) return error.status >= 500 || error.status === 429;
  return false;
}
