/**
 * Users' own blocking reads take the watches' turns (the transport's blocking gate, wired to
 * the watch engine's slot scheduler), against the shared real agent: a client with two
 * blocking connections and more loops than that, so every blocking read takes turns.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consul } from '../../src/index.js';
import { sharedConsulAddress } from '../support/consul.js';
import { memoryLogger } from '../support/logging.js';
import { waitFor } from '../support/wait.js';
import { text, until } from '../support/watch.js';

/** Blocking slots of the client under test: its blocking connections over plain HTTP. */
const SLOTS = 2;
/** What the users' reads ask for: far longer than a turn while oversubscribed (1 to 2 s). */
const USER_WAIT = '60s';

describe('users’ blocking reads take turns with the watches', () => {
  let consul: Consul;
  let writer: Consul;
  let log: ReturnType<typeof memoryLogger>;
  // Top-level keys: a key without a folder is never coalesced, so each is a loop of its own.
  const run = randomBytes(4).toString('hex');
  const watched = [0, 1, 2].map((i) => `gate-${run}-watched-${i}`);
  const userKey = `gate-${run}-user`;

  beforeAll(async () => {
    log = memoryLogger('warn');
    writer = new Consul({ address: sharedConsulAddress(), env: {} });
    consul = new Consul({
      address: sharedConsulAddress(),
      env: {},
      logger: log.logger,
      connections: 2,
      blockingConnections: SLOTS,
    });
    for (const key of [...watched, userKey]) await writer.kv.put(key, 'before');
  });
  afterAll(async () => {
    await consul.close();
    for (const key of [...watched, userKey]) await writer.kv.delete(key);
    await writer.close();
  });

  it('with every slot taken by watches, a user read waits its turn, gets a turn’s wait and the right data, and the watches keep their bound', async () => {
    const watches = watched.map((key) => consul.watch.key(key));
    try {
      await Promise.all(watches.map((watch) => watch.ready()));
      // Three loops on two slots: the watches take turns of 2 s × 2 / 3.
      expect(consul.stats().watch).toMatchObject({ loops: 3, slots: SLOTS, turnWaitMs: 1333 });
      const first = await consul.kv.get(userKey).withMeta();
      const index = first.meta.index ?? 0n;
      expect(index).toBeGreaterThan(0n);

      let maxActive = 0;
      let maxRunning = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const stats = consul.stats();
          maxActive = Math.max(maxActive, stats.watch.activeReads);
          maxRunning = Math.max(maxRunning, stats.pools.blocking.running);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      try {
        // Two users' reads of a key that does not change, each asking for 60 s: without
        // turns they would hold both blocking connections for that long.
        const startedAt = performance.now();
        const userReads = [0, 1].map(() => consul.kv.get(userKey, { index, wait: USER_WAIT }).withMeta());
        await waitFor('the users’ reads to join the turns', () => consul.stats().watch.queuedLoops >= 1);
        // Meanwhile a watched key changes: the watch sees it within the scheduler's bound
        // (5 members on 2 slots: 3 rounds of 1 s turns), not after a user's 60 s.
        const bound = consul.stats().watch.worstCaseDelayMs;
        expect(bound).toBeGreaterThan(0);
        expect(bound).toBeLessThanOrEqual(5000);
        const changedAt = performance.now();
        await writer.kv.put(watched[1] ?? '', 'after');
        // A hang guard far under the users' 60 s wait, several times the bound for a loaded machine.
        await until(watches[1] ?? watches[0]!, (entry) => text(entry) === 'after', 30_000);
        const deliveredMs = performance.now() - changedAt;
        // The users' reads came back with their turn's wait: same index, same data.
        const answers = await Promise.all(userReads);
        const answeredMs = performance.now() - startedAt;
        for (const answer of answers) {
          expect(answer.meta.index).toBe(index);
          expect(text(answer.data)).toBe('before');
        }
        expect(deliveredMs).toBeLessThan(30_000);
        expect(answeredMs).toBeLessThan(30_000);
      } finally {
        sampling = false;
        await sampler;
      }
      // Every blocking read, the users' included, ran in a slot: never more at once.
      expect(maxActive).toBeLessThanOrEqual(SLOTS);
      expect(maxRunning).toBeLessThanOrEqual(SLOTS);

      // A user's read blocking on the key answers with the new value once it changes, as a
      // blocking read does: a read may come back at its (turn's) wait with the same index.
      const changed = (async () => {
        let answer = await consul.kv.get(userKey, { index, wait: USER_WAIT }).withMeta();
        while (answer.meta.index === index)
          answer = await consul.kv.get(userKey, { index, wait: USER_WAIT }).withMeta();
        return answer;
      })();
      await writer.kv.put(userKey, 'after');
      const answer = await changed;
      expect(text(answer.data)).toBe('after');
      expect(answer.meta.index).toBeGreaterThan(index);
      expect(log.lines.filter((line) => line.level >= 40)).toEqual([]);
    } finally {
      await Promise.all(watches.map((watch) => watch.close()));
    }
  });

  it('a user read aborted while it waits for a turn rejects with its reason and leaves the turns as they were', async () => {
    // Two watches on two slots: each holds its slot with a full wait, so a user's read queues.
    const watches = watched.slice(0, SLOTS).map((key) => consul.watch.key(key));
    try {
      await Promise.all(watches.map((watch) => watch.ready()));
      await waitFor('both watches blocking in their slots', () => {
        const { activeReads, queuedLoops } = consul.stats().watch;
        return activeReads === SLOTS && queuedLoops === 0;
      });
      expect(consul.stats().watch).toMatchObject({ turnWaitMs: 60_000, worstCaseDelayMs: 0 });
      const current = await consul.kv.get(userKey).withMeta();
      const controller = new AbortController();
      const reason = new Error('the user gave up');
      const read = consul.kv.get(userKey, {
        index: current.meta.index ?? 1n,
        wait: USER_WAIT,
        signal: controller.signal,
      });
      const outcome = read.then(
        () => 'answered',
        (error: unknown) => error,
      );
      // The read asked for its turn synchronously and waits in the queue: one more member.
      expect(consul.stats().watch).toMatchObject({ queuedLoops: 1, turnWaitMs: 1333 });
      controller.abort(reason);
      expect(await outcome).toBe(reason);
      // It took nothing and gives nothing back: the members are the two watches again, which
      // (once the one preempted for the read has its slot back) hold both slots.
      expect(consul.stats().watch).toMatchObject({ queuedLoops: 0, turnWaitMs: 60_000, worstCaseDelayMs: 0 });
      await waitFor('both watches back in their slots', () => {
        const { activeReads, queuedLoops } = consul.stats().watch;
        return activeReads === SLOTS && queuedLoops === 0;
      });
      await writer.kv.put(watched[1] ?? '', `aborted-${run}`);
      await until(watches[1] ?? watches[0]!, (entry) => text(entry) === `aborted-${run}`, 30_000);
      // And the next user read gets a turn and the data.
      const next = await consul.kv.get(userKey, { index: current.meta.index ?? 1n, wait: '2s' }).withMeta();
      expect(text(next.data)).toBe(text(current.data));
      expect(consul.stats().watch.activeReads).toBeLessThanOrEqual(SLOTS);
    } finally {
      await Promise.all(watches.map((watch) => watch.close()));
    }
  });
});
