import { errors as undiciErrors } from 'undici';
import { describe, expect, it } from 'vitest';
import { ConnectionLimitError, ConsulUnavailableError, isRetryable } from '../../src/errors.js';
import { errorForFailure, LIMIT_RESET_WINDOW_MS } from '../../src/transport/error-mapping.js';
import { isConnectionLimit } from '../../src/watch/loop.js';

function socketError(bytesRead: number): Error {
  // What undici's HTTP/1.1 client throws when the peer closes: the socket's counters ride along.
  return Object.assign(new undiciErrors.SocketError('other side closed'), {
    socket: { remoteAddress: '127.0.0.1', remotePort: 8500, bytesWritten: 120, bytesRead },
  });
}

function reset(): Error {
  return Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
}

describe('recognising a full per-client connection limit', () => {
  it('a connection closed before any byte, right after sending, is the limit (retryable)', () => {
    const error = errorForFailure(socketError(0), 'GET /v1/kv/x', 1000, 5);
    expect(error).toBeInstanceOf(ConnectionLimitError);
    expect(error).toBeInstanceOf(ConsulUnavailableError);
    expect(error.code).toBe('CONNECTION_LIMIT');
    expect(isRetryable(error)).toBe(true);
    expect(isConnectionLimit(error)).toBe(true);
    expect(errorForFailure(reset(), 'GET /v1/kv/x', 1000, 5)).toBeInstanceOf(ConnectionLimitError);
  });

  it('over HTTPS without a client certificate, also names the missing certificate as a cause', () => {
    const plain = errorForFailure(socketError(0), 'GET /v1/kv/x', 1000, 5);
    expect(plain.message).toContain('http_max_conns_per_client');
    expect(plain.message).not.toContain('verify_incoming');
    const noCert = errorForFailure(socketError(0), 'GET /v1/kv/x', 1000, 5, {
      httpsWithoutClientCertificate: true,
    });
    expect(noCert).toBeInstanceOf(ConnectionLimitError);
    expect(noCert.message).toContain('verify_incoming');
    expect(noCert.message).toContain('CONSUL_CLIENT_CERT');
  });

  it('a kept-alive connection that had answered, or a long poll cut later, is not', () => {
    expect(errorForFailure(socketError(512), 'GET /v1/kv/x', 1000, 5)).not.toBeInstanceOf(
      ConnectionLimitError,
    );
    const late = LIMIT_RESET_WINDOW_MS + 1;
    expect(errorForFailure(socketError(0), 'GET /v1/kv/x', 1000, late)).not.toBeInstanceOf(
      ConnectionLimitError,
    );
    expect(errorForFailure(reset(), 'GET /v1/kv/x', 1000, late)).not.toBeInstanceOf(ConnectionLimitError);
    // Failures after the answer started carry no timing: never the limit.
    expect(errorForFailure(reset(), 'GET /v1/kv/x', 1000)).not.toBeInstanceOf(ConnectionLimitError);
    expect(isConnectionLimit(errorForFailure(reset(), 'GET /v1/kv/x', 1000))).toBe(false);
  });
});
