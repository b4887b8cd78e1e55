/**
 * ACL binding rules: `/v1/acl/binding-rule`, `/v1/acl/binding-rules` (Consul 1.5+). They turn
 * an auth method's verified identity into the roles or service identities of a login token.
 *
 * @packageDocumentation
 */
import { optionKeys } from '../../options-check.js';
import { ValidationError } from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import { READ_OPTION_KEYS, type CallOptions, type ReadOptions } from '../../transport/types.js';
import { read, readAs, type ConsulRead } from '../read.js';
import { requireName, segment } from '../validate.js';

/** What a binding rule grants: a service identity or a role (node identities arrived in 1.13). */
export type ACLBindType = 'service' | 'role';

/** A binding rule as Consul returns it. */
export interface ACLBindingRule {
  /** Rule ID (UUID). */
  ID: string;
  /** Free-form description. */
  Description: string;
  /** The auth method it applies to. */
  AuthMethod: string;
  /** Filter expression on the login's verified claims; empty matches every login. */
  Selector: string;
  /** `service` or `role`. */
  BindType: ACLBindType;
  /** Name of the service identity or role, with `${…}` claim interpolation. */
  BindName: string;
  /** Namespace (Consul Enterprise). */
  Namespace?: string;
  /** Raft index of creation. */
  CreateIndex: bigint;
  /** Raft index of the last change. */
  ModifyIndex: bigint;
}

/** Body of a binding rule create or update. */
export interface ACLBindingRuleRequest {
  /** The auth method it applies to. Immutable. */
  AuthMethod: string;
  /** `service` or `role`. */
  BindType: ACLBindType;
  /** Name of the service identity or role, e.g. `${value.service}`. */
  BindName: string;
  /** Filter expression on the login's claims, e.g. `value.team == ops`. */
  Selector?: string;
  /** Free-form description. */
  Description?: string;
}

/** Options of {@link ACLBindingRules.list}. */
export interface ACLBindingRuleListOptions extends ReadOptions {
  /** Only the rules of this auth method. */
  authMethod?: string;
}

function ruleBody(request: ACLBindingRuleRequest): Record<string, unknown> {
  if (request === null || typeof request !== 'object')
    throw new ValidationError('bindingRule', 'must be an object');
  requireName('AuthMethod', request.AuthMethod);
  if (request.BindType !== 'service' && request.BindType !== 'role') {
    throw new ValidationError('BindType', `'${String(request.BindType)}' is not 'service' or 'role'`);
  }
  requireName('BindName', request.BindName);
  if (request.Selector !== undefined && typeof request.Selector !== 'string') {
    throw new ValidationError('Selector', 'must be a string');
  }
  return { ...request };
}

/** Every key of {@link ACLBindingRuleListOptions}, for the refusal of a misspelt one. */
const ACL_BINDING_RULE_LIST_OPTION_KEYS = optionKeys<ReadOptions & ACLBindingRuleListOptions>()([
  ...READ_OPTION_KEYS,
  'authMethod',
]);

/** The binding-rule part of the `acl` group: `consul.acl.bindingRule`. */
export class ACLBindingRules {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /**
   * Creates a binding rule. Needs `acl = "write"`.
   *
   * @example
   * ```ts
   * await consul.acl.bindingRule.create({ AuthMethod: 'ci', BindType: 'service', BindName: '${value.service}' });
   * ```
   */
  async create(request: ACLBindingRuleRequest, options: CallOptions = {}): Promise<ACLBindingRule> {
    const response = await this.#transport.request<ACLBindingRule>({
      method: 'PUT',
      path: '/v1/acl/binding-rule',
      body: { json: ruleBody(request) },
      call: options,
      response: 'json',
    });
    return response.body;
  }

  /** Reads a binding rule by ID; `undefined` when there is none. */
  read(id: string, options: ReadOptions = {}): ConsulRead<ACLBindingRule | undefined> {
    return readAs<ACLBindingRule | undefined>(this.#transport, {
      method: 'GET',
      path: `/v1/acl/binding-rule/${segment('id', id)}`,
      read: options,
      allowNotFound: true,
      response: 'json',
    });
  }

  /** Replaces a binding rule's content; its auth method cannot change. */
  async update(
    id: string,
    request: ACLBindingRuleRequest,
    options: CallOptions = {},
  ): Promise<ACLBindingRule> {
    const path = `/v1/acl/binding-rule/${segment('id', id)}`;
    const response = await this.#transport.request<ACLBindingRule>({
      method: 'PUT',
      path,
      body: { json: { ...ruleBody(request), ID: id } },
      call: options,
      idempotent: true,
      response: 'json',
    });
    return response.body;
  }

  /** Deletes a binding rule. */
  async delete(id: string, options: CallOptions = {}): Promise<boolean> {
    const response = await this.#transport.request<boolean>({
      method: 'DELETE',
      path: `/v1/acl/binding-rule/${segment('id', id)}`,
      call: options,
      idempotent: true,
      response: 'json',
    });
    return response.body === true;
  }

  /** Every binding rule, or those of one auth method; `[]` when there are none. */
  list(options: ACLBindingRuleListOptions = {}): ConsulRead<ACLBindingRule[]> {
    const { authMethod, ...rest } = options;
    if (authMethod !== undefined) requireName('authMethod', authMethod);
    return read<ACLBindingRule[] | null, ACLBindingRule[]>(
      this.#transport,
      {
        method: 'GET',
        path: '/v1/acl/binding-rules',
        query: { authmethod: authMethod },
        read: rest,
        optionKeys: ACL_BINDING_RULE_LIST_OPTION_KEYS,
        response: 'json',
      },
      (body) => body ?? [],
    );
  }
}
