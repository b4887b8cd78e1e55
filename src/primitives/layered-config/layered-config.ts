/**
 * `consul.config()`: application config assembled from Spring-style layers in Consul KV,
 * validated by any Standard Schema validator, kept live through one shared watch.
 *
 * @packageDocumentation
 */
import { EventEmitter } from 'eventemitter3';
import type { Logger } from 'pino';
import type { KVPair } from '../../api/kv.js';
import type { ClientResource } from '../../client.js';
import { ValidationError } from '../../errors.js';
import { asError, safeEmit } from '../../safe-emit.js';
import type { WatchOptions } from '../../watch/types.js';
import { checkWatchOptionKeys, WATCH_OPTION_KEYS, type Watches } from '../../watch/watches.js';
import { optionKeys } from '../../options-check.js';
import { ConfigSchemaError } from './errors.js';
import { CONFIG_FORMATS, layerSources, type ConfigFormat, type ConfigSource } from './formats.js';
import { configLayers, normalizeRoot, type ConfigLayer } from './layers.js';
import { diffConfig, hasPath, mergeLayers, type ConfigDiffEntry, type ConfigTree } from './merge.js';
import { issuePath, type StandardSchemaV1 } from './standard-schema.js';
import { WatchedLifecycle } from '../shared/watched-lifecycle.js';

/** @internal What a layered config needs from the client. */
export interface LayeredConfigHost {
  readonly watch: Watches;
  readonly logger: Logger;
  track(resource: ClientResource): () => void;
}

/**
 * Options of `consul.config()`. Besides these, the options of the underlying watch
 * (`datacenter`, `token`, `consistency`, `wait`, `timeout`, `minInterval`, `backoff`,
 * `signal`) apply.
 */
export interface LayeredConfigOptions<
  S extends StandardSchemaV1 | undefined = undefined,
> extends WatchOptions {
  /** The application's name: its layers are `<root>/<name>` and `<root>/<name>,<profile>`. */
  name: string;
  /** Active profiles, lowest precedence first (a later one wins). Default none. */
  profiles?: readonly string[];
  /** The KV folder that holds every layer. Default `'config'`. */
  root?: string;
  /** How layers are stored; see {@link ConfigFormat}. Default `'yaml'`. */
  format?: ConfigFormat;
  /** For `yaml`, `json` and `properties`: the key under each layer folder that holds the document. Default `'data'`. */
  dataKey?: string;
  /** Name of the layers shared by every application. Default `'application'`. */
  defaultName?: string;
  /** Between a name and a profile in a layer's folder name. Default `','`. */
  profileSeparator?: string;
  /**
   * A Standard Schema validator (zod, valibot, arktype…) for the merged config. Its output
   * (with defaults and coercions applied) is the config's value. A merged config that fails
   * it is not applied: the last good config stays and `error` gets a {@link ConfigSchemaError}.
   */
  schema?: S;
}

/** Every key of {@link LayeredConfigOptions}. */
export const LAYERED_CONFIG_OPTION_KEYS = optionKeys<LayeredConfigOptions>()([
  ...WATCH_OPTION_KEYS,
  'name',
  'profiles',
  'root',
  'format',
  'dataKey',
  'defaultName',
  'profileSeparator',
  'schema',
]);

/** The value type of a layered config: the schema's output, or a plain tree without a schema. */
export type LayeredConfigValue<S extends StandardSchemaV1 | undefined> = S extends StandardSchemaV1
  ? StandardSchemaV1.InferOutput<S>
  : ConfigTree;

/** Payload of a layered config's `change` event. */
export interface LayeredConfigChange<T> {
  /** The config now. */
  readonly value: T;
  /** The config before. */
  readonly previous: T;
  /** Every leaf that was added, changed or removed (objects compared key by key). */
  readonly diff: readonly ConfigDiffEntry[];
}

/** Events of a {@link LayeredConfig}. */
export interface LayeredConfigEvents<T> {
  /** A write changed the merged, validated config. Not emitted for the first load. */
  change: (change: LayeredConfigChange<T>) => void;
  /**
   * A layer could not be parsed (`ConfigDecodeError`, naming the key) or the merged config
   * failed the schema ({@link ConfigSchemaError}, naming the key and path); the last good
   * config stays. Also the watch's failures (transient ones are retried; a fatal one stops
   * the config). Every error is logged too.
   */
  error: (error: Error) => void;
}

const DEFAULTS = Object.freeze({
  root: 'config',
  format: 'yaml' as ConfigFormat,
  dataKey: 'data',
  defaultName: 'application',
  profileSeparator: ',',
});

/**
 * Application config merged from layers in Consul KV, the way Spring Cloud Consul lays them
 * out. With `name: 'billing', profiles: ['prod']` and the default root, the layers are, lowest
 * precedence first: `config/application`, `config/application,prod`, `config/billing`,
 * `config/billing,prod`. Objects merge deeply; anything else (arrays too) is replaced by the
 * higher layer. A missing layer is simply empty.
 *
 * One watch on the root folder feeds every layer, so a change to any of them costs one
 * blocking read. Created by `consul.config()`.
 *
 * @example
 * ```ts
 * const config = consul.config({ name: 'billing', profiles: ['prod'], schema: BillingConfig });
 * const settings = await config.ready();
 * config.on('change', ({ value, diff }) => reconfigure(value, diff));
 * config.on('error', (error) => log.warn(error.message)); // the last good config stays
 * ```
 */
export class LayeredConfig<T = ConfigTree>
  extends EventEmitter<LayeredConfigEvents<T>>
  implements ClientResource, AsyncDisposable, AsyncIterable<T>
{
  /** The layers, lowest precedence first. */
  readonly layers: readonly ConfigLayer[];
  /** The KV folder watched, with a trailing slash. */
  readonly rootFolder: string;

  readonly #format: ConfigFormat;
  readonly #dataKey: string;
  readonly #schema: StandardSchemaV1 | undefined;
  readonly #logger: Logger;
  readonly #lifecycle: WatchedLifecycle<KVPair[], T>;
  #value: { current: T } | undefined;
  #loadError: Error | undefined;

  /**
   * @internal Use `consul.config(options)`.
   * @throws ValidationError for bad options, before any request
   */
  constructor(host: LayeredConfigHost, options: LayeredConfigOptions<StandardSchemaV1 | undefined>) {
    checkWatchOptionKeys(options, LAYERED_CONFIG_OPTION_KEYS, 'config()');
    if (options === null || typeof options !== 'object')
      throw new ValidationError('options', 'must be an object');
    const {
      name,
      profiles = [],
      root = DEFAULTS.root,
      format = DEFAULTS.format,
      dataKey = DEFAULTS.dataKey,
      defaultName = DEFAULTS.defaultName,
      profileSeparator = DEFAULTS.profileSeparator,
      schema,
      ...watchOptions
    } = options;
    if (!CONFIG_FORMATS.includes(format)) {
      throw new ValidationError('format', `'${String(format)}' is not one of ${CONFIG_FORMATS.join(', ')}`);
    }
    if (!Array.isArray(profiles)) throw new ValidationError('profiles', 'must be an array of names');
    if (typeof dataKey !== 'string' || dataKey === '' || dataKey.includes('/')) {
      throw new ValidationError('dataKey', `'${String(dataKey)}' must be a non-empty key without '/'`);
    }
    if (
      schema !== undefined &&
      (schema === null || typeof schema !== 'object' || typeof schema['~standard']?.validate !== 'function')
    ) {
      throw new ValidationError('schema', 'must implement Standard Schema (a `~standard.validate` function)');
    }
    if (typeof profileSeparator !== 'string')
      throw new ValidationError('profileSeparator', 'must be a string');
    const normalizedRoot = normalizeRoot(root);
    const layers = configLayers(normalizedRoot, name, profiles, { defaultName, separator: profileSeparator });
    super();
    this.layers = Object.freeze(layers);
    this.rootFolder = `${normalizedRoot}/`;
    this.#format = format;
    this.#dataKey = dataKey;
    this.#schema = schema;
    this.#logger = host.logger.child({ primitive: 'config', root: normalizedRoot, name });
    this.#lifecycle = new WatchedLifecycle({
      what: 'config',
      // The watch takes the `signal` option: it ends the watch, which ends the config.
      watch: host.watch.keyPrefix(this.rootFolder, watchOptions),
      logger: this.#logger,
      resource: this,
      track: (resource) => host.track(resource),
      apply: (pairs) => this.#apply(pairs),
      reportError: (error) => this.#emit('error', error),
      untrackWhenWatchEnds: true,
      discardUnreadOnClose: false,
    });
  }

  /** The current config, or `undefined` before the first good one. */
  get value(): T | undefined {
    return this.#value?.current;
  }

  /** Whether the config has stopped: closed, or its watch failed fatally. */
  get closed(): boolean {
    return this.#lifecycle.closed;
  }

  /**
   * The value at a dotted path (`'db.pool'`) or a list of keys, or `undefined`.
   *
   * @example
   * ```ts
   * const pool = config.get('db.pool');
   * ```
   */
  get(path: string | readonly string[]): unknown {
    const keys = typeof path === 'string' ? path.split('.') : path;
    let node: unknown = this.#value?.current;
    for (const key of keys) {
      if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
      node = (node as Record<string, unknown>)[key];
    }
    return node;
  }

  /**
   * Resolves with the config once the layers were read, merged and validated (at once if
   * they have been).
   *
   * @throws the load error (`ConfigDecodeError` or {@link ConfigSchemaError}) while there is
   *   no good config yet; the watch's fatal error; `ClosedError` if closed first
   */
  ready(): Promise<T> {
    return this.#lifecycle.ready(this.#value?.current, this.#loadError);
  }

  /**
   * Yields the current config (once there is one), then each changed one, with latest-value
   * semantics. Leaving the loop early closes the config.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T, undefined> {
    return this.#lifecycle.iterate(this.#value?.current);
  }

  /** Stops watching. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  /** Same as {@link LayeredConfig.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #apply(pairs: KVPair[]): Promise<void> {
    let next: T;
    try {
      next = await this.#load(pairs);
    } catch (error) {
      const failure = asError(error);
      if (this.#lifecycle.closed) return;
      this.#logger.warn({ err: failure }, 'consulkit: config not applied; the last good config stays');
      if (this.#value === undefined) {
        this.#loadError = failure;
        this.#lifecycle.rejectReady(failure);
      }
      this.#emit('error', failure);
      return;
    }
    if (this.#lifecycle.closed) return;
    const previous = this.#value;
    if (previous !== undefined) {
      const diff = diffConfig(previous.current, next);
      if (diff.length === 0) return;
      this.#value = { current: next };
      this.#lifecycle.publish(next);
      this.#emit('change', { value: next, previous: previous.current, diff });
      return;
    }
    this.#value = { current: next };
    this.#loadError = undefined;
    this.#lifecycle.publish(next);
    this.#lifecycle.resolveReady(next);
  }

  /** Parses every layer, merges them and validates the result; throws what went wrong. */
  async #load(pairs: readonly KVPair[]): Promise<T> {
    const sources: ConfigSource[] = this.layers.flatMap((layer) =>
      layerSources(pairs, layer.folder, this.rootFolder, this.#format, this.#dataKey),
    );
    const merged = mergeLayers(sources.map((source) => source.tree));
    if (this.#schema === undefined) return merged as T;
    const result = await this.#schema['~standard'].validate(merged);
    if (result.issues === undefined) return result.value as T;
    const first = result.issues[0];
    throw new ConfigSchemaError(
      result.issues,
      first === undefined ? undefined : sourceOf(sources, issuePath(first)),
    );
  }

  #emit<E extends keyof LayeredConfigEvents<T>>(
    event: E,
    ...args: EventEmitter.EventArgs<LayeredConfigEvents<T>, E>
  ): void {
    safeEmit<LayeredConfigEvents<T>, E>(this, this.#logger, 'config', event, ...args);
  }
}

/**
 * The key that supplied the value at `path`: the highest-precedence source defining it, or,
 * for a value no source defines (a missing required key), the one defining its nearest parent.
 */
function sourceOf(sources: readonly ConfigSource[], path: readonly string[]): string | undefined {
  for (let length = path.length; length > 0; length--) {
    const prefix = path.slice(0, length);
    for (let i = sources.length - 1; i >= 0; i--) {
      const source = sources[i];
      if (source !== undefined && hasPath(source.tree, prefix)) return source.key;
    }
  }
  return undefined;
}
