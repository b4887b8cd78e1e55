/**
 * Request and response shapes shared by the transport and the api layer.
 *
 * @packageDocumentation
 */
import type { ConsistencyMode } from '../config.js';
import type { Duration } from '../duration.js';
import { optionKeys } from '../options-check.js';
import type { QueryMeta } from './query-meta.js';

/** Options of every call: where it goes, with which token, how long it may take. */
export interface CallOptions {
  /** Datacenter to query instead of the client's default. */
  datacenter?: string;
  /** ACL token for this call instead of the client's. Sent only in the `X-Consul-Token` header. */
  token?: string;
  /** Cancels the call; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Time bound for this call (non-blocking part). Default: the client's `timeout`. */
  timeout?: Duration;
  /**
   * Retries of this call after a transient failure (idempotent calls only). Default: the
   * client's `retry.retries`. The watcher sets 0: it backs off itself and must re-read
   * without the old index after a failure, which a transport retry would not do.
   */
  retries?: number;
}

/** Every key of {@link CallOptions}: the transport refuses any other in a write's options. */
export const CALL_OPTION_KEYS = optionKeys<CallOptions>()([
  'datacenter',
  'token',
  'signal',
  'timeout',
  'retries',
]);

/** Options of reads, including Consul's blocking-query controls. */
export interface ReadOptions extends CallOptions {
  /**
   * Blocking query: wait until the result's index is above this value (or `wait` elapses).
   * Pass the `index` of a previous answer's {@link QueryMeta}.
   */
  index?: bigint | number | string;
  /** Longest time Consul holds a blocking query (Consul caps it at 10 min; default 5 min). */
  wait?: Duration;
  /** Consistency mode for this read. Default: the client's. */
  consistency?: ConsistencyMode;
  /** Server-side filter expression (Consul 1.5+ on list endpoints that support it). */
  filter?: string;
  /** Answer from the agent's cache where the endpoint supports `?cached`. */
  cached?: boolean;
  /**
   * Hash-based blocking query, for the agent endpoints that block on a content hash instead
   * of an index (`/v1/agent/service/:id`): wait until the answer's hash differs from this
   * (or `wait` elapses). Pass the `contentHash` of a previous answer's {@link QueryMeta}.
   */
  hash?: string;
}

/** Every key of {@link ReadOptions}: the transport refuses any other in a read's options. */
export const READ_OPTION_KEYS = optionKeys<ReadOptions>()([
  ...CALL_OPTION_KEYS,
  'index',
  'wait',
  'consistency',
  'filter',
  'cached',
  'hash',
]);

/** The HTTP methods Consul's API uses. */
export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** A query-string value; arrays repeat the parameter, `true` sends a bare flag, `undefined`/`false` omit it. */
export type QueryValue = string | number | bigint | boolean | undefined | readonly string[];

/** What the api layer asks the transport to do. */
export interface RequestSpec {
  method: HttpMethod;
  /** Path with segments already encoded, e.g. `/v1/kv/app%20x/y`. */
  path: string;
  /** Endpoint-specific query parameters. */
  query?: Readonly<Record<string, QueryValue>>;
  /** JSON body, or raw bytes/text for KV values and event payloads. */
  body?: { json: unknown } | { raw: Uint8Array | string };
  /** Read controls (blocking, consistency, filter, cache) plus call options. */
  read?: ReadOptions;
  /** Call options of writes. */
  call?: CallOptions;
  /**
   * Every option key of the API method, when its options type adds keys of its own to
   * {@link ReadOptions} or {@link CallOptions} (`cas` of `kv.put()`): the method takes its own
   * keys out before passing the rest as `read` or `call`, so this list only names them in the
   * refusal of a misspelt key (`cass`: did you mean `cas`?). Default: {@link READ_OPTION_KEYS}
   * with `read`, else {@link CALL_OPTION_KEYS}.
   */
  optionKeys?: readonly string[];
  /** Safe to retry after a transient failure. Default: true for GET, false otherwise. */
  idempotent?: boolean;
  /** Treat 404 as an answer with an `undefined` body instead of a `NotFoundError`. */
  allowNotFound?: boolean;
  /** How to read the body. */
  response: 'json' | 'text' | 'buffer' | 'none';
}

/** A decoded answer. */
export interface ConsulResponse<T> {
  /** HTTP status. */
  status: number;
  /** Decoded body; `undefined` for 404 with `allowNotFound`, or `response: 'none'`. */
  body: T;
  /** Response metadata (index, leader, consistency, cache). */
  meta: QueryMeta;
}

/** The options of a call that gave none; one frozen object shared by every such call, since nothing writes to it. */
export const NO_OPTIONS: ReadOptions = Object.freeze({});
