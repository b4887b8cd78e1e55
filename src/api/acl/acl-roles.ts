/**
 * ACL roles: `/v1/acl/role`, `/v1/acl/roles` (Consul 1.5+). A role bundles policies and
 * identities that tokens link to by name.
 *
 * @packageDocumentation
 */
import type { Transport } from '../../transport/transport.js';
import { optionKeys } from '../../options-check.js';
import { READ_OPTION_KEYS, type CallOptions, type ReadOptions } from '../../transport/types.js';
import type { ACLLink, ACLNodeIdentity, ACLServiceIdentity } from './acl-tokens.js';
import { validateLinks } from './acl-tokens.js';
import { ACLObjectEndpoints, aclObjectBody } from './acl-crud.js';
import type { ConsulRead } from '../read.js';
import { requireName } from '../validate.js';

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

/** Every key of {@link ACLRoleListOptions}, for the refusal of a misspelt one. */
const ACL_ROLE_LIST_OPTION_KEYS = optionKeys<ACLRoleListOptions>()([...READ_OPTION_KEYS, 'policy']);

function roleBody(request: ACLRoleRequest): Record<string, unknown> {
  const body = aclObjectBody('role', request, 256);
  validateLinks('Policies', request.Policies);
  return body;
}

/** The role part of the `acl` endpoint group: `consul.acl.role`. */
export class ACLRoles {
  readonly #endpoints: ACLObjectEndpoints<ACLRole, ACLRoleRequest>;

  /** @internal */
  constructor(transport: Transport) {
    this.#endpoints = new ACLObjectEndpoints(transport, '/v1/acl/role', '/v1/acl/roles', roleBody);
  }

  /** Creates a role. Needs `acl = "write"`. */
  create(request: ACLRoleRequest, options: CallOptions = {}): Promise<ACLRole> {
    return this.#endpoints.create(request, options);
  }

  /** Reads a role by ID; a missing role rejects with `PermissionDeniedError` ("ACL not found"). */
  read(id: string, options: ReadOptions = {}): ConsulRead<ACLRole> {
    return this.#endpoints.read(id, options);
  }

  /** Reads a role by name; a missing role rejects like {@link ACLRoles.read}. */
  readByName(name: string, options: ReadOptions = {}): ConsulRead<ACLRole> {
    return this.#endpoints.readByName(name, options);
  }

  /** Replaces a role's name, description, policies and identities. */
  update(id: string, request: ACLRoleRequest, options: CallOptions = {}): Promise<ACLRole> {
    return this.#endpoints.update(id, request, options);
  }

  /** Deletes a role. Resolves `true`, also when it did not exist. */
  delete(id: string, options: CallOptions = {}): Promise<boolean> {
    return this.#endpoints.delete(id, options);
  }

  /** Lists roles, optionally only those linked to a policy. */
  list(options: ACLRoleListOptions = {}): ConsulRead<ACLRole[]> {
    const { policy, ...rest } = options;
    return this.#endpoints.list<ACLRole>(
      rest,
      { policy: policy === undefined ? undefined : requireName('policy', policy) },
      ACL_ROLE_LIST_OPTION_KEYS,
    );
  }
}
