/**
 * Connect intentions: `/v1/connect/intentions` (Consul 1.8: by ID; exact source/destination
 * lookup arrived in 1.9).
 *
 * @packageDocumentation
 */
import { optionKeys } from '../../options-check.js';
import { ValidationError } from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import { READ_OPTION_KEYS, type CallOptions, type ReadOptions } from '../../transport/types.js';
import type { Intention, IntentionMatchOptions, IntentionRequest } from './connect-types.js';
import { read, type ConsulRead } from '../read.js';
import { requireName, segment } from '../validate.js';

const ACTIONS: ReadonlySet<string> = new Set(['allow', 'deny']);

/** Validates an intention body; returns a fresh object so the caller's is never mutated. */
function intentionBody(request: IntentionRequest): Record<string, unknown> {
  if (request === null || typeof request !== 'object') {
    throw new ValidationError('intention', 'must be an object');
  }
  requireName('SourceName', request.SourceName);
  requireName('DestinationName', request.DestinationName);
  if (!ACTIONS.has(request.Action as string)) {
    throw new ValidationError('Action', `'${String(request.Action)}' is not 'allow' or 'deny'`);
  }
  if (request.SourceType !== undefined && request.SourceType !== 'consul') {
    throw new ValidationError('SourceType', `'${String(request.SourceType)}' is not 'consul'`);
  }
  if (request.Description !== undefined && typeof request.Description !== 'string') {
    throw new ValidationError('Description', 'must be a string');
  }
  return { ...request };
}

/** Every key of {@link IntentionMatchOptions}, for the refusal of a misspelt one. */
const INTENTION_MATCH_OPTION_KEYS = optionKeys<ReadOptions & IntentionMatchOptions>()([
  ...READ_OPTION_KEYS,
  'by',
]);

/** The intentions part of the `connect` group: `consul.connect.intentions`. */
export class ConnectIntentions {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /**
   * Creates an intention and resolves to its ID. Consul refuses a second intention for the
   * same source and destination (a `ConsulHttpError`). Needs `intentions = "write"` on the
   * destination.
   *
   * @example
   * ```ts
   * const id = await consul.connect.intentions.create({ SourceName: 'web', DestinationName: 'db', Action: 'allow' });
   * ```
   * @throws ValidationError for a missing name or an action other than `allow`/`deny`
   */
  async create(request: IntentionRequest, options: CallOptions = {}): Promise<string> {
    const response = await this.#transport.request<{ ID: string }>({
      method: 'POST',
      path: '/v1/connect/intentions',
      body: { json: intentionBody(request) },
      call: options,
      response: 'json',
    });
    return response.body.ID;
  }

  /** Reads an intention by ID; `undefined` when there is none. */
  get(id: string, options: ReadOptions = {}): ConsulRead<Intention | undefined> {
    return read<Intention | undefined, Intention | undefined>(
      this.#transport,
      {
        method: 'GET',
        path: `/v1/connect/intentions/${segment('id', id)}`,
        read: options,
        allowNotFound: true,
        response: 'json',
      },
      (body) => body,
    );
  }

  /** Every intention, in precedence order; blocking and `filter` are supported. */
  list(options: ReadOptions = {}): ConsulRead<Intention[]> {
    return read<Intention[] | null, Intention[]>(
      this.#transport,
      { method: 'GET', path: '/v1/connect/intentions', read: options, response: 'json' },
      (body) => body ?? [],
    );
  }

  /**
   * The intentions that apply to each name as a source or a destination, most precedent
   * first, keyed by the names asked for.
   *
   * @throws ValidationError for an empty name list or a `by` other than source/destination
   */
  match(
    names: string | readonly string[],
    options: IntentionMatchOptions,
  ): ConsulRead<Record<string, Intention[]>> {
    const list = typeof names === 'string' ? [names] : names;
    if (!Array.isArray(list) || list.length === 0)
      throw new ValidationError('names', 'give at least one name');
    list.forEach((name, i) => requireName(`names[${i}]`, name));
    const { by, ...rest } = options ?? ({} as IntentionMatchOptions);
    if (by !== 'source' && by !== 'destination') {
      throw new ValidationError('by', `'${String(by)}' is not 'source' or 'destination'`);
    }
    return read<Record<string, Intention[] | null>, Record<string, Intention[]>>(
      this.#transport,
      {
        method: 'GET',
        path: '/v1/connect/intentions/match',
        query: { by, name: list },
        read: rest,
        optionKeys: INTENTION_MATCH_OPTION_KEYS,
        response: 'json',
      },
      (body) => Object.fromEntries(Object.entries(body ?? {}).map(([name, found]) => [name, found ?? []])),
    );
  }

  /**
   * Whether a connection from `source` to `destination` would be allowed, under the
   * intentions and the ACL default policy. Needs `service = "read"` on the destination.
   */
  async check(source: string, destination: string, options: CallOptions = {}): Promise<boolean> {
    requireName('source', source);
    requireName('destination', destination);
    const response = await this.#transport.request<{ Allowed: boolean }>({
      method: 'GET',
      path: '/v1/connect/intentions/check',
      query: { source, destination },
      call: options,
      response: 'json',
    });
    return response.body.Allowed === true;
  }

  /** Replaces an intention's content. Source and destination may change; the ID stays. */
  async update(id: string, request: IntentionRequest, options: CallOptions = {}): Promise<void> {
    const path = `/v1/connect/intentions/${segment('id', id)}`;
    await this.#transport.request({
      method: 'PUT',
      path,
      body: { json: intentionBody(request) },
      call: options,
      idempotent: true,
      response: 'none',
    });
  }

  /** Deletes an intention; deleting one that does not exist is not an error. */
  async delete(id: string, options: CallOptions = {}): Promise<void> {
    await this.#transport.request({
      method: 'DELETE',
      path: `/v1/connect/intentions/${segment('id', id)}`,
      call: options,
      idempotent: true,
      response: 'none',
    });
  }
}
