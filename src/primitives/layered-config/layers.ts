/**
 * Which KV folders make up a layered config, and in which order they apply: Spring Cloud
 * Consul's layout, lowest precedence first.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../../errors.js';

/** One layer: a folder under the root, e.g. `config/billing,prod/`. */
export interface ConfigLayer {
  /** The layer's name, e.g. `billing,prod`. */
  readonly name: string;
  /** Its folder in Consul, with a trailing slash, e.g. `config/billing,prod/`. */
  readonly folder: string;
}

const LAYER_PART = /^[A-Za-z0-9_.-]+$/;

function part(field: string, value: unknown): string {
  if (typeof value !== 'string' || !LAYER_PART.test(value) || value === '.' || value === '..') {
    throw new ValidationError(field, `'${String(value)}' must be letters, digits, '_', '.' or '-'`);
  }
  return value;
}

/** Normalizes the root folder: no leading or trailing slash, no empty or dot segments. */
export function normalizeRoot(root: unknown): string {
  if (typeof root !== 'string') throw new ValidationError('root', 'must be a string');
  const trimmed = root.replace(/\/+$/, '');
  if (trimmed === '' || trimmed.startsWith('/')) {
    throw new ValidationError('root', `'${root}' must be a non-empty folder without a leading '/'`);
  }
  if (trimmed.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new ValidationError('root', `'${root}' must not contain empty, '.' or '..' segments`);
  }
  return trimmed;
}

/**
 * The layers of `name` with `profiles`, lowest precedence first:
 * `application`, `application,<p>` for each profile, `<name>`, `<name>,<p>` for each
 * profile. A later profile wins over an earlier one, as in Spring.
 */
export function configLayers(
  root: string,
  name: string,
  profiles: readonly string[],
  options: { defaultName: string; separator: string },
): ConfigLayer[] {
  part('name', name);
  part('defaultName', options.defaultName);
  if (options.separator.length !== 1 || /[A-Za-z0-9/]/.test(options.separator)) {
    throw new ValidationError(
      'profileSeparator',
      `'${options.separator}' must be one character, not a letter, digit or '/'`,
    );
  }
  profiles.forEach((profile, i) => part(`profiles[${i}]`, profile));
  if (new Set(profiles).size !== profiles.length)
    throw new ValidationError('profiles', 'must not repeat a profile');
  const bases = name === options.defaultName ? [name] : [options.defaultName, name];
  const names = bases.flatMap((base) => [
    base,
    ...profiles.map((profile) => `${base}${options.separator}${profile}`),
  ]);
  return names.map((layer) => ({ name: layer, folder: `${root}/${layer}/` }));
}
