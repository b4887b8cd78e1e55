/**
 * ACL policies: `/v1/acl/policy`, `/v1/acl/policies` (Consul 1.4+ ACL system).
 *
 * @packageDocumentation
 */
import { ValidationError } from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import type { CallOptions, ReadOptions } from '../../transport/types.js';
import { ACLObjectEndpoints, aclObjectBody } from './acl-crud.js';
import type { ConsulRead } from '../read.js';

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

function policyBody(request: ACLPolicyRequest): Record<string, unknown> {
  const body = aclObjectBody('policy', request, 128);
  if (request.Rules !== undefined && typeof request.Rules !== 'string') {
    throw new ValidationError('Rules', 'must be a string of HCL or JSON rules');
  }
  return body;
}

/** The policy part of the `acl` endpoint group: `consul.acl.policy`. */
export class ACLPolicies {
  readonly #endpoints: ACLObjectEndpoints<ACLPolicy, ACLPolicyRequest>;

  /** @internal */
  constructor(transport: Transport) {
    this.#endpoints = new ACLObjectEndpoints(transport, '/v1/acl/policy', '/v1/acl/policies', policyBody);
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
  create(request: ACLPolicyRequest, options: CallOptions = {}): Promise<ACLPolicy> {
    return this.#endpoints.create(request, options);
  }

  /**
   * Reads a policy by ID. A missing policy rejects with `PermissionDeniedError` ("ACL not
   * found"), as Consul answers it with 403.
   */
  read(id: string, options: ReadOptions = {}): ConsulRead<ACLPolicy> {
    return this.#endpoints.read(id, options);
  }

  /** Reads a policy by name (Consul 1.8+); a missing one rejects like {@link ACLPolicies.read}. */
  readByName(name: string, options: ReadOptions = {}): ConsulRead<ACLPolicy> {
    return this.#endpoints.readByName(name, options);
  }

  /** Replaces a policy's name, description, rules and datacenters. */
  update(id: string, request: ACLPolicyRequest, options: CallOptions = {}): Promise<ACLPolicy> {
    return this.#endpoints.update(id, request, options);
  }

  /** Deletes a policy. Resolves `true`, also when it did not exist. */
  delete(id: string, options: CallOptions = {}): Promise<boolean> {
    return this.#endpoints.delete(id, options);
  }

  /** Lists every policy (without rules). */
  list(options: ReadOptions = {}): ConsulRead<ACLPolicyListEntry[]> {
    return this.#endpoints.list<ACLPolicyListEntry>(options);
  }
}
