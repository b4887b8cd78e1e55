/**
 * ACL roles: `/v1/acl/role`, `/v1/acl/roles` (Consul 1.5+). A role bundles policies and
 * identities that tokens link to by name.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../errors.js';
import type { Transport } from '../transport/transport.js';
import type { CallOptions, ReadOptions } from '../transport/types.js';
import type { ACLLink, ACLNodeIdentity, ACLServiceIdentity } from './acl-tokens.js';
import { validateLinks } from './acl-tokens.js';
import { read, readAs, type ConsulRead } from './read.js';
import { requireName, segment } from './validate.js';

/** An ACL role as Consul returns it. */
export interface ACLRole {
  /** Role ID (UUID). */
  ID: string;
  /** Unique name. */
  Name: string;
  /** Free-form description. */
  Description: string;
  /** Linked policies. */
  Policies?: ACLLink[] | null;
  /** Service identities. */
  ServiceIdentities?: ACLServiceIdentity[] | null;
  /** Node identities (Consul 1.8.1+). */
  NodeIdentities?: ACLNodeIdentity[] | null;
  /** Hash of the role's content (base64). */
  Hash: string;
  /** Namespace (Consul Enterprise). */
  Namespace?: string;
  /** Raft index of creation. */
  CreateIndex: bigint;
  /** Raft index of the last change. */
  ModifyIndex: bigint;
}

/** Body of a role create or update. */
export interface ACLRoleRequest {
  /** Unique name: letters, digits, `-` and `_`, at most 256 characters. */
  Name: string;
  /** Free-form description. */
  Description?: string;
  /** Policies to link. */
  Policies?: ACLLink[];
  /** Service identities. */
  ServiceIdentities?: ACLServiceIdentity[];
  /** Node identities (Consul 1.8.1+). */
  NodeIdentities?: ACLNodeIdentity[];
  /** Namespace (Consul Enterprise). */
  Namespace?: string;
}

/** Options of {@link ACLRoles.list}. */
export interface ACLRoleListOptions extends ReadOptions {
  /** Only roles linked to this policy ID. */
  policy?: string;
}

// Consul's own rule for role names (agent/structs validRoleName).
const ROLE_NAME = /^[A-Za-z0-9\-_]{1,256}$/;

function roleBody(request: ACLRoleRequest): Record<string, unknown> {
  if (request === null || typeof request !== 'object') throw new ValidationError('role', 'must be an object');
  if (typeof request.Name !== 'string' || !ROLE_NAME.test(request.Name)) {
    throw new ValidationError('Name', `'${String(request.Name)}' must be 1-256 letters, digits, '-' or '_'`);
  }
  validateLinks('Policies', request.Policies);
  return { ...request };
}

/** The role part of the `acl` endpoint group: `consul.acl.role`. */
export class ACLRoles {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** Creates a role. Needs `acl = "write"`. */
  async create(request: ACLRoleRequest, options: CallOptions = {}): Promise<ACLRole> {
    const response = await this.#transport.request<ACLRole>({
      method: 'PUT',
      path: '/v1/acl/role',
      body: { json: roleBody(request) },
      call: options,
      response: 'json',
    });
    return response.body;
  }

  /** Reads a role by ID; a missing role rejects with `PermissionDeniedError` ("ACL not found"). */
  read(id: string, options: ReadOptions = {}): ConsulRead<ACLRole> {
    return readAs<ACLRole>(this.#transport, {
      method: 'GET',
      path: `/v1/acl/role/${segment('id', id)}`,
      read: options,
      response: 'json',
    });
  }

  /** Reads a role by name; a missing role rejects like {@link ACLRoles.read}. */
  readByName(name: string, options: ReadOptions = {}): ConsulRead<ACLRole> {
    return readAs<ACLRole>(this.#transport, {
      method: 'GET',
      path: `/v1/acl/role/name/${segment('name', name)}`,
      read: options,
      response: 'json',
    });
  }

  /** Replaces a role's name, description, policies and identities. */
  async update(id: string, request: ACLRoleRequest, options: CallOptions = {}): Promise<ACLRole> {
    const path = `/v1/acl/role/${segment('id', id)}`;
    const response = await this.#transport.request<ACLRole>({
      method: 'PUT',
      path,
      body: { json: { ...roleBody(request), ID: id } },
      call: options,
      idempotent: true,
      response: 'json',
    });
    return response.body;
  }

  /** Deletes a role. Resolves `true`, also when it did not exist. */
  async delete(id: string, options: CallOptions = {}): Promise<boolean> {
    const response = await this.#transport.request<boolean>({
      method: 'DELETE',
      path: `/v1/acl/role/${segment('id', id)}`,
      call: options,
      idempotent: true,
      response: 'json',
    });
    return response.body === true;
  }

  /** Lists roles, optionally only those linked to a policy. */
  list(options: ACLRoleListOptions = {}): ConsulRead<ACLRole[]> {
    const { policy, ...rest } = options;
    return read<ACLRole[] | null, ACLRole[]>(
      this.#transport,
      {
        method: 'GET',
        path: '/v1/acl/roles',
        query: { policy: policy === undefined ? undefined : requireName('policy', policy) },
        read: rest,
        response: 'json',
      },
      (body) => body ?? [],
    );
  }
}
