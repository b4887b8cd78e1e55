/**
 * The result type of every read in the api layer: awaitable for the data alone, with
 * `.withMeta()` for the data plus Consul's response metadata (index for blocking, leader,
 * consistency, cache).
 *
 * @packageDocumentation
 */
import type { Transport } from '../transport/transport.js';
import type { QueryMeta } from '../transport/query-meta.js';
import type { ConsulResponse, RequestSpec } from '../transport/types.js';

/** Data together with the metadata of the answer that carried it. */
export interface WithMeta<T> {
  /** The decoded answer. */
  data: T;
  /** Index, known-leader, last-contact, effective consistency and cache facts of the answer. */
  meta: QueryMeta;
}

/**
 * A read in flight. `await read` gives the data; `await read.withMeta()` gives
 * `{ data, meta }`, whose `meta.index` feeds the next blocking query.
 *
 * @example
 * ```ts
 * const { data, meta } = await consul.kv.get('app/flag').withMeta();
 * const next = await consul.kv.get('app/flag', { index: meta.index, wait: '30s' });
 * ```
 */
export class ConsulRead<T> implements Promise<T> {
  readonly #result: Promise<WithMeta<T>>;
  #withMeta: Promise<WithMeta<T>> | undefined;

  /** @internal */
  constructor(result: Promise<WithMeta<T>>) {
    this.#result = result;
  }

  /** The data and the response metadata. */
  withMeta(): Promise<WithMeta<T>> {
    // A plain object, so the metadata (parsed here, on demand) spreads and compares like data.
    return (this.#withMeta ??= this.#result.then(({ data, meta }) => ({ data, meta })));
  }

  /** Resolves with the data, like any promise. */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#result.then(
      onfulfilled ? (result) => onfulfilled(result.data) : (result) => result.data as unknown as R1,
      onrejected,
    );
  }

  /** Handles a failure, like `Promise.prototype.catch`. */
  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onrejected);
  }

  /** Runs `onfinally` when settled, like `Promise.prototype.finally`. */
  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onfinally);
  }

  /** `'ConsulRead'`. */
  get [Symbol.toStringTag](): string {
    return 'ConsulRead';
  }
}

/**
 * Mapped data with the answer it came from. `meta` stays unparsed until read: most reads are
 * awaited for their data alone, and parsing the headers of each is work nobody uses.
 */
class MappedAnswer<T> implements WithMeta<T> {
  readonly data: T;
  readonly #response: ConsulResponse<unknown>;

  constructor(data: T, response: ConsulResponse<unknown>) {
    this.data = data;
    this.#response = response;
  }

  get meta(): QueryMeta {
    return this.#response.meta;
  }
}

/** Sends a read and maps its body, keeping the metadata. */
export function read<Body, T>(
  transport: Transport,
  spec: RequestSpec,
  map: (body: Body) => T,
): ConsulRead<T> {
  return new ConsulRead(
    transport.request<Body>(spec).then((response) => new MappedAnswer(map(response.body), response)),
  );
}

/** Sends a read whose body is used as it is. */
export function readAs<T>(transport: Transport, spec: RequestSpec): ConsulRead<T> {
  return read<T, T>(transport, spec, (body) => body);
}
