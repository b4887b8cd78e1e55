import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import {
  normalizeHealthReport,
  resolveRegistrationOptions,
  truncateNote,
  MAX_CHECK_OUTPUT_LENGTH,
  type RegisterServiceOptions,
} from '../../src/primitives/registration/registration-options.js';

const identity = { hostname: 'web host.example', pid: 4242, random: 'a1b2c3' };

function resolve(options: RegisterServiceOptions) {
  return resolveRegistrationOptions(options, identity);
}

function rejects(options: unknown, field: string): void {
  let caught: unknown;
  try {
    resolveRegistrationOptions(options as RegisterServiceOptions, identity);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  expect((caught as ValidationError).field).toBe(field);
}

describe('resolveRegistrationOptions', () => {
  it('applies the defaults: unique id, 15s TTL, heartbeats every 5s, 1m reaping backstop, both signals', () => {
    const resolved = resolve({ name: 'web' });
    expect(resolved.serviceId).toBe('web-web-host.example-4242-a1b2c3');
    expect(resolved.checkId).toBe('service:web-web-host.example-4242-a1b2c3:ttl');
    expect(resolved.ttlMs).toBe(15_000);
    expect(resolved.intervalMs).toBe(5_000);
    expect(resolved.healthTimeoutMs).toBe(2_500);
    expect(resolved.signals).toEqual(['SIGTERM', 'SIGINT']);
    expect(resolved.drain).toBeUndefined();
    expect(resolved.definition).toEqual({
      Name: 'web',
      ID: 'web-web-host.example-4242-a1b2c3',
      Checks: [
        {
          CheckID: 'service:web-web-host.example-4242-a1b2c3:ttl',
          Name: "Service 'web' TTL heartbeat",
          TTL: '15s',
          Notes: 'Heartbeats sent by the service itself (consulkit)',
          DeregisterCriticalServiceAfter: '60s',
        },
      ],
    });
  });

  it('maps every camelCase option to its wire field explicitly, leaving user meta keys alone', () => {
    const options: RegisterServiceOptions = {
      name: 'api',
      id: 'api-1',
      address: '10.0.0.7',
      port: 8080,
      tags: ['v2', 'blue'],
      meta: { build_id: '77', 'zone-name': 'a' },
      weights: { passing: 10, warning: 0 },
      enableTagOverride: true,
      ttl: '9s',
      heartbeatInterval: 2000,
      healthTimeout: '500ms',
      deregisterCriticalServiceAfter: '5m',
      checks: [
        {
          http: 'http://10.0.0.7:8080/health',
          interval: '10s',
          timeout: '2s',
          method: 'HEAD',
          tlsSkipVerify: true,
        },
        { tcp: '10.0.0.7:8080', interval: 5000, id: 'api-1-tcp', name: 'port open', status: 'passing' },
      ],
      drain: { delay: '3s', mode: 'maintenance' },
      handleSignals: ['SIGTERM'],
      token: 't0k',
    };
    const snapshot = JSON.stringify(options);
    const resolved = resolve(options);
    expect(JSON.stringify(options)).toBe(snapshot);
    expect(resolved.intervalMs).toBe(2000);
    expect(resolved.healthTimeoutMs).toBe(500);
    expect(resolved.drain).toEqual({ delayMs: 3000, mode: 'maintenance', note: 'draining' });
    expect(resolved.signals).toEqual(['SIGTERM']);
    expect(resolved.token).toBe('t0k');
    expect(resolved.definition).toMatchObject({
      Name: 'api',
      ID: 'api-1',
      Address: '10.0.0.7',
      Port: 8080,
      Tags: ['v2', 'blue'],
      Meta: { build_id: '77', 'zone-name': 'a' },
      Weights: { Passing: 10, Warning: 0 },
      EnableTagOverride: true,
    });
    expect(resolved.definition.Checks).toEqual([
      expect.objectContaining({
        CheckID: 'service:api-1:ttl',
        TTL: '9s',
        DeregisterCriticalServiceAfter: '300s',
      }),
      {
        HTTP: 'http://10.0.0.7:8080/health',
        Interval: '10s',
        Timeout: '2s',
        Method: 'HEAD',
        TLSSkipVerify: true,
      },
      { TCP: '10.0.0.7:8080', Interval: '5s', CheckID: 'api-1-tcp', Name: 'port open', Status: 'passing' },
    ]);
  });

  it('waits for an unreachable agent without limit by default, or for startTimeout', () => {
    expect(resolve({ name: 'x' }).startTimeoutMs).toBeUndefined();
    expect(resolve({ name: 'x', startTimeout: '2m' }).startTimeoutMs).toBe(120_000);
    expect(resolve({ name: 'x', startTimeout: 1500 }).startTimeoutMs).toBe(1500);
  });

  it('turns the reaping backstop and signal handling off on request', () => {
    const resolved = resolve({ name: 'x', deregisterCriticalServiceAfter: false, handleSignals: false });
    expect(resolved.definition.Checks?.[0]).not.toHaveProperty('DeregisterCriticalServiceAfter');
    expect(resolved.signals).toEqual([]);
  });

  it('derives the heartbeat interval from the TTL and keeps it below it', () => {
    expect(resolve({ name: 'x', ttl: '2s' }).intervalMs).toBe(666);
    expect(resolve({ name: 'x', ttl: 1000 }).intervalMs).toBe(333);
  });

  it.each([
    [{}, 'name'],
    [{ name: '' }, 'name'],
    [{ name: 'a/b' }, 'name'],
    [{ name: 'x', id: 'a/b' }, 'id'],
    [{ name: 'x', ttl: 'soon' }, 'ttl'],
    [{ name: 'x', ttl: -5 }, 'ttl'],
    [{ name: 'x', ttl: '500ms' }, 'ttl'],
    [{ name: 'x', ttl: '48h' }, 'ttl'],
    [{ name: 'x', ttl: '10s', heartbeatInterval: '10s' }, 'heartbeatInterval'],
    [{ name: 'x', ttl: '10s', heartbeatInterval: '10ms' }, 'heartbeatInterval'],
    [{ name: 'x', heartbeatInterval: '3s', healthTimeout: '3s' }, 'healthTimeout'],
    [{ name: 'x', port: 0 }, 'port'],
    [{ name: 'x', port: 70_000 }, 'port'],
    [{ name: 'x', port: 80.5 }, 'port'],
    [{ name: 'x', port: '80' }, 'port'],
    [{ name: 'x', address: '' }, 'address'],
    [{ name: 'x', tags: 'a,b' }, 'tags'],
    [{ name: 'x', tags: ['a', 3] }, 'tags'],
    [{ name: 'x', meta: { 'bad key': 'v' } }, 'meta'],
    [{ name: 'x', meta: { 'consul-x': 'v' } }, 'meta'],
    [{ name: 'x', meta: { k: 1 } }, 'meta.k'],
    [{ name: 'x', weights: { passing: 0, warning: 1 } }, 'weights.passing'],
    [{ name: 'x', weights: { passing: 1, warning: -1 } }, 'weights.warning'],
    [{ name: 'x', health: 'passing' }, 'health'],
    [{ name: 'x', checks: [{ interval: '10s' }] }, 'checks[0]'],
    [{ name: 'x', checks: [{ http: 'a', tcp: 'b:1', interval: '10s' }] }, 'checks[0]'],
    [{ name: 'x', checks: [{ http: 'ftp://x', interval: '10s' }] }, 'checks[0].http'],
    [{ name: 'x', checks: [{ tcp: 'nohost', interval: '10s' }] }, 'checks[0].tcp'],
    [{ name: 'x', checks: [{ tcp: 'h:1' }] }, 'checks[0].interval'],
    [{ name: 'x', checks: [{ tcp: 'h:1', interval: '100ms' }] }, 'checks[0].interval'],
    [{ name: 'x', checks: [{ tcp: 'h:1', interval: '1s', status: 'ok' }] }, 'checks[0].status'],
    [{ name: 'x', id: 'i', checks: [{ tcp: 'h:1', interval: '1s', id: 'service:i:ttl' }] }, 'checks'],
    [{ name: 'x', deregisterCriticalServiceAfter: '30s' }, 'deregisterCriticalServiceAfter'],
    [{ name: 'x', drain: { mode: 'critical' } }, 'drain.delay'],
    [{ name: 'x', drain: { delay: '1s', mode: 'off' } }, 'drain.mode'],
    [{ name: 'x', handleSignals: ['SIGKILL'] }, 'handleSignals'],
    [{ name: 'x', handleSignals: ['TERM'] }, 'handleSignals'],
    [{ name: 'x', stopTimeout: 0 }, 'stopTimeout'],
    [{ name: 'x', startTimeout: 0 }, 'startTimeout'],
    [{ name: 'x', startTimeout: 'soon' }, 'startTimeout'],
    [{ name: 'x', startTimeout: -5 }, 'startTimeout'],
  ])('rejects %j (field %s)', (options, field) => {
    rejects(options, field);
  });
});

describe('normalizeHealthReport', () => {
  it('accepts a bare status and a status with a note', () => {
    expect(normalizeHealthReport('warning')).toEqual({ status: 'warning', note: '' });
    expect(normalizeHealthReport({ status: 'critical', note: 'db down' })).toEqual({
      status: 'critical',
      note: 'db down',
    });
  });

  it('treats anything else as critical, so a buggy health() never looks healthy', () => {
    for (const value of [undefined, null, true, 'ok', { status: 'fine' }, 42]) {
      const report = normalizeHealthReport(value);
      expect(report.status).toBe('critical');
      expect(report.note).toMatch(/^health\(\) returned/);
    }
  });

  it('keeps notes within what Consul stores', () => {
    const long = 'x'.repeat(MAX_CHECK_OUTPUT_LENGTH + 100);
    expect(truncateNote(long)).toHaveLength(MAX_CHECK_OUTPUT_LENGTH);
    expect(normalizeHealthReport({ status: 'passing', note: long }).note).toHaveLength(
      MAX_CHECK_OUTPUT_LENGTH,
    );
  });
});
