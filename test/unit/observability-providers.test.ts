/**
 * How the observability facade finds its providers and what a request costs it: the API's
 * no-ops recognised, attribute objects reused, spans that do not record left alone, global
 * providers registered after the client picked up, and stopped registrations no longer
 * reported.
 */
import {
  createNoopMeter,
  diag,
  DiagLogLevel,
  metrics,
  ProxyTracerProvider,
  trace,
  type Attributes,
  type Meter,
  type MeterProvider,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConsulUnavailableError } from '../../src/errors.js';
import { ATTRIBUTES, METRICS } from '../../src/observability/names.js';
import { GLOBAL_PROVIDER_CHECK_MS } from '../../src/observability/providers.js';
import { RequestKinds } from '../../src/observability/request-kinds.js';
import { Telemetry } from '../../src/observability/telemetry.js';
import { MemoryTelemetry } from './observability-support.js';

const target = { address: '127.0.0.1', port: 8500 };

/** A meter whose histograms and counters remember the attribute objects they were given. */
function recordingMeter(): { provider: MeterProvider; attributes: Attributes[] } {
  const attributes: Attributes[] = [];
  const noop = createNoopMeter();
  const recorder = (): never =>
    ({
      record: (_value: number, given: Attributes) => void attributes.push(given),
      add: (_value: number, given: Attributes) => void attributes.push(given),
    }) as never;
  // A plain object, not an instance of the API's no-op meter, so it is not recognised as one.
  const meter: Meter = {
    createGauge: (name, options) => noop.createGauge(name, options),
    createHistogram: recorder,
    createCounter: recorder,
    createUpDownCounter: (name, options) => noop.createUpDownCounter(name, options),
    createObservableGauge: (name, options) => noop.createObservableGauge(name, options),
    createObservableCounter: (name, options) => noop.createObservableCounter(name, options),
    createObservableUpDownCounter: (name, options) => noop.createObservableUpDownCounter(name, options),
    addBatchObservableCallback: () => undefined,
    removeBatchObservableCallback: () => undefined,
  };
  return { provider: { getMeter: () => meter }, attributes };
}

describe('observability providers and request cost', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    vi.useRealTimers();
  });
  const telemetryOf = (...args: ConstructorParameters<typeof Telemetry>): Telemetry => {
    const telemetry = new Telemetry(...args);
    cleanups.push(() => telemetry.close());
    return telemetry;
  };
  const memory = (): MemoryTelemetry => {
    const sdk = new MemoryTelemetry();
    cleanups.push(() => sdk.shutdown());
    return sdk;
  };
  const useGlobals = (sdk: MemoryTelemetry): void => {
    metrics.setGlobalMeterProvider(sdk.meterProvider);
    trace.setGlobalTracerProvider(sdk.tracerProvider);
  };
  const cleanGlobals = (): void =>
    void cleanups.push(() => {
      metrics.disable();
      trace.disable();
    });

  it('treats the API’s own no-op meter and tracer providers as no provider: no observation is made', () => {
    const telemetry = telemetryOf(
      { meterProvider: { getMeter: () => createNoopMeter() }, tracerProvider: new ProxyTracerProvider() },
      target,
    );
    expect(telemetry.metricsEnabled).toBe(false);
    expect(telemetry.tracesEnabled).toBe(false);
    expect(telemetry.requestStart('GET', '/v1/kv/a', false)).toBeUndefined();
  });

  it('follows a ProxyTracerProvider given in the options from the moment it gets a delegate', () => {
    const sdk = memory();
    const proxy = new ProxyTracerProvider();
    const telemetry = telemetryOf({ tracerProvider: proxy }, target);
    expect(telemetry.tracesEnabled).toBe(false);
    proxy.setDelegate(sdk.tracerProvider);
    expect(telemetry.tracesEnabled).toBe(true);
    telemetry.requestEnd(telemetry.requestStart('GET', '/v1/kv/a', false), 200);
    expect(sdk.finishedSpans().map((span) => span.name)).toEqual(['GET consul.kv']);
  });

  it('reuses one attribute object per request kind and outcome instead of building one per request', () => {
    const meter = recordingMeter();
    const telemetry = telemetryOf({ meterProvider: meter.provider }, target);
    for (let i = 0; i < 3; i++)
      telemetry.requestEnd(telemetry.requestStart('GET', `/v1/kv/k${i}`, false), 200);
    // Each request records twice: its duration, then its count.
    const durations = meter.attributes.filter((_, index) => index % 2 === 0);
    const counts = meter.attributes.filter((_, index) => index % 2 === 1);
    expect(durations).toHaveLength(3);
    expect(durations[1]).toBe(durations[0]);
    expect(durations[2]).toBe(durations[0]);
    expect(counts[2]).toBe(counts[0]);
    expect(durations[0]).toEqual({
      [ATTRIBUTES.serverAddress]: '127.0.0.1',
      [ATTRIBUTES.serverPort]: 8500,
      [ATTRIBUTES.httpMethod]: 'GET',
      [ATTRIBUTES.endpointGroup]: 'kv',
      [ATTRIBUTES.blocking]: false,
      [ATTRIBUTES.httpStatus]: 200,
    });
    expect(counts[0]).toEqual({
      [ATTRIBUTES.httpMethod]: 'GET',
      [ATTRIBUTES.endpointGroup]: 'kv',
      [ATTRIBUTES.outcome]: 'ok',
    });
    // Other outcomes get their own objects, each reused in turn.
    telemetry.requestEnd(telemetry.requestStart('GET', '/v1/kv/x', false), 404);
    const failure = new ConsulUnavailableError('GET /v1/kv/x', {});
    telemetry.requestEnd(telemetry.requestStart('GET', '/v1/kv/x', false), undefined, failure);
    telemetry.requestEnd(telemetry.requestStart('GET', '/v1/kv/y', false), undefined, failure);
    const [notFound, notFoundCount, failed, failedCount, failedAgain, failedCountAgain] =
      meter.attributes.slice(6);
    expect(notFound).toMatchObject({ [ATTRIBUTES.httpStatus]: 404 });
    expect(notFoundCount).toMatchObject({ [ATTRIBUTES.outcome]: 'not_found' });
    expect(failed).toMatchObject({ [ATTRIBUTES.errorType]: 'unavailable' });
    expect(failed).not.toHaveProperty(ATTRIBUTES.httpStatus);
    expect(failedCount).toMatchObject({ [ATTRIBUTES.outcome]: 'unavailable' });
    expect(failedAgain).toBe(failed);
    expect(failedCountAgain).toBe(failedCount);
  });

  it('does not touch a span that is not recording (sampled out) beyond starting and ending it', () => {
    const setAttribute = vi.fn();
    const setStatus = vi.fn();
    const end = vi.fn();
    const span = { isRecording: () => false, setAttribute, setStatus, end } as unknown as Span;
    const tracer = { startSpan: vi.fn(() => span), startActiveSpan: vi.fn() } as unknown as Tracer;
    const telemetry = telemetryOf({ tracerProvider: { getTracer: () => tracer } }, target);
    const failure = new ConsulUnavailableError('GET /v1/kv/x', {});
    telemetry.requestEnd(telemetry.requestStart('GET', '/v1/kv/a', false), 200);
    telemetry.requestEnd(telemetry.requestStart('GET', '/v1/kv/a', false), undefined, failure);
    expect(tracer.startSpan).toHaveBeenCalledTimes(2);
    expect(end).toHaveBeenCalledTimes(2);
    expect(setAttribute).not.toHaveBeenCalled();
    expect(setStatus).not.toHaveBeenCalled();
  });

  it('keeps a bounded number of request kinds, and the same object for the same kind', () => {
    const kinds = new RequestKinds({});
    const first = kinds.get('GET', 'kv', false);
    expect(kinds.get('GET', 'kv', false)).toBe(first);
    expect(kinds.get('GET', 'kv', true)).not.toBe(first);
    expect(kinds.get('GET', 'kv', true).spanName).toBe('GET consul.kv');
    for (let i = 0; i < 2000; i++) kinds.get('GET', `group-${i}`, false);
    // Past the bound a kind is built afresh each time: still correct, never cached.
    const late = kinds.get('GET', 'group-1999', false);
    expect(late).not.toBe(kinds.get('GET', 'group-1999', false));
    expect(late.countAttributes('ok')).toEqual({
      [ATTRIBUTES.httpMethod]: 'GET',
      [ATTRIBUTES.endpointGroup]: 'group-1999',
      [ATTRIBUTES.outcome]: 'ok',
    });
    expect(kinds.get('GET', 'group-0', false)).toBe(kinds.get('GET', 'group-0', false));
  });

  it('picks up global providers registered after it was created, observable callbacks included', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    cleanGlobals();
    const telemetry = telemetryOf({}, target);
    telemetry.observeLoops(() => 3);
    expect(telemetry.metricsEnabled).toBe(false);
    expect(telemetry.tracesEnabled).toBe(false);
    expect(telemetry.requestStart('GET', '/v1/kv/a', false)).toBeUndefined();

    const sdk = memory();
    useGlobals(sdk);
    // Spans follow the API's global proxy at once; metrics at the next periodic check.
    expect(telemetry.tracesEnabled).toBe(true);
    expect(telemetry.metricsEnabled).toBe(false);
    vi.advanceTimersByTime(GLOBAL_PROVIDER_CHECK_MS);
    expect(telemetry.metricsEnabled).toBe(true);

    telemetry.requestEnd(telemetry.requestStart('GET', '/v1/kv/a', false), 200);
    expect(sdk.finishedSpans().map((span) => span.name)).toEqual(['GET consul.kv']);
    expect(await sdk.sum(METRICS.requests, { [ATTRIBUTES.outcome]: 'ok' })).toBe(1);
    expect(await sdk.sum(METRICS.watchLoops)).toBe(3);
  });

  it('moves to a newly registered global provider and stops when the globals are disabled', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    cleanGlobals();
    const first = memory();
    useGlobals(first);
    const telemetry = telemetryOf({}, target);
    let reads = 0;
    telemetry.observeLoops(() => {
      reads++;
      return 2;
    });
    expect(await first.sum(METRICS.watchLoops)).toBe(2);

    metrics.disable();
    trace.disable();
    vi.advanceTimersByTime(GLOBAL_PROVIDER_CHECK_MS);
    expect(telemetry.metricsEnabled).toBe(false);
    expect(telemetry.tracesEnabled).toBe(false);
    await first.metrics();
    expect(reads).toBe(1); // the old provider no longer calls back

    const second = memory();
    useGlobals(second);
    vi.advanceTimersByTime(GLOBAL_PROVIDER_CHECK_MS);
    telemetry.requestEnd(telemetry.requestStart('PUT', '/v1/kv/a', false), 200);
    expect(await second.sum(METRICS.requests, { [ATTRIBUTES.httpMethod]: 'PUT' })).toBe(1);
    expect(await second.sum(METRICS.watchLoops)).toBe(2);
    expect(reads).toBe(3); // once for the first provider, twice for the second
    expect(second.finishedSpans()).toHaveLength(1);
    expect(first.finishedSpans()).toHaveLength(0);
  });

  it('reports a global meter provider that fails on OpenTelemetry’s diag logger and keeps the old one', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    cleanGlobals();
    const errors: unknown[][] = [];
    const ignore = (): void => undefined;
    diag.setLogger(
      {
        error: (...args: unknown[]) => void errors.push(args),
        warn: ignore,
        info: ignore,
        debug: ignore,
        verbose: ignore,
      },
      DiagLogLevel.ERROR,
    );
    cleanups.push(() => diag.disable());
    const telemetry = telemetryOf({}, target);
    const broken = new Error('this SDK cannot make a meter');
    metrics.setGlobalMeterProvider({
      getMeter: () => {
        throw broken;
      },
    });
    vi.advanceTimersByTime(GLOBAL_PROVIDER_CHECK_MS * 3);
    // Once per provider, not on every check.
    expect(errors).toEqual([[expect.stringContaining('consulkit'), broken]]);
    expect(telemetry.metricsEnabled).toBe(false);
  });

  it('stops reading the globals once closed', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    cleanGlobals();
    const telemetry = new Telemetry({}, target);
    telemetry.close();
    useGlobals(memory());
    vi.advanceTimersByTime(GLOBAL_PROVIDER_CHECK_MS * 3);
    expect(telemetry.metricsEnabled).toBe(false);
  });

  it('uses explicit providers only, without reading the globals', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    cleanGlobals();
    const given = memory();
    const telemetry = telemetryOf(
      { meterProvider: given.meterProvider, tracerProvider: given.tracerProvider },
      target,
    );
    expect(vi.getTimerCount()).toBe(0);
    useGlobals(memory());
    telemetry.requestEnd(telemetry.requestStart('GET', '/v1/kv/a', false), 200);
    expect(given.finishedSpans()).toHaveLength(1);
  });
});

describe('heartbeat age of stopped registrations', () => {
  const registrations = (telemetry: Telemetry): { running: { active: boolean } } => {
    const running = { active: true };
    telemetry.registered(running, 'web-1', 'initial');
    telemetry.registered({ active: true }, 'web-2', 'initial');
    return { running };
  };
  const web = (id: string): Attributes => ({ [ATTRIBUTES.serviceId]: id });

  it('is no longer observed once stop() began, even when no deregistered event came (delta reader)', async () => {
    // With delta temporality the SDK exports exactly what the callbacks observed this time.
    const sdk = new MemoryTelemetry('delta');
    try {
      const telemetry = new Telemetry({ meterProvider: sdk.meterProvider }, target);
      const { running } = registrations(telemetry);
      expect(await sdk.points(METRICS.heartbeatAge, web('web-1'))).toHaveLength(1);
      running.active = false; // stop() began; its deregistration may yet fail
      expect(await sdk.points(METRICS.heartbeatAge, web('web-1'))).toHaveLength(0);
      expect(await sdk.points(METRICS.heartbeatAge, web('web-2'))).toHaveLength(1);
      expect(telemetry.state.liveRegistrations().map((record) => record.serviceId)).toEqual(['web-2']);
      telemetry.close();
    } finally {
      await sdk.shutdown();
    }
  });

  it('stays frozen at its last value, never growing, under a cumulative reader that keeps old series', async () => {
    // @opentelemetry/sdk-metrics 2.x keeps re-exporting, under cumulative temporality, a
    // series a callback stopped observing (the specification says it SHOULD NOT); the
    // last age of a stopped registration then stays as it was when stop() began.
    const sdk = new MemoryTelemetry();
    try {
      const telemetry = new Telemetry({ meterProvider: sdk.meterProvider }, target);
      const { running } = registrations(telemetry);
      await sdk.metrics();
      running.active = false;
      const [last] = await sdk.points(METRICS.heartbeatAge, web('web-1'));
      await new Promise((resolve) => setTimeout(resolve, 30));
      const [later] = await sdk.points(METRICS.heartbeatAge, web('web-1'));
      const [other] = await sdk.points(METRICS.heartbeatAge, web('web-2'));
      if (later !== undefined) expect(later.value).toBe(last?.value);
      expect(other?.value).toBeGreaterThan(last?.value as number);
      telemetry.close();
    } finally {
      await sdk.shutdown();
    }
  });
});
