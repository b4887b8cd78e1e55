/**
 * Renders the HCL of one cluster agent (server or client). Pure, so the exact settings a
 * cluster runs with are unit-tested; the process backend only writes the result to a file.
 */
import { renderAclBlock } from './acl-config.js';

/** Ports of one agent, all explicit so a restart comes back on the same addresses. */
export interface ClusterNodePorts {
  http: number;
  serfLan: number;
  /** Servers only: Serf WAN (clients disable it). */
  serfWan: number | undefined;
  /** Server RPC; clients still need the setting but never listen on it. */
  server: number;
}

/** Everything that decides one agent's configuration. */
export interface ClusterNodeConfigInput {
  datacenter: string;
  nodeName: string;
  /** Fixed node ID: a restart with state lost keeps the node's identity, like a wiped disk. */
  nodeId: string;
  role: 'server' | 'client';
  /** Address the agent advertises to the other agents (and binds, unless `bindAddr` is set). */
  ip: string;
  /**
   * Address Serf and RPC bind when not `ip`: a container binds `0.0.0.0` so that it still
   * starts while its cluster network is disconnected (an isolated node restarted).
   */
  bindAddr?: string;
  /** Address the HTTP API binds when not `ip` (a container: `0.0.0.0`, for its published port). */
  clientAddr?: string;
  ports: ClusterNodePorts;
  /** Servers: `bootstrap_expect`. */
  serverCount: number;
  /** `host:serfLanPort` of every server, for `retry_join`. */
  retryJoin: readonly string[];
  raftMultiplier: number;
  acl?: { masterToken: string; defaultPolicy: 'allow' | 'deny' } | undefined;
}

const quote = (value: string): string => JSON.stringify(value);

/** The harness's config file for one cluster agent; user HCL goes into a later file. */
export function renderClusterNodeConfig(input: ClusterNodeConfigInput): string {
  const { ports } = input;
  const lines = [
    `datacenter = ${quote(input.datacenter)}`,
    // ACL replication and token resolution need the primary datacenter named explicitly.
    `primary_datacenter = ${quote(input.datacenter)}`,
    `node_name = ${quote(input.nodeName)}`,
    `node_id = ${quote(input.nodeId)}`,
    `server = ${input.role === 'server'}`,
    ...(input.role === 'server' ? [`bootstrap_expect = ${input.serverCount}`] : []),
    `bind_addr = ${quote(input.bindAddr ?? input.ip)}`,
    `advertise_addr = ${quote(input.ip)}`,
    `client_addr = ${quote(input.clientAddr ?? input.ip)}`,
    'ports {',
    `  http = ${ports.http}`,
    `  serf_lan = ${ports.serfLan}`,
    `  serf_wan = ${ports.serfWan ?? -1}`,
    `  server = ${ports.server}`,
    '  dns = -1',
    '  grpc = -1',
    '}',
    `retry_join = [${input.retryJoin.map(quote).join(', ')}]`,
    // Servers start together; the default 30 s between join attempts would make a node that
    // tried before its peers listened wait that long.
    'retry_interval = "1s"',
    // Faults are crashes, not departures: a killed agent must look failed, never "left".
    'leave_on_terminate = false',
    'skip_leave_on_interrupt = true',
    'disable_update_check = true',
    `performance { raft_multiplier = ${Math.trunc(input.raftMultiplier)} }`,
  ];
  if (input.acl !== undefined) {
    lines.push(
      ...renderAclBlock({
        defaultPolicy: input.acl.defaultPolicy,
        // The master token only means something on servers; the agent token lets every agent
        // register its own node and coordinates under default-deny.
        masterToken: input.role === 'server' ? input.acl.masterToken : undefined,
        agentToken: input.acl.masterToken,
      }),
    );
  }
  return lines.join('\n') + '\n';
}
