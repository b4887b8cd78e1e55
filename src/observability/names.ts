/**
 * The names consulkit publishes under: OpenTelemetry metric names, attribute keys and
 * `node:diagnostics_channel` channel names. They are part of the public contract (dashboards
 * and alerts are built on them), so they live in one place and never change silently.
 *
 * Where OpenTelemetry's semantic conventions define a name (`http.client.request.duration`,
 * `http.request.method`, `error.type`, `server.address`…), it is used as is; everything else
 * is under `consulkit.`.
 *
 * @packageDocumentation
 */

/** The instrumentation scope (meter and tracer name) of every metric and span consulkit makes. */
export const INSTRUMENTATION_SCOPE = 'consulkit';

/** Metric names. Units follow OpenTelemetry: durations in seconds (`s`), counts in `{thing}`. */
export const METRICS = Object.freeze({
  /** Histogram, s: each HTTP request to Consul (semantic-convention name). */
  requestDuration: 'http.client.request.duration',
  /** Counter, {request}: requests by endpoint group, method and outcome. */
  requests: 'consulkit.requests',
  /** Counter, {retry}: transport retries of idempotent requests. */
  retries: 'consulkit.request.retries',
  /** Observable up-down counter, {connection}: connections open to the agent, per pool. */
  connections: 'consulkit.connections',
  /** Observable up-down counter, {loop}: blocking loops running (one per distinct watched query). */
  watchLoops: 'consulkit.watch.loops',
  /** Observable up-down counter, {loop}: blocking loops whose last read failed and that are retrying. */
  watchFailing: 'consulkit.watch.failing',
  /** Counter, {read}: reads sent by watch loops, by kind and outcome. */
  watchReads: 'consulkit.watch.reads',
  /** Counter, {error}: failed watch reads, by kind and error type. */
  watchErrors: 'consulkit.watch.errors',
  /**
   * Histogram, s: how long a loop took to hand a changed answer to every watch of it (their
   * `change` listeners run in this time, so slow listeners show here). Not the lag from the
   * write: Consul tells no write time, and the wait for the blocking answer is not in it.
   */
  watchDelivery: 'consulkit.watch.delivery.duration',
  /** Histogram, s: from `acquire()` being called to its outcome (held, timed out, aborted, failed). */
  lockAcquireDuration: 'consulkit.lock.acquire.duration',
  /** Histogram, s: how long a lock or semaphore slot was held, ended by a release or a loss. */
  lockHoldDuration: 'consulkit.lock.hold.duration',
  /** Counter, {loss}: locks and semaphore slots lost while held. */
  lockLosses: 'consulkit.lock.losses',
  /** Up-down counter, {holder}: locks and semaphore slots this process holds now, per key. */
  lockHolders: 'consulkit.lock.holders',
  /** Counter, {term}: leadership terms, by how they began or ended (`won`, `lost`, `resigned`). */
  electionTerms: 'consulkit.election.terms',
  /** Histogram, s: how long each leadership term lasted. */
  electionLeadership: 'consulkit.election.leadership.duration',
  /** Counter, {registration}: registrations with the agent, by reason (`initial`, `agent-forgot`, `agent-restarted`). */
  registrations: 'consulkit.registration.registrations',
  /** Counter, {failure}: heartbeats (and re-registrations) that failed. */
  heartbeatFailures: 'consulkit.registration.heartbeat.failures',
  /** Observable gauge, s: time since the last heartbeat the agent accepted, per service instance. */
  heartbeatAge: 'consulkit.registration.heartbeat.age',
  /** Counter, {call}: balancer attempts by instance and outcome. */
  balancerCalls: 'consulkit.balancer.calls',
  /** Counter, {ejection}: instances taken out of rotation by outlier detection. */
  balancerEjections: 'consulkit.balancer.ejections',
  /** Observable gauge, {instance}: instances a balancer can pick now. */
  balancerInstances: 'consulkit.balancer.instances',
} as const);

/** Attribute keys. Never the ACL token, never a KV value. */
export const ATTRIBUTES = Object.freeze({
  httpMethod: 'http.request.method',
  httpStatus: 'http.response.status_code',
  errorType: 'error.type',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  urlPath: 'url.path',
  /** The `/v1/<group>` of the request: `kv`, `agent`, `health`, `session`… */
  endpointGroup: 'consul.endpoint_group',
  /** Whether the request was a blocking query (held by Consul up to its `wait`). */
  blocking: 'consul.blocking',
  /** `ok`, `not_found`, or the lower-cased consulkit error code (`timeout`, `unavailable`…), or `aborted`. */
  outcome: 'consulkit.outcome',
  /** Kind of watched query: `kv`, `health`, `catalog`, `event`… (its endpoint group). */
  watchKind: 'consulkit.watch.kind',
  /** `lock` or `semaphore`. */
  lockKind: 'consulkit.lock.kind',
  /** The Consul key of a lock, election, or a semaphore's prefix. */
  key: 'consul.key',
  /** The fencing token of a held lock or a leadership term, as a decimal string. */
  fencingToken: 'consulkit.fencing_token',
  /** Why a lock ended: `released` or `lost`. */
  holdEnd: 'consulkit.lock.end',
  /** Why a lock was lost: the type of the failure that caused it, or `lock_lost` when Consul decided it. */
  lossReason: 'consulkit.lock.loss_reason',
  /** `won`, `lost` or `resigned`. */
  term: 'consulkit.election.term',
  /** A registered service instance's ID. */
  serviceId: 'consul.service.id',
  /** A service name (balancer). */
  service: 'consul.service.name',
  /** A balancer instance's ID. */
  instance: 'consul.service.instance',
  /** Why a registration happened. */
  registrationReason: 'consulkit.registration.reason',
  /** Connection pool: `short` (ordinary requests) or `blocking` (watches). */
  pool: 'consulkit.pool',
} as const);

/**
 * `node:diagnostics_channel` names. A message is built and published only when the channel
 * has subscribers, so an unsubscribed channel costs one property read.
 */
export const CHANNELS = Object.freeze({
  /** A request to Consul is about to be sent (each attempt). Message: {@link RequestMessage}. */
  requestStart: 'consulkit:request:start',
  /** A request ended, answered or failed. Message: the same {@link RequestMessage} object, completed. */
  requestEnd: 'consulkit:request:end',
  /** A watch loop's read failed; it backs off and retries (or stops, when `fatal`). */
  watchError: 'consulkit:watch:error',
  /** A lock or semaphore slot was acquired. */
  lockAcquired: 'consulkit:lock:acquired',
  /** A lock or semaphore slot was released by its holder. */
  lockReleased: 'consulkit:lock:released',
  /** A lock or semaphore slot was lost while held. */
  lockLost: 'consulkit:lock:lost',
  /** This process became the leader. */
  electionElected: 'consulkit:election:elected',
  /** This process stopped being the leader (lost or resigned). */
  electionRevoked: 'consulkit:election:revoked',
  /** A service instance was registered with the agent (first time or again). */
  registrationRegistered: 'consulkit:registration:registered',
  /** A heartbeat or re-registration failed. */
  registrationFailed: 'consulkit:registration:failed',
} as const);
