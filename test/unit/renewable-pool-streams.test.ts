/**
 * Per-connection request counts of a RenewablePool (what `consul.stats()` reports as
 * streams per connection), over a local server that accepts requests and never answers, so
 * that every request stays running on its connection.
 */
import { pino } from 'pino';
import { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { RenewablePool } from '../../src/transport/renewable-pool.js';
import { startSilentServer, type SilentServer } from '../support/silent-server.js';
import { waitFor } from '../support/wait.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function silentServer(): Promise<SilentServer> {
  const server = await startSilentServer();
  cleanups.push(() => server.close());
  return server;
}

describe('RenewablePool per-connection counts', () => {
  it('counts the requests running on each connection, busiest first, adding up to the pool totals', async () => {
    const server = await silentServer();
    // Pipelining lets one HTTP/1.1 connection carry several requests, as h2 streams do (a
    // request undici marks blocking, the default for GET, would hold the next ones back).
    const pool = new RenewablePool(
      'test',
      (factory) => new Pool(server.url, { connections: 2, pipelining: 3, factory }),
      pino({ level: 'silent' }),
      true,
    );
    cleanups.push(() => pool.destroy());
    const controller = new AbortController();
    const requests = Array.from({ length: 5 }, () =>
      pool.current.request({ method: 'GET', path: '/', blocking: false, signal: controller.signal }).then(
        () => 'answered',
        () => 'cut',
      ),
    );
    const stats = await waitFor('five requests running', () => {
      const now = pool.stats();
      return now.running === 5 ? now : undefined;
    });
    expect(stats.connected).toBe(2);
    expect(stats.runningPerConnection).toHaveLength(2);
    expect(stats.runningPerConnection.reduce((a, b) => a + b, 0)).toBe(5);
    expect(stats.runningPerConnection[0]).toBe(3);
    expect(stats.runningPerConnection).toEqual([...stats.runningPerConnection].sort((a, b) => b - a));
    controller.abort();
    expect(await Promise.all(requests)).toEqual(Array.from({ length: 5 }, () => 'cut'));
  });

  it('forgets the connections of a renewed pool once it is gone', async () => {
    const server = await silentServer();
    const pool = new RenewablePool(
      'test',
      (factory) => new Pool(server.url, { connections: 1, factory }),
      pino({ level: 'silent' }),
      true,
    );
    cleanups.push(() => pool.destroy());
    const old = pool.current;
    const request = old.request({ method: 'GET', path: '/' }).then(
      () => 'answered',
      () => 'cut',
    );
    await waitFor('one request running', () => pool.stats().running === 1);
    expect(pool.stats().runningPerConnection).toEqual([1]);
    pool.renew(old);
    expect(await request).toBe('cut');
    await waitFor('the old pool gone', () => pool.stats().connected === 0);
    expect(pool.stats().runningPerConnection).toEqual([]);
    // The new pool's connections are counted.
    const controller = new AbortController();
    const next = pool.current
      .request({ method: 'GET', path: '/', blocking: false, signal: controller.signal })
      .then(
        () => 'answered',
        () => 'cut',
      );
    await waitFor('the new pool running', () => pool.stats().running === 1);
    expect(pool.stats().runningPerConnection).toEqual([1]);
    controller.abort();
    expect(await next).toBe('cut');
  });
});
