/**
 * Transactions: `PUT /v1/txn`. Up to 64 operations on KV entries, nodes, services and checks
 * applied atomically: either all of them take effect or none does.
 *
 * @packageDocumentation
 */
import { optionKeys } from '../../options-check.js';
import {
  ConsulHttpError,
  PermissionDeniedError,
  TxnError,
  ValidationError,
  type TxnOpError,
} from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import { parseConsulJson } from '../../transport/uint64-json.js';
import { CALL_OPTION_KEYS, type CallOptions, type RequestSpec } from '../../transport/types.js';
import { MAX_KV_VALUE_BYTES, validateKey, type KVPair, type KVValue } from '../kv.js';
import { uint64 } from '../validate.js';
import type {
  TxnKVWrite,
  TxnKVVerb,
  TxnCatalogVerb,
  TxnKVOperation,
  TxnOperation,
  TxnResult,
  TxnResponse,
  TxnOptions,
  WireTxnResponse,
} from './txn-types.js';

/** Consul refuses transactions with more operations than this (HTTP 413). */
export const MAX_TXN_OPERATIONS = 64;

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

/** Options of the KV write builders. */
export interface TxnKVWriteOptions {
  /** Opaque uint64 stored with the key. Default 0. */
  flags?: bigint | number | string;
}

function encodeValue(value: KVValue): string {
  let bytes: Uint8Array;
  if (typeof value === 'string') bytes = Buffer.from(value, 'utf8');
  else if (value instanceof Uint8Array) bytes = value;
  else throw new ValidationError('value', 'must be a string, Buffer or Uint8Array');
  if (bytes.byteLength > MAX_KV_VALUE_BYTES) {
    throw new ValidationError(
      'value',
      `${bytes.byteLength} bytes exceeds Consul's ${MAX_KV_VALUE_BYTES}-byte limit`,
    );
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function requireSession(session: unknown, field = 'session'): string {
  if (typeof session !== 'string' || session.trim() === '') {
    throw new ValidationError(field, 'is required and must be a session ID');
  }
  return session;
}

function write(
  verb: TxnKVWrite['Verb'],
  key: string,
  value: KVValue,
  options: TxnKVWriteOptions | undefined,
  extra: { Index?: bigint; Session?: string },
): TxnKVOperation {
  const op: TxnKVWrite = { Verb: verb, Key: validateKey(key), Value: encodeValue(value), ...extra };
  if (options?.flags !== undefined) op.Flags = uint64('flags', options.flags);
  return { KV: op };
}

/**
 * Builders of KV operations in Consul's wire form (values base64-encoded, indexes as
 * `bigint`). Each validates its input and throws {@link ValidationError} at once. Also
 * reachable as `consul.txn.kv`.
 *
 * @example
 * ```ts
 * const { kv } = consul.txn;
 * const { results } = await consul.txn.execute([
 *   kv.checkIndex('app/config', entry.ModifyIndex),
 *   kv.set('app/config', JSON.stringify(next)),
 *   kv.delete('app/config.draft'),
 * ]);
 * ```
 */
export const txnKV = Object.freeze({
  /** Writes `value` to `key`. */
  set(key: string, value: KVValue, options?: TxnKVWriteOptions): TxnKVOperation {
    return write('set', key, value, options, {});
  },
  /** Writes `value` if the key's `ModifyIndex` equals `index` (0: only if the key is absent). */
  cas(
    key: string,
    value: KVValue,
    index: bigint | number | string,
    options?: TxnKVWriteOptions,
  ): TxnKVOperation {
    return write('cas', key, value, options, { Index: uint64('index', index) });
  },
  /** Writes `value` and takes the key's lock for `session` (fails if another session holds it). */
  lock(key: string, value: KVValue, session: string, options?: TxnKVWriteOptions): TxnKVOperation {
    return write('lock', key, value, options, { Session: requireSession(session) });
  },
  /** Writes `value` and releases the key's lock held by `session`. */
  unlock(key: string, value: KVValue, session: string, options?: TxnKVWriteOptions): TxnKVOperation {
    return write('unlock', key, value, options, { Session: requireSession(session) });
  },
  /** Reads `key`; the transaction fails if it does not exist. */
  get(key: string): TxnKVOperation {
    return { KV: { Verb: 'get', Key: validateKey(key) } };
  },
  /** Reads every key under `prefix` (one result per key). */
  getTree(prefix: string): TxnKVOperation {
    return { KV: { Verb: 'get-tree', Key: validateKey(prefix, 'prefix') } };
  },
  /** Fails the transaction unless the key's `ModifyIndex` equals `index`. */
  checkIndex(key: string, index: bigint | number | string): TxnKVOperation {
    return { KV: { Verb: 'check-index', Key: validateKey(key), Index: uint64('index', index) } };
  },
  /** Fails the transaction unless `session` holds the key's lock. */
  checkSession(key: string, session: string): TxnKVOperation {
    return { KV: { Verb: 'check-session', Key: validateKey(key), Session: requireSession(session) } };
  },
  /** Fails the transaction if the key exists (Consul 1.7+). */
  checkNotExists(key: string): TxnKVOperation {
    return { KV: { Verb: 'check-not-exists', Key: validateKey(key) } };
  },
  /** Deletes `key` (deleting a missing key succeeds). */
  delete(key: string): TxnKVOperation {
    return { KV: { Verb: 'delete', Key: validateKey(key) } };
  },
  /** Deletes every key under `prefix`. */
  deleteTree(prefix: string): TxnKVOperation {
    return { KV: { Verb: 'delete-tree', Key: validateKey(prefix, 'prefix') } };
  },
  /** Deletes `key` if its `ModifyIndex` equals `index`. */
  deleteCas(key: string, index: bigint | number | string): TxnKVOperation {
    return { KV: { Verb: 'delete-cas', Key: validateKey(key), Index: uint64('index', index) } };
  },
});

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

const KV_VERBS: ReadonlySet<string> = new Set<TxnKVVerb>([
  'set',
  'cas',
  'lock',
  'unlock',
  'get',
  'get-tree',
  'check-index',
  'check-session',
  'check-not-exists',
  'delete',
  'delete-tree',
  'delete-cas',
]);
const KV_READ_VERBS: ReadonlySet<string> = new Set([
  'get',
  'get-tree',
  'check-index',
  'check-session',
  'check-not-exists',
]);
const CATALOG_VERBS: ReadonlySet<string> = new Set<TxnCatalogVerb>([
  'get',
  'set',
  'cas',
  'delete',
  'delete-cas',
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function base64Length(value: string): number {
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  return Math.floor((value.length * 3) / 4) - padding;
}

/** Checks and normalizes one KV operation; returns whether it only reads. */
function normalizeKV(
  op: Record<string, unknown>,
  at: string,
): { wire: Record<string, unknown>; reads: boolean } {
  const verb = op['Verb'];
  if (typeof verb !== 'string' || !KV_VERBS.has(verb)) {
    throw new ValidationError(`${at}.Verb`, `'${String(verb)}' is not a KV transaction verb`);
  }
  const wire: Record<string, unknown> = { ...op, Key: validateKey(op['Key'], `${at}.Key`) };
  const needsValue = verb === 'set' || verb === 'cas' || verb === 'lock' || verb === 'unlock';
  if (op['Value'] !== undefined && op['Value'] !== null) {
    const value = op['Value'];
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
      throw new ValidationError(
        `${at}.Value`,
        'must be base64 text (use the txnKV builders to encode values)',
      );
    }
    const size = base64Length(value);
    if (size > MAX_KV_VALUE_BYTES) {
      throw new ValidationError(
        `${at}.Value`,
        `${size} bytes exceeds Consul's ${MAX_KV_VALUE_BYTES}-byte limit`,
      );
    }
  } else if (needsValue) {
    wire['Value'] = '';
  }
  if (op['Flags'] !== undefined) wire['Flags'] = uint64(`${at}.Flags`, op['Flags'] as bigint);
  const needsIndex = verb === 'cas' || verb === 'check-index' || verb === 'delete-cas';
  if (op['Index'] !== undefined) wire['Index'] = uint64(`${at}.Index`, op['Index'] as bigint);
  else if (needsIndex) throw new ValidationError(`${at}.Index`, `is required for '${verb}'`);
  const needsSession = verb === 'lock' || verb === 'unlock' || verb === 'check-session';
  if (op['Session'] !== undefined) wire['Session'] = requireSession(op['Session'], `${at}.Session`);
  else if (needsSession) throw new ValidationError(`${at}.Session`, `is required for '${verb}'`);
  return { wire, reads: KV_READ_VERBS.has(verb) };
}

function requireString(value: unknown, field: string): void {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(field, 'is required and must be a non-empty string');
  }
}

/** Checks a node, service or check operation; returns whether it only reads. */
function checkCatalog(kind: 'Node' | 'Service' | 'Check', op: Record<string, unknown>, at: string): boolean {
  const verb = op['Verb'];
  if (typeof verb !== 'string' || !CATALOG_VERBS.has(verb)) {
    throw new ValidationError(`${at}.Verb`, `'${String(verb)}' is not a ${kind} transaction verb`);
  }
  const target = op[kind];
  if (!isObject(target)) throw new ValidationError(`${at}.${kind}`, 'must be an object');
  if (kind === 'Node') requireString(target['Node'], `${at}.Node.Node`);
  if (kind === 'Service') {
    requireString(op['Node'], `${at}.Node`);
    requireString(target['ID'], `${at}.Service.ID`);
  }
  if (kind === 'Check') {
    requireString(target['Node'], `${at}.Check.Node`);
    requireString(target['CheckID'], `${at}.Check.CheckID`);
  }
  if ((verb === 'cas' || verb === 'delete-cas') && target['ModifyIndex'] === undefined) {
    throw new ValidationError(`${at}.${kind}.ModifyIndex`, `is required for '${verb}'`);
  }
  return verb === 'get';
}

/**
 * Validates a transaction before it is sent and returns its wire body and whether it only
 * reads. Exported for tests and for callers that build operations by hand.
 *
 * @throws ValidationError for an empty list, more than {@link MAX_TXN_OPERATIONS}
 *   operations, an operation that is not exactly one of KV/Node/Service/Check, an unknown
 *   verb, an empty key or one starting with `/`, a value over 512 KiB, a missing `Index`
 *   (`cas`, `check-index`, `delete-cas`) or a missing `Session` (`lock`, `unlock`,
 *   `check-session`)
 */
export function prepareTxn(operations: readonly TxnOperation[]): { body: unknown[]; readOnly: boolean } {
  if (!Array.isArray(operations)) throw new ValidationError('operations', 'must be an array');
  if (operations.length === 0)
    throw new ValidationError('operations', 'a transaction needs at least one operation');
  if (operations.length > MAX_TXN_OPERATIONS) {
    throw new ValidationError(
      'operations',
      `${operations.length} operations exceed Consul's limit of ${MAX_TXN_OPERATIONS} per transaction`,
    );
  }
  let readOnly = true;
  const body = operations.map((operation: unknown, i) => {
    const at = `operations[${i}]`;
    if (!isObject(operation)) throw new ValidationError(at, 'must be an object');
    const kinds = (['KV', 'Node', 'Service', 'Check'] as const).filter(
      (kind) => operation[kind] !== undefined,
    );
    const kind = kinds[0];
    if (kinds.length !== 1 || kind === undefined) {
      throw new ValidationError(at, 'must hold exactly one of KV, Node, Service or Check');
    }
    const inner = operation[kind];
    if (!isObject(inner)) throw new ValidationError(`${at}.${kind}`, 'must be an object');
    if (kind === 'KV') {
      const { wire, reads } = normalizeKV(inner, `${at}.KV`);
      readOnly &&= reads;
      return { KV: wire };
    }
    readOnly &&= checkCatalog(kind, inner, `${at}.${kind}`);
    return { [kind]: inner };
  });
  return { body, readOnly };
}

// ---------------------------------------------------------------------------------------------
// Errors of a rolled-back transaction
// ---------------------------------------------------------------------------------------------

// Should a body arrive cut short (a proxy, a dropped connection), the complete
// `{OpIndex, What}` entries are still recovered from it.
const ERROR_ENTRY = /\{\s*"OpIndex"\s*:\s*(\d+)\s*,\s*"What"\s*:\s*("(?:[^"\\]|\\.)*")\s*\}/g;

/** Reads the per-operation errors from the body of a 409 answer. */
export function parseTxnErrors(body: string): TxnOpError[] {
  try {
    const parsed = parseConsulJson(body) as Partial<WireTxnResponse> | undefined;
    if (parsed && Array.isArray(parsed.Errors)) {
      return parsed.Errors.map((error) => ({ opIndex: Number(error.OpIndex), what: String(error.What) }));
    }
  } catch {
    // A cut body is not JSON; fall through to recover the complete entries.
  }
  const errors: TxnOpError[] = [];
  for (const match of body.matchAll(ERROR_ENTRY)) {
    errors.push({ opIndex: Number(match[1]), what: JSON.parse(match[2] ?? '""') as string });
  }
  return errors;
}

function decodeResult(result: Record<string, unknown>): TxnResult {
  const kv = result['KV'];
  if (isObject(kv)) {
    const value = kv['Value'];
    return {
      KV: {
        ...kv,
        Value: typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.alloc(0),
      } as KVPair,
    };
  }
  return result as TxnResult;
}

// ---------------------------------------------------------------------------------------------
// The endpoint group
// ---------------------------------------------------------------------------------------------

/** Every key of {@link TxnOptions}, for the refusal of a misspelt one. */
const TXN_OPTION_KEYS = optionKeys<CallOptions & TxnOptions>()([...CALL_OPTION_KEYS, 'consistency']);

/** The `txn` endpoint group. */
export class Txn {
  /** Builders of KV operations; the same object as {@link txnKV}. */
  readonly kv = txnKV;
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /**
   * Applies the operations atomically. Resolves with the results when every operation
   * succeeded. When one fails (a `cas` or `check-*` condition, a missing key for `get`, a
   * lock held by another session...), Consul rolls the whole transaction back and this
   * rejects with {@link TxnError}, whose `errors` name the failing operations by index.
   *
   * A read-only transaction is retried on transient failures and honours `consistency`; a
   * transaction that writes is never retried (a lost answer cannot tell whether it applied).
   *
   * @throws ValidationError before sending, see {@link prepareTxn}
   * @throws TxnError when Consul rolled the transaction back (HTTP 409)
   * @throws PermissionDeniedError when the token may not perform the operations (Consul answers
   *   that with a 409 whose every operation says "Permission denied")
   */
  async execute(operations: readonly TxnOperation[], options: TxnOptions = {}): Promise<TxnResponse> {
    const { body, readOnly } = prepareTxn(operations);
    const { consistency, ...call } = options;
    const spec: RequestSpec = {
      method: 'PUT',
      path: '/v1/txn',
      body: { json: body },
      ...(readOnly ? { read: { ...call, ...(consistency !== undefined && { consistency }) } } : { call }),
      optionKeys: TXN_OPTION_KEYS,
      idempotent: readOnly,
      response: 'json',
    };
    try {
      const response = await this.#transport.request<WireTxnResponse>(spec);
      return { results: (response.body.Results ?? []).map(decodeResult), meta: response.meta };
    } catch (error) {
      if (error instanceof ConsulHttpError && error.status === 409) {
        const errors = parseTxnErrors(error.body);
        // Consul reports an ACL refusal as a rollback whose every operation says
        // "Permission denied"; that is a permission problem, not a failed condition.
        if (errors.length > 0 && errors.every((e) => /^Permission denied/i.test(e.what))) {
          throw new PermissionDeniedError(
            { status: error.status, method: error.method, path: error.path, body: error.body },
            { cause: error },
          );
        }
        throw new TxnError(errors, { cause: error });
      }
      throw error;
    }
  }
}
