/**
 * The catalog: `/v1/catalog`. Nodes and services of a datacenter as the servers know them.
 *
 * @packageDocumentation
 */
import { optionKeys } from '../../options-check.js';
import { formatDuration, toMilliseconds, type Duration } from '../../duration.js';
import { ValidationError } from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import { READ_OPTION_KEYS, type CallOptions, type ReadOptions } from '../../transport/types.js';
import {
  SERVICE_KINDS,
  validateServiceMeta,
  validateTaggedAddresses,
  validateTags,
  validateWeights,
} from '../agent/agent-services.js';
import { nearQuery, nodeMetaQuery, rejectUnsupported, tagQuery } from './catalog-query.js';
import type {
  CatalogCheckDefinition,
  CatalogCheckRegistration,
  CatalogDeregistration,
  CatalogNode,
  CatalogNodeOptions,
  CatalogNodesOptions,
  CatalogRegistration,
  CatalogService,
  CatalogServiceOptions,
  CatalogServiceRegistration,
  CatalogServicesOptions,
  Node,
} from './catalog-types.js';
import { validatePort, validateStatus } from '../checks.js';
import { read, type ConsulRead } from '../read.js';
import { requireName, segment } from '../validate.js';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function stringMap(field: string, value: unknown): Record<string, string> {
  if (!isPlainObject(value) || Object.values(value).some((item) => typeof item !== 'string')) {
    throw new ValidationError(field, 'must be an object of string values');
  }
  return value as Record<string, string>;
}

function optionalString(field: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'string') throw new ValidationError(field, 'must be a string');
}

function durationString(field: string, value: Duration): string {
  return formatDuration(toMilliseconds(value, field));
}

function serviceBody(service: CatalogServiceRegistration): CatalogServiceRegistration {
  if (!isPlainObject(service)) throw new ValidationError('Service', 'must be an object');
  requireName('Service.Service', service.Service);
  if (service.ID !== undefined) requireName('Service.ID', service.ID);
  if (service.Tags !== undefined) validateTags('Service.Tags', service.Tags);
  optionalString('Service.Address', service.Address);
  if (service.TaggedAddresses !== undefined)
    validateTaggedAddresses('Service.TaggedAddresses', service.TaggedAddresses);
  if (service.Meta !== undefined) validateServiceMeta('Service.Meta', service.Meta);
  if (service.Port !== undefined) validatePort('Service.Port', service.Port);
  if (service.Weights !== undefined) validateWeights('Service.Weights', service.Weights);
  if (service.Kind !== undefined && !SERVICE_KINDS.has(service.Kind)) {
    throw new ValidationError('Service.Kind', `'${String(service.Kind)}' is not a service kind Consul knows`);
  }
  return { ...service };
}

function definitionBody(field: string, definition: CatalogCheckDefinition): CatalogCheckDefinition {
  if (!isPlainObject(definition as unknown)) throw new ValidationError(field, 'must be an object');
  const body: CatalogCheckDefinition = { ...definition };
  for (const name of ['Interval', 'Timeout', 'DeregisterCriticalServiceAfter'] as const) {
    const value = definition[name];
    if (value !== undefined) body[name] = durationString(`${field}.${name}`, value);
  }
  return body;
}

function checkBody(field: string, check: CatalogCheckRegistration): CatalogCheckRegistration {
  if (!isPlainObject(check)) throw new ValidationError(field, 'must be an object');
  requireName(`${field}.Name`, check.Name);
  if (check.CheckID !== undefined) requireName(`${field}.CheckID`, check.CheckID);
  if (check.Node !== undefined) requireName(`${field}.Node`, check.Node);
  if (check.ServiceID !== undefined) requireName(`${field}.ServiceID`, check.ServiceID);
  if (check.Status !== undefined) validateStatus(`${field}.Status`, check.Status);
  optionalString(`${field}.Notes`, check.Notes);
  optionalString(`${field}.Output`, check.Output);
  const body: CatalogCheckRegistration = { ...check };
  if (check.Definition !== undefined)
    body.Definition = definitionBody(`${field}.Definition`, check.Definition);
  return body;
}

/**
 * Validates a catalog registration and returns the body to send.
 *
 * @throws ValidationError for a missing `Node`, a missing `Address` (unless
 *   `SkipNodeUpdate`), or an invalid service or check
 */
export function catalogRegistrationBody(entry: CatalogRegistration): CatalogRegistration {
  if (!isPlainObject(entry)) throw new ValidationError('entry', 'must be an object');
  requireName('Node', entry.Node);
  if (entry.SkipNodeUpdate !== true) requireName('Address', entry.Address);
  else optionalString('Address', entry.Address);
  if (entry.ID !== undefined) requireName('ID', entry.ID);
  if (entry.Datacenter !== undefined) requireName('Datacenter', entry.Datacenter);
  if (entry.TaggedAddresses !== undefined) stringMap('TaggedAddresses', entry.TaggedAddresses);
  if (entry.NodeMeta !== undefined) stringMap('NodeMeta', entry.NodeMeta);
  const body: CatalogRegistration = { ...entry };
  if (entry.Service !== undefined) body.Service = serviceBody(entry.Service);
  if (entry.Check !== undefined) body.Check = checkBody('Check', entry.Check);
  if (entry.Checks !== undefined) {
    if (!Array.isArray(entry.Checks)) throw new ValidationError('Checks', 'must be an array of checks');
    body.Checks = entry.Checks.map((check, i) => checkBody(`Checks[${i}]`, check));
  }
  return body;
}

/**
 * The datacenter for the body of a catalog write. Consul 1.8.7 ignores `?dc=` on
 * `/v1/catalog/register` and `/v1/catalog/deregister` and reads only the body's `Datacenter`
 * (checked against the agent: `?dc=dc2` deregistered the local node, a body `Datacenter:
 * "dc2"` answered "No path to datacenter"), so the call's or the client's datacenter has to
 * go into the body, or the write silently acts on the local datacenter.
 *
 * @throws ValidationError when the entry and the options name different datacenters
 */
function bodyDatacenter(
  transport: Transport,
  inEntry: string | undefined,
  options: CallOptions,
): string | undefined {
  const fromOptions = transport.datacenterFor(options);
  if (inEntry !== undefined && options.datacenter !== undefined && inEntry !== options.datacenter) {
    throw new ValidationError(
      'Datacenter',
      `the entry names '${inEntry}' but the options name '${options.datacenter}'`,
    );
  }
  return inEntry ?? fromOptions;
}

/** Every key of {@link CatalogServiceOptions}, for the refusal of a misspelt one. */
const CATALOG_SERVICE_OPTION_KEYS = optionKeys<ReadOptions & CatalogServiceOptions>()([
  ...READ_OPTION_KEYS,
  'tag',
  'near',
  'nodeMeta',
]);

/** Every key of {@link CatalogServicesOptions}, for the refusal of a misspelt one. */
const CATALOG_SERVICES_OPTION_KEYS = optionKeys<ReadOptions & CatalogServicesOptions>()([
  ...READ_OPTION_KEYS,
  'nodeMeta',
]);

/** Every key of {@link CatalogNodesOptions}, for the refusal of a misspelt one. */
const CATALOG_NODES_OPTION_KEYS = optionKeys<ReadOptions & CatalogNodesOptions>()([
  ...READ_OPTION_KEYS,
  'near',
  'nodeMeta',
]);

/** The `catalog` endpoint group. */
export class Catalog {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /**
   * Registers (or updates) a node, optionally with a service and checks, directly in the
   * catalog. Meant for external services; for services on an agent's own node use
   * `agent.service.register`, since the agent's anti-entropy reverts catalog edits to its node.
   *
   * @throws ValidationError for an invalid entry (see {@link catalogRegistrationBody})
   */
  async register(entry: CatalogRegistration, options: CallOptions = {}): Promise<void> {
    const body = catalogRegistrationBody(entry);
    const datacenter = bodyDatacenter(this.#transport, entry.Datacenter, options);
    if (datacenter !== undefined) body.Datacenter = datacenter;
    await this.#transport.request({
      method: 'PUT',
      path: '/v1/catalog/register',
      body: { json: body },
      call: options,
      idempotent: true,
      response: 'none',
    });
  }

  /**
   * Removes a node with everything on it, or only one of its services (`ServiceID`) or checks
   * (`CheckID`). Removing something already gone succeeds.
   *
   * @throws ValidationError for a missing `Node`, or both `ServiceID` and `CheckID` (Consul
   *   would act on the service alone)
   */
  async deregister(entry: CatalogDeregistration, options: CallOptions = {}): Promise<void> {
    if (!isPlainObject(entry)) throw new ValidationError('entry', 'must be an object');
    requireName('Node', entry.Node);
    if (entry.ServiceID !== undefined) requireName('ServiceID', entry.ServiceID);
    if (entry.CheckID !== undefined) requireName('CheckID', entry.CheckID);
    if (entry.ServiceID !== undefined && entry.CheckID !== undefined) {
      throw new ValidationError('entry', 'give ServiceID or CheckID, not both');
    }
    if (entry.Datacenter !== undefined) requireName('Datacenter', entry.Datacenter);
    const body: CatalogDeregistration = { ...entry };
    const datacenter = bodyDatacenter(this.#transport, entry.Datacenter, options);
    if (datacenter !== undefined) body.Datacenter = datacenter;
    await this.#transport.request({
      method: 'PUT',
      path: '/v1/catalog/deregister',
      body: { json: body },
      call: options,
      idempotent: true,
      response: 'none',
    });
  }

  /** The datacenters known to the servers, sorted by estimated round-trip time from this one. */
  datacenters(options: CallOptions = {}): ConsulRead<string[]> {
    return read<string[] | null, string[]>(
      this.#transport,
      { method: 'GET', path: '/v1/catalog/datacenters', call: options, response: 'json' },
      (body) => body ?? [],
    );
  }

  /** The nodes of the datacenter. Blocks with `index`; supports `filter`, `near` and `nodeMeta`. */
  nodes(options: CatalogNodesOptions = {}): ConsulRead<Node[]> {
    rejectUnsupported(options, 'cached', 'catalog.nodes');
    const { near, nodeMeta, ...rest } = options;
    const query = { near: nearQuery(near), 'node-meta': nodeMetaQuery(nodeMeta) };
    return read<Node[] | null, Node[]>(
      this.#transport,
      {
        method: 'GET',
        path: '/v1/catalog/nodes',
        query,
        read: rest,
        optionKeys: CATALOG_NODES_OPTION_KEYS,
        response: 'json',
      },
      (body) => body ?? [],
    );
  }

  /**
   * The services of the datacenter: name to the union of their instances' tags. Blocks with
   * `index`; may be answered from the agent's cache with `cached`.
   */
  services(options: CatalogServicesOptions = {}): ConsulRead<Record<string, string[]>> {
    rejectUnsupported(options, 'filter', 'catalog.services');
    const { nodeMeta, ...rest } = options;
    return read<Record<string, string[] | null> | null, Record<string, string[]>>(
      this.#transport,
      {
        method: 'GET',
        path: '/v1/catalog/services',
        query: { 'node-meta': nodeMetaQuery(nodeMeta) },
        read: rest,
        optionKeys: CATALOG_SERVICES_OPTION_KEYS,
        response: 'json',
      },
      (body) => Object.fromEntries(Object.entries(body ?? {}).map(([name, tags]) => [name, tags ?? []])),
    );
  }

  /**
   * The instances of one service, whatever their health (see `health.service` for that).
   * Blocks with `index`; supports `tag`, `near`, `nodeMeta`, `filter` and `cached`.
   */
  service(name: string, options: CatalogServiceOptions = {}): ConsulRead<CatalogService[]> {
    const path = `/v1/catalog/service/${segment('name', name)}`;
    const { tag, near, nodeMeta, ...rest } = options;
    const query = { tag: tagQuery(tag), near: nearQuery(near), 'node-meta': nodeMetaQuery(nodeMeta) };
    return read<CatalogService[] | null, CatalogService[]>(
      this.#transport,
      { method: 'GET', path, query, read: rest, optionKeys: CATALOG_SERVICE_OPTION_KEYS, response: 'json' },
      (body) => body ?? [],
    );
  }

  /**
   * One node with its services; `undefined` when the catalog has no such node. Blocks with
   * `index`; `filter` applies to the services.
   */
  node(name: string, options: CatalogNodeOptions = {}): ConsulRead<CatalogNode | undefined> {
    const path = `/v1/catalog/node/${segment('name', name)}`;
    rejectUnsupported(options, 'cached', 'catalog.node');
    return read<CatalogNode | null | undefined, CatalogNode | undefined>(
      this.#transport,
      { method: 'GET', path, read: options, allowNotFound: true, response: 'json' },
      (body) => body ?? undefined,
    );
  }
}
