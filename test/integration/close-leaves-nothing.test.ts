/**
 * `close()` leaves no handle behind: a process that used every primitive, a user's own
 * blocking read and OpenTelemetry SDK providers registered globally after the client, and then
 * closed them all, ends by itself with nothing keeping its event loop alive.
 */
import { describe, expect, it } from 'vitest';
import { Consul } from '../../src/index.js';
import { childrenKilledAfterEach, spawnTs } from '../support/child-process.js';
import { sharedConsulAddress, uniqueName } from '../support/consul.js';

const children = childrenKilledAfterEach();

describe('close() leaves no handle behind', () => {
  it('a process that used every primitive and closed them ends by itself, with no resource left', async () => {
    const prefix = uniqueName('close-all');
    const child = spawnTs('test/fixtures/close-everything-child.ts', {
      CONSUL_HTTP_ADDR: sharedConsulAddress(),
      PREFIX: prefix,
    });
    children.push(child);
    // Bounds catch a hang only: a leaked handle keeps the process alive past them.
    await child.line('USED', 60_000);
    const closed = await child.line('CLOSED', 30_000);
    expect(JSON.parse(closed.slice('CLOSED '.length))).toEqual([]);
    const exit = await Promise.race([
      child.exited,
      new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 15_000)),
    ]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(child.stderr.join('')).toBe('');

    // What it held is gone from Consul: the service, the semaphore slot and the leader key.
    const consul = new Consul({ address: sharedConsulAddress(), env: {} });
    try {
      expect((await consul.agent.service.list())[prefix]).toBeUndefined();
      const held = (await consul.kv.list(`${prefix}/`)).filter((entry) => entry.Session !== undefined);
      expect(held).toEqual([]);
    } finally {
      await consul.close();
    }
  }, 120_000);
});
