/**
 * Checks on the local agent: `/v1/agent/checks` and `/v1/agent/check/*`.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import type { CallOptions } from '../../transport/types.js';
import type { AgentCheck, AgentCheckRegistration, AgentListOptions } from './agent-types.js';
import { normalizeCheckFields, validateStatus } from '../checks.js';
import type { HealthStatus } from '../health/health-types.js';
import { requireName, segment } from '../validate.js';

/**
 * Validates a check registration and returns the body to send (durations as Consul strings).
 *
 * @throws ValidationError for a missing `Name`, an `ID` containing `/`, a `CheckID` (Consul
 *   1.8 only accepts `ID` here), or an invalid check definition
 */
export function checkRegistrationBody(definition: AgentCheckRegistration): AgentCheckRegistration {
  if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) {
    throw new ValidationError('check', 'must be an object');
  }
  requireName('Name', definition.Name);
  // Spreading a service check (e.g. from a Check builder) can bring a CheckID along, which
  // Consul 1.8 refuses with "unknown field"; say so before sending.
  if ('CheckID' in definition) {
    throw new ValidationError('CheckID', 'a check registration takes its ID as `ID`, not `CheckID`');
  }
  if (definition.ID !== undefined) segment('ID', definition.ID);
  if (definition.ServiceID !== undefined) requireName('ServiceID', definition.ServiceID);
  return { ...definition, ...normalizeCheckFields(definition, 'check') };
}

/** The `agent.check` endpoints: checks registered on the local agent, and TTL updates. */
export class AgentChecks {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** Lists the checks registered on this agent, by check ID. */
  async list(options: AgentListOptions = {}): Promise<Record<string, AgentCheck>> {
    const response = await this.#transport.request<Record<string, AgentCheck> | null>({
      method: 'GET',
      path: '/v1/agent/checks',
      read: options,
      response: 'json',
    });
    return response.body ?? {};
  }

  /**
   * Registers a check with the local agent (a node check, or a service's with `ServiceID`).
   *
   * @throws ValidationError for an invalid definition (see {@link checkRegistrationBody})
   */
  async register(definition: AgentCheckRegistration, options: CallOptions = {}): Promise<void> {
    const body = checkRegistrationBody(definition);
    await this.#transport.request({
      method: 'PUT',
      path: '/v1/agent/check/register',
      body: { json: body },
      call: options,
      idempotent: true,
      response: 'none',
    });
  }

  /** Removes a check from the local agent. Consul 1.8 answers success for an unknown ID too. */
  async deregister(checkId: string, options: CallOptions = {}): Promise<void> {
    await this.#transport.request({
      method: 'PUT',
      path: `/v1/agent/check/deregister/${segment('checkId', checkId)}`,
      call: options,
      idempotent: true,
      response: 'none',
    });
  }

  /**
   * Marks a TTL check passing and restarts its TTL.
   *
   * @param note - becomes the check's output
   * @throws NotFoundError when the agent has no TTL check with this ID (e.g. after an agent restart)
   */
  pass(checkId: string, note?: string, options: CallOptions = {}): Promise<void> {
    return this.#ttl('pass', checkId, note, options);
  }

  /**
   * Marks a TTL check warning and restarts its TTL.
   *
   * @throws NotFoundError when the agent has no TTL check with this ID
   */
  warn(checkId: string, note?: string, options: CallOptions = {}): Promise<void> {
    return this.#ttl('warn', checkId, note, options);
  }

  /**
   * Marks a TTL check critical and restarts its TTL.
   *
   * @throws NotFoundError when the agent has no TTL check with this ID
   */
  fail(checkId: string, note?: string, options: CallOptions = {}): Promise<void> {
    return this.#ttl('fail', checkId, note, options);
  }

  /**
   * Sets a TTL check's status and output in one call (`/v1/agent/check/update`) and restarts
   * its TTL.
   *
   * @param output - the check's new output (Consul truncates it to the check's `OutputMaxSize`)
   * @throws ValidationError for a status other than passing, warning or critical
   * @throws NotFoundError when the agent has no TTL check with this ID
   */
  async update(
    checkId: string,
    status: HealthStatus,
    output?: string,
    options: CallOptions = {},
  ): Promise<void> {
    const path = `/v1/agent/check/update/${segment('checkId', checkId)}`;
    validateStatus('status', status);
    if (output !== undefined && typeof output !== 'string')
      throw new ValidationError('output', 'must be a string');
    await this.#transport.request({
      method: 'PUT',
      path,
      body: { json: output === undefined ? { Status: status } : { Status: status, Output: output } },
      call: options,
      idempotent: true,
      response: 'none',
    });
  }

  async #ttl(
    action: 'pass' | 'warn' | 'fail',
    checkId: string,
    note: string | undefined,
    options: CallOptions,
  ) {
    const path = `/v1/agent/check/${action}/${segment('checkId', checkId)}`;
    if (note !== undefined && typeof note !== 'string') throw new ValidationError('note', 'must be a string');
    await this.#transport.request({
      method: 'PUT',
      path,
      query: { note },
      call: options,
      // Setting a status twice is the same as setting it once.
      idempotent: true,
      response: 'none',
    });
  }
}
