import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { describeQuery, loopKey, resolveSettings, WATCH_DEFAULTS } from '../../src/watch/query.js';

const query = { endpoint: 'kv.get', params: { key: 'app/x' } };

describe('resolveSettings', () => {
  it('fills in the defaults', () => {
    const settings = resolveSettings({});
    expect(settings.waitMs).toBe(WATCH_DEFAULTS.waitMs);
    expect(settings.marginMs).toBe(WATCH_DEFAULTS.marginMs);
    expect(settings.minIntervalMs).toBe(WATCH_DEFAULTS.minIntervalMs);
    expect(settings.backoff).toEqual({
      initialMs: WATCH_DEFAULTS.backoffInitialMs,
      maxMs: WATCH_DEFAULTS.backoffMaxMs,
    });
    expect(settings.cached).toBe(false);
  });

  it('accepts Consul-style durations', () => {
    const settings = resolveSettings({
      wait: '5m',
      timeout: '2s',
      minInterval: 0,
      backoff: { initialDelay: '100ms', maxDelay: '1s' },
    });
    expect(settings.waitMs).toBe(300_000);
    expect(settings.marginMs).toBe(2000);
    expect(settings.minIntervalMs).toBe(0);
    expect(settings.backoff).toEqual({ initialMs: 100, maxMs: 1000 });
  });

  it('adapts one backoff bound to the other when only one is given', () => {
    expect(resolveSettings({ backoff: { maxDelay: '200ms' } }).backoff).toEqual({
      initialMs: 200,
      maxMs: 200,
    });
    expect(resolveSettings({ backoff: { initialDelay: '1m' } }).backoff).toEqual({
      initialMs: 60_000,
      maxMs: 60_000,
    });
    expect(resolveSettings({ backoff: { maxDelay: '5s' } }).backoff).toEqual({ initialMs: 500, maxMs: 5000 });
  });

  it('rejects what Consul or the loop cannot use', () => {
    expect(() => resolveSettings({ wait: '11m' })).toThrow(ValidationError);
    expect(() => resolveSettings({ wait: '10ms' })).toThrow(ValidationError);
    expect(() => resolveSettings({ wait: 'soon' })).toThrow(/wait/);
    expect(() => resolveSettings({ backoff: { initialDelay: '2s', maxDelay: '1s' } })).toThrow(
      ValidationError,
    );
    // @ts-expect-error: a mode Consul does not know
    expect(() => resolveSettings({ consistency: 'linear' })).toThrow(ValidationError);
    expect(() => resolveSettings({ datacenter: '' })).toThrow(ValidationError);
  });
});

describe('loopKey', () => {
  it('is equal for identical queries, whatever the order of parameters', () => {
    const a = loopKey(
      { endpoint: 'health.service', params: { service: 'web', passing: true, tag: 'v1' } },
      resolveSettings({}),
    );
    const b = loopKey(
      { endpoint: 'health.service', params: { tag: 'v1', service: 'web', passing: true } },
      resolveSettings({}),
    );
    expect(a).toBe(b);
  });

  it('ignores parameters left undefined', () => {
    expect(loopKey({ endpoint: 'e', params: { a: 'x', b: undefined } }, resolveSettings({}))).toBe(
      loopKey({ endpoint: 'e', params: { a: 'x' } }, resolveSettings({})),
    );
  });

  it('differs by endpoint, parameters, datacenter, token, consistency and loop options', () => {
    const base = loopKey(query, resolveSettings({}));
    const variants = [
      loopKey({ endpoint: 'kv.list', params: { key: 'app/x' } }, resolveSettings({})),
      loopKey({ endpoint: 'kv.get', params: { key: 'app/y' } }, resolveSettings({})),
      loopKey(query, resolveSettings({ datacenter: 'dc2' })),
      loopKey(query, resolveSettings({ token: 'secret' })),
      loopKey(query, resolveSettings({ consistency: 'stale' })),
      loopKey(query, resolveSettings({ cached: true })),
      loopKey(query, resolveSettings({ wait: '30s' })),
      loopKey(query, resolveSettings({ timeout: '1s' })),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
  });

  it('never contains the token', () => {
    const key = loopKey(query, resolveSettings({ token: 'b1gs3cr3t-token' }));
    expect(key).not.toContain('b1gs3cr3t');
    expect(key).toBe(loopKey(query, resolveSettings({ token: 'b1gs3cr3t-token' })));
  });
});

describe('describeQuery', () => {
  it('names the endpoint and its parameters', () => {
    expect(
      describeQuery({
        endpoint: 'health.service',
        params: { service: 'web', tag: undefined, passing: true },
      }),
    ).toBe('health.service(service="web", passing=true)');
    expect(describeQuery({ endpoint: 'catalog.services', params: {} })).toBe('catalog.services');
  });
});
