/**
 * The calls that ACL policies and roles share. Both are named objects at `/v1/acl/<kind>`
 * with the same create, read by ID or name, update, delete and list endpoints; only the body
 * they accept differs. `ACLPolicies` and `ACLRoles` keep the public methods (and
 * their TSDoc) and delegate here.
 *
 * @internal
 * @packageDocumentation
 */
import { ValidationError } from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import type { CallOptions, QueryValue, ReadOptions } from '../../transport/types.js';
import { read, readAs, type ConsulRead } from '../read.js';
import { localOnly, segment } from '../validate.js';

/**
 * Checks the part of a policy or role body that both share: an object whose `Name` follows
 * Consul's rule (agent/structs validPolicyName / validRoleName: letters, digits, `-` and `_`,
 * at most `maxName` characters). Returns the pattern-checked body as a fresh object.
 *
 * @internal
 */
export function aclObjectBody<Req extends { Name: string }>(
  kind: 'policy' | 'role',
  request: Req,
  maxName: number,
): Record<string, unknown> {
  if (request === null || typeof request !== 'object') throw new ValidationError(kind, 'must be an object');
  const name: unknown = request.Name;
  if (
    typeof name !== 'string' ||
    name.length < 1 ||
    name.length > maxName ||
    !/^[A-Za-z0-9\-_]+$/.test(name)
  ) {
    throw new ValidationError('Name', `'${String(name)}' must be 1-${maxName} letters, digits, '-' or '_'`);
  }
  return { ...request };
}

/**
 * Create, read, update, delete and list of one kind of ACL object.
 *
 * @internal
 */
export class ACLObjectEndpoints<T, Req> {
  readonly #transport: Transport;
  readonly #path: string;
  readonly #listPath: string;
  readonly #body: (request: Req) => Record<string, unknown>;

  /**
   * @param path - the object's endpoint, e.g. `/v1/acl/policy`
   * @param listPath - the list endpoint, e.g. `/v1/acl/policies`
   * @param body - validates a request and returns the JSON body; throws `ValidationError`
   */
  constructor(
    transport: Transport,
    path: string,
    listPath: string,
    body: (request: Req) => Record<string, unknown>,
  ) {
    this.#transport = transport;
    this.#path = path;
    this.#listPath = listPath;
    this.#body = body;
  }

  async create(request: Req, options: CallOptions): Promise<T> {
    const response = await this.#transport.request<T>({
      method: 'PUT',
      path: this.#path,
      body: { json: this.#body(request) },
      call: localOnly(options, 'ACL writes'),
      response: 'json',
    });
    return response.body;
  }

  read(id: string, options: ReadOptions): ConsulRead<T> {
    return readAs<T>(this.#transport, {
      method: 'GET',
      path: `${this.#path}/${segment('id', id)}`,
      read: options,
      response: 'json',
    });
  }

  readByName(name: string, options: ReadOptions): ConsulRead<T> {
    return readAs<T>(this.#transport, {
      method: 'GET',
      path: `${this.#path}/name/${segment('name', name)}`,
      read: options,
      response: 'json',
    });
  }

  async update(id: string, request: Req, options: CallOptions): Promise<T> {
    // The ID is checked before the body, so a bad ID is the error reported.
    const path = `${this.#path}/${segment('id', id)}`;
    const response = await this.#transport.request<T>({
      method: 'PUT',
      path,
      body: { json: { ...this.#body(request), ID: id } },
      call: localOnly(options, 'ACL writes'),
      idempotent: true,
      response: 'json',
    });
    return response.body;
  }

  async delete(id: string, options: CallOptions): Promise<boolean> {
    const response = await this.#transport.request<boolean>({
      method: 'DELETE',
      path: `${this.#path}/${segment('id', id)}`,
      call: localOnly(options, 'ACL writes'),
      idempotent: true,
      response: 'json',
    });
    return response.body === true;
  }

  /** Consul answers `null` for an empty list; this gives `[]`. */
  list<E>(
    options: ReadOptions,
    query?: Readonly<Record<string, QueryValue>>,
    optionKeys?: readonly string[],
  ): ConsulRead<E[]> {
    return read<E[] | null, E[]>(
      this.#transport,
      {
        method: 'GET',
        path: this.#listPath,
        ...(query === undefined ? {} : { query }),
        read: options,
        ...(optionKeys === undefined ? {} : { optionKeys }),
        response: 'json',
      },
      (body) => body ?? [],
    );
  }
}
