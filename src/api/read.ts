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
  // What the read settles from: an answer whose body `#map` turns into the data (reads sent
  // by `read()`), or the data and metadata themselves (reads built with the constructor).
  // Mapping in the callbacks below, instead of in a `.then` of its own, saves every awaited
  // read one promise, one closure and one microtask turn.
  readonly #source: Promise<WithMeta<T> | ConsulResponse<unknown>>;
  #map: ((body: never) => T) | undefined;
  #mapped = false;
  #data: T | undefined;
  #withMeta: Promise<WithMeta<T>> | undefined;

  /** @internal */
  constructor(result: Promise<WithMeta<T>>) {
    this.#source = result;
    this.#map = undefined;
  }

  /** @internal A read whose data is `map(answer.body)`, mapped once, when first asked for. */
  static mapping<Body, T>(answer: Promise<ConsulResponse<Body>>, map: (body: Body) => T): ConsulRead<T> {
    const pending = new ConsulRead<T>(answer as unknown as Promise<WithMeta<T>>);
    pending.#map = map;
    return pending;
  }

  #dataOf(source: WithMeta<T> | ConsulResponse<unknown>): T {
    const map = this.#map;
    if (map === undefined) return (source as WithMeta<T>).data;
    if (!this.#mapped) {
      // Once: awaiting twice, or awaiting and withMeta(), gives the same data object.
      this.#data = map((source as ConsulResponse<unknown>).body as never);
      this.#mapped = true;
    }
    return this.#data as T;
  }

  /** The data and the response metadata. */
  withMeta(): Promise<WithMeta<T>> {
    // A plain object, so the metadata (parsed here, on demand) spreads and compares like data.
    return (this.#withMeta ??= this.#source.then((source) => ({
      data: this.#dataOf(source),
      meta: source.meta,
    })));
  }

  /** Resolves with the data, like any promise. */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#source.then((source) => {
      let data: T;
      try {
        data = this.#dataOf(source);
      } catch (error) {
        // A body that cannot be mapped fails the read, as a rejected answer would: it goes
        // to this call's onrejected, not past it.
        if (onrejected) return onrejected(error);
        throw error;
      }
      return onfulfilled ? onfulfilled(data) : (data as unknown as R1);
    }, onrejected);
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
 * Sends a read and maps its body, keeping the metadata. The answer's metadata stays unparsed
 * until `withMeta()` asks for it: most reads are awaited for their data alone.
 */
export function read<Body, T>(
  transport: Transport,
  spec: RequestSpec,
  map: (body: Body) => T,
): ConsulRead<T> {
  return ConsulRead.mapping(transport.request<Body>(spec), map);
}

/** Sends a read whose body is used as it is. */
export function readAs<T>(transport: Transport, spec: RequestSpec): ConsulRead<T> {
  return read<T, T>(transport, spec, (body) => body);
}
