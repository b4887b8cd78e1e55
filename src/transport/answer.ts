/**
 * The answer the transport hands back, with its metadata read from the headers only when
 * someone asks: a plain `await consul.kv.get(key)` never looks at them.
 *
 * @packageDocumentation
 */
import { util } from 'undici';
import { parseQueryMeta, type HeaderBag, type QueryMeta } from './query-meta.js';
import type { RawHeaders } from './exchange.js';
import type { ConsulResponse } from './types.js';

/** A {@link ConsulResponse} whose `meta` is parsed from the response headers on first read. */
export class Answer<T> implements ConsulResponse<T> {
  /** HTTP status. */
  readonly status: number;
  /** Decoded body. */
  readonly body: T;
  readonly #headers: HeaderBag | RawHeaders;
  #meta: QueryMeta | undefined;

  /**
   * @param headers - the response headers, either as undici's raw `[name, value, …]` list
   *   (parsed only if `meta` is read) or already parsed (lower-case names)
   * @internal
   */
  constructor(status: number, body: T, headers: HeaderBag | RawHeaders) {
    this.status = status;
    this.body = body;
    this.#headers = headers;
  }

  /** Response metadata, parsed once, on first read. */
  get meta(): QueryMeta {
    return (this.#meta ??= parseQueryMeta(headerBag(this.#headers)));
  }
}

function headerBag(headers: HeaderBag | RawHeaders): HeaderBag {
  if (!Array.isArray(headers)) return headers as HeaderBag;
  return util.parseHeaders(headers as Buffer[]) as HeaderBag;
}
