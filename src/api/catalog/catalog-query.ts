/**
 * Query parameters shared by the catalog and health endpoints (`tag`, `near`, `node-meta`),
 * and the check that an option is not sent to an endpoint that ignores it.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../../errors.js';

/**
 * Encodes node metadata filters as Consul's repeated `node-meta=key:value` parameter. Consul
 * splits each pair at the first `:`, so a key must not contain one (a value may).
 *
 * @throws ValidationError for an empty key, a key containing `:`, or a non-string value
 */
export function nodeMetaQuery(nodeMeta: Readonly<Record<string, string>> | undefined): string[] | undefined {
  if (nodeMeta === undefined) return undefined;
  if (nodeMeta === null || typeof nodeMeta !== 'object' || Array.isArray(nodeMeta)) {
    throw new ValidationError('nodeMeta', 'must be an object of string values');
  }
  return Object.entries(nodeMeta).map(([key, value]) => {
    if (key === '' || key.includes(':'))
      throw new ValidationError('nodeMeta', `key '${key}' must be non-empty without ':'`);
    if (typeof value !== 'string') throw new ValidationError(`nodeMeta.${key}`, 'must be a string');
    return `${key}:${value}`;
  });
}

/**
 * Encodes a tag filter as Consul's repeated `tag` parameter (several tags: instances must
 * carry all of them).
 *
 * @throws ValidationError for an empty tag or a non-string
 */
export function tagQuery(tag: string | readonly string[] | undefined): string[] | undefined {
  if (tag === undefined) return undefined;
  const tags: readonly unknown[] = typeof tag === 'string' ? [tag] : tag;
  if (!Array.isArray(tags)) throw new ValidationError('tag', 'must be a string or an array of strings');
  for (const item of tags) {
    if (typeof item !== 'string' || item === '')
      throw new ValidationError('tag', 'tags must be non-empty strings');
  }
  return [...(tags as string[])];
}

/** Validates the `near` option: a node name, or `_agent`. */
export function nearQuery(near: string | undefined): string | undefined {
  if (near !== undefined && (typeof near !== 'string' || near === '')) {
    throw new ValidationError('near', 'must be a node name or _agent');
  }
  return near;
}

/**
 * Refuses an option the endpoint does not support, which Consul would silently ignore (for
 * JavaScript callers; the option types already leave it out).
 */
export function rejectUnsupported(options: object, name: 'cached' | 'filter', endpoint: string): void {
  if ((options as Record<string, unknown>)[name] !== undefined) {
    throw new ValidationError(name, `${endpoint} does not support ${name}`);
  }
}
