/**
 * `consulkit status`: who holds which lock, semaphore slots, election leaders, and services
 * with their health, as a table or as JSON.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../index.js';
import {
  COMMON_HELP,
  createCliLogger,
  createClient,
  EXIT,
  defineCommand,
  type CliCommand,
} from './common.js';
import { toJson } from './json-lines.js';
import { collectStatus } from './status-collect.js';
import { formatStatus } from './status-format.js';

const OPTIONS = {
  json: { type: 'boolean' },
  'no-services': { type: 'boolean' },
} as const;

const HELP = `Usage: consulkit status [prefix] [options]

Shows, for the KV entries under [prefix] (default: all):
  - locks: key, holder session, its node, the key's value, and the age of the holder's
    session (known for holders started by consulkit's CLI; '-' for others);
  - semaphores: prefix, slots held out of the limit, and each holder;
  - election leaders: key, the leader's value, node and session;
and the registered services with how many instances pass, warn or fail.
Locks held by \`consul lock\` (and Go's api.Lock / api.Semaphore) are recognised as well.

Options:
  --json               the same as one JSON document (uint64 fields as exact integers)
  --no-services        leave the services out

${COMMON_HELP}

Examples:
  consulkit status
  consulkit status jobs/
  consulkit status --json --no-services | jq '.locks[] | select(.holder) | .key'
`;

/** `consulkit status`. */
export const statusCommand: CliCommand = defineCommand({
  name: 'status',
  summary: 'show who holds which lock, semaphore and election, and service health',
  help: HELP,
  options: OPTIONS,
  async run(parsed) {
    const { values, positionals } = parsed;
    if (parsed.rest !== undefined || positionals.length > 1)
      throw new ValidationError('arguments', 'status takes at most one prefix');
    const prefix = positionals[0] ?? '';
    if (prefix.startsWith('/')) throw new ValidationError('prefix', `'${prefix}' must not start with '/'`);
    const services = values['no-services'] !== true;
    const logger = createCliLogger(values['log-level'], 'status');
    const consul = createClient(values, logger);
    try {
      const report = await collectStatus(consul, prefix, { services });
      process.stdout.write(values.json ? `${toJson(report, 2)}\n` : formatStatus(report, { services }));
      return EXIT.ok;
    } finally {
      await consul.close();
    }
  },
});
