/**
 * Wire types of the `/v1/catalog` endpoints. Field names follow Consul's documentation.
 *
 * @packageDocumentation
 */
import type { Duration } from '../../duration.js';
import type { ReadOptions } from '../../transport/types.js';
import type { AgentService, ServiceAddress, ServiceKind, ServiceWeights } from '../agent/agent-types.js';
import type { HealthStatus } from '../health/health-types.js';

/** A node of the catalog. */
export interface Node {
  /** Node ID (UUID); `''` for an external node registered without one. */
  ID: string;
  /** Node name. */
  Node: string;
  /** Address. */
  Address: string;
  /** Datacenter. */
  Datacenter: string;
  /** Addresses by network (`lan`, `wan`, …). */
  TaggedAddresses: Record<string, string> | null;
  /** Node metadata. */
  Meta: Record<string, string> | null;
  /** Raft index of creation. */
  CreateIndex: bigint;
  /** Raft index of the last change. */
  ModifyIndex: bigint;
}

/** One instance of a service with its node, as `/v1/catalog/service/:name` reports it. */
export interface CatalogService {
  /** Node ID. */
  ID: string;
  /** Node name. */
  Node: string;
  /** Node address. */
  Address: string;
  /** Datacenter. */
  Datacenter: string;
  /** Node addresses by network. */
  TaggedAddresses: Record<string, string> | null;
  /** Node metadata. */
  NodeMeta: Record<string, string> | null;
  /** Kind of service. */
  ServiceKind?: ServiceKind;
  /** Service instance ID. */
  ServiceID: string;
  /** Service name. */
  ServiceName: string;
  /** Service tags. */
  ServiceTags: string[] | null;
  /** Service address; `''` means the node's address. */
  ServiceAddress: string;
  /** Service addresses by network. */
  ServiceTaggedAddresses?: Record<string, ServiceAddress>;
  /** DNS SRV weights. */
  ServiceWeights: ServiceWeights;
  /** Service metadata. */
  ServiceMeta: Record<string, string> | null;
  /** Service port. */
  ServicePort: number;
  /** Whether catalog-side tag edits stand against anti-entropy. */
  ServiceEnableTagOverride: boolean;
  /** Connect proxy configuration. */
  ServiceProxy?: Record<string, unknown>;
  /** Connect configuration. */
  ServiceConnect?: Record<string, unknown>;
  /** Raft index of creation. */
  CreateIndex: bigint;
  /** Raft index of the last change. */
  ModifyIndex: bigint;
  /** Namespace (Consul Enterprise). */
  Namespace?: string;
}

/** A node with its services, as `/v1/catalog/node/:node` reports it. */
export interface CatalogNode {
  /** The node. */
  Node: Node;
  /** Its services, by service ID. */
  Services: Record<string, AgentService> | null;
}

/** A service in a catalog registration (note: the name field is `Service`, as in Consul's API). */
export interface CatalogServiceRegistration {
  /** Instance ID. Default: `Service`. */
  ID?: string;
  /** Service name (required). */
  Service: string;
  /** Tags. */
  Tags?: string[];
  /** Address; empty means the node's address. */
  Address?: string;
  /** Addresses by network. */
  TaggedAddresses?: Record<string, ServiceAddress>;
  /** Metadata (same rules as agent service metadata). */
  Meta?: Record<string, string>;
  /** Port, an integer from 0 to 65535. */
  Port?: number;
  /** DNS SRV weights. */
  Weights?: ServiceWeights;
  /** Let catalog-side tag edits stand against anti-entropy. */
  EnableTagOverride?: boolean;
  /** Kind of service. */
  Kind?: ServiceKind;
}

/**
 * How a catalog-registered check is described. Consul does not run catalog checks; the
 * definition is informational (e.g. for an external health checker such as consul-esm).
 */
export interface CatalogCheckDefinition {
  /** URL of an HTTP check. */
  HTTP?: string;
  /** Skip TLS verification. */
  TLSSkipVerify?: boolean;
  /** HTTP request headers. */
  Header?: Record<string, string[]>;
  /** HTTP method. */
  Method?: string;
  /** `host:port` of a TCP check. */
  TCP?: string;
  /** Run interval. */
  Interval?: Duration;
  /** Time bound of one run. */
  Timeout?: Duration;
  /** Deregister the service after the check stayed critical this long. */
  DeregisterCriticalServiceAfter?: Duration;
}

/** A check in a catalog registration. */
export interface CatalogCheckRegistration {
  /** Node of the check. Default: the registration's `Node`. */
  Node?: string;
  /** Check ID, unique on the node. Default: `Name`. */
  CheckID?: string;
  /** Name (required). */
  Name: string;
  /** Status. Default: `critical`. */
  Status?: HealthStatus;
  /** Free-form notes. */
  Notes?: string;
  /** Output. */
  Output?: string;
  /** Service the check belongs to (must be on the same node). */
  ServiceID?: string;
  /** How the check is run (informational). */
  Definition?: CatalogCheckDefinition;
}

/**
 * Body of `PUT /v1/catalog/register`: a node, optionally with a service and checks. Used for
 * external services that run no agent; an agent's own node is kept in sync by anti-entropy,
 * which undoes catalog writes against it.
 */
export interface CatalogRegistration {
  /** Node ID (UUID). */
  ID?: string;
  /** Node name (required). */
  Node: string;
  /** Node address (required unless `SkipNodeUpdate`). */
  Address?: string;
  /** Datacenter. Default: the agent's. */
  Datacenter?: string;
  /** Node addresses by network. */
  TaggedAddresses?: Record<string, string>;
  /** Node metadata. */
  NodeMeta?: Record<string, string>;
  /** A service on the node. */
  Service?: CatalogServiceRegistration;
  /** One check. */
  Check?: CatalogCheckRegistration;
  /** Several checks. */
  Checks?: CatalogCheckRegistration[];
  /** Leave the node's own fields (address, meta) as they are; register only the service/checks. */
  SkipNodeUpdate?: boolean;
}

/**
 * Body of `PUT /v1/catalog/deregister`: removes a node (with everything on it), or only one
 * of its services (`ServiceID`) or checks (`CheckID`).
 */
export interface CatalogDeregistration {
  /** Node name (required). */
  Node: string;
  /** Remove only this service. */
  ServiceID?: string;
  /** Remove only this check. */
  CheckID?: string;
  /** Datacenter. Default: the agent's. */
  Datacenter?: string;
}

/** Filters shared by catalog and health reads. */
export interface NodeFilterOptions {
  /** Sort by estimated round-trip time from this node; `_agent` means the agent answering. */
  near?: string;
  /** Only nodes with all these metadata pairs (sent as repeated `node-meta=key:value`). */
  nodeMeta?: Record<string, string>;
}

/** Options of `catalog.nodes`. Consul does not cache this endpoint, so `cached` is not offered. */
export interface CatalogNodesOptions extends Omit<ReadOptions, 'cached'>, NodeFilterOptions {}

/** Options of `catalog.services`. Consul 1.8 has no `filter` on this endpoint. */
export interface CatalogServicesOptions extends Omit<ReadOptions, 'filter'> {
  /** Only services on nodes with all these metadata pairs. */
  nodeMeta?: Record<string, string>;
}

/** Options of `catalog.service`. */
export interface CatalogServiceOptions extends ReadOptions, NodeFilterOptions {
  /** Only instances that carry this tag (or all of these tags). */
  tag?: string | readonly string[];
}

/** Options of `catalog.node`. */
export type CatalogNodeOptions = Omit<ReadOptions, 'cached'>;
