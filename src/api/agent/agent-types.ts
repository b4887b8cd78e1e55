/**
 * Wire types of the `/v1/agent` endpoints. Field names follow Consul's documentation;
 * durations in registrations accept a {@link Duration} and are sent as Consul strings.
 *
 * @packageDocumentation
 */
import type { Duration } from '../../duration.js';
import type { CallOptions } from '../../transport/types.js';
import type { HealthCheck, HealthStatus } from '../health/health-types.js';

/** A service address with its own port, as in a service's `TaggedAddresses`. */
export interface ServiceAddress {
  /** IP address or host name. */
  Address: string;
  /** Port. */
  Port: number;
}

/**
 * DNS SRV weights of a service instance, by the status of its checks. Consul's default is
 * `{ Passing: 1, Warning: 1 }`.
 */
export interface ServiceWeights {
  /** Weight while every check passes; an integer of at least 1. */
  Passing: number;
  /** Weight while a check warns; an integer of at least 0 (0 takes warning instances out of rotation). */
  Warning: number;
}

/** Kind of a service: `''` for a typical service, otherwise a Connect proxy or gateway. */
export type ServiceKind = '' | 'connect-proxy' | 'mesh-gateway' | 'terminating-gateway' | 'ingress-gateway';

/** A service as the local agent (`/v1/agent/services`) reports it. */
export interface AgentService {
  /** Kind of service; absent or `''` for a typical service. */
  Kind?: ServiceKind;
  /** Service instance ID, unique on its agent. */
  ID: string;
  /** Service name. */
  Service: string;
  /** Tags. */
  Tags: string[] | null;
  /** User metadata. */
  Meta: Record<string, string> | null;
  /** Port, 0 when none was given. */
  Port: number;
  /** Address of the service; `''` means "use the node's address". */
  Address: string;
  /** Addresses by network (`lan`, `wan`, `lan_ipv4`, …). */
  TaggedAddresses?: Record<string, ServiceAddress>;
  /** DNS SRV weights. */
  Weights: ServiceWeights;
  /** Whether anti-entropy lets catalog-side tag edits stand. */
  EnableTagOverride: boolean;
  /** Connect proxy configuration (proxies only). */
  Proxy?: Record<string, unknown>;
  /** Connect configuration. */
  Connect?: Record<string, unknown>;
  /** Hash of the definition (single-service reads). */
  ContentHash?: string;
  /** Raft index of creation (catalog answers). */
  CreateIndex?: bigint;
  /** Raft index of the last change (catalog answers). */
  ModifyIndex?: bigint;
  /** Namespace (Consul Enterprise). */
  Namespace?: string;
}

/**
 * A check as part of a registration, wire-shaped. A check has exactly one kind:
 * - TTL: `TTL` (the application reports status through `agent.check.pass/warn/fail/update`);
 * - HTTP: `HTTP` + `Interval` (and `Method`, `Header`, `Body`, `Timeout`, `TLSSkipVerify`);
 * - TCP: `TCP` (`host:port`) + `Interval`;
 * - gRPC: `GRPC` + `Interval` (and `GRPCUseTLS`, `TLSSkipVerify`);
 * - script: `Args` + `Interval` (needs `enable_script_checks` on the agent);
 * - Docker: `DockerContainerID` + `Args` + `Interval` (and `Shell`);
 * - alias: `AliasService` and/or `AliasNode`.
 *
 * The `Check` builders (`Check.ttl('15s')`, `Check.http(url, '10s')`, …) make valid ones.
 */
export interface AgentServiceCheck {
  /** Check ID, unique on the agent. Default: `service:<service id>` (with `:<n>` when there are several). */
  CheckID?: string;
  /** Name. Default: `Service '<name>' check`. */
  Name?: string;
  /** Free-form notes. */
  Notes?: string;
  /** Initial status. Default: `critical`. */
  Status?: HealthStatus;
  /** TTL check: the check turns critical unless updated within this time. */
  TTL?: Duration;
  /** HTTP check: the URL to request; 2xx is passing, 429 warning, anything else critical. */
  HTTP?: string;
  /** HTTP check: request method. Default `GET`. */
  Method?: string;
  /** HTTP check: request headers. */
  Header?: Record<string, string[]>;
  /** HTTP check: request body (Consul 1.7+). */
  Body?: string;
  /** TCP check: `host:port` to connect to. */
  TCP?: string;
  /** gRPC check: `host:port` or `host:port/service` of the standard gRPC health endpoint. */
  GRPC?: string;
  /** gRPC check: use TLS. */
  GRPCUseTLS?: boolean;
  /** Script or Docker check: the command and its arguments. */
  Args?: string[];
  /** Docker check: container to run `Args` in. */
  DockerContainerID?: string;
  /** Docker check: shell inside the container. Default `/bin/sh`. */
  Shell?: string;
  /** Alias check: the service ID whose health this check mirrors. */
  AliasService?: string;
  /** Alias check: the node of the aliased service (default: this agent's node), or the node to mirror. */
  AliasNode?: string;
  /** How often an HTTP/TCP/gRPC/script/Docker check runs. Required for those kinds. */
  Interval?: Duration;
  /** Time bound of one run. Consul's default is 10 s. */
  Timeout?: Duration;
  /** Deregister the service after the check stayed critical this long (Consul reaps every 30 s; minimum 1 min). */
  DeregisterCriticalServiceAfter?: Duration;
  /** HTTP/gRPC check: skip TLS certificate verification. */
  TLSSkipVerify?: boolean;
  /** Consecutive passing results needed before the status turns passing (Consul 1.7+). */
  SuccessBeforePassing?: number;
  /** Consecutive failing results needed before the status turns critical (Consul 1.7+). */
  FailuresBeforeCritical?: number;
  /** Largest output Consul keeps, in bytes. Default 4096. */
  OutputMaxSize?: number;
}

/** Body of `PUT /v1/agent/service/register`, wire-shaped. */
export interface AgentServiceRegistration {
  /** Service name (required). Instances of one service share it. */
  Name: string;
  /** Instance ID, unique on the agent. Default: `Name`. */
  ID?: string;
  /** Tags. */
  Tags?: string[];
  /** Address; empty means the node's address. */
  Address?: string;
  /** Addresses by network, e.g. `{ lan: { Address, Port }, wan: { … } }`. */
  TaggedAddresses?: Record<string, ServiceAddress>;
  /** User metadata: at most 64 pairs; keys of `[A-Za-z0-9_-]`, up to 128 chars, not starting with `consul-`; values up to 512 chars. */
  Meta?: Record<string, string>;
  /** Port, an integer from 0 to 65535. */
  Port?: number;
  /** Kind of service (Connect proxies and gateways). */
  Kind?: ServiceKind;
  /** Connect proxy configuration (for `Kind: 'connect-proxy'`). */
  Proxy?: Record<string, unknown>;
  /** Connect configuration (native or sidecar). */
  Connect?: Record<string, unknown>;
  /** Let catalog-side tag edits stand against anti-entropy. Default false. */
  EnableTagOverride?: boolean;
  /** DNS SRV weights. Default `{ Passing: 1, Warning: 1 }`. */
  Weights?: ServiceWeights;
  /** One check of the service. */
  Check?: AgentServiceCheck;
  /** Several checks of the service. */
  Checks?: AgentServiceCheck[];
}

/**
 * Body of `PUT /v1/agent/check/register`: an {@link AgentServiceCheck} whose ID field is `ID`
 * (Consul 1.8 refuses `CheckID` here), with a required name and an optional owning service.
 */
export interface AgentCheckRegistration extends Omit<AgentServiceCheck, 'CheckID' | 'Name'> {
  /** Name (required). */
  Name: string;
  /** Check ID, unique on the agent. Default: `Name`. */
  ID?: string;
  /** Service the check belongs to; it must be registered on this agent. */
  ServiceID?: string;
}

/** A check as the local agent reports it; `CreateIndex`/`ModifyIndex` are 0 here. */
export type AgentCheck = HealthCheck;

/** Serf member status codes, as in {@link AgentMember.Status}. */
export const MemberStatus = Object.freeze({
  /** Unknown. */
  None: 0,
  /** Alive and reachable. */
  Alive: 1,
  /** Leaving gracefully. */
  Leaving: 2,
  /** Left gracefully, or force-removed (`agent.forceLeave`). */
  Left: 3,
  /** Failed: unreachable without having left. */
  Failed: 4,
} as const);

/** A Serf member, as `/v1/agent/members` reports it. */
export interface AgentMember {
  /** Node name. */
  Name: string;
  /** Serf address. */
  Addr: string;
  /** Serf port. */
  Port: number;
  /** Serf tags: `dc`, `role` (`consul` for servers, `node` for clients), `build`, `id`, … */
  Tags: Record<string, string>;
  /** Status code; see {@link MemberStatus}. */
  Status: number;
  /** Lowest Serf protocol version understood. */
  ProtocolMin: number;
  /** Highest Serf protocol version understood. */
  ProtocolMax: number;
  /** Serf protocol version in use. */
  ProtocolCur: number;
  /** Lowest delegate protocol version understood. */
  DelegateMin: number;
  /** Highest delegate protocol version understood. */
  DelegateMax: number;
  /** Delegate protocol version in use. */
  DelegateCur: number;
}

/** The summary of the agent's configuration in `/v1/agent/self`. */
export interface AgentSelfConfig {
  /** Datacenter of the agent. */
  Datacenter: string;
  /** Primary datacenter (Consul 1.4+). */
  PrimaryDatacenter?: string;
  /** Node name. */
  NodeName: string;
  /** Node ID (UUID). */
  NodeID: string;
  /** Git revision of the build. */
  Revision: string;
  /** Whether the agent is a server. */
  Server: boolean;
  /** Consul version, e.g. `1.8.7`. */
  Version: string;
}

/** A network coordinate (Vivaldi). */
export interface AgentCoordinate {
  /** Position vector. */
  Vec: number[];
  /** Error estimate. */
  Error: number;
  /** Adjustment term. */
  Adjustment: number;
  /** Height term. */
  Height: number;
}

/** The answer of `/v1/agent/self`. */
export interface AgentSelf {
  /** Configuration summary. */
  Config: AgentSelfConfig;
  /** The full runtime configuration; its shape changes between Consul versions. */
  DebugConfig?: Record<string, unknown>;
  /** The agent's LAN network coordinate. */
  Coord?: AgentCoordinate;
  /** The agent's own Serf member entry. */
  Member: AgentMember;
  /** Runtime statistics by subsystem (`agent`, `runtime`, `raft`, `serf_lan`, …); values are strings. */
  Stats?: Record<string, Record<string, string>>;
  /** The node's metadata. */
  Meta?: Record<string, string>;
}

/** Options of the agent's list reads, which support Consul's `filter` expressions (1.5+) but not blocking. */
export interface AgentListOptions extends CallOptions {
  /** Server-side filter expression, e.g. `Service == "web"`. */
  filter?: string;
}

/** Options of `agent.members`. */
export interface AgentMembersOptions extends CallOptions {
  /** List the WAN pool (servers of every datacenter) instead of the LAN pool. */
  wan?: boolean;
  /** Network segment to list (Consul Enterprise); `_all` lists every segment. */
  segment?: string;
}

/** Options of `agent.join`. */
export interface AgentJoinOptions extends CallOptions {
  /** Join the WAN pool (server agents only). */
  wan?: boolean;
}

/** Options of `agent.forceLeave`. */
export interface AgentForceLeaveOptions extends CallOptions {
  /** Remove the node from the member list at once instead of keeping it as `left` (Consul 1.6.2+). */
  prune?: boolean;
}

/** Options of `agent.service.register`. */
export interface AgentServiceRegisterOptions extends CallOptions {
  /** Drop the checks of an existing registration that the new definition does not list. */
  replaceExistingChecks?: boolean;
}
