/**
 * Wire types of prepared queries (`/v1/query`), named and shaped as Consul's documentation
 * writes them.
 *
 * @packageDocumentation
 */
import type { Duration } from '../../duration.js';
import type { ReadOptions } from '../../transport/types.js';
import type { ServiceEntry } from '../health/health.js';

/** The only kind of prepared query template Consul knows. */
export type PreparedQueryTemplateType = 'name_prefix_match';

/** Where a query looks when the local datacenter has no healthy instance. */
export interface PreparedQueryFailover {
  /**
   * Try this many other datacenters, nearest first by estimated round-trip time (network
   * coordinates). Default 0: none.
   */
  NearestN?: number;
  /** Datacenters to try, in this order, after the `NearestN` nearest ones. */
  Datacenters?: string[];
}

/** The service part of a query definition: what to look for and how to filter it. */
export interface PreparedQueryServiceDefinition {
  /**
   * Name of the service to query (required). In a template it may use interpolations such as
   * `${name.full}`, `${name.prefix}`, `${name.suffix}` or `${match(1)}`.
   */
  Service: string;
  /** Datacenter failover policy. */
  Failover?: PreparedQueryFailover;
  /**
   * Only instances whose checks all pass. Default false, which still drops instances with a
   * critical check but keeps those with a warning.
   */
  OnlyPassing?: boolean;
  /** Check IDs whose health is ignored when filtering instances (e.g. a flapping check). */
  IgnoreCheckIDs?: string[];
  /**
   * Sort instances by round-trip time from this node: a node name, `_agent` (the agent that
   * serves the query) or `_ip` (the node whose address is the caller's IP). A
   * `near` execution parameter overrides it.
   */
  Near?: string;
  /** Instances must carry all of these tags; a tag starting with `!` must be absent. */
  Tags?: string[];
  /** Instances' nodes must carry all of these metadata pairs. */
  NodeMeta?: Record<string, string>;
  /** Instances must carry all of these service metadata pairs (Consul 1.3+). */
  ServiceMeta?: Record<string, string>;
  /** Answer Connect-capable endpoints (proxies, native services) instead (Consul 1.4+). */
  Connect?: boolean;
}

/** DNS settings of a query definition. Durations accept `'10s'` or milliseconds. */
export interface PreparedQueryDNSDefinition {
  /** TTL of the query's DNS answers. Default: the agent's `dns_config.service_ttl`. */
  TTL?: Duration;
}

/** Makes a query a template that answers every name starting with its `Name`. */
export interface PreparedQueryTemplate {
  /** Template kind; only `name_prefix_match` exists. */
  Type: PreparedQueryTemplateType;
  /**
   * Regular expression (Go RE2 syntax, checked by Consul) matched against the executed name;
   * its capture groups are available as `${match(N)}`.
   */
  Regexp?: string;
  /** Drop tags that interpolate to the empty string (Consul 1.3+). */
  RemoveEmptyTags?: boolean;
}

/**
 * Body of `POST /v1/query` and `PUT /v1/query/:id`. Durations accept `'10s'` or
 * milliseconds.
 */
export interface PreparedQueryDefinition {
  /**
   * Name to execute the query by, besides its ID. For a template, the prefix it matches (`''`
   * makes a catch-all template). Consul refuses an unnamed query that has no `Session`.
   */
  Name?: string;
  /** Session whose invalidation deletes the query. */
  Session?: string;
  /**
   * ACL token the query runs with when executed ("captured" token); empty uses the token of
   * whoever executes it.
   */
  Token?: string;
  /** What the query looks for. */
  Service: PreparedQueryServiceDefinition;
  /** DNS settings. */
  DNS?: PreparedQueryDNSDefinition;
  /** Makes the query a template. */
  Template?: PreparedQueryTemplate;
}

/** The service part of a stored query, with every field as Consul fills it in. */
export interface PreparedQueryService {
  /** Service name (a template keeps its interpolations here). */
  Service: string;
  /** Datacenter failover policy. */
  Failover: {
    /** How many nearest other datacenters are tried. */
    NearestN: number;
    /** Datacenters tried after the nearest ones. */
    Datacenters: string[] | null;
  };
  /** Whether only instances with every check passing are answered. */
  OnlyPassing: boolean;
  /** Check IDs ignored when filtering. */
  IgnoreCheckIDs: string[] | null;
  /** Sort origin for round-trip times; `''` when unsorted. */
  Near: string;
  /** Tag filter (`!tag` excludes). */
  Tags: string[] | null;
  /** Node metadata filter. */
  NodeMeta: Record<string, string> | null;
  /** Service metadata filter (Consul 1.3+). */
  ServiceMeta?: Record<string, string> | null;
  /** Whether Connect-capable endpoints are answered (Consul 1.4+). */
  Connect?: boolean;
}

/** A prepared query as Consul stores and reports it. */
export interface PreparedQuery {
  /** Query ID (UUID). */
  ID: string;
  /** Name, `''` when unnamed. */
  Name: string;
  /** Session the query is bound to, `''` when none. */
  Session: string;
  /** Captured ACL token; Consul shows `<hidden>` unless the caller may read it. */
  Token: string;
  /** Template settings; `Type` is `''` for an ordinary query. */
  Template: {
    /** `name_prefix_match`, or `''` when the query is not a template. */
    Type: PreparedQueryTemplateType | '';
    /** Regular expression of the template, `''` when none. */
    Regexp: string;
    /** Whether empty interpolated tags are dropped (Consul 1.3+). */
    RemoveEmptyTags?: boolean;
  };
  /** What the query looks for. */
  Service: PreparedQueryService;
  /** DNS settings. */
  DNS: {
    /** TTL of DNS answers as a Go duration string, `''` for the agent's default. */
    TTL: string;
  };
  /** Raft index of creation. */
  CreateIndex: bigint;
  /** Raft index of the last change. */
  ModifyIndex: bigint;
}

/** The answer of `GET /v1/query/:id/execute`. */
export interface PreparedQueryExecuteResponse {
  /** Name of the service that was queried (after template interpolation). */
  Service: string;
  /**
   * Matching healthy instances with their nodes and checks, shuffled, or sorted by round-trip
   * time when `Near`/`near` applies.
   */
  Nodes: ServiceEntry[];
  /** DNS settings of the query. */
  DNS: {
    /** TTL of DNS answers as a Go duration string, `''` for the agent's default. */
    TTL: string;
  };
  /** Datacenter that answered (another one after a failover). */
  Datacenter: string;
  /** How many other datacenters were tried before this answer. */
  Failovers: number;
}

/** The answer of `GET /v1/query/:id/explain`: the query after template interpolation. */
export interface PreparedQueryExplainResponse {
  /** The query as it would run for the given name. */
  Query: PreparedQuery;
}

/** Options of `query.list` and `query.get`: no blocking, filter or cache on these endpoints. */
export type PreparedQueryReadOptions = Omit<ReadOptions, 'index' | 'wait' | 'filter' | 'cached'>;

/** Options of `query.execute`. Not blocking; `cached` answers from the agent's cache. */
export interface PreparedQueryExecuteOptions extends Omit<ReadOptions, 'index' | 'wait' | 'filter'> {
  /**
   * Sort the instances by round-trip time from this node (or `_agent`, `_ip`), overriding
   * the query's `Near`.
   */
  near?: string;
  /** Answer at most this many instances (a positive integer). Default: all. */
  limit?: number;
  /** Answer Connect-capable endpoints instead, whatever the query says (Consul 1.4+). */
  connect?: boolean;
}
