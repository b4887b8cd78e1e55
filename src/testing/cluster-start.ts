/**
 * What both backends of `startCluster` do around their own agent set-up: the node roles, the
 * release of what a cluster holds, the clean-up when a start fails, and forming the
 * datacenter with its start log line.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONFIG_FILE, EXTRA_CONFIG_FILE } from './backend.js';
import { untrackDir } from './cleanup.js';
import type { ClusterNodeConfigInput } from './cluster-config.js';
import { renderClusterNodeConfig } from './cluster-config.js';
import type { ResolvedClusterOptions } from './cluster-options.js';
import type { ManagedClusterNode } from './cluster-running.js';
import { RunningCluster, waitForDatacenter } from './cluster-running.js';
import type { Cluster } from './cluster-types.js';
import { releasePorts } from './ports.js';
import { agentVersion } from './ready.js';

/** The datacenter every cluster forms. */
export const DATACENTER = 'dc1';

/** One node to create: its role and its 1-based index among the nodes of that role. */
export interface NodeRole {
  role: 'server' | 'client';
  index: number;
}

/** Servers first, then clients, as the options ask for. */
export function clusterRoles(resolved: ResolvedClusterOptions): NodeRole[] {
  return [
    ...Array.from({ length: resolved.servers }, (_, i) => ({ role: 'server' as const, index: i + 1 })),
    ...Array.from({ length: resolved.clients }, (_, i) => ({ role: 'client' as const, index: i + 1 })),
  ];
}

/** What differs between the nodes of a cluster; the rest of their config comes from the options. */
export type NodeConfigFacts = Pick<
  ClusterNodeConfigInput,
  'nodeName' | 'role' | 'ip' | 'bindAddr' | 'clientAddr' | 'ports' | 'retryJoin'
>;

/**
 * Writes one node's config folder: the harness's config (with a fresh node ID) and, when
 * given, the caller's extra HCL in the later file.
 */
export async function writeNodeConfig(
  configDir: string,
  facts: NodeConfigFacts,
  resolved: ResolvedClusterOptions,
  hcl: string | undefined,
): Promise<void> {
  await mkdir(configDir, { recursive: true });
  await writeFile(
    join(configDir, CONFIG_FILE),
    renderClusterNodeConfig({
      ...facts,
      datacenter: DATACENTER,
      nodeId: randomUUID(),
      serverCount: resolved.servers,
      raftMultiplier: resolved.raftMultiplier,
      acl: resolved.acl,
    }),
  );
  if (hcl !== undefined) await writeFile(join(configDir, EXTRA_CONFIG_FILE), hcl);
}

/** What a cluster holds besides its backend's own resources. */
export interface ClusterHoldings {
  /** Filled while the cluster starts: the clean-up sees the nodes created so far. */
  readonly nodes: readonly ManagedClusterNode[];
  /** Filled while the cluster starts. */
  readonly ports: number[];
  readonly workDir: string;
  /** Releases the backend's own resources after the nodes; returns the errors it kept. */
  releaseBackend(): Promise<unknown[]>;
}

/**
 * The clean-up of a cluster: disposes every node, then the backend's resources, the ports and
 * the work folder.
 *
 * @throws AggregateError of every step that failed (after all of them ran)
 */
export function clusterCleanup(holdings: ClusterHoldings): () => Promise<void> {
  return async () => {
    const errors = (await Promise.all(holdings.nodes.map((node) => node.dispose()))).flat();
    errors.push(...(await holdings.releaseBackend()));
    releasePorts(holdings.ports);
    await rm(holdings.workDir, { recursive: true, force: true });
    untrackDir(holdings.workDir);
    if (errors.length > 0)
      throw new AggregateError(errors, 'consulkit/testing: the cluster did not stop cleanly');
  };
}

/**
 * Runs `start`; when it fails, runs `cleanup` and rethrows the start's error, or an
 * AggregateError of both when the clean-up fails too (neither is swallowed).
 */
export async function startWithCleanup<T>(start: () => Promise<T>, cleanup: () => Promise<void>): Promise<T> {
  try {
    return await start();
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

/** How the start log line names the cluster. */
export interface StartLogFacts {
  /** What runs the agents, e.g. the binary's path or the image. */
  source: string;
  clusterId: string;
  /** Where the agents are, e.g. `127.0.1.1–127.0.1.5`. */
  where: string;
  startedAt: number;
}

/**
 * Starts every node, waits until the datacenter has formed and logs one line saying what
 * started, how and in how long.
 */
export async function formCluster(
  backend: 'binary' | 'container',
  nodes: ManagedClusterNode[],
  resolved: ResolvedClusterOptions,
  cleanup: () => Promise<void>,
  log: (line: string) => void,
  facts: StartLogFacts,
): Promise<Cluster> {
  const token = resolved.acl?.masterToken;
  await Promise.all(nodes.map((node) => node.start()));
  await waitForDatacenter(nodes, token, resolved.timeoutMs);
  const cluster = new RunningCluster(backend, DATACENTER, nodes, token, cleanup);
  const leader = await cluster.leader();
  const version = await agentVersion(nodes[0]!.address, token);
  log(
    `${backend} backend (${facts.source}, consul ${version}) cluster ${facts.clusterId}: ` +
      `${resolved.servers} server(s), ${resolved.clients} client(s) on ${facts.where}, ` +
      `leader ${leader.name}${resolved.acl === undefined ? '' : ' [acl]'} ` +
      `started in ${Math.round(performance.now() - facts.startedAt)} ms`,
  );
  return cluster;
}
