/**
 * Prepared queries: `/v1/query`. Stored service lookups with health filtering, tag and
 * metadata filters, datacenter failover and name-prefix templates, executable over HTTP or
 * DNS (`<name>.query.consul`).
 *
 * @packageDocumentation
 */
import { optionKeys } from '../../options-check.js';
import { formatDuration, toMilliseconds } from '../../duration.js';
import { ValidationError } from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import { READ_OPTION_KEYS, type CallOptions, type ReadOptions } from '../../transport/types.js';
import { validateTags } from '../agent/agent-services.js';
import { nearQuery } from '../catalog/catalog-query.js';
import type {
  PreparedQuery,
  PreparedQueryDefinition,
  PreparedQueryExecuteOptions,
  PreparedQueryExecuteResponse,
  PreparedQueryExplainResponse,
  PreparedQueryReadOptions,
  PreparedQueryServiceDefinition,
} from './query-types.js';
import { read, type ConsulRead } from '../read.js';
import { requireName, segment } from '../validate.js';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function optionalString(field: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'string') throw new ValidationError(field, 'must be a string');
}

function optionalBoolean(field: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean')
    throw new ValidationError(field, 'must be a boolean');
}

function optionalStringMap(field: string, value: unknown): void {
  if (value === undefined) return;
  if (!isPlainObject(value) || Object.values(value).some((item) => typeof item !== 'string')) {
    throw new ValidationError(field, 'must be an object of string values');
  }
}

function optionalNames(field: string, value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) throw new ValidationError(field, 'must be an array of non-empty strings');
  value.forEach((item, i) => requireName(`${field}[${i}]`, item));
}

function serviceBody(service: PreparedQueryServiceDefinition): PreparedQueryServiceDefinition {
  if (!isPlainObject(service)) throw new ValidationError('Service', 'must be an object');
  requireName('Service.Service', service.Service);
  const failover: unknown = service.Failover;
  if (failover !== undefined) {
    if (!isPlainObject(failover)) throw new ValidationError('Service.Failover', 'must be an object');
    const nearestN = failover.NearestN;
    if (nearestN !== undefined && (!Number.isSafeInteger(nearestN) || (nearestN as number) < 0)) {
      throw new ValidationError('Service.Failover.NearestN', 'must be a non-negative integer');
    }
    optionalNames('Service.Failover.Datacenters', failover.Datacenters);
  }
  optionalBoolean('Service.OnlyPassing', service.OnlyPassing);
  optionalNames('Service.IgnoreCheckIDs', service.IgnoreCheckIDs);
  optionalString('Service.Near', service.Near);
  if (service.Tags !== undefined) validateTags('Service.Tags', service.Tags);
  optionalStringMap('Service.NodeMeta', service.NodeMeta);
  optionalStringMap('Service.ServiceMeta', service.ServiceMeta);
  optionalBoolean('Service.Connect', service.Connect);
  return { ...service };
}

/**
 * Validates a prepared query definition and returns the body to send (`DNS.TTL` as a Consul
 * duration string).
 *
 * @throws ValidationError for a missing `Service.Service`, a template type other than
 *   `name_prefix_match`, a malformed TTL or a field of the wrong type
 */
export function preparedQueryBody(definition: PreparedQueryDefinition): Record<string, unknown> {
  if (!isPlainObject(definition)) throw new ValidationError('definition', 'must be an object');
  optionalString('Name', definition.Name);
  optionalString('Session', definition.Session);
  optionalString('Token', definition.Token);
  const body: Record<string, unknown> = { ...definition, Service: serviceBody(definition.Service) };
  const dns = definition.DNS;
  if (dns !== undefined) {
    if (!isPlainObject(dns as unknown)) throw new ValidationError('DNS', 'must be an object');
    body.DNS =
      dns.TTL === undefined
        ? { ...dns }
        : { ...dns, TTL: formatDuration(toMilliseconds(dns.TTL, 'DNS.TTL')) };
  }
  const template: unknown = definition.Template;
  if (template !== undefined) {
    if (!isPlainObject(template)) throw new ValidationError('Template', 'must be an object');
    // Consul reports an ordinary query with Type '', so a read-back definition round-trips.
    if (template.Type !== 'name_prefix_match' && template.Type !== '') {
      throw new ValidationError('Template.Type', `'${String(template.Type)}' is not name_prefix_match`);
    }
    optionalString('Template.Regexp', template.Regexp);
    optionalBoolean('Template.RemoveEmptyTags', template.RemoveEmptyTags);
  }
  return body;
}

/** Refuses read options that the prepared query endpoints would silently ignore. */
function rejectOptions(options: object, names: readonly string[], endpoint: string): void {
  for (const name of names) {
    if ((options as Record<string, unknown>)[name] !== undefined) {
      throw new ValidationError(name, `${endpoint} does not support ${name}`);
    }
  }
}

/** The execute answer as sent: `Nodes` may be null, and query metadata is repeated in the body. */
type ExecuteBody = Omit<PreparedQueryExecuteResponse, 'Nodes'> & {
  Nodes: PreparedQueryExecuteResponse['Nodes'] | null;
};

const NOT_BLOCKING = ['index', 'wait', 'filter'] as const;
const NOT_BLOCKING_OR_CACHED = [...NOT_BLOCKING, 'cached'] as const;

/** Every key of {@link PreparedQueryExecuteOptions}, for the refusal of a misspelt one. */
const QUERY_EXECUTE_OPTION_KEYS = optionKeys<ReadOptions & PreparedQueryExecuteOptions>()([
  ...READ_OPTION_KEYS,
  'near',
  'limit',
  'connect',
]);

/** The `query` endpoint group (prepared queries). */
export class PreparedQueries {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** Every prepared query of the datacenter (templates included). */
  list(options: PreparedQueryReadOptions = {}): ConsulRead<PreparedQuery[]> {
    rejectOptions(options, NOT_BLOCKING_OR_CACHED, 'query.list');
    return read<PreparedQuery[] | null, PreparedQuery[]>(
      this.#transport,
      { method: 'GET', path: '/v1/query', read: options, response: 'json' },
      (body) => body ?? [],
    );
  }

  /**
   * Creates a prepared query and resolves to its ID. Consul checks the rest (a unique name,
   * an existing session, a template regexp that compiles) and answers a `ConsulHttpError`
   * otherwise.
   *
   * @example
   * ```ts
   * const { ID } = await consul.query.create({ Name: 'web', Service: { Service: 'web', OnlyPassing: true } });
   * const { Nodes } = await consul.query.execute('web', { limit: 3 });
   * ```
   * @throws ValidationError for an invalid definition (see {@link preparedQueryBody})
   */
  async create(definition: PreparedQueryDefinition, options: CallOptions = {}): Promise<{ ID: string }> {
    const body = preparedQueryBody(definition);
    const response = await this.#transport.request<{ ID: string }>({
      method: 'POST',
      path: '/v1/query',
      body: { json: body },
      call: options,
      response: 'json',
    });
    return { ID: response.body.ID };
  }

  /**
   * Replaces the definition of a query (every field: what is left out is reset). Consul
   * 1.8 answers a 500 `ConsulHttpError` ("Cannot modify non-existent prepared query") for
   * an unknown ID.
   *
   * @throws ValidationError for a bad ID or an invalid definition
   */
  async update(id: string, definition: PreparedQueryDefinition, options: CallOptions = {}): Promise<void> {
    const path = `/v1/query/${segment('id', id)}`;
    const body = preparedQueryBody(definition);
    await this.#transport.request({
      method: 'PUT',
      path,
      body: { json: body },
      call: options,
      idempotent: true,
      response: 'none',
    });
  }

  /** One prepared query by ID; `undefined` when there is no such query. */
  get(id: string, options: PreparedQueryReadOptions = {}): ConsulRead<PreparedQuery | undefined> {
    const path = `/v1/query/${segment('id', id)}`;
    rejectOptions(options, NOT_BLOCKING_OR_CACHED, 'query.get');
    return read<PreparedQuery[] | null | undefined, PreparedQuery | undefined>(
      this.#transport,
      { method: 'GET', path, read: options, allowNotFound: true, response: 'json' },
      (body) => body?.[0] ?? undefined,
    );
  }

  /**
   * Deletes a prepared query. Consul 1.8 answers a 500 `ConsulHttpError` for an unknown ID,
   * so deleting twice is not silent.
   */
  async delete(id: string, options: CallOptions = {}): Promise<void> {
    const path = `/v1/query/${segment('id', id)}`;
    await this.#transport.request({ method: 'DELETE', path, call: options, response: 'none' });
  }

  /**
   * Runs a query, by ID or by name (a template answers every name it prefixes), and resolves
   * to the matching healthy instances. Not blocking; `cached` answers from the agent's cache.
   *
   * @throws ValidationError for a bad `limit` or `near`
   * @throws NotFoundError when no query has that ID or name
   */
  execute(
    idOrName: string,
    options: PreparedQueryExecuteOptions = {},
  ): ConsulRead<PreparedQueryExecuteResponse> {
    const path = `/v1/query/${segment('idOrName', idOrName)}/execute`;
    rejectOptions(options, NOT_BLOCKING, 'query.execute');
    const { near, limit, connect, ...rest } = options;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
      throw new ValidationError('limit', 'must be a positive integer');
    }
    optionalBoolean('connect', connect);
    return read<ExecuteBody, PreparedQueryExecuteResponse>(
      this.#transport,
      {
        method: 'GET',
        path,
        query: { near: nearQuery(near), limit, connect: connect === true },
        read: rest,
        optionKeys: QUERY_EXECUTE_OPTION_KEYS,
        response: 'json',
      },
      // The body also repeats query metadata (Index, KnownLeader, …); `.withMeta()` has it
      // from the headers, so only the documented fields are kept.
      (body) => ({
        Service: body.Service,
        Nodes: body.Nodes ?? [],
        DNS: body.DNS,
        Datacenter: body.Datacenter,
        Failovers: body.Failovers,
      }),
    );
  }

  /**
   * Shows the query that would run for an ID or name, after template interpolation; useful
   * to debug templates.
   *
   * @throws NotFoundError when no query has that ID or name
   */
  explain(
    idOrName: string,
    options: PreparedQueryReadOptions = {},
  ): ConsulRead<PreparedQueryExplainResponse> {
    const path = `/v1/query/${segment('idOrName', idOrName)}/explain`;
    rejectOptions(options, NOT_BLOCKING_OR_CACHED, 'query.explain');
    return read<PreparedQueryExplainResponse, PreparedQueryExplainResponse>(
      this.#transport,
      { method: 'GET', path, read: options, response: 'json' },
      (body) => ({ Query: body.Query }),
    );
  }
}
