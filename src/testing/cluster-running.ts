/**
 * What every cluster backend shares once its agents run: the {@link Cluster} object (node
 * lookup, raft leader, stop) and the wait until the datacenter has formed.
 */
import { ValidationError } from '../errors.js';
import type { Cluster, ClusterNode } from './cluster-types.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A node as its backend manages it: the public contract plus start, logs and disposal. */
export interface ManagedClusterNode extends ClusterNode {
  /** First start: launch only; the cluster waits for the whole datacenter at once. */
  start(): Promise<void>;
  /** Last lines of the agent's output, for failure messages. */
  outputTail(lines?: number): string;
  /** Ends the agent and everything it holds; returns the errors of every step. */
  dispose(): Promise<unknown[]>;
}

/** GET with a short timeout; the body is parsed as JSON when it is JSON. */
export async function getJson(
  url: string,
  token: string | undefined,
  timeoutMs = 3_000,
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = token === undefined ? {} : { 'X-Consul-Token': token };
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text for messages
  }
  return { status: response.status, body };
}

/** The {@link Cluster} of either backend. */
export class RunningCluster implements Cluster {
  readonly backend: 'binary' | 'container';
  readonly datacenter: string;
  readonly token?: string;
  readonly servers: readonly ManagedClusterNode[];
  readonly clients: readonly ManagedClusterNode[];
  readonly nodes: readonly ManagedClusterNode[];
  readonly #cleanup: () => Promise<void>;
  #stopping: Promise<void> | undefined;

  constructor(
    backend: 'binary' | 'container',
    datacenter: string,
    nodes: ManagedClusterNode[],
    token: string | undefined,
    cleanup: () => Promise<void>,
  ) {
    this.backend = backend;
    this.datacenter = datacenter;
    this.nodes = nodes;
    this.servers = nodes.filter((node) => node.role === 'server');
    this.clients = nodes.filter((node) => node.role === 'client');
    if (token !== undefined) this.token = token;
    this.#cleanup = cleanup;
  }

  node(name: string): ClusterNode {
    const found = this.nodes.find((node) => node.name === name);
    if (found === undefined) throw new ValidationError('name', `no node named ${name} in this cluster`);
    return found;
  }

  /** Running, non-isolated servers first: they are the ones whose answer is current. */
  #askOrder(): ManagedClusterNode[] {
    const score = (node: ManagedClusterNode): number =>
      (node.role === 'server' ? 0 : 2) + (node.isolated ? 1 : 0);
    return [...this.nodes].filter((node) => node.state === 'running').sort((a, b) => score(a) - score(b));
  }

  async leader(): Promise<ClusterNode> {
    const seen: string[] = [];
    for (const node of this.#askOrder()) {
      try {
        const { status, body } = await getJson(`${node.address}/v1/status/leader`, this.token);
        if (status !== 200 || typeof body !== 'string' || body === '') {
          seen.push(`${node.name}: ${status} ${JSON.stringify(body)}`);
          continue;
        }
        const leader = this.servers.find((server) => `${server.ip}:${server.ports.server}` === body);
        if (leader !== undefined) return leader;
        seen.push(`${node.name}: unknown leader ${body}`);
      } catch (error) {
        seen.push(`${node.name}: ${(error as Error).message}`);
      }
    }
    throw new Error(
      `consulkit/testing: no agent names a raft leader (${seen.join('; ') || 'no agent running'})`,
    );
  }

  async waitForLeader(options: { timeoutMs?: number; exclude?: ClusterNode } = {}): Promise<ClusterNode> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const leader = await this.leader();
        if (leader === options.exclude) {
          last = `the leader is still ${leader.name}`;
        } else {
          const unserved = await this.#nodesNotServedBy(deadline);
          // The leader may have changed while the nodes were asked: start over then.
          if (unserved.length === 0 && (await this.leader()) === leader) return leader;
          last =
            unserved.length === 0
              ? `the leader changed from ${leader.name}`
              : `${leader.name} leads, but not yet served through ${unserved.join('; ')}`;
        }
      } catch (error) {
        last = (error as Error).message;
      }
      await sleep(200);
    }
    throw new Error(`consulkit/testing: no usable raft leader in time (last: ${String(last)})`);
  }

  /**
   * The running, non-isolated nodes through which a consistent read is not served yet, with
   * why. Naming a leader is not enough: a new leader serves only after establishing its
   * leadership, and a client agent sends each RPC to the first server of its own list, which
   * may still be a dead one until Serf marks it failed. Consul retries a failed read on the
   * next server (moving the dead one to the back) but never a failed write, so a write right
   * after a leader change can fail with "rpc error getting client" where this read succeeded.
   */
  async #nodesNotServedBy(deadline: number): Promise<string[]> {
    const live = this.nodes.filter((node) => node.state === 'running' && !node.isolated);
    const answers = await Promise.all(
      live.map(async (node) => {
        try {
          // Long enough for a dial to a dead server to time out inside Consul (~10 s), so
          // the agent moves that server to the back of its list before we give up.
          const timeoutMs = Math.max(1_000, Math.min(15_000, deadline - Date.now()));
          const { status, body } = await getJson(
            `${node.address}/v1/catalog/nodes?consistent`,
            this.token,
            timeoutMs,
          );
          if (status === 200 && Array.isArray(body)) return undefined;
          return `${node.name}: ${status} ${JSON.stringify(body).slice(0, 200)}`;
        } catch (error) {
          return `${node.name}: ${(error as Error).message}`;
        }
      }),
    );
    return answers.filter((answer): answer is string => answer !== undefined);
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#cleanup();
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/**
 * Waits until every agent knows a leader, every agent's node is in the catalog and the
 * servers see every agent alive, so that sessions can be created through any agent.
 */
export async function waitForDatacenter(
  nodes: readonly ManagedClusterNode[],
  token: string | undefined,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  const names = nodes.map((node) => node.name);
  const server = nodes.find((node) => node.role === 'server');
  if (server === undefined) throw new Error('consulkit/testing: a cluster needs a server');
  while (Date.now() < deadline) {
    const dead = nodes.find((node) => node.state !== 'running');
    if (dead !== undefined) {
      throw new Error(
        `${dead.name} exited while the cluster formed\n--- last agent output ---\n${dead.outputTail()}`,
      );
    }
    try {
      const missingLeader: string[] = [];
      for (const node of nodes) {
        const { status, body } = await getJson(`${node.address}/v1/status/leader`, token);
        if (status !== 200 || typeof body !== 'string' || body === '') missingLeader.push(node.name);
      }
      if (missingLeader.length > 0) {
        last = `no leader known to ${missingLeader.join(', ')}`;
      } else {
        const catalog = await getJson(`${server.address}/v1/catalog/nodes`, token);
        const members = await getJson(`${server.address}/v1/agent/members`, token);
        const inCatalog = new Set(
          Array.isArray(catalog.body) ? catalog.body.map((n: { Node?: string }) => n.Node) : [],
        );
        const alive = new Set(
          Array.isArray(members.body)
            ? members.body
                .filter((m: { Status?: number }) => m.Status === 1)
                .map((m: { Name?: string }) => m.Name)
            : [],
        );
        const missing = names.filter((name) => !inCatalog.has(name) || !alive.has(name));
        if (missing.length === 0) return;
        last = `not yet joined and registered: ${missing.join(', ')}`;
      }
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(250);
  }
  const tails = nodes.map((node) => `--- ${node.name} ---\n${node.outputTail(15)}`).join('\n');
  throw new Error(`consulkit/testing: the cluster did not form in ${timeoutMs} ms (last: ${last})\n${tails}`);
}
