import { describe, expect, it } from 'vitest';
import { choosePublishedHost, isOwnAddress, resolvePublishedHost } from '../../src/testing/published-host.js';

describe('choosePublishedHost', () => {
  it('uses loopback, bound to loopback only, for a local socket', () => {
    expect(choosePublishedHost('localhost', false)).toEqual({ host: '127.0.0.1', loopbackOnly: true });
    expect(choosePublishedHost('::1', false)).toEqual({ host: '127.0.0.1', loopbackOnly: true });
  });

  it('uses loopback when the reported gateway is an address of this machine', () => {
    expect(choosePublishedHost('172.17.0.1', true)).toEqual({ host: '127.0.0.1', loopbackOnly: true });
  });

  it('keeps the host of an engine elsewhere and publishes on all interfaces', () => {
    expect(choosePublishedHost('172.17.0.1', false)).toEqual({ host: '172.17.0.1', loopbackOnly: false });
  });
});

describe('isOwnAddress / resolvePublishedHost', () => {
  it('knows loopback is ours and a TEST-NET-3 address is not', async () => {
    expect(await isOwnAddress('127.0.0.1')).toBe(true);
    // 203.0.113.0/24 is reserved for documentation and never assigned to a real interface.
    expect(await isOwnAddress('203.0.113.77')).toBe(false);
    expect(await resolvePublishedHost('203.0.113.77')).toEqual({ host: '203.0.113.77', loopbackOnly: false });
    expect(await resolvePublishedHost('127.0.0.1')).toEqual({ host: '127.0.0.1', loopbackOnly: true });
  });
});
