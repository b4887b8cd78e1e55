/**
 * Wire types of the operator endpoints (`/v1/operator`): Raft peers, Autopilot and the gossip
 * keyring, named and shaped as Consul's documentation writes them.
 *
 * @packageDocumentation
 */
import type { CallOptions, ReadOptions } from '../../transport/types.js';

/** One server of the Raft configuration. */
export interface RaftServer {
  /** Raft ID of the server (its node ID with Raft protocol 3). */
  ID: string;
  /** Node name of the server. */
  Node: string;
  /** Raft address, `ip:port` of the server RPC port. */
  Address: string;
  /** Whether this server is the leader. */
  Leader: boolean;
  /** Raft protocol version the server speaks, as a string (e.g. `'3'`). */
  ProtocolVersion: string;
  /** Whether the server votes (non-voters replicate without counting towards quorum). */
  Voter: boolean;
}

/** The answer of `GET /v1/operator/raft/configuration`. */
export interface RaftConfiguration {
  /** The servers of the Raft configuration. */
  Servers: RaftServer[];
  /** Raft index of the configuration. */
  Index: bigint;
}

/** Which peer `operator.raftRemovePeer` removes: exactly one of `address` and `id`. */
export interface RaftPeerSelector {
  /** Raft address (`ip:port`) of the peer, as in {@link RaftServer.Address}. */
  address?: string;
  /** Raft ID of the peer, as in {@link RaftServer.ID} (Raft protocol 3). */
  id?: string;
}

/** The Autopilot configuration, as `GET /v1/operator/autopilot/configuration` reports it. */
export interface AutopilotConfiguration {
  /** Remove dead servers automatically when a new one joins and periodically. Default true. */
  CleanupDeadServers: boolean;
  /** Longest time without contact from the leader before a server counts as unhealthy, e.g. `'200ms'`. */
  LastContactThreshold: string;
  /** Most log entries a server may trail the leader by and still count as healthy. Default 250. */
  MaxTrailingLogs: number;
  /** Fewest servers dead-server cleanup leaves (Consul 1.6+). Default 0: no floor. */
  MinQuorum?: number;
  /** How long a new server must be healthy before it becomes a voter, e.g. `'10s'`. */
  ServerStabilizationTime: string;
  /** Node metadata key for redundancy zones (Consul Enterprise); `''` when off. */
  RedundancyZoneTag: string;
  /** Disables upgrade migration (Consul Enterprise). */
  DisableUpgradeMigration: boolean;
  /** Node metadata key that holds the version for upgrade migration (Consul Enterprise). */
  UpgradeVersionTag: string;
  /** Raft index of creation. */
  CreateIndex: bigint;
  /** Raft index of the last change. */
  ModifyIndex: bigint;
}

/** The health of one server according to Autopilot. */
export interface AutopilotServerHealth {
  /** Raft ID of the server. */
  ID: string;
  /** Node name of the server. */
  Name: string;
  /** Raft address, `ip:port`. */
  Address: string;
  /** Serf status of the server: `alive`, `failed`, `left`, … */
  SerfStatus: string;
  /** Consul version of the server. */
  Version: string;
  /** Whether this server is the leader. */
  Leader: boolean;
  /** Time since the server last heard from the leader, as a Go duration string (e.g. `'0s'`). */
  LastContact: string;
  /** The server's last known Raft term. */
  LastTerm: number;
  /** Index of the server's last committed Raft log entry. */
  LastIndex: number;
  /** Whether the server is healthy under the current Autopilot configuration. */
  Healthy: boolean;
  /** Whether the server votes. */
  Voter: boolean;
  /** RFC 3339 time since when the server has been in its current health state. */
  StableSince: string;
}

/** The answer of `GET /v1/operator/autopilot/health`. */
export interface AutopilotHealth {
  /** Whether every server is healthy. */
  Healthy: boolean;
  /** How many servers could fail without an outage (2 in a healthy cluster of 5). */
  FailureTolerance: number;
  /** Per-server health. */
  Servers: AutopilotServerHealth[];
}

/** The gossip keys of one pool (the WAN pool, or the LAN pool of one datacenter/segment). */
export interface KeyringResponse {
  /** Whether this is the WAN pool. */
  WAN: boolean;
  /** Datacenter of the pool. */
  Datacenter: string;
  /** Network segment of a LAN pool (Consul Enterprise); `''` otherwise. */
  Segment: string;
  /** Error messages by node, when some nodes failed to answer. */
  Messages?: Record<string, string> | null;
  /** Installed keys (base64) and how many nodes have each. */
  Keys: Record<string, number>;
  /** Primary keys (base64) and how many nodes use each to encrypt (Consul 1.8+). */
  PrimaryKeys?: Record<string, number>;
  /** Nodes in the pool. */
  NumNodes: number;
}

/**
 * Options of the Raft and Autopilot configuration reads. Not blocking; of the consistency
 * modes Consul honours only `stale`, which lets any server answer (e.g. without a leader).
 */
export type OperatorReadOptions = Omit<ReadOptions, 'index' | 'wait' | 'filter' | 'cached'>;

/** Options of `operator.keyringList`. */
export interface KeyringListOptions extends CallOptions {
  /**
   * How many extra nodes relay each answer back, to get past an unreliable network (0–5).
   * Default 0.
   */
  relayFactor?: number;
}

/** Body of `operator.autopilotSetConfiguration`: the settable fields (indexes are ignored). */
export type AutopilotConfigurationRequest = Omit<AutopilotConfiguration, 'CreateIndex' | 'ModifyIndex'> &
  Partial<Pick<AutopilotConfiguration, 'CreateIndex' | 'ModifyIndex'>>;

/** Options of `operator.autopilotSetConfiguration`. */
export interface AutopilotSetOptions extends CallOptions {
  /** Check-and-set: write only if the stored configuration's `ModifyIndex` equals this. */
  cas?: bigint | number | string;
}

/** Options of the keyring writes (install, use, remove). */
export interface KeyringWriteOptions extends CallOptions {
  /** How many extra nodes relay each answer back (0–5). Default 0. */
  relayFactor?: number;
}

/** Options of `operator.raftTransferLeader`. */
export interface RaftTransferLeaderOptions extends CallOptions {
  /** Raft ID of the server to hand leadership to; Consul picks one when absent. */
  id?: string;
}
