/**
 * Health: `/v1/health`. Services and checks of the catalog together with their health.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import { optionKeys } from '../../options-check.js';
import { READ_OPTION_KEYS, type ReadOptions } from '../../transport/types.js';
import type { AgentService } from '../agent/agent-types.js';
import { nearQuery, nodeMetaQuery, rejectUnsupported, tagQuery } from '../catalog/catalog-query.js';
import type { Node, NodeFilterOptions } from '../catalog/catalog-types.js';
import { HEALTH_STATES, type HealthCheck, type HealthState } from './health-types.js';
import { read, type ConsulRead } from '../read.js';
import { segment } from '../validate.js';

/** One instance of a service with its node and every check on it (node checks included). */
export interface ServiceEntry {
  /** The node the instance runs on. */
  Node: Node;
  /** The service instance. */
  Service: AgentService;
  /** The node's checks and the instance's checks. */
  Checks: HealthCheck[];
}

/** Options of `health.node`. */
export type HealthNodeOptions = Omit<ReadOptions, 'cached'>;

/** Options of `health.checks` and `health.state`. */
export interface HealthChecksOptions extends Omit<ReadOptions, 'cached'>, NodeFilterOptions {}

/** Options of `health.service`. */
export interface HealthServiceOptions extends ReadOptions, NodeFilterOptions {
  /**
   * Only instances whose checks all pass (node checks included). Default false: every
   * instance, whatever its health.
   */
  passing?: boolean;
  /** Only instances that carry this tag (or all of these tags). */
  tag?: string | readonly string[];
}

/** Every key of {@link HealthServiceOptions}, for the refusal of a misspelt one (`pasing`). */
const HEALTH_SERVICE_OPTION_KEYS = optionKeys<HealthServiceOptions>()([
  ...READ_OPTION_KEYS,
  'passing',
  'tag',
  'near',
  'nodeMeta',
]);

function listOf<T>(body: T[] | null): T[] {
  return body ?? [];
}

/** Every key of {@link HealthChecksOptions}, for the refusal of a misspelt one. */
const HEALTH_CHECKS_OPTION_KEYS = optionKeys<ReadOptions & HealthChecksOptions>()([
  ...READ_OPTION_KEYS,
  'near',
  'nodeMeta',
]);

/** The `health` endpoint group. */
export class Health {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** The checks of one node (node checks and its services' checks). Blocks with `index`. */
  node(name: string, options: HealthNodeOptions = {}): ConsulRead<HealthCheck[]> {
    const path = `/v1/health/node/${segment('name', name)}`;
    rejectUnsupported(options, 'cached', 'health.node');
    return read(
      this.#transport,
      { method: 'GET', path, read: options, response: 'json' },
      listOf<HealthCheck>,
    );
  }

  /** The checks of every instance of one service. Blocks with `index`. */
  checks(service: string, options: HealthChecksOptions = {}): ConsulRead<HealthCheck[]> {
    const path = `/v1/health/checks/${segment('service', service)}`;
    rejectUnsupported(options, 'cached', 'health.checks');
    const { near, nodeMeta, ...rest } = options;
    const query = { near: nearQuery(near), 'node-meta': nodeMetaQuery(nodeMeta) };
    return read(
      this.#transport,
      { method: 'GET', path, query, read: rest, optionKeys: HEALTH_CHECKS_OPTION_KEYS, response: 'json' },
      listOf<HealthCheck>,
    );
  }

  /**
   * The instances of one service with their node and checks; with `passing`, only healthy
   * ones. Blocks with `index`; may be answered from the agent's cache with `cached`.
   *
   * @example
   * ```ts
   * const { data, meta } = await consul.health.service('web', { passing: true }).withMeta();
   * const next = await consul.health.service('web', { passing: true, index: meta.index, wait: '1m' });
   * ```
   */
  service(name: string, options: HealthServiceOptions = {}): ConsulRead<ServiceEntry[]> {
    const path = `/v1/health/service/${segment('name', name)}`;
    const { passing, tag, near, nodeMeta, ...rest } = options;
    if (passing !== undefined && typeof passing !== 'boolean')
      throw new ValidationError('passing', 'must be a boolean');
    const query = {
      passing: passing === true,
      tag: tagQuery(tag),
      near: nearQuery(near),
      'node-meta': nodeMetaQuery(nodeMeta),
    };
    return read(
      this.#transport,
      { method: 'GET', path, query, read: rest, optionKeys: HEALTH_SERVICE_OPTION_KEYS, response: 'json' },
      listOf<ServiceEntry>,
    );
  }

  /**
   * The checks in one state across the datacenter; `any` gives every check. Blocks with
   * `index`.
   *
   * @throws ValidationError for a state other than any, passing, warning or critical
   */
  state(state: HealthState, options: HealthChecksOptions = {}): ConsulRead<HealthCheck[]> {
    if (!HEALTH_STATES.includes(state)) {
      throw new ValidationError('state', `'${String(state)}' is not any, passing, warning or critical`);
    }
    rejectUnsupported(options, 'cached', 'health.state');
    const { near, nodeMeta, ...rest } = options;
    const query = { near: nearQuery(near), 'node-meta': nodeMetaQuery(nodeMeta) };
    return read(
      this.#transport,
      {
        method: 'GET',
        path: `/v1/health/state/${state}`,
        query,
        read: rest,
        optionKeys: HEALTH_CHECKS_OPTION_KEYS,
        response: 'json',
      },
      listOf<HealthCheck>,
    );
  }
}
