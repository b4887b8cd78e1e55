/**
 * The KV store: `/v1/kv`.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../errors.js';
import type { Transport } from '../transport/transport.js';
import { optionKeys } from '../options-check.js';
import {
  CALL_OPTION_KEYS,
  NO_OPTIONS,
  READ_OPTION_KEYS,
  type CallOptions,
  type ReadOptions,
} from '../transport/types.js';
import { read, type ConsulRead } from './read.js';
import { encodePath, segment, uint64 } from './validate.js';

/** Consul refuses KV values above 512 KiB (`kv_max_value_size` default). */
export const MAX_KV_VALUE_BYTES = 512 * 1024;

/** Most key paths a {@link KV} keeps built. */
const KEY_PATH_CACHE_SIZE = 1024;

/** A KV entry as Consul stores it; `Value` is decoded from base64. */
export interface KVPair {
  /** Full key. */
  Key: string;
  /** Raft index at which the key was created. */
  CreateIndex: bigint;
  /** Raft index of the last change; the `cas` value for check-and-set. */
  ModifyIndex: bigint;
  /** Times this key was acquired by a session (a lock generation). */
  LockIndex: bigint;
  /** Opaque uint64 the writer chose (locks use 0x2ddccbc058a50c18). */
  Flags: bigint;
  /** The value; empty when the key holds none. `String(entry.Value)` gives it as UTF-8 text. */
  Value: Buffer;
  /** ID of the session holding the key's lock, if any. */
  Session?: string;
}

interface WireKVPair extends Omit<KVPair, 'Value'> {
  Value: string | null;
}

/** A value to store: text (UTF-8) or bytes. */
export type KVValue = string | Buffer | Uint8Array;

/** Options of {@link KV.put}. */
export interface KVPutOptions extends CallOptions {
  /** Check-and-set: write only if the key's `ModifyIndex` equals this (0 = only if absent). */
  cas?: bigint | number | string;
  /** Opaque uint64 stored with the key. */
  flags?: bigint | number | string;
  /** Session ID: take the key's lock with this session (fails if another session holds it). */
  acquire?: string;
  /** Session ID: release the key's lock held by this session. */
  release?: string;
}

/** Options of {@link KV.delete}. */
export interface KVDeleteOptions extends CallOptions {
  /** Delete every key under this prefix. */
  recurse?: boolean;
  /** Check-and-set: delete only if the key's `ModifyIndex` equals this. */
  cas?: bigint | number | string;
}

/** Options of {@link KV.keys}. */
export interface KVKeysOptions extends ReadOptions {
  /** List keys only up to this separator (e.g. `/` for one "folder" level). */
  separator?: string;
}

/** Every key of {@link KVPutOptions}, for the refusal of a misspelt one. */
const KV_PUT_OPTION_KEYS = optionKeys<KVPutOptions>()([
  ...CALL_OPTION_KEYS,
  'cas',
  'flags',
  'acquire',
  'release',
]);

/** Every key of {@link KVDeleteOptions}, for the refusal of a misspelt one. */
const KV_DELETE_OPTION_KEYS = optionKeys<KVDeleteOptions>()([...CALL_OPTION_KEYS, 'recurse', 'cas']);

/** Every key of {@link KVKeysOptions}, for the refusal of a misspelt one. */
const KV_KEYS_OPTION_KEYS = optionKeys<KVKeysOptions>()([...READ_OPTION_KEYS, 'separator']);

/**
 * Rejects a key path Consul's HTTP router would not take as it is. Go's `ServeMux` cleans
 * request paths and answers `301` to any path with an empty, `.` or `..` segment, so such a
 * key can never be read or written through `/v1/kv/`. A trailing `/` (a "folder" key, as the
 * UI writes them) is kept by the router and allowed.
 */
function checkSegments(value: string, field: string): void {
  // A '.' or '..' segment starts with a '.' at the start or after a '/', and an empty one
  // (other than the last) needs '//' or a leading '/': without those, every segment is fine,
  // and the common key costs three searches instead of a split.
  const first = value.charCodeAt(0);
  if (first !== 46 /* . */ && first !== 47 /* / */ && !value.includes('/.') && !value.includes('//')) return;
  const parts = value.split('/');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const last = i === parts.length - 1;
    if (part === '.' || part === '..' || (part === '' && !last)) {
      throw new ValidationError(
        field,
        `'${value}' has an empty, '.' or '..' path segment, which Consul's HTTP router rewrites (it answers 301)`,
      );
    }
  }
}

/** Rejects keys Consul would mangle or refuse. */
export function validateKey(key: unknown, field = 'key'): string {
  if (typeof key !== 'string' || key.length === 0)
    throw new ValidationError(field, 'must be a non-empty string');
  if (key.startsWith('/')) throw new ValidationError(field, `'${key}' must not start with '/'`);
  checkSegments(key, field);
  return key;
}

/** Rejects prefixes Consul would mangle or refuse; `''` (the whole store) is allowed. */
export function validatePrefix(prefix: unknown, field = 'prefix'): string {
  if (typeof prefix !== 'string') throw new ValidationError(field, 'must be a string');
  if (prefix.startsWith('/')) throw new ValidationError(field, `'${prefix}' must not start with '/'`);
  if (prefix !== '') checkSegments(prefix, field);
  return prefix;
}

function toBytes(value: KVValue): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return value;
  throw new ValidationError('value', 'must be a string, Buffer or Uint8Array');
}

function firstPair(body: WireKVPair[] | undefined): KVPair | undefined {
  return body?.[0] ? decodePair(body[0]) : undefined;
}

function decodePair(wire: WireKVPair): KVPair {
  // The parsed entry belongs to this call alone: decode its value in place instead of copying it.
  const value = wire.Value;
  const pair = wire as unknown as KVPair;
  pair.Value = value === null ? Buffer.alloc(0) : Buffer.from(value, 'base64');
  return pair;
}

/** The `kv` endpoint group. */
export class KV {
  readonly #transport: Transport;
  /** Request paths of keys already validated and encoded: a process reads the same keys again and again. */
  readonly #keyPaths = new Map<string, string>();

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** `/v1/kv/<key>`, encoded, for a valid key; validated and built once per key. */
  #keyPath(key: string): string {
    let path = this.#keyPaths.get(key);
    if (path === undefined) {
      path = `/v1/kv/${encodePath(validateKey(key))}`;
      // Bounded, so a process that touches ever new keys keeps no more than this many.
      if (this.#keyPaths.size >= KEY_PATH_CACHE_SIZE) this.#keyPaths.clear();
      this.#keyPaths.set(key, path);
    }
    return path;
  }

  /**
   * Reads one key. Resolves to `undefined` when the key does not exist; with `index` set it
   * blocks until the key changes (including being created or deleted).
   */
  get(key: string, options: ReadOptions = NO_OPTIONS): ConsulRead<KVPair | undefined> {
    const path = this.#keyPath(key);
    return read<WireKVPair[] | undefined, KVPair | undefined>(
      this.#transport,
      { method: 'GET', path, read: options, allowNotFound: true, response: 'json' },
      firstPair,
    );
  }

  /** Reads one key's value as raw bytes (`?raw`); `undefined` when the key does not exist. */
  getRaw(key: string, options: ReadOptions = NO_OPTIONS): ConsulRead<Buffer | undefined> {
    const path = this.#keyPath(key);
    return read<Buffer | undefined, Buffer | undefined>(
      this.#transport,
      { method: 'GET', path, query: { raw: true }, read: options, allowNotFound: true, response: 'buffer' },
      (body) => body,
    );
  }

  /** Reads every entry under a prefix (`?recurse`), in key order; `[]` when there are none. */
  list(prefix: string, options: ReadOptions = NO_OPTIONS): ConsulRead<KVPair[]> {
    const path = `/v1/kv/${encodePath(validatePrefix(prefix))}`;
    return read<WireKVPair[] | undefined, KVPair[]>(
      this.#transport,
      { method: 'GET', path, query: { recurse: true }, read: options, allowNotFound: true, response: 'json' },
      (body) => (body ?? []).map(decodePair),
    );
  }

  /** Lists key names under a prefix (`?keys`), optionally up to a separator; `[]` when there are none. */
  keys(prefix: string, options: KVKeysOptions = {}): ConsulRead<string[]> {
    const path = `/v1/kv/${encodePath(validatePrefix(prefix))}`;
    const { separator, ...rest } = options;
    return read<string[] | undefined, string[]>(
      this.#transport,
      {
        method: 'GET',
        path,
        query: { keys: true, separator },
        read: rest,
        optionKeys: KV_KEYS_OPTION_KEYS,
        allowNotFound: true,
        response: 'json',
      },
      (body) => body ?? [],
    );
  }

  /**
   * Writes a key. Resolves `true` when written, `false` when a `cas`, `acquire` or `release`
   * condition did not hold (that is an answer, not an error, and is never retried).
   *
   * @throws ValidationError for an empty key, a key starting with `/`, or a value over 512 KiB
   */
  async put(key: string, value: KVValue, options: KVPutOptions = {}): Promise<boolean> {
    const path = this.#keyPath(key);
    const bytes = toBytes(value);
    if (bytes.byteLength > MAX_KV_VALUE_BYTES) {
      throw new ValidationError(
        'value',
        `${bytes.byteLength} bytes exceeds Consul's ${MAX_KV_VALUE_BYTES}-byte limit`,
      );
    }
    const { cas, flags, acquire, release, ...call } = options;
    if (acquire !== undefined && release !== undefined) {
      throw new ValidationError('options', 'acquire and release cannot be combined');
    }
    const query = {
      cas: cas === undefined ? undefined : uint64('cas', cas),
      flags: flags === undefined ? undefined : uint64('flags', flags),
      acquire: acquire === undefined ? undefined : decodeURIComponent(segment('acquire', acquire)),
      release: release === undefined ? undefined : decodeURIComponent(segment('release', release)),
    };
    const conditional = cas !== undefined || acquire !== undefined || release !== undefined;
    const response = await this.#transport.request<boolean>({
      method: 'PUT',
      path,
      query,
      body: { raw: bytes },
      call,
      optionKeys: KV_PUT_OPTION_KEYS,
      // Writing the same value twice is harmless; a conditional write is not (a retry after a
      // lost answer would report false for a write that happened).
      idempotent: !conditional,
      response: 'json',
    });
    return response.body === true;
  }

  /**
   * Deletes a key, or a whole prefix with `recurse`. Resolves `false` only when a `cas`
   * condition did not hold; deleting a missing key is `true`.
   */
  async delete(key: string, options: KVDeleteOptions = {}): Promise<boolean> {
    const { recurse, cas, ...call } = options;
    const path = `/v1/kv/${encodePath(recurse ? validatePrefix(key) : validateKey(key))}`;
    if (recurse && cas !== undefined)
      throw new ValidationError('options', 'cas cannot be combined with recurse');
    const response = await this.#transport.request<boolean>({
      method: 'DELETE',
      path,
      query: { recurse: recurse === true, cas: cas === undefined ? undefined : uint64('cas', cas) },
      call,
      optionKeys: KV_DELETE_OPTION_KEYS,
      idempotent: cas === undefined,
      response: 'json',
    });
    return response.body === true;
  }
}
