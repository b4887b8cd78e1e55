/**
 * Config entries: `/v1/config` (Consul 1.5+; the seven kinds below as of 1.8).
 *
 * @packageDocumentation
 */
import { ValidationError } from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import { optionKeys } from '../../options-check.js';
import { CALL_OPTION_KEYS, type CallOptions, type ReadOptions } from '../../transport/types.js';
import {
  CONFIG_ENTRY_KINDS,
  type ConfigEntry,
  type ConfigEntryKind,
  type StoredConfigEntry,
} from './config-entry-types.js';
import { read, type ConsulRead } from '../read.js';
import { localOnly, segment, uint64 } from '../validate.js';

/** Options of {@link ConfigEntries.set}. */
export interface ConfigEntrySetOptions extends CallOptions {
  /**
   * Check-and-set: write only if the stored entry's `ModifyIndex` equals this (0 = only if
   * the entry does not exist yet).
   */
  cas?: bigint | number | string;
}

/** Every key of {@link ConfigEntrySetOptions}, for the refusal of a misspelt one (`cass`). */
const CONFIG_ENTRY_SET_OPTION_KEYS = optionKeys<ConfigEntrySetOptions>()([...CALL_OPTION_KEYS, 'cas']);

const KINDS: ReadonlySet<string> = new Set(CONFIG_ENTRY_KINDS);

function validateKind(kind: unknown): ConfigEntryKind {
  if (typeof kind !== 'string' || !KINDS.has(kind)) {
    throw new ValidationError('Kind', `'${String(kind)}' is not one of ${CONFIG_ENTRY_KINDS.join(', ')}`);
  }
  return kind as ConfigEntryKind;
}

function validateEntry(entry: ConfigEntry): ConfigEntry {
  if (entry === null || typeof entry !== 'object') throw new ValidationError('entry', 'must be an object');
  const kind = validateKind(entry.Kind);
  segment('Name', entry.Name);
  // Consul stores exactly one proxy-defaults entry and refuses any other name for it.
  if (kind === 'proxy-defaults' && entry.Name !== 'global') {
    throw new ValidationError('Name', `proxy-defaults must be named 'global', not '${entry.Name}'`);
  }
  if (entry.Kind === 'service-splitter' && entry.Splits) {
    const total = entry.Splits.reduce((sum, split) => sum + split.Weight, 0);
    // Consul's own tolerance: weights are kept to two decimals and must sum to 100.
    if (Math.abs(total - 100) > 0.01) {
      throw new ValidationError('Splits', `weights add up to ${total}, not 100`);
    }
  }
  return entry;
}

/** The `config` endpoint group: `consul.configEntry`. */
export class ConfigEntries {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /**
   * Reads one entry; `undefined` when there is none. Blocking on the index is supported.
   *
   * @example
   * ```ts
   * const defaults = await consul.configEntry.get('service-defaults', 'web');
   * console.log(defaults?.Protocol);
   * ```
   */
  get<K extends ConfigEntryKind>(
    kind: K,
    name: string,
    options: ReadOptions = {},
  ): ConsulRead<StoredConfigEntry<K> | undefined> {
    const path = `/v1/config/${validateKind(kind)}/${segment('name', name)}`;
    return read<StoredConfigEntry<K> | undefined, StoredConfigEntry<K> | undefined>(
      this.#transport,
      { method: 'GET', path, read: options, allowNotFound: true, response: 'json' },
      (body) => body,
    );
  }

  /** Every entry of one kind; `[]` when there are none. */
  list<K extends ConfigEntryKind>(
    kind: K,
    options: ReadOptions = {},
  ): ConsulRead<Array<StoredConfigEntry<K>>> {
    return read<Array<StoredConfigEntry<K>> | null, Array<StoredConfigEntry<K>>>(
      this.#transport,
      { method: 'GET', path: `/v1/config/${validateKind(kind)}`, read: options, response: 'json' },
      (body) => body ?? [],
    );
  }

  /**
   * Creates or replaces an entry. Resolves `true` when written, `false` when a `cas`
   * condition did not hold (never retried). Consul checks the body further (for example a
   * service-router needs an HTTP protocol) and answers a `ConsulHttpError` when it refuses.
   *
   * @throws ValidationError for an unknown kind, a missing name, proxy-defaults not named
   *   `global`, or splitter weights that do not add up to 100
   */
  async set(entry: ConfigEntry, options: ConfigEntrySetOptions = {}): Promise<boolean> {
    const { cas, ...call } = options;
    localOnly(call, 'config entry writes');
    const body = validateEntry(entry);
    const response = await this.#transport.request<boolean>({
      method: 'PUT',
      path: '/v1/config',
      query: { cas: cas === undefined ? undefined : uint64('cas', cas) },
      body: { json: body },
      call,
      optionKeys: CONFIG_ENTRY_SET_OPTION_KEYS,
      idempotent: cas === undefined,
      response: 'json',
    });
    return response.body === true;
  }

  /** Deletes an entry; deleting one that does not exist is not an error. */
  async delete(kind: ConfigEntryKind, name: string, options: CallOptions = {}): Promise<void> {
    const path = `/v1/config/${validateKind(kind)}/${segment('name', name)}`;
    localOnly(options, 'config entry writes');
    await this.#transport.request({
      method: 'DELETE',
      path,
      call: options,
      idempotent: true,
      response: 'none',
    });
  }
}
