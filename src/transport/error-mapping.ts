/**
 * The one place where transport failures become consulkit errors.
 *
 * @packageDocumentation
 */
import {
  BadRequestError,
  ConsulError,
  ConsulHttpError,
  ConnectionLimitError,
  ConsulUnavailableError,
  NotFoundError,
  PermissionDeniedError,
  TimeoutError,
  type HttpErrorDetails,
} from '../errors.js';

/** Builds the error for a non-success HTTP status. */
export function errorForStatus(details: HttpErrorDetails): ConsulHttpError {
  // Consul answers ACL refusals with 403 and, on older versions, a 500 whose body names the
  // ACL failure; both are permission problems for the caller.
  if (
    details.status === 403 ||
    (details.status === 500 && /^(rpc error.*)?Permission denied/i.test(details.body))
  ) {
    return new PermissionDeniedError(details);
  }
  // Consul 1.8 answers 500 "Unknown check/service" for an ID the agent does not know, where
  // newer versions answer 404; both mean the object is gone (e.g. after an agent restart).
  // A TTL update of an unknown check ID gets 500 `CheckID "x" does not have associated TTL`
  // on 1.8.7 (checked against the agent), which means the same to a heartbeat. Prepared
  // queries that do not exist get a 500 too.
  if (
    details.status === 404 ||
    (details.status === 500 &&
      /^(Unknown (check|service|session)\b|CheckID ".*" does not have associated TTL|Cannot modify non-existent prepared query|Query not found)/i.test(
        details.body,
      ))
  ) {
    return new NotFoundError(details);
  }
  // Consul 1.8.7 answers a filter it cannot parse with 500 "Failed to create boolean
  // expression evaluator" (checked against the agent); it is the caller's input, not a fault.
  if (
    details.status === 400 ||
    (details.status === 500 && /^Failed to create boolean expression evaluator/.test(details.body))
  ) {
    return new BadRequestError(details);
  }
  return new ConsulHttpError(details);
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Reads `code` from an error and its causes (undici wraps socket errors). */
function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

/**
 * Whether the agent closed a connection that had not received a single byte: what Consul's
 * per-client connection limit does to a connection over the limit (it accepts, then closes
 * within 10 ms). A keep-alive connection closed under a request has read earlier answers,
 * and an agent that is down refuses the TCP connection instead.
 */
function closedBeforeAnyAnswer(error: unknown): boolean {
  const socket = (error as { code?: unknown; socket?: { bytesRead?: unknown } } | null)?.socket;
  return (error as { code?: unknown } | null)?.code === 'UND_ERR_SOCKET' && socket?.bytesRead === 0;
}

/**
 * A reset this soon after sending, before any answer, is the agent's connection limit: it
 * accepts a connection over the limit and closes it within 10 ms, and when the request is
 * already there the close is a reset (Node reports `ECONNRESET` without socket details).
 * A reset of a working connection comes with a request that ran for a while, or an answer.
 */
export const LIMIT_RESET_WINDOW_MS = 250;

/** What the transport knows of its connections, for explaining a failure. */
export interface FailureContext {
  /** HTTPS without a client certificate: an agent with verify_incoming closes such connections. */
  httpsWithoutClientCertificate?: boolean;
}

/**
 * Maps an error thrown while talking to Consul (not an HTTP status) to a consulkit error.
 * consulkit errors pass through unchanged.
 *
 * @param beforeAnswerMs - when the failure came before any response: how long after sending
 */
export function errorForFailure(
  error: unknown,
  request: string,
  timeoutMs: number,
  beforeAnswerMs?: number,
  context?: FailureContext,
): ConsulError {
  if (error instanceof ConsulError) return error;
  // Only right after sending: a long poll cut before its answer has read nothing either.
  const early = beforeAnswerMs !== undefined && beforeAnswerMs < LIMIT_RESET_WINDOW_MS;
  if (early && (closedBeforeAnyAnswer(error) || errorCodes(error).includes('ECONNRESET'))) {
    // An HTTPS agent that verifies incoming certificates closes a connection without one in
    // the same way (undici reports no TLS alert), so a client with no certificate is told.
    const tlsCause = context?.httpsWithoutClientCertificate
      ? '; or the agent verifies incoming HTTPS connections (verify_incoming) and this client sends no certificate (tls.certFile and tls.keyFile, CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY)'
      : '';
    return new ConnectionLimitError(
      `${request}: the agent closed the connection before answering (its per-client connection limit, http_max_conns_per_client, is probably full, or it is restarting${tlsCause})`,
      { cause: error },
    );
  }
  const codes = errorCodes(error);
  if (codes.some((code) => TIMEOUT_CODES.has(code))) {
    return new TimeoutError(`${request}: no answer within ${timeoutMs} ms`, timeoutMs, { cause: error });
  }
  const detail = error instanceof Error ? error.message : String(error);
  const code = codes[codes.length - 1];
  return new ConsulUnavailableError(`${request}: cannot reach Consul (${code ? `${code}: ` : ''}${detail})`, {
    cause: error,
  });
}
