import { describe, expect, it } from 'vitest';
import { parseQueryMeta } from '../../src/transport/query-meta.js';
import { blockingTimeoutMs, publicPath } from '../../src/transport/transport.js';

describe('parseQueryMeta', () => {
  it('reads every X-Consul header exactly', () => {
    expect(
      parseQueryMeta({
        'x-consul-index': '18446744073709551615',
        'x-consul-knownleader': 'true',
        'x-consul-lastcontact': '12',
        'x-consul-effective-consistency': 'stale',
        'x-cache': 'HIT',
        age: '3',
      }),
    ).toEqual({
      index: 18446744073709551615n,
      knownLeader: true,
      lastContact: 12,
      effectiveConsistency: 'stale',
      cacheHit: true,
      cacheAgeSeconds: 3,
    });
  });

  it('leaves out what is absent', () => {
    expect(parseQueryMeta({})).toEqual({});
  });
});

describe('blockingTimeoutMs', () => {
  it('stays above wait × 17/16 plus the margin', () => {
    expect(blockingTimeoutMs(300_000, 5000)).toBe(323_750);
    expect(blockingTimeoutMs(16_000, 0)).toBeGreaterThanOrEqual(17_000);
    // undici's default 300 s would cut Consul's default 5-minute wait.
    expect(blockingTimeoutMs(300_000, 0)).toBeGreaterThan(300_000);
  });
});

describe('publicPath', () => {
  it('masks the token that legacy ACL endpoints carry in the path, and nothing else', () => {
    expect(publicPath('/v1/acl/info/6a1b5e4c-secret')).toBe('/v1/acl/info/<redacted>');
    expect(publicPath('/v1/acl/destroy/6a1b5e4c-secret')).toBe('/v1/acl/destroy/<redacted>');
    expect(publicPath('/v1/acl/clone/6a1b5e4c-secret')).toBe('/v1/acl/clone/<redacted>');
    expect(publicPath('/v1/kv/acl/info/x')).toBe('/v1/kv/acl/info/x');
    expect(publicPath('/v1/acl/token/accessor-id')).toBe('/v1/acl/token/accessor-id');
  });
});
