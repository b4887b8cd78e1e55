/**
 * The container backend of `startCluster`: every agent a container of the Consul image
 * (resolved as for `startConsul`), joined to an internal Docker network of its own cluster
 * for Serf and RPC, and to the default bridge for its HTTP API, published on the host.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackDir, trackExitHook } from './cleanup.js';
import { spawnSync } from 'node:child_process';
import { CONTAINER_PORTS, ContainerClusterNode } from './cluster-container-node.js';
import type { DockerCommandError } from './cluster-docker.js';
import {
  CLUSTER_OWNER_LABEL,
  clusterOwner,
  docker,
  dockerHostName,
  sweepStaleClusterResources,
} from './cluster-docker.js';
import type { ResolvedClusterOptions } from './cluster-options.js';
import {
  clusterCleanup,
  clusterRoles,
  formCluster,
  startWithCleanup,
  writeNodeConfig,
} from './cluster-start.js';
import type { Cluster } from './cluster-types.js';
import { startDelayRelay } from './delay-relay.js';
import { resolveConsulImage } from './docker.js';
import { pidAlive } from './loopback-claims.js';
import { allocatePort } from './ports.js';
import { resolvePublishedHost } from './published-host.js';

/** A created cluster network and the addresses its nodes get. */
interface ClusterNetwork {
  name: string;
  subnet: string;
  /** The n-th node's address (n ≥ 0); .1 is the network's gateway. */
  address(n: number): string;
}

/**
 * Creates the cluster's internal network on a /24 chosen at random in 10.213–10.250.x: the
 * node addresses must be fixed (a healed or restarted node comes back on the same one), and
 * Docker only accepts fixed addresses on a network whose subnet the caller chose. A subnet
 * another network already uses is refused by Docker; another one is then tried.
 */
async function createClusterNetwork(name: string, labels: readonly string[]): Promise<ClusterNetwork> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 8; attempt++) {
    const prefix = `10.${randomInt(213, 251)}.${randomInt(0, 256)}`;
    const subnet = `${prefix}.0/24`;
    try {
      await docker([
        'network',
        'create',
        '--driver',
        'bridge',
        '--internal',
        '--subnet',
        subnet,
        ...labels,
        name,
      ]);
      return { name, subnet, address: (n) => `${prefix}.${n + 10}` };
    } catch (error) {
      lastError = error;
      if (!/overlap|in use/i.test((error as DockerCommandError).stderr ?? '')) throw error;
    }
  }
  throw new Error(`consulkit/testing: no free subnet for the cluster network`, { cause: lastError });
}

/** Starts the agents as containers and resolves once the datacenter has formed. */
export async function startContainerCluster(
  resolved: ResolvedClusterOptions,
  hcl: string | undefined,
  log: (line: string) => void,
): Promise<Cluster> {
  const startedAt = performance.now();
  const swept = await sweepStaleClusterResources(pidAlive);
  if (swept.containers + swept.networks > 0) {
    log(
      `removed ${swept.containers} container(s) and ${swept.networks} network(s) left behind by ended processes`,
    );
  }
  const image = await resolveConsulImage(log);
  const published = await resolvePublishedHost(dockerHostName());

  const clusterId = `ck${randomBytes(3).toString('hex')}`;
  const owner = clusterOwner();
  const labels = {
    'org.consulkit.testing': 'true',
    [CLUSTER_OWNER_LABEL]: owner,
    'org.consulkit.cluster': clusterId,
  };
  const labelArgs = Object.entries(labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]);
  const workDir = await mkdtemp(join(tmpdir(), `consulkit-${clusterId}-`));
  trackDir(workDir);
  const ports: number[] = [];
  const nodes: ContainerClusterNode[] = [];
  let network: ClusterNetwork | undefined;
  let forgetNetworkHook: (() => void) | undefined;

  const cleanup = clusterCleanup({
    nodes,
    ports,
    workDir,
    releaseBackend: async () => {
      if (network === undefined) return [];
      try {
        await docker(['network', 'rm', network.name]);
        forgetNetworkHook?.();
        return [];
      } catch (error) {
        // The exit hook tries again.
        return [error];
      }
    },
  });

  return startWithCleanup(async () => {
    const networkName = `${clusterId}-lan`;
    // Registered before the network exists: a process killed during creation still removes it
    // (the exit hook runs after the containers are removed).
    forgetNetworkHook = trackExitHook(() => {
      spawnSync('docker', ['network', 'rm', networkName], { stdio: 'ignore', timeout: 20_000 });
    });
    network = await createClusterNetwork(networkName, labelArgs);
    const roles = clusterRoles(resolved);
    const serverIps = roles.flatMap((entry, i) => (entry.role === 'server' ? [network!.address(i)] : []));
    const retryJoin = serverIps.map((ip) => `${ip}:${CONTAINER_PORTS.serfLan}`);
    for (const [i, { role, index }] of roles.entries()) {
      const name = `${clusterId}-${role}-${index}`;
      const ip = network.address(i);
      const source = join(workDir, name);
      const configDir = join(source, 'consulkit', 'config');
      await writeNodeConfig(
        configDir,
        {
          nodeName: name,
          role,
          ip,
          bindAddr: '0.0.0.0',
          clientAddr: '0.0.0.0',
          ports: { ...CONTAINER_PORTS },
          retryJoin,
        },
        resolved,
        hcl,
      );
      const hostPort = await allocatePort();
      ports.push(hostPort);
      const relay = await startDelayRelay(published.host, hostPort);
      nodes.push(
        new ContainerClusterNode(
          {
            name,
            role,
            ip,
            network: network.name,
            image,
            hostPort,
            publishIp: published.loopbackOnly ? '127.0.0.1' : undefined,
            addressHost: published.host,
            configSource: source,
            labels: { ...labels, 'org.consulkit.node': name },
            token: resolved.acl?.masterToken,
          },
          relay,
        ),
      );
    }
    return formCluster('container', nodes, resolved, cleanup, log, {
      source: image,
      clusterId,
      where: `network ${network.name} (${network.subnet}), HTTP published on ${published.host}`,
      startedAt,
    });
  }, cleanup);
}
