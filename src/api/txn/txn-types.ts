/**
 * Wire types of transactions (`PUT /v1/txn`): the operations, their results and the options
 * of {@link Txn.execute}. The calls, builders and validation are in `txn.ts`.
 *
 * @packageDocumentation
 */
import type { ConsistencyMode } from '../../config.js';
import type { QueryMeta } from '../../transport/query-meta.js';
import type { CallOptions } from '../../transport/types.js';
import type { KVPair } from '../kv.js';

// ---------------------------------------------------------------------------------------------
// Wire types of operations
// ---------------------------------------------------------------------------------------------

/** Fields every KV operation carries. */
export interface TxnKVBase {
  /** Full key (or prefix for the `*-tree` verbs); never empty, never starting with `/`. */
  Key: string;
  /** Namespace (Consul Enterprise). */
  Namespace?: string;
}

/** Writes a value (`set`), conditionally (`cas`), or while taking/releasing a lock. */
export interface TxnKVWrite extends TxnKVBase {
  /**
   * The operation, as Consul names it. `set`: write; `cas`: write if `Index` matches;
   * `lock`/`unlock`: write while acquiring/releasing with `Session`.
   */
  Verb: 'set' | 'cas' | 'lock' | 'unlock';
  /** The value, base64-encoded (the builders in {@link txnKV} encode it). */
  Value: string;
  /** Opaque uint64 stored with the key. */
  Flags?: bigint;
  /** `cas` only: the `ModifyIndex` the key must have (0 = only if absent). */
  Index?: bigint;
  /** `lock`/`unlock` only: the session taking or releasing the lock. */
  Session?: string;
}

/** Reads a key (`get`) or every key under a prefix (`get-tree`); a missing key fails the transaction. */
export interface TxnKVRead extends TxnKVBase {
  /** The operation, as Consul names it. */
  Verb: 'get' | 'get-tree';
}

/** Fails the transaction unless the key's `ModifyIndex` equals `Index`. */
export interface TxnKVCheckIndex extends TxnKVBase {
  /** The operation, as Consul names it. */
  Verb: 'check-index';
  /** The expected `ModifyIndex`. */
  Index: bigint;
}

/** Fails the transaction unless the key is locked by `Session`. */
export interface TxnKVCheckSession extends TxnKVBase {
  /** The operation, as Consul names it. */
  Verb: 'check-session';
  /** The session that must hold the key's lock. */
  Session: string;
}

/** Fails the transaction if the key exists (Consul 1.7+); produces no result. */
export interface TxnKVCheckNotExists extends TxnKVBase {
  /** The operation, as Consul names it. */
  Verb: 'check-not-exists';
}

/** Deletes a key (`delete`) or a whole prefix (`delete-tree`); produces no result. */
export interface TxnKVDelete extends TxnKVBase {
  /** The operation, as Consul names it. */
  Verb: 'delete' | 'delete-tree';
}

/** Deletes a key if its `ModifyIndex` equals `Index`; produces no result. */
export interface TxnKVDeleteCas extends TxnKVBase {
  /** The operation, as Consul names it. */
  Verb: 'delete-cas';
  /** The expected `ModifyIndex`. */
  Index: bigint;
}

/** One KV operation, discriminated on `Verb`. */
export type TxnKVOp =
  | TxnKVWrite
  | TxnKVRead
  | TxnKVCheckIndex
  | TxnKVCheckSession
  | TxnKVCheckNotExists
  | TxnKVDelete
  | TxnKVDeleteCas;

/** Every KV verb Consul's transaction endpoint knows. */
export type TxnKVVerb = TxnKVOp['Verb'];

/** Verbs of node, service and check operations. */
export type TxnCatalogVerb = 'get' | 'set' | 'cas' | 'delete' | 'delete-cas';

/** A catalog node, as a node operation names it. */
export interface TxnNode {
  /** Node ID (UUID). */
  ID?: string;
  /** Node name. */
  Node: string;
  /** Node address. */
  Address?: string;
  /** Datacenter; Consul fills in the agent's. */
  Datacenter?: string;
  /** Tagged addresses (keys are user-defined). */
  TaggedAddresses?: Record<string, string>;
  /** Node metadata (keys are user-defined). */
  Meta?: Record<string, string>;
  /** `cas`/`delete-cas`: the expected `ModifyIndex`. */
  ModifyIndex?: bigint;
}

/** A service instance, as a service operation names it. */
export interface TxnService {
  /** Service instance ID. */
  ID: string;
  /** Service name. */
  Service?: string;
  /** Tags. */
  Tags?: string[];
  /** Address. */
  Address?: string;
  /** Metadata (keys are user-defined). */
  Meta?: Record<string, string>;
  /** Port. */
  Port?: number;
  /** Weights used by DNS SRV answers. */
  Weights?: { Passing: number; Warning: number };
  /** Let catalog tags be edited outside the agent. */
  EnableTagOverride?: boolean;
  /** Namespace (Consul Enterprise). */
  Namespace?: string;
  /** `cas`/`delete-cas`: the expected `ModifyIndex`. */
  ModifyIndex?: bigint;
}

/** A health check, as a check operation names it. */
export interface TxnCheck {
  /** Node the check belongs to. */
  Node: string;
  /** Check ID. */
  CheckID: string;
  /** Check name. */
  Name?: string;
  /** `passing`, `warning` or `critical`. */
  Status?: 'passing' | 'warning' | 'critical';
  /** Human-readable notes. */
  Notes?: string;
  /** Last output. */
  Output?: string;
  /** Service instance the check belongs to. */
  ServiceID?: string;
  /** Service name the check belongs to. */
  ServiceName?: string;
  /** Service tags. */
  ServiceTags?: string[];
  /** Definition of an HTTP or TCP check (durations as Consul strings such as `'10s'`). */
  Definition?: Record<string, unknown>;
  /** Namespace (Consul Enterprise). */
  Namespace?: string;
  /** `cas`/`delete-cas`: the expected `ModifyIndex`. */
  ModifyIndex?: bigint;
}

/** A KV operation in a transaction. */
export interface TxnKVOperation {
  /** The KV operation. */
  KV: TxnKVOp;
}

/** A catalog node operation in a transaction. */
export interface TxnNodeOperation {
  /** The catalog node operation. */
  Node: { Verb: TxnCatalogVerb; Node: TxnNode };
}

/** A catalog service operation in a transaction. */
export interface TxnServiceOperation {
  /** The catalog service operation, on the service of `Node`. */
  Service: { Verb: TxnCatalogVerb; Node: string; Service: TxnService };
}

/** A health-check operation in a transaction. */
export interface TxnCheckOperation {
  /** The health-check operation. */
  Check: { Verb: TxnCatalogVerb; Check: TxnCheck };
}

/** One operation of a transaction, in Consul's wire form. Build KV ones with {@link txnKV}. */
export type TxnOperation = TxnKVOperation | TxnNodeOperation | TxnServiceOperation | TxnCheckOperation;

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

/**
 * One result of a transaction. Consul returns results only for operations that yield an
 * entry: `set`, `cas`, `lock`, `unlock`, `get`, `check-index` and `check-session` one each,
 * `get-tree` one per key, and none for deletes and `check-not-exists`. Results therefore do
 * not line up with operations by position. Only `get` and `get-tree` results carry the
 * value; the others come back with an empty `Value`.
 */
export type TxnResult =
  | { KV: KVPair }
  | { Node: Record<string, unknown> }
  | { Service: Record<string, unknown> }
  | { Check: Record<string, unknown> };

/** The answer to a transaction that was applied. */
export interface TxnResponse {
  /** Results in Consul's order (see {@link TxnResult}). */
  results: TxnResult[];
  /** Response metadata (leader contact for read-only transactions). */
  meta: QueryMeta;
}

/** Options of {@link Txn.execute}. */
export interface TxnOptions extends CallOptions {
  /**
   * Consistency of a read-only transaction (one with only `get`/`check-*` operations), which
   * Consul serves without Raft. Ignored for transactions that write. Default: the client's
   * consistency.
   */
  consistency?: ConsistencyMode;
}

/** The body of Consul's answer, before it is checked. */
export interface WireTxnResponse {
  Results: Array<Record<string, unknown>> | null;
  Errors: Array<{ OpIndex: number; What: string }> | null;
}
