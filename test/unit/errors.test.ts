import { describe, expect, it } from 'vitest';
import {
  BalancerNoInstanceError,
  BalancerRequestError,
  ConsulError,
  ConsulHttpError,
  ConsulUnavailableError,
  isRetryable,
  NotFoundError,
  PermissionDeniedError,
  TimeoutError,
  ValidationError,
} from '../../src/errors.js';
import { errorForFailure, errorForStatus } from '../../src/transport/error-mapping.js';

const details = (status: number, body = '') => ({ status, method: 'GET', path: '/v1/kv/x', body });

describe('error mapping', () => {
  it('chooses the subclass from the status', () => {
    expect(errorForStatus(details(403, 'Permission denied'))).toBeInstanceOf(PermissionDeniedError);
    expect(errorForStatus(details(404))).toBeInstanceOf(NotFoundError);
    expect(errorForStatus(details(500, 'Unknown check "service:x"'))).toBeInstanceOf(NotFoundError);
    const generic = errorForStatus(details(500, 'boom'));
    expect(generic.constructor).toBe(ConsulHttpError);
    expect(generic).toMatchObject({ status: 500, method: 'GET', path: '/v1/kv/x', code: 'HTTP_ERROR' });
  });

  it('maps socket failures to ConsulUnavailableError and undici timeouts to TimeoutError', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const mapped = errorForFailure(refused, 'GET /v1/kv/x', 1000);
    expect(mapped).toBeInstanceOf(ConsulUnavailableError);
    expect(mapped.cause).toBe(refused);
    const timeout = Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
    expect(errorForFailure(timeout, 'GET /v1/kv/x', 1000)).toBeInstanceOf(TimeoutError);
  });

  it('keeps the whole body on the error and only a readable prefix in the message', () => {
    const body = JSON.stringify({
      Errors: Array.from({ length: 64 }, (_, i) => ({ OpIndex: i, What: 'x'.repeat(80) })),
    });
    const error = errorForStatus(details(409, body));
    expect(body.length).toBeGreaterThan(4096);
    expect(error.body).toBe(body);
    expect(error.message.length).toBeLessThan(1200);
    expect(error.message.endsWith('…')).toBe(true);
  });

  it('gives every error a stable code and name', () => {
    const error = new ValidationError('key', 'must not be empty');
    expect(error).toBeInstanceOf(ConsulError);
    expect(error.code).toBe('VALIDATION');
    expect(error.name).toBe('ValidationError');
    expect(error.field).toBe('key');
  });

  it('names failures of a balanced service apart from Consul being unreachable', () => {
    const none = new BalancerNoInstanceError('api', "service 'api': no instance is available");
    const failed = new BalancerRequestError('api', 3, 'every attempt failed', {
      cause: new Error('ECONNREFUSED'),
    });
    for (const error of [none, failed]) {
      expect(error).toBeInstanceOf(ConsulError);
      expect(error).not.toBeInstanceOf(ConsulUnavailableError);
      expect(error.service).toBe('api');
    }
    expect(none.code).toBe('BALANCER_NO_INSTANCE');
    expect(none.name).toBe('BalancerNoInstanceError');
    expect(failed.code).toBe('BALANCER_REQUEST_FAILED');
    expect(failed.name).toBe('BalancerRequestError');
    expect(failed.attempts).toBe(3);
    expect((failed.cause as Error).message).toBe('ECONNREFUSED');
  });
});

describe('isRetryable', () => {
  it('is true for transient failures only', () => {
    expect(isRetryable(new ConsulUnavailableError('down'))).toBe(true);
    expect(isRetryable(new TimeoutError('slow', 10))).toBe(true);
    // Instances come and go: a balanced call that found none, or none answering, may be retried.
    expect(isRetryable(new BalancerNoInstanceError('api', 'none'))).toBe(true);
    expect(isRetryable(new BalancerRequestError('api', 2, 'failed'))).toBe(true);
    expect(isRetryable(errorForStatus(details(503)))).toBe(true);
    expect(isRetryable(errorForStatus(details(429)))).toBe(true);
    expect(isRetryable(errorForStatus(details(400)))).toBe(false);
    expect(isRetryable(errorForStatus(details(403)))).toBe(false);
    expect(isRetryable(new ValidationError('x', 'y'))).toBe(false);
    expect(isRetryable(new Error('other'))).toBe(false);
  });
});
