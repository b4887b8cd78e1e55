/**
 * The rule for ACL tokens: what may go into the `X-Consul-Token` header.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../errors.js';

// Printable ASCII only. A CR or LF would end the header (undici refuses to send it, which
// used to surface as a retried ConsulUnavailableError); other control characters and
// non-ASCII text are refused by HTTP parsers or silently re-encoded. Consul's tokens are
// UUIDs, so nothing legitimate is excluded.
const HEADER_SAFE = /^[\x21-\x7e]+$/;

/**
 * Checks an ACL token before it is ever sent, so a configuration mistake is a
 * {@link ValidationError} at once rather than a connection failure that is retried forever.
 * The message never contains the token.
 *
 * @param field - the option's name, e.g. `token` or `CONSUL_HTTP_TOKEN`
 * @throws ValidationError for a non-string, an empty string, or a character outside printable ASCII
 */
export function validateToken(value: unknown, field = 'token'): string {
  if (typeof value !== 'string') throw new ValidationError(field, `must be a string, got ${typeof value}`);
  if (value.length === 0) throw new ValidationError(field, 'must not be empty; omit it to use the default');
  if (!HEADER_SAFE.test(value)) {
    const bad = [...value].findIndex((char) => !HEADER_SAFE.test(char));
    throw new ValidationError(
      field,
      `contains a character that cannot go into an HTTP header (position ${bad}: whitespace, a control character or non-ASCII)`,
    );
  }
  return value;
}
