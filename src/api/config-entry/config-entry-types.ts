/**
 * Wire types of config entries (`/v1/config`), one per kind that Consul 1.8 knows, named and
 * shaped as Consul's configuration-entry documentation writes them.
 *
 * @packageDocumentation
 */

/** The config-entry kinds Consul 1.8 knows. */
export type ConfigEntryKind =
  | 'service-defaults'
  | 'proxy-defaults'
  | 'service-router'
  | 'service-splitter'
  | 'service-resolver'
  | 'ingress-gateway'
  | 'terminating-gateway';

/** Every kind Consul 1.8 knows, for validation and iteration. */
export const CONFIG_ENTRY_KINDS: readonly ConfigEntryKind[] = Object.freeze([
  'service-defaults',
  'proxy-defaults',
  'service-router',
  'service-splitter',
  'service-resolver',
  'ingress-gateway',
  'terminating-gateway',
]);

/** How a service reaches mesh gateways. */
export interface MeshGatewayConfig {
  /** `''` (inherit), `none`, `local` or `remote`. */
  Mode?: '' | 'none' | 'local' | 'remote';
}

/** Paths of a service exposed through its sidecar without mTLS (e.g. for health checks). */
export interface ExposeConfig {
  /** Expose every HTTP and gRPC check's path automatically. */
  Checks?: boolean;
  /** Explicit paths to expose. */
  Paths?: Array<{
    Path?: string;
    LocalPathPort?: number;
    ListenerPort?: number;
    Protocol?: 'http' | 'http2';
  }>;
}

/** Fields every config entry has. */
interface ConfigEntryBase {
  /** Name of the entry (the service name, or `global` for proxy-defaults). */
  Name: string;
  /** Opaque metadata (Consul 1.8+). */
  Meta?: Record<string, string> | null;
  /** Namespace (Consul Enterprise). */
  Namespace?: string;
}

/** `service-defaults`: defaults for every instance of one service. */
export interface ServiceDefaultsEntry extends ConfigEntryBase {
  /** The kind. */
  Kind: 'service-defaults';
  /** `tcp` (default), `http`, `http2` or `grpc`; L7 routing needs an HTTP-based protocol. */
  Protocol?: string;
  /** Mesh gateway mode of the service's upstreams. */
  MeshGateway?: MeshGatewayConfig;
  /** Paths exposed without mTLS. */
  Expose?: ExposeConfig;
  /** SNI of an external service that terminating gateways reach. */
  ExternalSNI?: string;
}

/** `proxy-defaults`: defaults for every proxy; its name is always `global`. */
export interface ProxyDefaultsEntry extends ConfigEntryBase {
  /** The kind. */
  Kind: 'proxy-defaults';
  /** Opaque proxy configuration (e.g. `{ protocol: 'http' }` for Envoy). */
  Config?: Record<string, unknown> | null;
  /** Mesh gateway mode. */
  MeshGateway?: MeshGatewayConfig;
  /** Paths exposed without mTLS. */
  Expose?: ExposeConfig;
}

/** What an HTTP route of a service-router matches. */
export interface ServiceRouteHTTPMatch {
  /** The path equals this. */
  PathExact?: string;
  /** The path starts with this. */
  PathPrefix?: string;
  /** The path matches this regular expression (RE2). */
  PathRegex?: string;
  /** Conditions on request headers, all of which must hold. */
  Header?: Array<{
    /** Header name; the other fields say how its value must match (`Invert` negates). */
    Name: string;
    Present?: boolean;
    Exact?: string;
    Prefix?: string;
    Suffix?: string;
    Regex?: string;
    Invert?: boolean;
  }>;
  /** Conditions on query parameters, all of which must hold. */
  QueryParam?: Array<{
    /** Parameter name; the other fields say how its value must match. */
    Name: string;
    Present?: boolean;
    Exact?: string;
    Regex?: string;
  }>;
  /** HTTP methods that match; all when empty. */
  Methods?: string[];
}

/** Where a route sends matching requests. */
export interface ServiceRouteDestination {
  /** Target service (default: the router's own), subset and namespace; `PrefixRewrite` replaces the matched prefix. */
  Service?: string;
  ServiceSubset?: string;
  Namespace?: string;
  PrefixRewrite?: string;
  /** Duration string, e.g. `'5s'`. */
  RequestTimeout?: string;
  /** How many times a failed request is retried. */
  NumRetries?: number;
  /** Retry when the connection fails. */
  RetryOnConnectFailure?: boolean;
  /** Retry on these HTTP status codes. */
  RetryOnStatusCodes?: number[];
}

/** One route of a service-router, tried in order. */
export interface ServiceRoute {
  /** What the route matches; every request when absent. */
  Match?: { HTTP?: ServiceRouteHTTPMatch };
  /** Where matching requests go. */
  Destination?: ServiceRouteDestination;
}

/** `service-router`: L7 routing of one service's HTTP traffic. */
export interface ServiceRouterEntry extends ConfigEntryBase {
  /** The kind. */
  Kind: 'service-router';
  /** Routes in order; the first match wins. */
  Routes?: ServiceRoute[] | null;
}

/** One split of a service-splitter. */
export interface ServiceSplit {
  /** Percentage of traffic (0–100, up to two decimals); all splits add up to 100. */
  Weight: number;
  /** Target service (default: the splitter's own), subset and namespace of this share. */
  Service?: string;
  ServiceSubset?: string;
  Namespace?: string;
}

/** `service-splitter`: weighted traffic splitting. */
export interface ServiceSplitterEntry extends ConfigEntryBase {
  /** The kind. */
  Kind: 'service-splitter';
  /** The splits; weights add up to 100. */
  Splits?: ServiceSplit[] | null;
}

/** A named subset of a service's instances. */
export interface ServiceResolverSubset {
  /** Filter expression on the instances, e.g. `Service.Meta.version == v2`. */
  Filter?: string;
  /** Only passing instances (warning ones are excluded). */
  OnlyPassing?: boolean;
}

/** Where a service-resolver sends all traffic instead. */
export interface ServiceResolverRedirect {
  /** Target service, subset, namespace and datacenter of the redirect. */
  Service?: string;
  ServiceSubset?: string;
  Namespace?: string;
  Datacenter?: string;
}

/** Where traffic goes when a subset has no healthy instance. */
export interface ServiceResolverFailover {
  /** Failover target service, subset and namespace, and the datacenters to try in order. */
  Service?: string;
  ServiceSubset?: string;
  Namespace?: string;
  Datacenters?: string[];
}

/** `service-resolver`: subsets, redirects and failover of one service. */
export interface ServiceResolverEntry extends ConfigEntryBase {
  /** The kind. */
  Kind: 'service-resolver';
  /** Subset used when a request names none. */
  DefaultSubset?: string;
  /** Named subsets of the service's instances. */
  Subsets?: Record<string, ServiceResolverSubset> | null;
  /** Send all traffic elsewhere instead. */
  Redirect?: ServiceResolverRedirect | null;
  /** Failover by subset name, or `*` for every subset. */
  Failover?: Record<string, ServiceResolverFailover> | null;
  /** Duration string, e.g. `'15s'`. */
  ConnectTimeout?: string;
}

/** A service an ingress gateway listener exposes. */
export interface IngressService {
  /** Service name, or `*` for every service of the listener's protocol. */
  Name: string;
  /** Hosts (HTTP listeners); default `<name>.ingress.*`. */
  Hosts?: string[] | null;
  /** Namespace (Consul Enterprise). */
  Namespace?: string;
}

/** One listener of an ingress gateway. */
export interface IngressListener {
  /** Port the listener binds. */
  Port: number;
  /** `tcp` (default), `http`, `http2` or `grpc`. */
  Protocol?: string;
  /** Services behind the listener. */
  Services: IngressService[];
}

/** `ingress-gateway`: listeners of an ingress gateway and the services behind them. */
export interface IngressGatewayEntry extends ConfigEntryBase {
  /** The kind. */
  Kind: 'ingress-gateway';
  /** Serve the listeners with TLS certificates from the Connect CA. */
  TLS?: { Enabled: boolean };
  /** The gateway's listeners. */
  Listeners?: IngressListener[] | null;
}

/** A service a terminating gateway reaches on behalf of the mesh. */
export interface LinkedService {
  /** Service name, namespace, and the TLS files and SNI used to reach it (paths on the gateway's host). */
  Name: string;
  Namespace?: string;
  CAFile?: string;
  CertFile?: string;
  KeyFile?: string;
  SNI?: string;
}

/** `terminating-gateway`: the external services a terminating gateway reaches. */
export interface TerminatingGatewayEntry extends ConfigEntryBase {
  /** The kind. */
  Kind: 'terminating-gateway';
  /** The external services reached. */
  Services?: LinkedService[] | null;
}

/** A config entry to write, discriminated by `Kind`. */
export type ConfigEntry =
  | ServiceDefaultsEntry
  | ProxyDefaultsEntry
  | ServiceRouterEntry
  | ServiceSplitterEntry
  | ServiceResolverEntry
  | IngressGatewayEntry
  | TerminatingGatewayEntry;

/** The body type of one kind. */
export type ConfigEntryOfKind<K extends ConfigEntryKind> = Extract<ConfigEntry, { Kind: K }>;

/** Raft indexes Consul adds to a stored entry. */
export interface ConfigEntryIndexes {
  /** Raft index of creation. */
  CreateIndex: bigint;
  /** Raft index of the last change; the `cas` value for {@link ConfigEntrySetOptions.cas}. */
  ModifyIndex: bigint;
}

/** A config entry as Consul returns it. */
export type StoredConfigEntry<K extends ConfigEntryKind = ConfigEntryKind> = ConfigEntryOfKind<K> &
  ConfigEntryIndexes;
