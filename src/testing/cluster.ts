/**
 * `startCluster`: a real Consul datacenter of several servers and client agents on this
 * machine, each agent a `consul agent` process bound to a loopback address of its own
 * (127.0.1.x), for tests of code that must survive crashes, lost state, frozen nodes,
 * partitions and slow links.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../errors.js';
import { CONFIG_FILE, EXTRA_CONFIG_FILE } from './backend.js';
import { trackDir, untrackDir } from './cleanup.js';
import { renderClusterNodeConfig } from './cluster-config.js';
import { BinaryClusterNode } from './cluster-node.js';
import { AgentProcess } from './cluster-process.js';
import type { Cluster, ClusterNode, StartClusterOptions } from './cluster-types.js';
import { findConsulBinary } from './consul-bin.js';
import { startDelayRelay } from './delay-relay.js';
import type { LoopbackClaim } from './loopback-claims.js';
import { claimLoopbackAddresses, pidAlive } from './loopback-claims.js';
import { sweepStaleRules } from './netfault.js';
import type { NodeCgroup } from './node-cgroup.js';
import { createNodeCgroup, sweepStaleCgroups } from './node-cgroup.js';
import { allocatePort, releasePorts } from './ports.js';
import { agentVersion } from './ready.js';

export type { Cluster, ClusterNode, RestartOptions, StartClusterOptions } from './cluster-types.js';

const DATACENTER = 'dc1';
const CGROUP_PREFIX = 'consulkit-';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function defaultLog(line: string): void {
  process.stderr.write(`[consulkit/testing] ${line}\n`);
}

function integerOption(
  field: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `must be an integer from ${min} to ${max}, not ${String(value)}`);
  }
  return value;
}

interface ResolvedOptions {
  servers: number;
  clients: number;
  raftMultiplier: number;
  timeoutMs: number;
  acl: { masterToken: string; defaultPolicy: 'allow' | 'deny' } | undefined;
}

/** Checks every option before anything starts. */
export function resolveClusterOptions(options: StartClusterOptions): ResolvedOptions {
  const backend = options.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'binary' && backend !== 'container') {
    throw new ValidationError('backend', `must be auto, binary or container, not ${String(backend)}`);
  }
  if (backend === 'container') {
    throw new ValidationError(
      'backend',
      'the container backend is not available for clusters yet; use "binary" (or "auto")',
    );
  }
  const acl = options.acl ?? false;
  if (acl !== false && acl !== true && (typeof acl !== 'object' || acl === null)) {
    throw new ValidationError('acl', 'must be a boolean or { masterToken?, defaultPolicy? }');
  }
  const aclObject = acl === true || acl === false ? {} : acl;
  if (
    aclObject.defaultPolicy !== undefined &&
    aclObject.defaultPolicy !== 'allow' &&
    aclObject.defaultPolicy !== 'deny'
  ) {
    throw new ValidationError(
      'acl.defaultPolicy',
      `must be allow or deny, not ${String(aclObject.defaultPolicy)}`,
    );
  }
  if (
    aclObject.masterToken !== undefined &&
    (typeof aclObject.masterToken !== 'string' || aclObject.masterToken === '')
  ) {
    throw new ValidationError('acl.masterToken', 'must be a non-empty string');
  }
  return {
    servers: integerOption('servers', options.servers, 3, 1, 7),
    clients: integerOption('clients', options.clients, 2, 0, 16),
    raftMultiplier: integerOption('raftMultiplier', options.raftMultiplier, 1, 1, 10),
    timeoutMs: integerOption('timeoutMs', options.timeoutMs, 90_000, 1_000, 3_600_000),
    acl:
      acl === false
        ? undefined
        : {
            masterToken: aclObject.masterToken ?? randomUUID(),
            defaultPolicy: aclObject.defaultPolicy ?? 'deny',
          },
  };
}

async function getJson(url: string, token: string | undefined): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = token === undefined ? {} : { 'X-Consul-Token': token };
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(3_000) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text for messages
  }
  return { status: response.status, body };
}

class BinaryCluster implements Cluster {
  readonly backend = 'binary' as const;
  readonly datacenter = DATACENTER;
  readonly token?: string;
  readonly servers: readonly BinaryClusterNode[];
  readonly clients: readonly BinaryClusterNode[];
  readonly nodes: readonly BinaryClusterNode[];
  readonly #cleanup: () => Promise<void>;
  #stopping: Promise<void> | undefined;

  constructor(nodes: BinaryClusterNode[], token: string | undefined, cleanup: () => Promise<void>) {
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
  #askOrder(): BinaryClusterNode[] {
    const score = (node: BinaryClusterNode): number =>
      (node.role === 'server' ? 0 : 2) + (node.isolated ? 1 : 0) + (node.state === 'running' ? 0 : 10);
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
        if (leader !== options.exclude) return leader;
        last = `the leader is still ${leader.name}`;
      } catch (error) {
        last = (error as Error).message;
      }
      await sleep(200);
    }
    throw new Error(`consulkit/testing: no new raft leader in time (last: ${String(last)})`);
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
async function waitForDatacenter(
  nodes: readonly BinaryClusterNode[],
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
  throw new Error(`consulkit/testing: the cluster did not form in ${timeoutMs} ms (last: ${last})`);
}

/**
 * Starts a Consul datacenter of `servers` servers and `clients` client agents and resolves
 * once it has a raft leader and every agent has joined and registered its node.
 *
 * Each agent is a `consul agent` process (the host binary, found like `startConsul` finds
 * it) bound to its own loopback address, with explicit ports and a temp data folder; the
 * servers run with `raft_multiplier = 1`. Always `stop()` it (or `await using`): agents,
 * firewall rules and temp folders are also removed on process exit, but only as a last
 * resort.
 *
 * @example
 * ```ts
 * await using cluster = await startCluster({ servers: 3, clients: 2 });
 * const consul = new Consul({ address: cluster.clients[0]!.address });
 * const leader = await cluster.leader();
 * await leader.kill();                       // a crash of the raft leader
 * await cluster.waitForLeader({ exclude: leader });
 * await cluster.clients[1]!.isolate();       // cut off from the servers, HTTP API still up
 * ```
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<Cluster> {
  const resolved = resolveClusterOptions(options);
  const log = options.log ?? defaultLog;
  const startedAt = performance.now();
  const bin = await findConsulBinary();
  const swept = await sweepStaleRules();
  if (swept > 0) log(`removed ${swept} firewall rule(s) left behind by ended processes`);
  sweepStaleCgroups(CGROUP_PREFIX, pidAlive);

  const count = resolved.servers + resolved.clients;
  const clusterId = `ck${randomBytes(3).toString('hex')}`;
  const claims: LoopbackClaim[] = claimLoopbackAddresses(count);
  const ports: number[] = [];
  const cgroups: NodeCgroup[] = [];
  const nodes: BinaryClusterNode[] = [];
  const workDir = await mkdtemp(join(tmpdir(), `consulkit-${clusterId}-`));
  trackDir(workDir);

  const cleanup = async (): Promise<void> => {
    const errors = (await Promise.all(nodes.map((node) => node.dispose()))).flat();
    for (const cgroup of cgroups) cgroup.remove();
    for (const claim of claims) claim.release();
    releasePorts(ports);
    await rm(workDir, { recursive: true, force: true });
    untrackDir(workDir);
    if (errors.length > 0)
      throw new AggregateError(errors, 'consulkit/testing: the cluster did not stop cleanly');
  };

  try {
    const roles = [
      ...Array.from({ length: resolved.servers }, (_, i) => ({ role: 'server' as const, index: i + 1 })),
      ...Array.from({ length: resolved.clients }, (_, i) => ({ role: 'client' as const, index: i + 1 })),
    ];
    const plans = [];
    for (const [i, { role, index }] of roles.entries()) {
      const ip = claims[i]!.address;
      const take = async (udp: boolean): Promise<number> => {
        const port = await allocatePort({ host: ip, udp });
        ports.push(port);
        return port;
      };
      plans.push({
        name: `${clusterId}-${role}-${index}`,
        role,
        ip,
        ports: {
          http: await take(false),
          serfLan: await take(true),
          serfWan: role === 'server' ? await take(true) : undefined,
          server: await take(false),
        },
      });
    }
    const retryJoin = plans
      .filter((plan) => plan.role === 'server')
      .map((plan) => `${plan.ip}:${plan.ports.serfLan}`);
    let cgroupFallbackLogged = false;
    const context = {
      peers: () => nodes.map((node) => node.endpoint),
      token: resolved.acl?.masterToken,
      log,
    };
    for (const plan of plans) {
      const dir = join(workDir, plan.name);
      const configDir = join(dir, 'config');
      await mkdir(configDir, { recursive: true });
      await writeFile(
        join(configDir, CONFIG_FILE),
        renderClusterNodeConfig({
          datacenter: DATACENTER,
          nodeName: plan.name,
          nodeId: randomUUID(),
          role: plan.role,
          ip: plan.ip,
          ports: plan.ports,
          serverCount: resolved.servers,
          retryJoin,
          raftMultiplier: resolved.raftMultiplier,
          acl: resolved.acl,
        }),
      );
      if (options.hcl !== undefined) await writeFile(join(configDir, EXTRA_CONFIG_FILE), options.hcl);
      const cgroup = createNodeCgroup(`${CGROUP_PREFIX}${process.pid}-${plan.name}`);
      if (cgroup === undefined && !cgroupFallbackLogged) {
        cgroupFallbackLogged = true;
        log('no writable cgroup2 mount: isolate() matches agents by source address only (see README)');
      }
      if (cgroup !== undefined) cgroups.push(cgroup);
      const relay = await startDelayRelay(plan.ip, plan.ports.http);
      const node = new BinaryClusterNode(
        { ...plan, cgroupPath: cgroup?.path },
        new AgentProcess(bin, configDir, join(dir, 'data'), cgroup),
        relay,
        context,
      );
      nodes.push(node);
    }
    await Promise.all(nodes.map((node) => node.start()));
    await waitForDatacenter(nodes, resolved.acl?.masterToken, resolved.timeoutMs);
    const cluster = new BinaryCluster(nodes, resolved.acl?.masterToken, cleanup);
    const leader = await cluster.leader();
    const version = await agentVersion(nodes[0]!.address, resolved.acl?.masterToken);
    log(
      `binary backend (${bin}, consul ${version}) cluster ${clusterId}: ${resolved.servers} server(s), ` +
        `${resolved.clients} client(s) on ${nodes[0]!.ip}–${nodes.at(-1)!.ip}, leader ${leader.name}` +
        `${resolved.acl === undefined ? '' : ' [acl]'} started in ${Math.round(performance.now() - startedAt)} ms`,
    );
    return cluster;
  } catch (error) {
    try {
      await cleanup();
    } catch (cleanupError) {
      throw new AggregateError(
        [error, cleanupError],
        `consulkit/testing: startCluster failed: ${(error as Error).message}`,
      );
    }
    throw error;
  }
}
