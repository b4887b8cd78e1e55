/**
 * An agent whose per-client limit is smaller than the client's budget (as when other
 * processes of the host hold most of it): the refused reads are recognised, the blocking
 * slots shrink, one warning is logged for the episode, nothing spins, and every change is
 * still delivered (issue 11, item 4).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { HostWriter } from '../../bench/support/host-clients.js';
import { Consul } from '../../src/index.js';
import { startConsul } from '../../src/testing/index.js';
import { memoryLogger } from '../support/logging.js';
import { waitFor } from '../support/wait.js';

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('a full per-client connection limit', () => {
  it(
    'shrinks the blocking slots with one warning, never spins, and still delivers every change',
    { timeout: 180_000 },
    async () => {
      // 16 connections per client IP: the 8 short + 24 blocking of the default budget do not fit.
      const agent = await startConsul({ backend: 'binary', httpMaxConnsPerClient: 16, log: () => undefined });
      closers.push(() => agent.stop());
      const writer = new HostWriter(agent.httpAddress);
      closers.push(() => writer.close());
      const run = randomBytes(3).toString('hex');
      // Top-level keys cannot be coalesced: 40 loops need turns on the blocking slots.
      const keys = Array.from({ length: 40 }, (_, i) => `limit-${run}-${i}`);
      await HostWriter.each(keys, 8, (key) => writer.put(`/v1/kv/${key}`, 'before'));

      const { logger, lines } = memoryLogger('info');
      const consul = new Consul({ address: agent.httpAddress, env: {}, logger });
      closers.push(() => consul.close());
      const changed = new Set<number>();
      const watches = keys.map((key, i) =>
        consul.watch.key(key).on('change', (entry) => {
          if (entry !== undefined && String(entry.Value) === 'after') changed.add(i);
        }),
      );
      await Promise.all(watches.map((watch) => watch.ready()));
      await waitFor(
        'the agent to refuse blocking connections',
        () => consul.watch.stats().limitRefusals > 0,
        30_000,
        50,
      );
      await waitFor('the slots to shrink', () => consul.watch.stats().slots < 24, 30_000, 50);

      // No spin: with 40 loops on the remaining slots (turns of at least 1 s, backoff of at
      // least 500 ms after a refusal), 3 s hold far fewer reads than a retry loop would send.
      const before = consul.stats().requests;
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(consul.stats().requests - before).toBeLessThan(400);

      await HostWriter.each(keys, 8, (key) => writer.put(`/v1/kv/${key}`, 'after'));
      await waitFor('every change delivered', () => changed.size === keys.length, 90_000, 100);
      const warnings = lines.filter((line) => line.level === 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.msg).toMatch(/per-client limit is full/);
    },
  );
});
