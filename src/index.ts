/**
 * consulkit: service discovery and coordination on HashiCorp Consul.
 *
 * @packageDocumentation
 */
export { Consul, type ClientResource } from './client.js';
export type { ConsulOptions, ConsistencyMode, TlsOptions, RetryOptions } from './config.js';
export { toMilliseconds, formatDuration, type Duration } from './duration.js';
export {
  ConsulError,
  ConsulHttpError,
  PermissionDeniedError,
  NotFoundError,
  ConsulUnavailableError,
  TimeoutError,
  ValidationError,
  LockLostError,
  ConflictError,
  ClosedError,
  isRetryable,
  type ConsulErrorCode,
  type HttpErrorDetails,
} from './errors.js';
export type { QueryMeta } from './transport/query-meta.js';
export type { CallOptions, ReadOptions } from './transport/types.js';
export type { TransportStats } from './transport/transport.js';
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
