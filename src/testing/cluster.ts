/**
 * `startCluster`: a real Consul datacenter of several servers and client agents on this
 * machine, for tests of code that must survive crashes, lost state, frozen nodes,
 * partitions and slow links. The agents run as host processes (binary backend) or as
 * containers on a Docker network of their own (container backend).
 */
import { startBinaryCluster } from './cluster-binary.js';
import { startContainerCluster } from './cluster-container.js';
import { chooseClusterBackend, resolveClusterOptions } from './cluster-options.js';
import type { Cluster, StartClusterOptions } from './cluster-types.js';
import { dockerEngineAvailable } from './docker.js';

export type { Cluster, ClusterNode, RestartOptions, StartClusterOptions } from './cluster-types.js';

function defaultLog(line: string): void {
  process.stderr.write(`[consulkit/testing] ${line}\n`);
}

/**
 * Starts a Consul datacenter of `servers` servers and `clients` client agents and resolves
 * once it has a raft leader and every agent has joined and registered its node.
 *
 * Servers run with `raft_multiplier = 1`. Always `stop()` it (or `await using`): agents,
 * containers, networks, firewall rules and temp folders are also removed on process exit,
 * but only as a last resort. See the README section "Testing against a cluster" for how each
 * backend injects its faults and which one `'auto'` picks.
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
  const backend = await chooseClusterBackend(resolved.backend, dockerEngineAvailable);
  return backend === 'container'
    ? startContainerCluster(resolved, options.hcl, log)
    : startBinaryCluster(resolved, options.hcl, log);
}
