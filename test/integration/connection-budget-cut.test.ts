/**
 * A long poll cut under a watch (an HTTP/2 GOAWAY fails every stream of its connection at
 * once; a proxy may drop a quiet connection): the watch reconnects at once, without backoff,
 * warning or `error`, and the next change still arrives (issue 11, item 5).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Consul } from '../../src/index.js';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';
import { memoryLogger } from '../support/logging.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

const clients = new Clients(sharedConsulAddress());
afterAll(() => clients.closeAll());

describe('a blocking read cut after it was held', () => {
  it(
    'reconnects at once: no error, no warning, and the next change arrives',
    { timeout: 60_000 },
    async () => {
      const proxy = await startTcpProxy(new URL(sharedConsulAddress()).host);
      const { logger, lines } = memoryLogger('warn');
      const consul = new Consul({ address: `http://${proxy.address}`, env: {}, logger });
      const writer = clients.create();
      const key = `${uniquePrefix('cut')}/k`;
      await writer.kv.put(key, 'v1');
      const errors: Error[] = [];
      const watch = consul.watch.key(key).on('error', (error) => errors.push(error));
      try {
        await watch.ready();
        // The blocking read is sent and held by the agent.
        await waitFor(
          'a blocking read held',
          () => consul.stats().blockingRequests > 0 && consul.stats().pools.blocking.running > 0,
        );
        await new Promise((resolve) => setTimeout(resolve, 1500));
        proxy.dropAll();
        await waitFor('a new blocking read', () => consul.stats().blockingRequests > 1, 10_000);
        await writer.kv.put(key, 'v2');
        await waitFor('v2 delivered', () => String(watch.current?.Value) === 'v2', 10_000);
        expect(errors).toEqual([]);
        expect(lines).toEqual([]);
        expect(watch.state).toBe('live');
      } finally {
        await watch.close();
        await consul.close();
        await proxy.close();
      }
    },
  );
});
