/**
 * Observability against a real Consul where the process-wide OpenTelemetry state matters:
 * a real context manager (Consul request spans nest under the withLock / runWhileLeader
 * span), global providers registered after the client was created, and the heartbeat age of
 * a registration that stopped. Globals are cleaned up after each test.
 */
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { context, metrics, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ATTRIBUTES, METRICS } from '../../src/index.js';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniqueName, uniquePrefix } from '../support/consul.js';
import { waitFor } from '../support/wait.js';
import { MemoryTelemetry } from '../unit/observability-support.js';

const clients = new Clients(sharedConsulAddress());
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await clients.closeAll();
});

function memory(temporality: 'cumulative' | 'delta' = 'cumulative'): MemoryTelemetry {
  const sdk = new MemoryTelemetry(temporality);
  cleanups.push(() => sdk.shutdown());
  return sdk;
}

function useContextManager(): void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  cleanups.push(() => void context.disable());
}

const fast = { ttl: '10s', lockDelay: 0 } as const;

/** The finished spans of requests to `/v1/kv/<key>`. */
function kvSpans(sdk: MemoryTelemetry, key: string): ReadableSpan[] {
  return sdk.finishedSpans().filter((span) => span.attributes[ATTRIBUTES.urlPath] === `/v1/kv/${key}`);
}

describe('request spans under a withLock or runWhileLeader span', () => {
  it('parents the Consul requests made inside a withLock body on the lock span', async () => {
    useContextManager();
    const sdk = memory();
    const consul = clients.create({ meterProvider: sdk.meterProvider, tracerProvider: sdk.tracerProvider });
    const prefix = uniquePrefix('obs-nest-lock');
    const key = `${prefix}/data`;
    await consul.lock(`${prefix}/.lock`, fast).withLock(async () => {
      await consul.kv.put(key, 'written under the lock');
      await consul.kv.get(key);
    });
    await consul.kv.get(key); // after the body: not under the lock span
    const lockSpan = sdk.finishedSpans().find((span) => span.name === 'consulkit.lock');
    expect(lockSpan).toBeDefined();
    const spans = kvSpans(sdk, key);
    expect(spans.map((span) => span.name)).toEqual(['PUT consul.kv', 'GET consul.kv', 'GET consul.kv']);
    const [put, get, after] = spans;
    const lockId = lockSpan?.spanContext();
    for (const inner of [put, get]) {
      expect(inner?.parentSpanContext?.spanId).toBe(lockId?.spanId);
      expect(inner?.spanContext().traceId).toBe(lockId?.traceId);
    }
    expect(after?.parentSpanContext).toBeUndefined();
  });

  it('parents the Consul requests made inside a runWhileLeader job on the leader span', async () => {
    useContextManager();
    const sdk = memory();
    const consul = clients.create({ meterProvider: sdk.meterProvider, tracerProvider: sdk.tracerProvider });
    const prefix = uniquePrefix('obs-nest-leader');
    const key = `${prefix}/data`;
    const election = consul.election(`${prefix}/leader`, fast);
    await election.campaign();
    try {
      const run = await election.runWhileLeader(async () => {
        await consul.kv.put(key, 'written by the leader');
        return 'done';
      });
      expect(run).toEqual({ ran: true, result: 'done' });
    } finally {
      await election.resign();
    }
    const leaderSpan = sdk.finishedSpans().find((span) => span.name === 'consulkit.leader');
    const [put] = kvSpans(sdk, key);
    expect(put?.name).toBe('PUT consul.kv');
    expect(put?.parentSpanContext?.spanId).toBe(leaderSpan?.spanContext().spanId);
  });
});

describe('global providers registered after the client was created', () => {
  it('records the client’s requests, spans and observable metrics once an SDK registers globally', async () => {
    cleanups.push(() => {
      metrics.disable();
      trace.disable();
    });
    const consul = clients.create(); // no provider in the options: the globals, none yet
    const key = `${uniquePrefix('obs-late-global')}/k`;
    await consul.kv.put(key, 'before any SDK');

    const sdk = memory();
    metrics.setGlobalMeterProvider(sdk.meterProvider);
    trace.setGlobalTracerProvider(sdk.tracerProvider);
    // Spans follow the API's global proxy from the next request on.
    await consul.kv.get(key);
    expect(kvSpans(sdk, key).map((span) => span.name)).toEqual(['GET consul.kv']);
    // Metrics: the global meter provider is read again periodically (about every second).
    await waitFor(
      'request metrics through the global meter provider',
      async () => {
        await consul.kv.get(key);
        return (await sdk.sum(METRICS.requests, { [ATTRIBUTES.endpointGroup]: 'kv' })) > 0;
      },
      15_000,
      100,
    );
    // The connection gauge was registered when the client was created, before any provider.
    expect(await sdk.sum(METRICS.connections, { [ATTRIBUTES.pool]: 'short' })).toBeGreaterThanOrEqual(1);
    const before = await sdk.sum(METRICS.requests, { [ATTRIBUTES.endpointGroup]: 'kv' });
    await consul.kv.put(key, 'recorded');
    expect((await sdk.sum(METRICS.requests, { [ATTRIBUTES.endpointGroup]: 'kv' })) - before).toBe(1);
  });
});

describe('heartbeat age of a registration', () => {
  it('is reported while the registration runs and no longer once it stopped', async () => {
    // Delta temporality: a collection carries only what the callbacks observed that time.
    const sdk = memory('delta');
    const consul = clients.create({ meterProvider: sdk.meterProvider });
    const registration = await consul.registerService({
      name: uniqueName('obs-age'),
      ttl: '3s',
      handleSignals: false,
    });
    const mine = { [ATTRIBUTES.serviceId]: registration.id };
    try {
      const [age] = await sdk.points(METRICS.heartbeatAge, mine);
      expect(age?.value).toBeGreaterThanOrEqual(0);
      expect(age?.value).toBeLessThan(3);
    } finally {
      await registration.stop();
    }
    expect(await sdk.points(METRICS.heartbeatAge, mine)).toEqual([]);
    expect((await consul.healthReport()).registrations).toEqual([]);
  });

  it('stops growing once the registration stopped, under a cumulative reader that keeps its last point', async () => {
    // @opentelemetry/sdk-metrics 2.x re-exports, under cumulative temporality, every series
    // it has seen, even one no callback observes any more; consulkit cannot remove it, but
    // the value stays as it was at the last collection before stop().
    const sdk = memory('cumulative');
    const consul = clients.create({ meterProvider: sdk.meterProvider });
    const registration = await consul.registerService({
      name: uniqueName('obs-age-cumulative'),
      ttl: '3s',
      handleSignals: false,
    });
    const mine = { [ATTRIBUTES.serviceId]: registration.id };
    expect(await sdk.points(METRICS.heartbeatAge, mine)).toHaveLength(1); // the SDK has seen it
    await registration.stop();
    const [last] = await sdk.points(METRICS.heartbeatAge, mine);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const [later] = await sdk.points(METRICS.heartbeatAge, mine);
    if (last !== undefined) expect(later?.value).toBe(last.value);
    else expect(later).toBeUndefined();
  });
});
