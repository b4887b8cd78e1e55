/**
 * ACL policies: `/v1/acl/policy`, `/v1/acl/policies` (Consul 1.4+ ACL system).
 *
 * @packageDocumentation
 */
import { ValidationError } from '../errors.js';
import type { Transport } from '../transport/transport.js';
import type { CallOptions, ReadOptions } from '../transport/types.js';
import { read, readAs, type ConsulRead } from './read.js';
import { segment } from './validate.js';

/** An ACL policy as Consul returns it. */
export interface ACLPolicy {
  /** Policy ID (UUID). */
  ID: string;
  /** Unique name. */
  Name: string;
  /** Free-form description. */
  Description: string;
  /** The rules, in HCL or JSON. */
  Rules: string;
  /** Datacenters the policy applies in; all when empty. */
  Datacenters?: string[] | null;
  /** Hash of the policy's content (base64). */
  Hash: string;
  /** Namespace (Consul Enterprise). */
  Namespace?: string;
  /** Raft index of creation. */
  CreateIndex: bigint;
  /** Raft index of the last change. */
  ModifyIndex: bigint;
}

/** A policy as listed by `GET /v1/acl/policies` (without its rules). */
export type ACLPolicyListEntry = Omit<ACLPolicy, 'Rules'>;

/** Body of a policy create or update. */
export interface ACLPolicyRequest {
  /** Unique name: letters, digits, `-` and `_`, at most 128 characters. */
  Name: string;
  /** Free-form description. */
  Description?: string;
  /** The rules, in HCL or JSON, e.g. `key_prefix "app/" { policy = "read" }`. */
  Rules?: string;
  /** Limit the policy to these datacenters. */
  Datacenters?: string[];
  /** Namespace (Consul Enterprise). */
  Namespace?: string;
}

// Consul's own rule for policy names (agent/structs validPolicyName).
const POLICY_NAME = /^[A-Za-z0-9\-_]{1,128}$/;

function policyBody(request: ACLPolicyRequest): Record<string, unknown> {
  if (request === null || typeof request !== 'object')
    throw new ValidationError('policy', 'must be an object');
  if (typeof request.Name !== 'string' || !POLICY_NAME.test(request.Name)) {
    throw new ValidationError('Name', `'${String(request.Name)}' must be 1-128 letters, digits, '-' or '_'`);
  }
  if (request.Rules !== undefined && typeof request.Rules !== 'string') {
    throw new ValidationError('Rules', 'must be a string of HCL or JSON rules');
  }
  return { ...request };
}

/** The policy part of the `acl` endpoint group: `consul.acl.policy`. */
export class ACLPolicies {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /**
   * Creates a policy. Needs `acl = "write"`.
   *
   * @example
   * ```ts
   * await consul.acl.policy.create({ Name: 'app-read', Rules: 'key_prefix "app/" { policy = "read" }' });
   * ```
   * @throws ValidationError for a name Consul would refuse
   */
  async create(request: ACLPolicyRequest, options: CallOptions = {}): Promise<ACLPolicy> {
    const response = await this.#transport.request<ACLPolicy>({
      method: 'PUT',
      path: '/v1/acl/policy',
      body: { json: policyBody(request) },
      call: options,
      response: 'json',
    });
    return response.body;
  }

  /**
   * Reads a policy by ID. A missing policy rejects with `PermissionDeniedError` ("ACL not
   * found"), as Consul answers it with 403.
   */
  read(id: string, options: ReadOptions = {}): ConsulRead<ACLPolicy> {
    return readAs<ACLPolicy>(this.#transport, {
      method: 'GET',
      path: `/v1/acl/policy/${segment('id', id)}`,
      read: options,
      response: 'json',
    });
  }

  /** Reads a policy by name (Consul 1.8+); a missing one rejects like {@link ACLPolicies.read}. */
  readByName(name: string, options: ReadOptions = {}): ConsulRead<ACLPolicy> {
    return readAs<ACLPolicy>(this.#transport, {
      method: 'GET',
      path: `/v1/acl/policy/name/${segment('name', name)}`,
      read: options,
      response: 'json',
    });
  }

  /** Replaces a policy's name, description, rules and datacenters. */
  async update(id: string, request: ACLPolicyRequest, options: CallOptions = {}): Promise<ACLPolicy> {
    const path = `/v1/acl/policy/${segment('id', id)}`;
    const response = await this.#transport.request<ACLPolicy>({
      method: 'PUT',
      path,
      body: { json: { ...policyBody(request), ID: id } },
      call: options,
      idempotent: true,
      response: 'json',
    });
    return response.body;
  }

  /** Deletes a policy. Resolves `true`, also when it did not exist. */
  async delete(id: string, options: CallOptions = {}): Promise<boolean> {
    const response = await this.#transport.request<boolean>({
      method: 'DELETE',
      path: `/v1/acl/policy/${segment('id', id)}`,
      call: options,
      idempotent: true,
      response: 'json',
    });
    return response.body === true;
  }

  /** Lists every policy (without rules). */
  list(options: ReadOptions = {}): ConsulRead<ACLPolicyListEntry[]> {
    return read<ACLPolicyListEntry[] | null, ACLPolicyListEntry[]>(
      this.#transport,
      { method: 'GET', path: '/v1/acl/policies', read: options, response: 'json' },
      (body) => body ?? [],
    );
  }
}
