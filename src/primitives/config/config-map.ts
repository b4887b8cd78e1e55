/**
 * A watched config map: every key under a KV prefix, decoded, kept current through the
 * shared watcher (`consul.watch.keyPrefix`), with change events and snapshot iteration.
 *
 * @packageDocumentation
 */
import { EventEmitter } from 'eventemitter3';
import type { Logger } from 'pino';
import type { ClientResource } from '../../client.js';
import type { KVPair } from '../../api/kv.js';
import { ValidationError } from '../../errors.js';
import { safeEmit } from '../../safe-emit.js';
import type { WatchOptions } from '../../watch/types.js';
import { checkWatchOptionKeys, WATCH_OPTION_KEYS, type Watches } from '../../watch/watches.js';
import { optionKeys } from '../../options-check.js';
import {
  normalizeConfigPrefix,
  reconcileConfig,
  resolveDecoder,
  type ConfigDecode,
  type ConfigDecoder,
  type ConfigKeyState,
} from './config-decoders.js';
import { checkSignal, WatchedLifecycle } from '../shared/watched-lifecycle.js';

/** @internal What a config map needs from the client (the `Consul` class provides it). */
export interface ConfigMapHost {
  readonly watch: Watches;
  readonly logger: Logger;
  track(resource: ClientResource): () => void;
}

/**
 * Options of {@link Consul.configMap}. Besides `decode`, the options of the underlying watch
 * (`datacenter`, `token`, `consistency`, `wait`, `timeout`, `minInterval`, `backoff`) apply.
 */
export interface ConfigMapOptions<D extends ConfigDecode = ConfigDecode> extends WatchOptions {
  /** How values are decoded; see {@link ConfigDecode}. Default `'string'`. */
  decode?: D;
  /** Closes the config map when aborted. */
  signal?: AbortSignal;
}

/** Every key of {@link ConfigMapOptions}. */
export const CONFIG_MAP_OPTION_KEYS = optionKeys<ConfigMapOptions>()([...WATCH_OPTION_KEYS, 'decode']);

/** A read-only view of the config at one moment: relative key → decoded value, in key order. */
export type ConfigSnapshot<T> = ReadonlyMap<string, T>;

/** Payload of a config map's `change` event. Keys are relative to the prefix. */
export interface ConfigChange<T> {
  /** Keys that now have a value and had none. */
  readonly added: readonly string[];
  /** Keys whose value changed. */
  readonly changed: readonly string[];
  /** Keys that had a value and are gone. */
  readonly removed: readonly string[];
  /** The whole config after the change. */
  readonly snapshot: ConfigSnapshot<T>;
}

/** Events of a {@link ConfigMap}. */
export interface ConfigMapEvents<T> {
  /**
   * Keys were added, changed or removed. Not emitted for the initial load (that is what
   * `ready()` gives), nor for writes that leave every decoded value as it was: values are
   * compared once decoded (deep equality), so `{"pool":5}` rewritten as `{ "pool": 5 }` is
   * not a change.
   */
  change: (change: ConfigChange<T>) => void;
  /**
   * A value failed to decode ({@link ConfigDecodeError}; the key keeps its last good value),
   * or the watch failed (failures the watch retries, a refused token (403) included, are
   * reported each time while the last values stay; a fatal one, such as a 400, stops the
   * config map). Every error is also logged on the client's logger.
   */
  error: (error: Error) => void;
}

/**
 * Every key under a KV prefix, decoded and kept current. Created by `consul.configMap()`.
 *
 * - Keys are relative to the prefix, which is treated as a folder: `app/config` and
 *   `app/config/` are the same, and `app/config/db/host` is the key `db/host`.
 * - Folder keys (ending in `/` with an empty value) are skipped.
 * - A value that cannot be decoded keeps the key's last good value (or leaves the key out
 *   if it never had one) and is reported on `error` as a {@link ConfigDecodeError}; a later
 *   valid value recovers it.
 * - Values are shared by every reader of the map: treat them as read-only.
 *
 * @example
 * ```ts
 * const cfg = consul.configMap('app/config', { decode: 'json' });
 * await cfg.ready();
 * const pool = createPool(cfg.get('db/pool'));
 * cfg.on('change', ({ changed }) => { if (changed.includes('db/pool')) pool.resize(cfg.get('db/pool')); });
 * ```
 */
export class ConfigMap<T = string>
  extends EventEmitter<ConfigMapEvents<T>>
  implements ClientResource, AsyncDisposable, AsyncIterable<ConfigSnapshot<T>>
{
  /** The Consul prefix watched (with its trailing slash, or `''` for the whole store). */
  readonly prefix: string;

  readonly #logger: Logger;
  readonly #decode: ConfigDecoder<T>;
  readonly #lifecycle: WatchedLifecycle<KVPair[], ConfigSnapshot<T>>;
  #states: ReadonlyMap<string, ConfigKeyState<T>> = new Map();
  #snapshot: ConfigSnapshot<T> | undefined;

  /**
   * @internal Use `consul.configMap(prefix, options)`.
   * @throws ValidationError for a bad prefix or options
   */
  constructor(host: ConfigMapHost, prefix: string, options: ConfigMapOptions = {}) {
    checkWatchOptionKeys(options, CONFIG_MAP_OPTION_KEYS, 'configMap()');
    if (options === null || typeof options !== 'object')
      throw new ValidationError('options', 'must be an object');
    const { decode, signal, ...watchOptions } = options;
    checkSignal(signal);
    const normalized = normalizeConfigPrefix(prefix);
    const decoder = resolveDecoder(decode);
    super();
    this.prefix = normalized;
    // The decode option fixes T (see DecodedValue); the resolved function is its decoder.
    this.#decode = decoder as ConfigDecoder<T>;
    this.#logger = host.logger.child({ primitive: 'configMap', prefix: normalized });
    this.#lifecycle = new WatchedLifecycle({
      what: 'config map',
      watch: host.watch.keyPrefix(normalized, watchOptions),
      logger: this.#logger,
      resource: this,
      track: (resource) => host.track(resource),
      signal,
      apply: (pairs) => this.#apply(pairs),
      reportError: (error) => this.#emit('error', error),
    });
  }

  /** Whether the map has stopped: closed, or its watch failed fatally. */
  get closed(): boolean {
    return this.#lifecycle.closed;
  }

  /** The current config, or `undefined` before the first answer. */
  get snapshot(): ConfigSnapshot<T> | undefined {
    return this.#snapshot;
  }

  /** Number of keys with a value. */
  get size(): number {
    return this.#snapshot?.size ?? 0;
  }

  /**
   * Resolves with the first snapshot, once the prefix was read (at once if it has been). Keys
   * whose value failed to decode are left out of it and reported on `error`.
   *
   * @throws the watch's fatal error (e.g. `PermissionDeniedError`), or `ClosedError` if the
   *   map was closed first
   */
  ready(): Promise<ConfigSnapshot<T>> {
    return this.#lifecycle.ready(this.#snapshot);
  }

  /** The value of a key (relative to the prefix), or `undefined`. */
  get(key: string): T | undefined {
    return this.#snapshot?.get(key);
  }

  /** Whether a key (relative to the prefix) has a value. */
  has(key: string): boolean {
    return this.#snapshot?.has(key) ?? false;
  }

  /** The keys with a value, relative to the prefix, in key order. */
  keys(): string[] {
    return [...(this.#snapshot?.keys() ?? [])];
  }

  /** `[key, value]` pairs, keys relative to the prefix, in key order. */
  entries(): [string, T][] {
    return [...(this.#snapshot?.entries() ?? [])];
  }

  /** The config as a plain object keyed by relative key (flat: `db/host` stays one key). */
  toObject(): Record<string, T> {
    return Object.fromEntries(this.#snapshot ?? []);
  }

  /**
   * Yields the current snapshot (once there is one), then one per change, with latest-value
   * semantics: a consumer slower than the changes skips to the newest snapshot. Leaving the
   * loop early (`break`, `return`, a throw) closes the config map, like a watch. The
   * iteration ends when the map is closed and throws the error of a fatal watch failure.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<ConfigSnapshot<T>, undefined> {
    return this.#lifecycle.iterate(this.#snapshot);
  }

  /** Stops watching; `ready()` waiters reject with `ClosedError`, iterators end. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  /** Same as {@link ConfigMap.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #apply(pairs: KVPair[]): void {
    const result = reconcileConfig(this.#states, pairs, this.prefix, this.#decode);
    this.#states = result.states;
    for (const error of result.errors) {
      this.#logger.warn({ err: error, key: error.key }, 'consulkit: a config value could not be decoded');
      this.#emit('error', error);
    }
    const first = this.#snapshot === undefined;
    if (!first && result.added.length + result.changed.length + result.removed.length === 0) return;
    const snapshot: ConfigSnapshot<T> = result.values;
    this.#snapshot = snapshot;
    this.#lifecycle.publish(snapshot);
    if (first) {
      this.#lifecycle.resolveReady(snapshot);
      return;
    }
    const change: ConfigChange<T> = {
      added: result.added,
      changed: result.changed,
      removed: result.removed,
      snapshot,
    };
    this.#emit('change', change);
  }

  #emit<E extends keyof ConfigMapEvents<T>>(
    event: E,
    ...args: EventEmitter.EventArgs<ConfigMapEvents<T>, E>
  ): void {
    safeEmit<ConfigMapEvents<T>, E>(this, this.#logger, 'config map', event, ...args);
  }
}
