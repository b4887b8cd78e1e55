/**
 * What every request of one kind (method, endpoint group, blocking or not) shares: its span
 * name, its span options and its metric attribute objects. They are built on first use and
 * then reused, so that recording a request allocates no attribute object: the hooks run on
 * every request, and building these objects was most of their cost.
 *
 * The caches are bounded: consulkit builds its paths itself, so the kinds in use are few (a
 * few methods × the Consul endpoint groups), but a bound keeps memory flat whatever happens;
 * past it, objects are built per request, as correct as before and only slower.
 *
 * @packageDocumentation
 */
import { SpanKind, type Attributes, type SpanOptions } from '@opentelemetry/api';
import { ATTRIBUTES } from './names.js';

/** Kinds kept per client; far above what the Consul API can produce. */
const MAX_KINDS = 512;
/** Attribute variants (status × error type, or outcome) kept per kind. */
const MAX_VARIANTS = 64;

/** The shared parts of every request of one method, endpoint group and blocking flag. */
export class RequestKind {
  readonly method: string;
  readonly group: string;
  readonly blocking: boolean;
  /** `GET consul.kv`. */
  readonly spanName: string;
  /**
   * Start options of its span. They carry every attribute known before the request but
   * `url.path`, which is set only on a recording span so a sampled-out one costs nothing.
   */
  readonly spanOptions: SpanOptions;
  /** `server.*`, method, group, blocking: the duration histogram's attributes before the outcome. */
  readonly #base: Attributes;
  readonly #durations = new Map<number | string | undefined, Attributes>();
  readonly #counts = new Map<string, Attributes>();

  constructor(server: Attributes, method: string, group: string, blocking: boolean) {
    this.method = method;
    this.group = group;
    this.blocking = blocking;
    this.spanName = `${method} consul.${group}`;
    this.#base = Object.freeze({
      ...server,
      [ATTRIBUTES.httpMethod]: method,
      [ATTRIBUTES.endpointGroup]: group,
      [ATTRIBUTES.blocking]: blocking,
    });
    this.spanOptions = Object.freeze({ kind: SpanKind.CLIENT, attributes: this.#base });
  }

  /** Attributes of `http.client.request.duration` for an answer with `status` or a failure of `type`. */
  durationAttributes(status: number | undefined, type: string | undefined): Attributes {
    // A number key for the common case (an answer), so looking it up builds no string.
    const key = type === undefined ? status : `${status ?? '-'} ${type}`;
    let attributes = this.#durations.get(key);
    if (attributes === undefined) {
      const built: Attributes = { ...this.#base };
      if (status !== undefined) built[ATTRIBUTES.httpStatus] = status;
      if (type !== undefined) built[ATTRIBUTES.errorType] = type;
      attributes = Object.freeze(built);
      if (this.#durations.size < MAX_VARIANTS) this.#durations.set(key, attributes);
    }
    return attributes;
  }

  /** Attributes of `consulkit.requests` for `outcome`. */
  countAttributes(outcome: string): Attributes {
    let attributes = this.#counts.get(outcome);
    if (attributes === undefined) {
      attributes = Object.freeze({
        [ATTRIBUTES.httpMethod]: this.method,
        [ATTRIBUTES.endpointGroup]: this.group,
        [ATTRIBUTES.outcome]: outcome,
      });
      if (this.#counts.size < MAX_VARIANTS) this.#counts.set(outcome, attributes);
    }
    return attributes;
  }
}

/** The request kinds of one client, by method, then group, then blocking flag. */
export class RequestKinds {
  readonly #server: Attributes;
  readonly #byMethod = new Map<string, Map<string, [RequestKind?, RequestKind?]>>();
  #size = 0;

  /** @param server - the `server.address` / `server.port` attributes of the client's agent */
  constructor(server: Attributes) {
    this.#server = server;
  }

  /** The kind of a request; the same object for every request of that kind (within the bound). */
  get(method: string, group: string, blocking: boolean): RequestKind {
    const index = blocking ? 1 : 0;
    const known = this.#byMethod.get(method)?.get(group)?.[index];
    if (known !== undefined) return known;
    const kind = new RequestKind(this.#server, method, group, blocking);
    if (this.#size < MAX_KINDS) {
      let byGroup = this.#byMethod.get(method);
      if (byGroup === undefined) {
        byGroup = new Map();
        this.#byMethod.set(method, byGroup);
      }
      let pair = byGroup.get(group);
      if (pair === undefined) {
        pair = [];
        byGroup.set(group, pair);
      }
      pair[index] = kind;
      this.#size++;
    }
    return kind;
  }
}
