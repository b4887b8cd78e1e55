/**
 * Services on the local agent: `/v1/agent/services` and `/v1/agent/service/*`.
 *
 * @packageDocumentation
 */
import { optionKeys } from '../../options-check.js';
import { ValidationError } from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import { CALL_OPTION_KEYS, type CallOptions } from '../../transport/types.js';
import type {
  AgentListOptions,
  AgentService,
  AgentServiceRegisterOptions,
  AgentServiceRegistration,
  ServiceAddress,
  ServiceWeights,
} from './agent-types.js';
import { normalizeServiceCheck, validatePort } from '../checks.js';
import { segment } from '../validate.js';

/** Consul's limits on service metadata (`structs.ValidateServiceMetadata`). */
export const SERVICE_META_LIMITS = Object.freeze({
  /** Most key/value pairs. */
  maxPairs: 64,
  /** Longest key, in characters. */
  maxKeyLength: 128,
  /** Longest value, in characters. */
  maxValueLength: 512,
});

const META_KEY = /^[A-Za-z0-9_-]+$/;

/** The service kinds Consul 1.8 knows. */
export const SERVICE_KINDS: ReadonlySet<string> = new Set([
  '',
  'connect-proxy',
  'mesh-gateway',
  'terminating-gateway',
  'ingress-gateway',
]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Validates service metadata against Consul's rules.
 *
 * @throws ValidationError for more than 64 pairs, a key that is empty, too long, uses
 *   characters outside `[A-Za-z0-9_-]` or starts with the reserved `consul-`, or a value that
 *   is not a string or longer than 512 characters
 */
export function validateServiceMeta(field: string, meta: unknown): Record<string, string> {
  if (!isPlainObject(meta)) throw new ValidationError(field, 'must be an object of string values');
  const entries = Object.entries(meta);
  if (entries.length > SERVICE_META_LIMITS.maxPairs) {
    throw new ValidationError(
      field,
      `has ${entries.length} pairs; Consul allows ${SERVICE_META_LIMITS.maxPairs}`,
    );
  }
  for (const [key, value] of entries) {
    if (!META_KEY.test(key)) throw new ValidationError(field, `key '${key}' must match [A-Za-z0-9_-]+`);
    if (key.length > SERVICE_META_LIMITS.maxKeyLength) {
      throw new ValidationError(
        field,
        `key '${key}' is longer than ${SERVICE_META_LIMITS.maxKeyLength} characters`,
      );
    }
    if (key.startsWith('consul-'))
      throw new ValidationError(field, `key '${key}': prefix 'consul-' is reserved`);
    if (typeof value !== 'string') throw new ValidationError(`${field}.${key}`, 'must be a string');
    if (value.length > SERVICE_META_LIMITS.maxValueLength) {
      throw new ValidationError(
        `${field}.${key}`,
        `is longer than ${SERVICE_META_LIMITS.maxValueLength} characters`,
      );
    }
  }
  return meta as Record<string, string>;
}

/** Validates a list of tags: an array of strings. */
export function validateTags(field: string, tags: unknown): string[] {
  if (!Array.isArray(tags) || tags.some((tag) => typeof tag !== 'string')) {
    throw new ValidationError(field, 'must be an array of strings');
  }
  return tags as string[];
}

/**
 * Validates DNS SRV weights as Consul does: `Passing` an integer of at least 1, `Warning` an
 * integer of at least 0.
 */
export function validateWeights(field: string, value: unknown): ServiceWeights {
  if (!isPlainObject(value)) throw new ValidationError(field, 'must be { Passing, Warning }');
  const { Passing: passing, Warning: warning } = value;
  if (typeof passing !== 'number' || !Number.isSafeInteger(passing) || passing < 1) {
    throw new ValidationError(
      `${field}.Passing`,
      `expected an integer of at least 1, got ${String(passing)}`,
    );
  }
  if (typeof warning !== 'number' || !Number.isSafeInteger(warning) || warning < 0) {
    throw new ValidationError(
      `${field}.Warning`,
      `expected an integer of at least 0, got ${String(warning)}`,
    );
  }
  return { Passing: passing, Warning: warning };
}

/** Validates service tagged addresses: network name to `{ Address, Port }`. */
export function validateTaggedAddresses(field: string, value: unknown): Record<string, ServiceAddress> {
  if (!isPlainObject(value))
    throw new ValidationError(field, 'must be an object of network to { Address, Port }');
  for (const [network, address] of Object.entries(value)) {
    if (!isPlainObject(address) || typeof address['Address'] !== 'string') {
      throw new ValidationError(`${field}.${network}`, 'must be { Address: string, Port: number }');
    }
    validatePort(`${field}.${network}.Port`, address['Port']);
  }
  return value as Record<string, ServiceAddress>;
}

/**
 * Validates a service registration and returns the body to send (checks normalized,
 * durations as Consul strings).
 *
 * @throws ValidationError for a missing `Name`, an `ID` containing `/`, a port outside
 *   0–65535, bad weights or metadata, or an invalid check
 */
export function serviceRegistrationBody(definition: AgentServiceRegistration): AgentServiceRegistration {
  if (!isPlainObject(definition)) throw new ValidationError('service', 'must be an object');
  const body: AgentServiceRegistration = { ...definition };
  const name = definition.Name;
  if (typeof name !== 'string' || name.trim() === '') {
    throw new ValidationError('Name', 'is required and must be a non-empty string');
  }
  // The ID is a path segment of deregister and maintenance calls.
  if (definition.ID !== undefined) segment('ID', definition.ID);
  if (definition.Tags !== undefined) validateTags('Tags', definition.Tags);
  if (definition.Address !== undefined && typeof definition.Address !== 'string') {
    throw new ValidationError('Address', 'must be a string');
  }
  if (definition.Port !== undefined) validatePort('Port', definition.Port);
  if (definition.Meta !== undefined) validateServiceMeta('Meta', definition.Meta);
  if (definition.TaggedAddresses !== undefined)
    validateTaggedAddresses('TaggedAddresses', definition.TaggedAddresses);
  if (definition.Kind !== undefined && !SERVICE_KINDS.has(definition.Kind)) {
    throw new ValidationError('Kind', `'${String(definition.Kind)}' is not a service kind Consul knows`);
  }
  if (definition.EnableTagOverride !== undefined && typeof definition.EnableTagOverride !== 'boolean') {
    throw new ValidationError('EnableTagOverride', 'must be a boolean');
  }
  if (definition.Weights !== undefined) validateWeights('Weights', definition.Weights);
  if (definition.Check !== undefined) body.Check = normalizeServiceCheck(definition.Check, 'Check');
  if (definition.Checks !== undefined) {
    if (!Array.isArray(definition.Checks)) throw new ValidationError('Checks', 'must be an array of checks');
    body.Checks = definition.Checks.map((check, i) => normalizeServiceCheck(check, `Checks[${i}]`));
  }
  return body;
}

/** Every key of {@link AgentServiceRegisterOptions}, for the refusal of a misspelt one. */
const SERVICE_REGISTER_OPTION_KEYS = optionKeys<CallOptions & AgentServiceRegisterOptions>()([
  ...CALL_OPTION_KEYS,
  'replaceExistingChecks',
]);

/** The `agent.service` endpoints: services registered on the local agent. */
export class AgentServices {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /**
   * Lists the services registered on this agent, by service ID. The agent answers from its
   * local state, which may differ from the catalog until anti-entropy syncs it.
   */
  async list(options: AgentListOptions = {}): Promise<Record<string, AgentService>> {
    const response = await this.#transport.request<Record<string, AgentService> | null>({
      method: 'GET',
      path: '/v1/agent/services',
      read: options,
      response: 'json',
    });
    return response.body ?? {};
  }

  /** Reads one service of this agent by ID; `undefined` when the agent does not know it. */
  async get(serviceId: string, options: CallOptions = {}): Promise<AgentService | undefined> {
    const response = await this.#transport.request<AgentService | undefined>({
      method: 'GET',
      path: `/v1/agent/service/${segment('serviceId', serviceId)}`,
      call: options,
      allowNotFound: true,
      response: 'json',
    });
    return response.body;
  }

  /**
   * Registers a service (and its checks) with the local agent, or updates it when the ID is
   * already registered. Re-registering the same definition is harmless, so this call is
   * retried on transient failures.
   *
   * @throws ValidationError for an invalid definition (see {@link serviceRegistrationBody})
   */
  async register(
    definition: AgentServiceRegistration,
    options: AgentServiceRegisterOptions = {},
  ): Promise<void> {
    const body = serviceRegistrationBody(definition);
    const { replaceExistingChecks, ...call } = options;
    await this.#transport.request({
      method: 'PUT',
      path: '/v1/agent/service/register',
      query: { 'replace-existing-checks': replaceExistingChecks === true },
      body: { json: body },
      call,
      optionKeys: SERVICE_REGISTER_OPTION_KEYS,
      idempotent: true,
      response: 'none',
    });
  }

  /**
   * Removes a service and its checks from the local agent. Consul 1.8 answers success for an
   * unknown ID too.
   */
  async deregister(serviceId: string, options: CallOptions = {}): Promise<void> {
    await this.#transport.request({
      method: 'PUT',
      path: `/v1/agent/service/deregister/${segment('serviceId', serviceId)}`,
      call: options,
      idempotent: true,
      response: 'none',
    });
  }

  /**
   * Puts a service into maintenance mode (a critical `_service_maintenance:<id>` check, so it
   * drops out of passing-only queries) or takes it out again.
   *
   * @param reason - shown as the maintenance check's notes
   * @throws NotFoundError when the agent does not know the service
   */
  async maintenance(
    serviceId: string,
    enable: boolean,
    reason?: string,
    options: CallOptions = {},
  ): Promise<void> {
    const path = `/v1/agent/service/maintenance/${segment('serviceId', serviceId)}`;
    if (typeof enable !== 'boolean') throw new ValidationError('enable', 'must be a boolean');
    if (reason !== undefined && typeof reason !== 'string')
      throw new ValidationError('reason', 'must be a string');
    await this.#transport.request({
      method: 'PUT',
      path,
      query: { enable: String(enable), reason },
      call: options,
      idempotent: true,
      response: 'none',
    });
  }
}
