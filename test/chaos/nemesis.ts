/**
 * The nemesis: injects one fault at a time into a cluster on a seeded schedule, repairs it,
 * and records what it did. Faults: crash and restart of the raft leader, a frozen client
 * agent, a client agent restarted with its state lost, an isolated node, and delayed
 * traffic of a node whose contender holds something.
 */
import type { Cluster, ClusterNode } from '../../src/testing/index.js';
import type { FaultKind, FaultRecord } from './history.js';
import type { Prng } from './prng.js';

/** What the nemesis needs besides the cluster. */
export interface NemesisContext {
  cluster: Cluster;
  rng: Prng;
  faults: FaultRecord[];
  /** Errors while injecting or repairing a fault (counted in the report, then repaired). */
  errors: string[];
  /** Nodes whose contenders hold something right now. */
  holdingNodes(): string[];
  log(line: string): void;
  /** Faults to draw from. Default {@link FAULT_KINDS}. */
  faultKinds?: readonly FaultKind[];
}

/** The faults of the regular run (seeded schedules depend on this list and its order). */
export const FAULT_KINDS: readonly FaultKind[] = [
  'kill-leader',
  'freeze-client',
  'restart-state-lost',
  'isolate',
  'delay-holder',
];

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Brings every node back to running, joined and undelayed. */
export async function repairAll(cluster: Cluster): Promise<void> {
  for (const node of cluster.nodes) {
    node.undelay();
    if (node.isolated) await node.heal();
    if (node.state === 'frozen') await node.thaw();
    if (node.state === 'killed') await node.restart();
  }
}

async function inject(context: NemesisContext, kind: FaultKind, stop: AbortSignal): Promise<FaultRecord> {
  const { cluster, rng } = context;
  const start = performance.now();
  let node: ClusterNode;
  let detail: string;
  switch (kind) {
    case 'kill-leader': {
      node = await cluster.leader();
      const downMs = rng.between(1000, 5000);
      await node.kill();
      await sleep(downMs, stop);
      await node.restart();
      detail = `down ${downMs} ms`;
      break;
    }
    case 'freeze-client': {
      node = rng.pick(cluster.clients);
      const frozenMs = rng.between(2000, 15000);
      await node.freeze();
      await sleep(frozenMs, stop);
      await node.thaw();
      detail = `frozen ${frozenMs} ms`;
      break;
    }
    case 'freeze-holder': {
      // The client node of a current holder: the fault that tests whether it gives up
      // before its session is invalidated behind its back.
      const holding = context.holdingNodes().filter((name) => cluster.clients.some((c) => c.name === name));
      node = holding.length > 0 ? cluster.node(rng.pick(holding)) : rng.pick(cluster.clients);
      const frozenMs = rng.between(10000, 15000);
      await node.freeze();
      await sleep(frozenMs, stop);
      await node.thaw();
      detail = `frozen ${frozenMs} ms${holding.length > 0 ? '' : ' (no holder at the time)'}`;
      break;
    }
    case 'restart-state-lost': {
      node = rng.pick(cluster.clients);
      await node.restart({ keepData: false });
      detail = 'data folder wiped';
      break;
    }
    case 'isolate': {
      node = rng.pick(cluster.nodes);
      const cutMs = rng.between(3000, 15000);
      await node.isolate();
      await sleep(cutMs, stop);
      await node.heal();
      detail = `isolated ${cutMs} ms`;
      break;
    }
    case 'delay-holder': {
      const holding = context.holdingNodes();
      node = holding.length > 0 ? cluster.node(rng.pick(holding)) : rng.pick(cluster.nodes);
      const delayMs = rng.between(500, 5000);
      const forMs = rng.between(3000, 12000);
      node.delay(delayMs);
      await sleep(forMs, stop);
      node.undelay();
      detail = `${delayMs} ms each way for ${forMs} ms${holding.length > 0 ? '' : ' (no holder at the time)'}`;
      break;
    }
  }
  return { kind, node: node.name, start, end: performance.now(), detail };
}

/** Injects faults until `stop` aborts, then repairs everything. */
export async function runNemesis(context: NemesisContext, stop: AbortSignal): Promise<void> {
  while (!stop.aborted) {
    await sleep(context.rng.between(1000, 4000), stop);
    if (stop.aborted) break;
    const kind = context.rng.pick(context.faultKinds ?? FAULT_KINDS);
    try {
      const record = await inject(context, kind, stop);
      context.faults.push(record);
      context.log(`fault ${record.kind} on ${record.node}: ${record.detail}`);
    } catch (error) {
      context.errors.push(`${kind}: ${(error as Error).message.split('\n')[0]}`);
      context.log(`fault ${kind} failed: ${(error as Error).message.split('\n')[0]}`);
    }
    try {
      await repairAll(context.cluster);
      await context.cluster.waitForLeader({ timeoutMs: 90_000 });
    } catch (error) {
      context.errors.push(`repair after ${kind}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  await repairAll(context.cluster);
}
