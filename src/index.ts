/**
 * consulkit: service discovery and coordination on HashiCorp Consul.
 *
 * @packageDocumentation
 */
export { Consul, type ClientResource, type ConsulStats } from './client.js';
export type { ConsulOptions, ConsistencyMode, TlsOptions, RetryOptions } from './config.js';
export { toMilliseconds, formatDuration, type Duration } from './duration.js';
export {
  ConsulError,
  ConsulHttpError,
  PermissionDeniedError,
  NotFoundError,
  ConsulUnavailableError,
  ConnectionLimitError,
  TimeoutError,
  ValidationError,
  LockLostError,
  ConflictError,
  ConfigDecodeError,
  ClosedError,
  TxnError,
  AclBootstrapError,
  InvalidResponseError,
  BadRequestError,
  BalancerNoInstanceError,
  BalancerRequestError,
  isRetryable,
  type TxnOpError,
  type ConsulErrorCode,
  type HttpErrorDetails,
} from './errors.js';
export { UnknownOptionError } from './options-check.js';
export type { QueryMeta } from './transport/query-meta.js';
export type { CallOptions, ReadOptions } from './transport/types.js';
export type { TransportStats, PoolStats } from './transport/transport.js';
export { ConsulRead, type WithMeta } from './api/read.js';
export {
  KV,
  MAX_KV_VALUE_BYTES,
  type KVPair,
  type KVValue,
  type KVPutOptions,
  type KVDeleteOptions,
  type KVKeysOptions,
} from './api/kv.js';
export {
  Session,
  type SessionCreateRequest,
  type SessionEntry,
  type SessionBehavior,
  type SessionServiceCheck,
} from './api/session.js';
export { Status } from './api/status.js';
export { Agent } from './api/agent/agent.js';
export { AgentServices, SERVICE_META_LIMITS } from './api/agent/agent-services.js';
export { AgentChecks } from './api/agent/agent-checks.js';
export {
  MemberStatus,
  type AgentService,
  type AgentServiceCheck,
  type AgentServiceRegistration,
  type AgentCheckRegistration,
  type AgentCheck,
  type AgentMember,
  type AgentSelf,
  type AgentSelfConfig,
  type AgentCoordinate,
  type AgentListOptions,
  type AgentMembersOptions,
  type AgentJoinOptions,
  type AgentForceLeaveOptions,
  type AgentServiceRegisterOptions,
  type ServiceAddress,
  type ServiceWeights,
  type ServiceKind,
} from './api/agent/agent-types.js';
export {
  Check,
  type CheckKind,
  type CheckOptions,
  type IntervalCheckOptions,
  type HttpCheckOptions,
  type GrpcCheckOptions,
  type AliasCheckOptions,
} from './api/checks.js';
export { Catalog } from './api/catalog/catalog.js';
export type {
  Node,
  CatalogService,
  CatalogNode,
  CatalogRegistration,
  CatalogServiceRegistration,
  CatalogCheckRegistration,
  CatalogCheckDefinition,
  CatalogDeregistration,
  NodeFilterOptions,
  CatalogNodesOptions,
  CatalogServicesOptions,
  CatalogServiceOptions,
  CatalogNodeOptions,
} from './api/catalog/catalog-types.js';
export {
  Health,
  type ServiceEntry,
  type HealthNodeOptions,
  type HealthChecksOptions,
  type HealthServiceOptions,
} from './api/health/health.js';
export {
  HEALTH_STATUSES,
  HEALTH_STATES,
  type HealthStatus,
  type HealthState,
  type HealthCheck,
  type HealthCheckDefinition,
} from './api/health/health-types.js';
export {
  Events,
  EVENT_MAX_ENCODED_BYTES,
  eventIdToIndex,
  eventsAfterIndex,
  userEventSizeLowerBound,
  type UserEvent,
  type EventPayload,
  type EventFireOptions,
  type EventListOptions,
} from './api/event.js';
export { Acl, type ACLReplicationStatus } from './api/acl/acl.js';
export {
  ACLTokens,
  type ACLToken,
  type ACLTokenListEntry,
  type ACLTokenRequest,
  type ACLTokenListOptions,
  type ACLTokenCloneOptions,
  type ACLLink,
  type ACLServiceIdentity,
  type ACLNodeIdentity,
} from './api/acl/acl-tokens.js';
export {
  ACLPolicies,
  type ACLPolicy,
  type ACLPolicyListEntry,
  type ACLPolicyRequest,
} from './api/acl/acl-policies.js';
export { ACLRoles, type ACLRole, type ACLRoleRequest, type ACLRoleListOptions } from './api/acl/acl-roles.js';
export {
  ACLLegacy,
  type LegacyAcl,
  type LegacyAclType,
  type LegacyAclCreateRequest,
  type LegacyAclUpdateRequest,
} from './api/acl/acl-legacy.js';
export { Txn, txnKV, prepareTxn, MAX_TXN_OPERATIONS, type TxnKVWriteOptions } from './api/txn/txn.js';
export type {
  TxnOperation,
  TxnKVOperation,
  TxnNodeOperation,
  TxnServiceOperation,
  TxnCheckOperation,
  TxnKVOp,
  TxnKVVerb,
  TxnKVWrite,
  TxnKVRead,
  TxnKVCheckIndex,
  TxnKVCheckSession,
  TxnKVCheckNotExists,
  TxnKVDelete,
  TxnKVDeleteCas,
  TxnCatalogVerb,
  TxnNode,
  TxnService,
  TxnCheck,
  TxnResult,
  TxnResponse,
  TxnOptions,
} from './api/txn/txn-types.js';
export { PreparedQueries } from './api/query/query.js';
export type {
  PreparedQuery,
  PreparedQueryDefinition,
  PreparedQueryServiceDefinition,
  PreparedQueryService,
  PreparedQueryFailover,
  PreparedQueryDNSDefinition,
  PreparedQueryTemplate,
  PreparedQueryTemplateType,
  PreparedQueryExecuteResponse,
  PreparedQueryExplainResponse,
  PreparedQueryReadOptions,
  PreparedQueryExecuteOptions,
} from './api/query/query-types.js';
export {
  Coordinates,
  type Coordinate,
  type CoordinateEntry,
  type CoordinateDatacenterMap,
  type CoordinateUpdate,
  type CoordinateReadOptions,
} from './api/coordinate.js';
export { Operator, KEYRING_RELAY_FACTOR_MAX } from './api/operator/operator.js';
export type {
  RaftServer,
  RaftConfiguration,
  RaftPeerSelector,
  AutopilotConfiguration,
  AutopilotServerHealth,
  AutopilotHealth,
  KeyringResponse,
  OperatorReadOptions,
  KeyringListOptions,
} from './api/operator/operator-types.js';
export {
  Watches,
  type CachedWatchOptions,
  type ServiceWatchOptions,
  type EventWatchOptions,
} from './watch/watches.js';
export type { Watch, WatchEvents, WatchOptions, WatchBackoffOptions, WatchState } from './watch/types.js';
export type { WatchQuery, WatchParam } from './watch/query.js';
export type { IndexMode } from './watch/index-rules.js';
export type { WatchEngineStats } from './watch/engine.js';
export {
  ServiceRegistration,
  type RegistrationEvents,
  type RegisteredEvent,
  type RegisteredReason,
  type HeartbeatEvent,
  type DrainingEvent,
  type StopRegistrationOptions,
} from './primitives/registration/registration.js';
export type {
  RegisterServiceOptions,
  ExtraCheckOptions,
  DrainOptions,
  HealthFunction,
  HealthReport,
  CheckStatus,
} from './primitives/registration/registration-options.js';
export { Lock } from './primitives/session/lock.js';
export { Semaphore, type SemaphoreOptions } from './primitives/session/semaphore.js';
export {
  Election,
  type ElectionOptions,
  type ElectionEvents,
  type CampaignOptions,
  type RunWhileLeaderOptions,
  type LeaderRun,
} from './primitives/session/election.js';
export type { HeldEvents } from './primitives/session/session-algorithm.js';
export {
  FAST_FAILOVER,
  type LockOptions,
  type SessionOptions,
  type HeartbeatOptions,
  type AcquireOptions,
  type TryAcquireOptions,
} from './primitives/session/session-options.js';
export { LOCK_FLAGS, SEMAPHORE_FLAGS } from './primitives/session/key-flags.js';
export { acceptsFencingToken } from './primitives/session/fencing.js';
export {
  ConfigMap,
  type ConfigMapOptions,
  type ConfigMapEvents,
  type ConfigChange,
  type ConfigSnapshot,
} from './primitives/config/config-map.js';
export type { ConfigDecode, ConfigDecoder, DecodedValue } from './primitives/config/config-decoders.js';
export {
  Balancer,
  type BalancerOptions,
  type BalancerRequestInit,
  type BalancerChange,
  type BalancerEvents,
  type BalancerEjection,
  type BalancerAttempt,
} from './primitives/balancer/balancer.js';
export { BalancerResponse, type BalancerTlsOptions } from './primitives/balancer/balancer-http.js';
export type { OutlierDetectionOptions } from './primitives/balancer/balancer-outliers.js';
export type { BalancerInstance } from './primitives/balancer/balancer-members.js';
export type { BalancerStrategyName } from './primitives/balancer/balancer-strategies.js';
export type { BalancerAttemptOutcome } from './primitives/balancer/balancer-retry.js';
export {
  lockAclRules,
  semaphoreAclRules,
  electionAclRules,
  type AclRulesOptions,
} from './primitives/session/session-acl.js';
// Modern API groups: Connect, config entries, snapshots, ACL auth methods, operator writes.
export { Connect, ConnectCA } from './api/connect/connect.js';
export { ConnectIntentions } from './api/connect/connect-intentions.js';
export { AgentConnect } from './api/agent/agent-connect.js';
export type { AgentTokenKind, AgentServiceReadOptions } from './api/agent/agent.js';
export type { AgentWatchOptions } from './watch/watches.js';
export type {
  Intention,
  IntentionAction,
  IntentionRequest,
  IntentionMatchOptions,
  CARoot,
  CARootList,
  CAConfiguration,
  CAConfigurationRequest,
  LeafCert,
  AuthorizeRequest,
  AuthorizeResponse,
  AgentConnectReadOptions,
} from './api/connect/connect-types.js';
export { ConfigEntries, type ConfigEntrySetOptions } from './api/config-entry/config-entry.js';
export {
  CONFIG_ENTRY_KINDS,
  type ConfigEntry,
  type ConfigEntryKind,
  type ConfigEntryOfKind,
  type ConfigEntryIndexes,
  type StoredConfigEntry,
  type ServiceDefaultsEntry,
  type ProxyDefaultsEntry,
  type ServiceRouterEntry,
  type ServiceRoute,
  type ServiceRouteHTTPMatch,
  type ServiceRouteDestination,
  type ServiceSplitterEntry,
  type ServiceSplit,
  type ServiceResolverEntry,
  type ServiceResolverSubset,
  type ServiceResolverRedirect,
  type ServiceResolverFailover,
  type IngressGatewayEntry,
  type IngressListener,
  type IngressService,
  type TerminatingGatewayEntry,
  type LinkedService,
  type MeshGatewayConfig,
  type ExposeConfig,
} from './api/config-entry/config-entry-types.js';
export {
  Snapshots,
  type SnapshotSaveOptions,
  type SavedSnapshot,
  type SnapshotFile,
  type SnapshotSource,
} from './api/snapshot.js';
export {
  ACLAuthMethods,
  type ACLAuthMethod,
  type ACLAuthMethodListEntry,
  type ACLAuthMethodRequest,
  type ACLLoginRequest,
} from './api/acl/acl-auth-methods.js';
export {
  ACLBindingRules,
  type ACLBindingRule,
  type ACLBindingRuleRequest,
  type ACLBindingRuleListOptions,
  type ACLBindType,
} from './api/acl/acl-binding-rules.js';
export type {
  AutopilotConfigurationRequest,
  AutopilotSetOptions,
  KeyringWriteOptions,
  RaftTransferLeaderOptions,
} from './api/operator/operator-types.js';
// Layered application config (`consul.config()`).
export {
  LayeredConfig,
  type LayeredConfigOptions,
  type LayeredConfigValue,
  type LayeredConfigChange,
  type LayeredConfigEvents,
} from './primitives/layered-config/layered-config.js';
export { ConfigSchemaError } from './primitives/layered-config/errors.js';
export { CONFIG_FORMATS, type ConfigFormat } from './primitives/layered-config/formats.js';
export type { ConfigLayer } from './primitives/layered-config/layers.js';
export type { ConfigTree, ConfigDiffEntry } from './primitives/layered-config/merge.js';
export type { StandardSchemaV1 } from './primitives/layered-config/standard-schema.js';
// Observability: metric, attribute and channel names, channel messages, the health report.
export * from './observability/index.js';
