/**
 * The answer the transport hands back, with its metadata read from the headers only when
 * someone asks: a plain `await consul.kv.get(key)` never looks at them.
 *
 * @packageDocumentation
 */
import { parseQueryMeta, type HeaderBag, type QueryMeta } from './query-meta.js';
import type { ConsulResponse } from './types.js';

/** A {@link ConsulResponse} whose `meta` is parsed from the response headers on first read. */
export class Answer<T> implements ConsulResponse<T> {
  /** HTTP status. */
  readonly status: number;
  /** Decoded body. */
  readonly body: T;
  readonly #headers: HeaderBag;
  #meta: QueryMeta | undefined;

  /** @internal */
  constructor(status: number, body: T, headers: HeaderBag) {
    this.status = status;
    this.body = body;
    this.#headers = headers;
  }

  /** Response metadata, parsed once, on first read. */
  get meta(): QueryMeta {
    return (this.#meta ??= parseQueryMeta(this.#headers));
  }
}
