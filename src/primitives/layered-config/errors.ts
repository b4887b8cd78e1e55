/**
 * The error a layered config reports when the merged config fails its schema.
 *
 * @packageDocumentation
 */
import { ConsulError } from '../../errors.js';
import { issuePath, type StandardSchemaV1 } from './standard-schema.js';

/**
 * The merged config failed the schema. The config keeps its last good value. `consulKey`
 * names the Consul key that supplied the first offending value (the highest layer that
 * defines its path), when one does; a missing required value has none.
 */
export class ConfigSchemaError extends ConsulError {
  /** The Consul key whose value is at fault, when a layer supplied it. */
  readonly consulKey: string | undefined;
  /** Path of the first issue within the config, e.g. `['db', 'pool']`. */
  readonly path: readonly string[];
  /** Every issue the schema reported. */
  readonly issues: ReadonlyArray<StandardSchemaV1.Issue>;

  constructor(issues: ReadonlyArray<StandardSchemaV1.Issue>, consulKey: string | undefined) {
    const first = issues[0];
    const path = first === undefined ? [] : issuePath(first);
    const where = path.length === 0 ? 'the config' : `'${path.join('.')}'`;
    const from = consulKey === undefined ? '' : ` (from '${consulKey}')`;
    super('DECODE', `config failed validation at ${where}${from}: ${first?.message ?? 'invalid'}`);
    this.consulKey = consulKey;
    this.path = path;
    this.issues = issues;
  }
}
