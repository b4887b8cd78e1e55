/**
 * Safety of locks and semaphores on a real cluster (one server, two client agents on their
 * own loopback addresses): the holder talks to client agent A, the waiter to another agent,
 * and A's node fails. Every hold is timed from the holder's own view (its signal aborts when
 * it gives up); the waiter must never acquire before the holder has given up. The measured
 * failover times are printed for the README's safety table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_FAILOVER, type Consul } from '../../src/index.js';
import { startCluster, type Cluster, type ClusterNode } from '../../src/testing/index.js';
import { Clients } from '../support/clients.js';
import { uniquePrefix } from '../support/consul.js';
import { waitFor } from '../support/wait.js';

let cluster: Cluster;
const clients = new Clients('http://127.0.0.1:1');

beforeAll(async () => {
  cluster = await startCluster({ servers: 1, clients: 2, log: () => undefined });
}, 180_000);

afterAll(async () => {
  for (const node of cluster?.nodes ?? []) {
    if (node.state === 'frozen') await node.thaw();
    if (node.isolated) await node.heal();
  }
  await clients.closeAll();
  await cluster?.stop();
}, 60_000);

function clientOf(node: ClusterNode): Consul {
  return clients.create({ address: node.address });
}

/** Waits until every agent sees every other one alive again (after a thaw or a heal). */
async function allAlive(): Promise<void> {
  const server = clientOf(cluster.servers[0]!);
  await waitFor(
    'every node to be alive again',
    async () => {
      const members = await server.agent.members();
      return members.length === cluster.nodes.length && members.every((member) => member.Status === 1);
    },
    60_000,
    250,
  );
}

interface Handover {
  /** When the holder's signal aborted, in ms after the fault. */
  gaveUpMs: number;
  /** When the waiter held, in ms after the fault. */
  acquiredMs: number;
}

/**
 * Holds with `holder`, starts `waiter`, injects `fault`, and times the holder's giving up and
 * the waiter's acquisition from the fault.
 */
async function timeHandover(
  holder: { acquire(): Promise<unknown>; readonly signal: AbortSignal; readonly held: boolean },
  waiter: { acquire(options: { timeout: number }): Promise<unknown> },
  fault: () => Promise<void>,
): Promise<Handover> {
  await holder.acquire();
  const waiting = waiter.acquire({ timeout: 90_000 });
  // Let the waiter reach its wait on the taken key or slot.
  await new Promise((resolve) => setTimeout(resolve, 500));
  let gaveUpAt: number | undefined;
  holder.signal.addEventListener('abort', () => (gaveUpAt ??= performance.now()), { once: true });
  const faultAt = performance.now();
  await fault();
  await waiting;
  const acquiredAt = performance.now();
  // `held` also checks the holder's deadline synchronously, in case its timer is late.
  const stillHeld = holder.held;
  expect(stillHeld).toBe(false);
  expect(gaveUpAt).toBeDefined();
  return { gaveUpMs: gaveUpAt! - faultAt, acquiredMs: acquiredAt - faultAt };
}

function report(what: string, handover: Handover): void {
  process.stdout.write(
    `[failover] ${what}: holder gave up at ${Math.round(handover.gaveUpMs)} ms, ` +
      `next holder at ${Math.round(handover.acquiredMs)} ms after the fault\n`,
  );
}

describe('a frozen client node (SIGSTOP) under a holder', () => {
  it('limit-1 semaphore, default options: the waiter acquires only after the holder gave up', async () => {
    const [a, b] = cluster.clients as [ClusterNode, ClusterNode];
    const prefix = uniquePrefix('cluster-sem-freeze');
    const holder = clientOf(a).semaphore(prefix, { limit: 1 });
    const waiter = clientOf(b).semaphore(prefix, { limit: 1 });
    try {
      const handover = await timeHandover(holder, waiter, () => a.freeze());
      report('semaphore (defaults), holder node frozen', handover);
      expect(handover.gaveUpMs).toBeLessThan(handover.acquiredMs);
      await waiter.release();
    } finally {
      await a.thaw();
      await allAlive();
    }
  }, 150_000);

  it('lock, default options: the waiter acquires only after the holder gave up', async () => {
    const [a, b] = cluster.clients as [ClusterNode, ClusterNode];
    const k = `${uniquePrefix('cluster-lock-freeze')}/.lock`;
    const holder = clientOf(a).lock(k);
    const waiter = clientOf(b).lock(k);
    try {
      const handover = await timeHandover(holder, waiter, () => a.freeze());
      report('lock (defaults), holder node frozen', handover);
      expect(handover.gaveUpMs).toBeLessThan(handover.acquiredMs);
      await waiter.release();
    } finally {
      await a.thaw();
      await allAlive();
    }
  }, 150_000);
});

describe('a client node cut off from the servers while its HTTP API still answers', () => {
  it('FAST_FAILOVER lock (heartbeats keep passing locally): the waiter acquires only after the holder gave up', async () => {
    const [a, b] = cluster.clients as [ClusterNode, ClusterNode];
    const k = `${uniquePrefix('cluster-fast-isolate')}/.lock`;
    const holder = clientOf(a).lock(k, { ...FAST_FAILOVER });
    const waiter = clientOf(b).lock(k, { ...FAST_FAILOVER });
    try {
      const handover = await timeHandover(holder, waiter, () => a.isolate());
      report('lock (FAST_FAILOVER), holder node isolated', handover);
      expect(handover.gaveUpMs).toBeLessThan(handover.acquiredMs);
      await waiter.release();
    } finally {
      await a.heal();
      await allAlive();
    }
  }, 150_000);

  it('limit-1 semaphore with FAST_FAILOVER: the waiter acquires only after the holder gave up', async () => {
    const [a, b] = cluster.clients as [ClusterNode, ClusterNode];
    const prefix = uniquePrefix('cluster-sem-isolate');
    const holder = clientOf(a).semaphore(prefix, { limit: 1, ...FAST_FAILOVER });
    const waiter = clientOf(b).semaphore(prefix, { limit: 1, ...FAST_FAILOVER });
    try {
      const handover = await timeHandover(holder, waiter, () => a.isolate());
      report('semaphore (FAST_FAILOVER), holder node isolated', handover);
      expect(handover.gaveUpMs).toBeLessThan(handover.acquiredMs);
      await waiter.release();
    } finally {
      await a.heal();
      await allAlive();
    }
  }, 150_000);
});
