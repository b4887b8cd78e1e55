/**
 * The binary backend of `startCluster`: each agent a `consul agent` process of the host
 * binary bound to a loopback address of its own (127.0.1.x), with explicit ports and a temp
 * data folder; isolation through tagged iptables rules, freezes through SIGSTOP.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackDir } from './cleanup.js';
import { BinaryClusterNode } from './cluster-node.js';
import type { ResolvedClusterOptions } from './cluster-options.js';
import { AgentProcess } from './cluster-process.js';
import {
  clusterCleanup,
  clusterRoles,
  formCluster,
  startWithCleanup,
  writeNodeConfig,
} from './cluster-start.js';
import type { Cluster } from './cluster-types.js';
import { findConsulBinary } from './consul-bin.js';
import { startDelayRelay } from './delay-relay.js';
import type { LoopbackClaim } from './loopback-claims.js';
import { claimLoopbackAddresses, pidAlive } from './loopback-claims.js';
import { sweepStaleRules } from './netfault.js';
import type { NodeCgroup } from './node-cgroup.js';
import { createNodeCgroup, sweepStaleCgroups } from './node-cgroup.js';
import { allocatePort } from './ports.js';

const CGROUP_PREFIX = 'consulkit-';

/**
 * Starts the agents as host processes and resolves once the datacenter has formed. Always
 * stopped through the returned cluster; agents, firewall rules and temp folders are also
 * removed on process exit, but only as a last resort.
 */
export async function startBinaryCluster(
  resolved: ResolvedClusterOptions,
  hcl: string | undefined,
  log: (line: string) => void,
): Promise<Cluster> {
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

  const cleanup = clusterCleanup({
    nodes,
    ports,
    workDir,
    releaseBackend: async () => {
      for (const cgroup of cgroups) cgroup.remove();
      for (const claim of claims) claim.release();
      return [];
    },
  });

  return startWithCleanup(async () => {
    const roles = clusterRoles(resolved);
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
      await writeNodeConfig(
        configDir,
        { nodeName: plan.name, role: plan.role, ip: plan.ip, ports: plan.ports, retryJoin },
        resolved,
        hcl,
      );
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
    return formCluster('binary', nodes, resolved, cleanup, log, {
      source: bin,
      clusterId,
      where: `${nodes[0]!.ip}–${nodes.at(-1)!.ip}`,
      startedAt,
    });
  }, cleanup);
}
