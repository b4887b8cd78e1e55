/**
 * `consul.watch`: live views of Consul queries, each backed by the shared blocking-loop
 * engine, so identical queries cost one loop and one connection however many watch them.
 *
 * @packageDocumentation
 */
import type { Agent } from '../api/agent/agent.js';
import type { AgentService } from '../api/agent/agent-types.js';
import type { CARootList, LeafCert } from '../api/connect/connect-types.js';
import { ConsulRead } from '../api/read.js';
import type { Catalog } from '../api/catalog/catalog.js';
import { tagQuery } from '../api/catalog/catalog-query.js';
import type { Node } from '../api/catalog/catalog-types.js';
import type { Events, UserEvent } from '../api/event.js';
import type { Health, ServiceEntry } from '../api/health/health.js';
import { HEALTH_STATES, type HealthCheck, type HealthState } from '../api/health/health-types.js';
import type { KV, KVPair } from '../api/kv.js';
import { validateKey, validatePrefix } from '../api/kv.js';
import { requireName, segment } from '../api/validate.js';
import { ValidationError } from '../errors.js';
import { checkOptionKeys, optionKeys } from '../options-check.js';
import type { WatchEngine, WatchEngineStats } from './engine.js';
import type { WatchQuery } from './query.js';
import type { Watch, WatchBackoffOptions, WatchOptions } from './types.js';

/** The endpoint groups the watches read through. */
export interface WatchSources {
  readonly kv: KV;
  readonly health: Health;
  readonly catalog: Catalog;
  readonly event: Events;
  readonly agent: Agent;
}

/** Every key of {@link WatchOptions}. */
export const WATCH_OPTION_KEYS = optionKeys<WatchOptions>()([
  'datacenter',
  'token',
  'consistency',
  'wait',
  'timeout',
  'minInterval',
  'backoff',
  'permissionDenied',
  'signal',
]);

/** Every key of {@link WatchBackoffOptions}. */
export const WATCH_BACKOFF_OPTION_KEYS = optionKeys<WatchBackoffOptions>()(['initialDelay', 'maxDelay']);

/**
 * Refuses unknown keys in the options of a watch (`known`: {@link WATCH_OPTION_KEYS} and the
 * watch's own) and in its `backoff` object.
 *
 * @param where - the entry point, for the message (`watch.key()`)
 * @throws UnknownOptionError for a key that is not an option
 */
export function checkWatchOptionKeys(options: WatchOptions, known: readonly string[], where: string): void {
  checkOptionKeys(options, known, where);
  if (options !== null && typeof options === 'object')
    checkOptionKeys(options.backoff, WATCH_BACKOFF_OPTION_KEYS, where, 'backoff');
}

/**
 * Options of the watches on the local agent's own state (`agentService`, `connectRoots`,
 * `connectLeaf`): the agent answers itself, so there is no datacenter, consistency mode or
 * cache to choose.
 */
export type AgentWatchOptions = Omit<WatchOptions, 'datacenter' | 'consistency'>;

/** Every key of {@link AgentWatchOptions} (and of {@link EventWatchOptions}). */
export const AGENT_WATCH_OPTION_KEYS = optionKeys<AgentWatchOptions>()(
  WATCH_OPTION_KEYS.filter(
    (key): key is Exclude<typeof key, 'datacenter' | 'consistency'> =>
      key !== 'datacenter' && key !== 'consistency',
  ),
);

function rejectAgentLocal(options: AgentWatchOptions, what: string): void {
  const extra = options as WatchOptions & CachedWatchOptions;
  for (const field of ['datacenter', 'consistency', 'cached'] as const) {
    if (extra[field] !== undefined)
      throw new ValidationError(field, `${what} is the local agent's own; it cannot be set`);
  }
}

/** Options of watches on endpoints the agent can answer from its cache. */
export interface CachedWatchOptions extends WatchOptions {
  /**
   * Read through the agent's cache (`?cached`): blocking reads are served by the agent's
   * background refresh instead of each reaching a server. Answers may be slightly stale.
   * Default false.
   */
  cached?: boolean;
}

/** Every key of {@link CachedWatchOptions}. */
export const CACHED_WATCH_OPTION_KEYS = optionKeys<CachedWatchOptions>()([...WATCH_OPTION_KEYS, 'cached']);

/** Options of {@link Watches.service}. */
export interface ServiceWatchOptions extends CachedWatchOptions {
  /** Only instances whose checks all pass (node checks included). Default false: every instance. */
  passing?: boolean;
  /** Only instances that carry this tag (or all of these tags). */
  tag?: string | readonly string[];
}

/** Every key of {@link ServiceWatchOptions}. */
export const SERVICE_WATCH_OPTION_KEYS = optionKeys<ServiceWatchOptions>()([
  ...CACHED_WATCH_OPTION_KEYS,
  'passing',
  'tag',
]);

/**
 * Options of {@link Watches.events}. The event list is the local agent's own, so there is no
 * datacenter or consistency mode to choose.
 */
export type EventWatchOptions = Omit<WatchOptions, 'datacenter' | 'consistency'>;

function validateEventName(name: unknown): string {
  const value = requireName('name', name);
  // Mirrors the event group's rule: Go's router would clean such paths into another name.
  if (value.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new ValidationError('name', `'${value}' must not contain empty, '.' or '..' path segments`);
  }
  return value;
}

/**
 * Watches on Consul data (`consul.watch`). Every method returns a {@link Watch}: `current`,
 * `ready()`, `on('change' | 'error')`, async iteration and `close()`. Identical queries
 * (same endpoint, parameters, datacenter, token, consistency and loop options) share one
 * blocking loop; it starts with the first watch and stops when the last one closes.
 * `consul.close()` closes every watch.
 *
 * @example
 * ```ts
 * const flag = consul.watch.key('app/flag');
 * flag.on('change', (entry) => console.log('flag is now', entry && String(entry.Value)));
 * for await (const entries of consul.watch.keyPrefix('app/config/')) render(entries);
 * ```
 */
export class Watches {
  readonly #engine: WatchEngine;
  readonly #sources: WatchSources;

  /** @internal Created by the client. */
  constructor(engine: WatchEngine, sources: WatchSources) {
    this.#engine = engine;
    this.#sources = sources;
  }

  /**
   * Watches one KV key. The value is the entry, or `undefined` while the key does not exist
   * (a deletion is a change to `undefined`).
   *
   * @throws ValidationError for an empty key, a key starting with `/`, or malformed options
   */
  key(key: string, options: WatchOptions = {}): Watch<KVPair | undefined> {
    validateKey(key);
    checkWatchOptionKeys(options, WATCH_OPTION_KEYS, 'watch.key()');
    const kv = this.#sources.kv;
    return this.#engine.watchKey(
      key,
      { endpoint: 'kv.get', params: { key }, read: (read) => kv.get(key, read) },
      // The same query as keyPrefix(folder): a folder read and a prefix watch on it share a loop.
      (prefix) => ({ endpoint: 'kv.list', params: { prefix }, read: (read) => kv.list(prefix, read) }),
      options,
    );
  }

  /**
   * Watches every KV entry under a prefix (recursively), in key order; `[]` when there are
   * none. A change is reported when any entry is added, changed or removed.
   *
   * @throws ValidationError for a prefix starting with `/`, or malformed options
   */
  keyPrefix(prefix: string, options: WatchOptions = {}): Watch<KVPair[]> {
    validatePrefix(prefix);
    checkWatchOptionKeys(options, WATCH_OPTION_KEYS, 'watch.keyPrefix()');
    const kv = this.#sources.kv;
    return this.#engine.watch(
      { endpoint: 'kv.list', params: { prefix }, read: (read) => kv.list(prefix, read) },
      options,
    );
  }

  /**
   * Watches the instances of a service with their node and checks (`/v1/health/service`),
   * what a load balancer needs. With `passing`, only instances whose checks all pass.
   *
   * @example
   * ```ts
   * const web = consul.watch.service('web', { passing: true, tag: 'v2' });
   * web.on('change', (entries) => pool.update(entries.map((e) => `${e.Service.Address}:${e.Service.Port}`)));
   * ```
   * @throws ValidationError for an empty name or one with `/`, a bad tag, or malformed options
   */
  service(name: string, options: ServiceWatchOptions = {}): Watch<ServiceEntry[]> {
    segment('name', name);
    checkWatchOptionKeys(options, SERVICE_WATCH_OPTION_KEYS, 'watch.service()');
    const { passing, tag, ...watchOptions } = options;
    if (passing !== undefined && typeof passing !== 'boolean')
      throw new ValidationError('passing', 'must be a boolean');
    const tags = tagQuery(tag);
    const health = this.#sources.health;
    return this.#engine.watch(
      {
        endpoint: 'health.service',
        params: {
          service: name,
          passing: passing === true,
          tag: tags === undefined ? undefined : JSON.stringify(tags),
        },
        read: (read) =>
          health.service(name, {
            ...read,
            passing: passing === true,
            ...(tags !== undefined && { tag: tags }),
          }),
      },
      watchOptions,
    );
  }

  /** Watches the service names of the datacenter, each with the union of its instances' tags (`/v1/catalog/services`). */
  services(options: CachedWatchOptions = {}): Watch<Record<string, string[]>> {
    checkWatchOptionKeys(options, CACHED_WATCH_OPTION_KEYS, 'watch.services()');
    const catalog = this.#sources.catalog;
    return this.#engine.watch(
      { endpoint: 'catalog.services', params: {}, read: (read) => catalog.services(read) },
      options,
    );
  }

  /** Watches the nodes of the datacenter (`/v1/catalog/nodes`). */
  nodes(options: WatchOptions = {}): Watch<Node[]> {
    if ((options as CachedWatchOptions).cached)
      throw new ValidationError('cached', 'catalog.nodes is not cached by Consul');
    checkWatchOptionKeys(options, WATCH_OPTION_KEYS, 'watch.nodes()');
    const catalog = this.#sources.catalog;
    return this.#engine.watch(
      { endpoint: 'catalog.nodes', params: {}, read: (read) => catalog.nodes(read) },
      options,
    );
  }

  /**
   * Watches every check in one state across the datacenter (`/v1/health/state`); `any` gives
   * every check.
   *
   * @throws ValidationError for a state other than any, passing, warning or critical
   */
  checks(state: HealthState, options: WatchOptions = {}): Watch<HealthCheck[]> {
    if (!HEALTH_STATES.includes(state)) {
      throw new ValidationError('state', `'${String(state)}' is not any, passing, warning or critical`);
    }
    if ((options as CachedWatchOptions).cached)
      throw new ValidationError('cached', 'health.state is not cached by Consul');
    checkWatchOptionKeys(options, WATCH_OPTION_KEYS, 'watch.checks()');
    const health = this.#sources.health;
    return this.#engine.watch(
      { endpoint: 'health.state', params: { state }, read: (read) => health.state(state, read) },
      options,
    );
  }

  /**
   * Watches the user events this agent holds (its last 256, oldest first), all of them or
   * those named `name`. A change means new events arrived (or old ones left the agent's
   * buffer); compare the IDs with those of the previous list to get only the new ones.
   *
   * Events are gossiped, not stored by the servers: the list is the local agent's, and after
   * an agent restart it starts empty. The loop treats the event index as Consul defines it
   * for this endpoint: a hash of the newest event's ID, passed back as it is and never taken
   * for an index that went backwards.
   *
   * @throws ValidationError for a malformed name or options, or a datacenter or consistency
   *   mode (the list is the local agent's)
   */
  events(name?: string, options: EventWatchOptions = {}): Watch<UserEvent[]> {
    if (name !== undefined) validateEventName(name);
    const extra = options as WatchOptions & CachedWatchOptions;
    for (const field of ['datacenter', 'consistency', 'cached'] as const) {
      if (extra[field] !== undefined)
        throw new ValidationError(field, "the event list is the local agent's own; it cannot be set");
    }
    checkWatchOptionKeys(options, AGENT_WATCH_OPTION_KEYS, 'watch.events()');
    const events = this.#sources.event;
    return this.#engine.watch(
      {
        endpoint: 'event.list',
        params: { name },
        indexMode: 'opaque',
        read: (read) => events.list({ ...read, ...(name !== undefined && { name }) }),
      },
      options,
    );
  }

  /**
   * Watches one service registered on the local agent (`/v1/agent/service/:id`): its
   * definition as the agent holds it, or `undefined` while the agent does not know it. The
   * endpoint blocks on a content hash (`X-Consul-ContentHash`) rather than an index; the
   * loop passes the hash back as `hash`, so a change to the service returns at once and
   * nothing else does. While the service is missing Consul answers 404 without a hash, so
   * the loop falls back to paced polling (and says so) until it is registered.
   *
   * @example
   * ```ts
   * consul.watch.agentService('web-1').on('change', (service) => console.log(service?.Tags));
   * ```
   * @throws ValidationError for an empty ID or one with `/`, or malformed options
   */
  agentService(id: string, options: AgentWatchOptions = {}): Watch<AgentService | undefined> {
    segment('id', id);
    rejectAgentLocal(options, 'an agent service');
    checkWatchOptionKeys(options, AGENT_WATCH_OPTION_KEYS, 'watch.agentService()');
    const agent = this.#sources.agent;
    // The loop speaks indexes; the hash (a 64-bit hex value) travels as an opaque index,
    // compared only for equality, and goes back to Consul exactly as Consul wrote it.
    let last: { index: bigint; hash: string } | undefined;
    return this.#engine.watch(
      {
        endpoint: 'agent.service',
        params: { id },
        indexMode: 'opaque',
        read: ({ index, ...rest }) => {
          const asIndex = index === undefined ? 0n : BigInt(index);
          const hash =
            asIndex === 0n ? undefined : last?.index === asIndex ? last.hash : asIndex.toString(16);
          const answer = agent
            .readService(id, { ...rest, ...(hash !== undefined && { hash }) })
            .withMeta()
            .then(({ data, meta }) => {
              const { index: _unused, ...other } = meta;
              if (meta.contentHash === undefined || !/^[0-9a-f]+$/i.test(meta.contentHash)) {
                return { data, meta: other };
              }
              const received = BigInt(`0x${meta.contentHash}`);
              last = { index: received, hash: meta.contentHash };
              return { data, meta: { ...other, index: received } };
            });
          return new ConsulRead(answer);
        },
      },
      options,
    );
  }

  /**
   * Watches the Connect CA roots as the local agent caches them
   * (`/v1/agent/connect/ca/roots`); a change means a root was added, rotated or removed.
   */
  connectRoots(options: AgentWatchOptions = {}): Watch<CARootList> {
    rejectAgentLocal(options, "the agent's CA roots");
    checkWatchOptionKeys(options, AGENT_WATCH_OPTION_KEYS, 'watch.connectRoots()');
    const connect = this.#sources.agent.connect;
    return this.#engine.watch(
      { endpoint: 'agent.connect.roots', params: {}, read: (read) => connect.roots(read) },
      options,
    );
  }

  /**
   * Watches the leaf certificate the local agent holds for `service`
   * (`/v1/agent/connect/ca/leaf/:service`); the agent renews it before it expires and after
   * a root rotation, and each renewal is a change. Needs `service:write` on the service.
   *
   * @throws ValidationError for an empty service name or one with `/`, or malformed options
   */
  connectLeaf(service: string, options: AgentWatchOptions = {}): Watch<LeafCert> {
    segment('service', service);
    rejectAgentLocal(options, 'a leaf certificate');
    checkWatchOptionKeys(options, AGENT_WATCH_OPTION_KEYS, 'watch.connectLeaf()');
    const connect = this.#sources.agent.connect;
    return this.#engine.watch(
      {
        endpoint: 'agent.connect.leaf',
        params: { service },
        read: (read) => connect.leaf(service, read),
      },
      options,
    );
  }

  /**
   * Watches any blocking read of the api layer; what the primitives use for endpoints the
   * methods above do not cover. `endpoint` and `params` must identify the read completely:
   * watches with equal ones share a loop (and the first watch's `read`).
   *
   * @example
   * ```ts
   * const session = consul.watch.query({
   *   endpoint: 'session.info',
   *   params: { id },
   *   read: (options) => consul.session.info(id, options),
   * });
   * ```
   */
  query<T>(query: WatchQuery<T>, options: CachedWatchOptions = {}): Watch<T> {
    if (typeof query?.endpoint !== 'string' || query.endpoint === '') {
      throw new ValidationError('endpoint', 'must be a non-empty string');
    }
    if (typeof query.read !== 'function') throw new ValidationError('read', 'must be a function');
    checkWatchOptionKeys(options, CACHED_WATCH_OPTION_KEYS, 'watch.query()');
    return this.#engine.watch(query, options);
  }

  /** Loops and watches open now, for diagnostics and tests. */
  stats(): WatchEngineStats {
    return this.#engine.stats();
  }
}
