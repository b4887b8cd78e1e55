import diagnosticsChannel from 'node:diagnostics_channel';
import { metrics, trace, SpanStatusCode } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConsulHttpError,
  ConsulUnavailableError,
  LockLostError,
  TimeoutError,
  ValidationError,
} from '../../src/errors.js';
import { buildHealthReport } from '../../src/observability/health-report.js';
import { ATTRIBUTES, CHANNELS, METRICS } from '../../src/observability/names.js';
import { endpointGroup, lossReason, Telemetry } from '../../src/observability/telemetry.js';
import { MemoryTelemetry } from './observability-support.js';

const target = { address: '127.0.0.1', port: 8500 };

/** Subscribes to `name` for the test; returns the messages received. */
function listen(name: string, cleanups: Array<() => void>): unknown[] {
  const received: unknown[] = [];
  const listener = (message: unknown): void => void received.push(message);
  diagnosticsChannel.subscribe(name, listener);
  cleanups.push(() => diagnosticsChannel.unsubscribe(name, listener));
  return received;
}

describe('observability facade', () => {
  const cleanups: Array<() => void> = [];
  const providers: MemoryTelemetry[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    await Promise.all(providers.splice(0).map((memory) => memory.shutdown()));
  });
  const memory = (): MemoryTelemetry => {
    const created = new MemoryTelemetry();
    providers.push(created);
    return created;
  };

  it('does nothing and allocates no observation without a provider or a subscriber', () => {
    const telemetry = new Telemetry({}, target);
    expect(telemetry.metricsEnabled).toBe(false);
    expect(telemetry.tracesEnabled).toBe(false);
    expect(telemetry.requestStart('GET', '/v1/kv/a', false)).toBeUndefined();
    expect(() => telemetry.requestEnd(undefined, 200)).not.toThrow();
  });

  it('refuses a provider that is not one, before anything else', () => {
    expect(() => new Telemetry({ meterProvider: {} as never }, target)).toThrow(ValidationError);
    expect(() => new Telemetry({ tracerProvider: 'jaeger' as never }, target)).toThrow(/tracerProvider/);
  });

  it('uses the global providers once an SDK registered them', () => {
    const sdk = memory();
    metrics.setGlobalMeterProvider(sdk.meterProvider);
    trace.setGlobalTracerProvider(sdk.tracerProvider);
    cleanups.push(() => {
      metrics.disable();
      trace.disable();
    });
    const telemetry = new Telemetry({}, target);
    expect(telemetry.metricsEnabled).toBe(true);
    expect(telemetry.tracesEnabled).toBe(true);
  });

  it('publishes one message object on request start and end, without the query string or a token', () => {
    const starts = listen(CHANNELS.requestStart, cleanups);
    const ends = listen(CHANNELS.requestEnd, cleanups);
    const telemetry = new Telemetry({}, target);
    const observation = telemetry.requestStart('PUT', '/v1/kv/app/x', false);
    expect(observation).toBeDefined();
    expect(starts).toEqual([{ method: 'PUT', path: '/v1/kv/app/x', group: 'kv', blocking: false }]);
    telemetry.requestEnd(observation, 200);
    expect(ends).toHaveLength(1);
    expect(ends[0]).toBe(starts[0]);
    expect(ends[0]).toMatchObject({ status: 200 });
    expect((ends[0] as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(0);
  });

  it('masks a token carried in a legacy ACL path and takes the status from an HTTP error', () => {
    const ends = listen(CHANNELS.requestEnd, cleanups);
    const telemetry = new Telemetry({}, target);
    const observation = telemetry.requestStart('GET', '/v1/acl/info/8f1c-secret', false);
    telemetry.requestEnd(
      observation,
      undefined,
      new ConsulHttpError({ status: 500, method: 'GET', path: '/v1/acl/info/<redacted>', body: 'boom' }),
    );
    expect(ends).toMatchObject([{ path: '/v1/acl/info/<redacted>', group: 'acl', status: 500 }]);
    expect(
      JSON.stringify(ends[0], (_key, value: unknown) => (value instanceof Error ? value.message : value)),
    ).not.toContain('8f1c-secret');
  });

  it('records request duration in seconds and requests by group, method and outcome', async () => {
    const sdk = memory();
    const telemetry = new Telemetry({ meterProvider: sdk.meterProvider }, target);
    telemetry.requestEnd(telemetry.requestStart('GET', '/v1/kv/a', false), 200);
    telemetry.requestEnd(telemetry.requestStart('GET', '/v1/kv/b', false), 404);
    telemetry.requestEnd(
      telemetry.requestStart('GET', '/v1/health/service/web', true),
      undefined,
      new TimeoutError('GET /v1/health/service/web', 1000),
    );
    const duration = await sdk.histogram(METRICS.requestDuration, {
      [ATTRIBUTES.httpMethod]: 'GET',
      [ATTRIBUTES.endpointGroup]: 'kv',
      [ATTRIBUTES.serverAddress]: '127.0.0.1',
      [ATTRIBUTES.serverPort]: 8500,
    });
    expect(duration.count).toBe(2);
    expect(duration.sum).toBeLessThan(1); // seconds, not milliseconds
    expect(await sdk.sum(METRICS.requests, { [ATTRIBUTES.outcome]: 'ok' })).toBe(1);
    expect(await sdk.sum(METRICS.requests, { [ATTRIBUTES.outcome]: 'not_found' })).toBe(1);
    expect(
      await sdk.sum(METRICS.requests, {
        [ATTRIBUTES.outcome]: 'timeout',
        [ATTRIBUTES.endpointGroup]: 'health',
      }),
    ).toBe(1);
    expect(
      (
        await sdk.histogram(METRICS.requestDuration, {
          [ATTRIBUTES.errorType]: 'timeout',
          [ATTRIBUTES.blocking]: true,
        })
      ).count,
    ).toBe(1);
    telemetry.retry(
      'GET',
      '/v1/kv/a',
      new ConsulUnavailableError('GET /v1/kv/a', { cause: new Error('refused') }),
    );
    expect(await sdk.sum(METRICS.retries, { [ATTRIBUTES.errorType]: 'unavailable' })).toBe(1);
  });

  it('makes one client span per request, marked as an error when it fails', () => {
    const sdk = memory();
    const telemetry = new Telemetry({ tracerProvider: sdk.tracerProvider }, target);
    telemetry.requestEnd(telemetry.requestStart('GET', '/v1/kv/a', false), 200);
    telemetry.requestEnd(
      telemetry.requestStart('PUT', '/v1/session/create', false),
      undefined,
      new ConsulUnavailableError('PUT /v1/session/create', { cause: new Error('refused') }),
    );
    const [ok, failed] = sdk.finishedSpans();
    expect(ok?.name).toBe('GET consul.kv');
    expect(ok?.attributes).toMatchObject({
      [ATTRIBUTES.httpMethod]: 'GET',
      [ATTRIBUTES.httpStatus]: 200,
      [ATTRIBUTES.urlPath]: '/v1/kv/a',
      [ATTRIBUTES.serverAddress]: '127.0.0.1',
    });
    expect(ok?.status.code).toBe(SpanStatusCode.UNSET);
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed?.attributes[ATTRIBUTES.errorType]).toBe('unavailable');
  });

  it('tracks lock holders, hold time and losses by reason, and publishes acquired, released and lost', async () => {
    const sdk = memory();
    const acquired = listen(CHANNELS.lockAcquired, cleanups);
    const released = listen(CHANNELS.lockReleased, cleanups);
    const lost = listen(CHANNELS.lockLost, cleanups);
    const telemetry = new Telemetry({ meterProvider: sdk.meterProvider }, target);
    const a = {};
    const b = {};
    telemetry.lockAcquired(a, 'lock', 'jobs/x/.lock', 7n);
    telemetry.lockAcquired(b, 'semaphore', 'pool', 9n);
    expect(await sdk.sum(METRICS.lockHolders, { [ATTRIBUTES.key]: 'jobs/x/.lock' })).toBe(1);
    expect([...telemetry.state.held.values()].map((held) => held.key)).toEqual(['jobs/x/.lock', 'pool']);
    telemetry.lockEnded(a);
    const loss = new LockLostError('the session ended', {
      cause: new TimeoutError('PUT /v1/session/renew', 1),
    });
    telemetry.lockEnded(b, loss);
    telemetry.lockEnded(b, loss); // a second report of the same end counts once
    expect(await sdk.sum(METRICS.lockHolders)).toBe(0);
    expect(telemetry.state.held.size).toBe(0);
    expect((await sdk.histogram(METRICS.lockHoldDuration, { [ATTRIBUTES.holdEnd]: 'released' })).count).toBe(
      1,
    );
    expect(
      await sdk.sum(METRICS.lockLosses, {
        [ATTRIBUTES.lockKind]: 'semaphore',
        [ATTRIBUTES.lossReason]: 'timeout',
      }),
    ).toBe(1);
    expect(acquired).toEqual([
      { kind: 'lock', key: 'jobs/x/.lock', fencingToken: 7n },
      { kind: 'semaphore', key: 'pool', fencingToken: 9n },
    ]);
    expect(released).toMatchObject([{ kind: 'lock', key: 'jobs/x/.lock' }]);
    expect(lost).toMatchObject([{ kind: 'semaphore', key: 'pool', error: loss }]);
  });

  it('names a loss for its cause, or lock_lost when Consul decided it', () => {
    expect(lossReason(new LockLostError('key deleted'))).toBe('lock_lost');
    expect(lossReason(new LockLostError('renewal', { cause: new ConsulUnavailableError('x', {}) }))).toBe(
      'unavailable',
    );
  });

  it('counts terms won, lost and resigned, and times leadership', async () => {
    const sdk = memory();
    const elected = listen(CHANNELS.electionElected, cleanups);
    const revoked = listen(CHANNELS.electionRevoked, cleanups);
    const telemetry = new Telemetry({ meterProvider: sdk.meterProvider }, target);
    const election = {};
    telemetry.elected(election, 'service/cron/leader', 3n);
    telemetry.revoked(election, new LockLostError('lost'));
    telemetry.elected(election, 'service/cron/leader', 5n);
    telemetry.revoked(election);
    telemetry.revoked(election); // no term to end: ignored
    expect(await sdk.sum(METRICS.electionTerms, { [ATTRIBUTES.term]: 'won' })).toBe(2);
    expect(await sdk.sum(METRICS.electionTerms, { [ATTRIBUTES.term]: 'lost' })).toBe(1);
    expect(await sdk.sum(METRICS.electionTerms, { [ATTRIBUTES.term]: 'resigned' })).toBe(1);
    expect((await sdk.histogram(METRICS.electionLeadership)).count).toBe(2);
    expect(elected).toHaveLength(2);
    expect(revoked).toMatchObject([{ end: 'lost' }, { end: 'resigned' }]);
  });

  it('runs a body in a span with the key and fencing token, and marks a throwing body as an error', async () => {
    const sdk = memory();
    const telemetry = new Telemetry({ tracerProvider: sdk.tracerProvider }, target);
    await expect(telemetry.inSpan('consulkit.lock', 'jobs/x/.lock', 12n, async () => 'done')).resolves.toBe(
      'done',
    );
    await expect(
      telemetry.inSpan('consulkit.leader', 'cron', undefined, async () => {
        throw new LockLostError('lost');
      }),
    ).rejects.toBeInstanceOf(LockLostError);
    const [ok, failed] = sdk.finishedSpans();
    expect(ok?.attributes).toEqual({ [ATTRIBUTES.key]: 'jobs/x/.lock', [ATTRIBUTES.fencingToken]: '12' });
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed?.attributes[ATTRIBUTES.errorType]).toBe('lock_lost');
  });

  it('tracks registrations: re-registrations, heartbeat failures and the age of the last good heartbeat', async () => {
    const sdk = memory();
    const failures = listen(CHANNELS.registrationFailed, cleanups);
    const telemetry = new Telemetry({ meterProvider: sdk.meterProvider }, target);
    const registration = {};
    telemetry.registered(registration, 'web-1', 'initial');
    telemetry.registrationFailed(
      registration,
      new ConsulUnavailableError('PUT /v1/agent/check/update/x', {}),
    );
    telemetry.registrationFailed(
      registration,
      new ConsulUnavailableError('PUT /v1/agent/check/update/x', {}),
    );
    expect(telemetry.state.registrations.get(registration)?.failuresInARow).toBe(2);
    telemetry.registered(registration, 'web-1', 'agent-restarted');
    expect(telemetry.state.registrations.get(registration)?.failuresInARow).toBe(0);
    expect(await sdk.sum(METRICS.heartbeatFailures, { [ATTRIBUTES.serviceId]: 'web-1' })).toBe(2);
    expect(await sdk.sum(METRICS.registrations, { [ATTRIBUTES.registrationReason]: 'agent-restarted' })).toBe(
      1,
    );
    const [age] = await sdk.points(METRICS.heartbeatAge, { [ATTRIBUTES.serviceId]: 'web-1' });
    expect(age?.value).toBeGreaterThanOrEqual(0);
    expect(age?.value).toBeLessThan(60);
    expect(failures).toHaveLength(2);
    telemetry.deregistered(registration);
    expect(telemetry.state.registrations.size).toBe(0);
  });

  it('tracks failing watch loops until a read answers or the loop stops', async () => {
    const sdk = memory();
    const errors = listen(CHANNELS.watchError, cleanups);
    const telemetry = new Telemetry({ meterProvider: sdk.meterProvider }, target);
    const error = new ConsulUnavailableError('GET /v1/kv/a', {});
    telemetry.watchFailed('kv.get(key="a")', error, false);
    telemetry.watchFailed('kv.get(key="a")', error, false);
    telemetry.watchFailed('health.service(service="web")', error, false);
    expect(telemetry.state.failingWatches.get('kv.get(key="a")')).toMatchObject({ kind: 'kv', failures: 2 });
    expect(await sdk.sum(METRICS.watchFailing)).toBe(2);
    expect(await sdk.sum(METRICS.watchErrors, { [ATTRIBUTES.watchKind]: 'health' })).toBe(1);
    telemetry.watchRead('kv.get(key="a")');
    telemetry.watchStopped('health.service(service="web")');
    expect(await sdk.sum(METRICS.watchFailing)).toBe(0);
    expect(await sdk.sum(METRICS.watchErrors, { [ATTRIBUTES.errorType]: 'unavailable' })).toBe(3);
    expect(await sdk.sum(METRICS.watchReads, { [ATTRIBUTES.outcome]: 'ok' })).toBe(1);
    expect(errors).toHaveLength(3);
  });

  it('records how long a loop took to hand a change to its watches, by kind, as the delivery duration', async () => {
    const sdk = memory();
    const telemetry = new Telemetry({ meterProvider: sdk.meterProvider }, target);
    telemetry.watchDelivered('kv.get(key="a")', performance.now() - 20);
    const delivery = await sdk.histogram('consulkit.watch.delivery.duration', {
      [ATTRIBUTES.watchKind]: 'kv',
    });
    expect(delivery.count).toBe(1);
    expect(delivery.sum).toBeGreaterThanOrEqual(0.02); // seconds
    expect(delivery.sum).toBeLessThan(60);
    expect(METRICS.watchDelivery).toBe('consulkit.watch.delivery.duration');
  });

  it('stops calling its observable callbacks once closed', async () => {
    const sdk = memory();
    const telemetry = new Telemetry({ meterProvider: sdk.meterProvider }, target);
    let reads = 0;
    telemetry.observeLoops(() => {
      reads++;
      return 4;
    });
    expect(await sdk.sum(METRICS.watchLoops)).toBe(4);
    expect(reads).toBe(1);
    telemetry.close();
    telemetry.close();
    await sdk.metrics();
    expect(reads).toBe(1);
  });

  it('reports a balancer’s pickable instances (in rotation and not ejected) and ejections', async () => {
    const sdk = memory();
    const telemetry = new Telemetry({ meterProvider: sdk.meterProvider }, target);
    const balancer = { instances: () => [1, 2, 3], ejected: () => [2] };
    telemetry.observeBalancer('api', balancer);
    telemetry.balancerEjected('api', 'api-2');
    expect(await sdk.sum(METRICS.balancerInstances, { [ATTRIBUTES.service]: 'api' })).toBe(2);
    expect(await sdk.sum(METRICS.balancerEjections, { [ATTRIBUTES.instance]: 'api-2' })).toBe(1);
  });
});

describe('endpointGroup', () => {
  it.each([
    ['/v1/kv/a/b', 'kv'],
    ['/v1/agent/service/register', 'agent'],
    ['/v1/status/leader', 'status'],
    ['/v1/txn', 'txn'],
    ['/v1/txn?dc=x', 'txn'],
    ['/v2/other', 'other'],
  ])('%s → %s', (path, group) => {
    expect(endpointGroup(path)).toBe(group);
  });
});

describe('buildHealthReport', () => {
  it('is healthy when the agent answers with a leader and nothing is failing', async () => {
    const telemetry = new Telemetry({}, target);
    telemetry.lockAcquired({}, 'lock', 'jobs/x/.lock', 2n ** 64n - 1n);
    telemetry.registered({}, 'web-1', 'initial');
    const report = await buildHealthReport(telemetry.state, async () => '127.0.0.1:8300', 3);
    expect(report.healthy).toBe(true);
    expect(report.agent).toMatchObject({ reachable: true, leader: '127.0.0.1:8300' });
    expect(report.held).toMatchObject([
      { kind: 'lock', key: 'jobs/x/.lock', fencingToken: '18446744073709551615' },
    ]);
    expect(report.registrations).toMatchObject([{ serviceId: 'web-1', failuresInARow: 0 }]);
    expect(report.watches).toEqual({ loops: 3, failing: [] });
    expect(() => JSON.stringify(report)).not.toThrow();
  });

  it('is unhealthy when the agent is unreachable or has no leader, a heartbeat or a watch fails', async () => {
    const telemetry = new Telemetry({}, target);
    const unreachable = await buildHealthReport(
      telemetry.state,
      async () => {
        throw new ConsulUnavailableError('GET /v1/status/leader', {});
      },
      0,
    );
    expect(unreachable.healthy).toBe(false);
    expect(unreachable.agent).toMatchObject({
      reachable: false,
      leader: undefined,
      error: { type: 'unavailable' },
    });

    const leaderless = await buildHealthReport(telemetry.state, async () => '', 0);
    expect(leaderless.healthy).toBe(false);
    expect(leaderless.agent).toMatchObject({ reachable: true, leader: undefined });

    const registration = {};
    telemetry.registered(registration, 'web-1', 'initial');
    telemetry.registrationFailed(registration, new Error('agent said no'));
    const failingHeartbeat = await buildHealthReport(telemetry.state, async () => 'leader:8300', 0);
    expect(failingHeartbeat.healthy).toBe(false);
    expect(failingHeartbeat.registrations).toMatchObject([{ failuresInARow: 1, lastError: 'agent said no' }]);
    telemetry.heartbeat(registration);

    telemetry.watchFailed('kv a', new Error('refused'), false);
    const failingWatch = await buildHealthReport(telemetry.state, async () => 'leader:8300', 1);
    expect(failingWatch.healthy).toBe(false);
    expect(failingWatch.watches.failing).toMatchObject([
      { query: 'kv a', failures: 1, lastError: 'refused' },
    ]);
  });

  it('rejects bad options and a cancelled probe instead of reporting the agent down', async () => {
    const telemetry = new Telemetry({}, target);
    await expect(
      buildHealthReport(
        telemetry.state,
        async () => {
          throw new ValidationError('timeout', 'bad');
        },
        0,
      ),
    ).rejects.toBeInstanceOf(ValidationError);
    const controller = new AbortController();
    controller.abort(new Error('gave up'));
    await expect(
      buildHealthReport(
        telemetry.state,
        async () => {
          throw controller.signal.reason;
        },
        0,
        controller.signal,
      ),
    ).rejects.toThrow('gave up');
  });
});
