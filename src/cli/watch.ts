/**
 * `consulkit watch`: prints a JSON line each time a key, prefix, service, the service list,
 * the node list, checks or events change, or runs a handler with the new data on stdin, as
 * `consul watch` does.
 *
 * @packageDocumentation
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { HEALTH_STATES, ValidationError, type Consul, type HealthState, type Watch } from '../index.js';
import { onSignals } from './child.js';
import {
  COMMON_HELP,
  createCliLogger,
  createClient,
  EXIT,
  defineCommand,
  type CliCommand,
} from './common.js';
import { toJson } from './json-lines.js';

const OPTIONS = {
  exec: { type: 'string' },
  passing: { type: 'boolean' },
  tag: { type: 'string', multiple: true },
} as const;

/** The kinds `consulkit watch` understands, and whether each needs a name. */
const KINDS = {
  key: 'required',
  prefix: 'required',
  service: 'required',
  services: 'none',
  nodes: 'none',
  checks: 'optional',
  event: 'optional',
} as const;

type Kind = keyof typeof KINDS;

const HELP = `Usage: consulkit watch <kind> [name] [options]

Watches Consul through blocking queries and, on the first answer and on every change,
prints the data as one JSON line on stdout (Consul's wire format: KV values in base64), or
runs --exec with the data on its stdin. Stops on SIGINT or SIGTERM.

Kinds:
  key <key>            one KV entry (null while missing)
  prefix <prefix>      every KV entry under a prefix
  service <name>       instances of a service with their checks (--passing, --tag)
  services             the service catalog: names and tags
  nodes                the node catalog
  checks [state]       checks in a state: any (default), passing, warning or critical
  event [name]         user events (of one name, or all)

Options:
  --exec CMD           run CMD with sh -c on each change, the JSON on its stdin (one at a
                       time; a change during a run is delivered after it, latest first)
  --passing            service: only instances whose checks all pass
  --tag TAG            service: only instances with this tag; repeat for more

${COMMON_HELP}

Examples:
  consulkit watch key app/config/feature-x
  consulkit watch service web --passing --exec 'jq -r ".[].Service.Address" > /etc/upstreams'
  consulkit watch event deploy --exec ./on-deploy.sh
`;

/** Opens the watch for `kind`. */
function openWatch(
  consul: Consul,
  kind: Kind,
  name: string | undefined,
  values: { passing?: boolean | undefined; tag?: string[] | undefined },
): Watch<unknown> {
  switch (kind) {
    case 'key':
      return consul.watch.key(name ?? '') as Watch<unknown>;
    case 'prefix':
      return consul.watch.keyPrefix(name ?? '') as Watch<unknown>;
    case 'service':
      return consul.watch.service(name ?? '', {
        ...(values.passing === true && { passing: true }),
        ...(values.tag !== undefined && { tag: values.tag }),
      }) as Watch<unknown>;
    case 'services':
      return consul.watch.services() as Watch<unknown>;
    case 'nodes':
      return consul.watch.nodes() as Watch<unknown>;
    case 'checks': {
      const state = name ?? 'any';
      if (!(HEALTH_STATES as readonly string[]).includes(state))
        throw new ValidationError('state', `expected one of ${HEALTH_STATES.join(', ')}, got '${state}'`);
      return consul.watch.checks(state as HealthState) as Watch<unknown>;
    }
    case 'event':
      return consul.watch.events(name) as Watch<unknown>;
  }
}

/** Runs the handler with `input` on stdin and waits for it; its exit status is logged. */
async function runHandler(
  command: string,
  input: string,
  logger: ReturnType<typeof createCliLogger>,
): Promise<void> {
  const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'inherit', 'inherit'] });
  child.stdin.on('error', (error) =>
    logger.debug({ err: error }, 'consulkit: the handler did not read its input'),
  );
  child.stdin.end(input);
  const [code, signal] = (await Promise.race([
    once(child, 'exit'),
    once(child, 'error').then(([error]) => {
      throw error;
    }),
  ])) as [number | null, NodeJS.Signals | null];
  if (code !== 0) logger.warn({ code, signal, command }, 'consulkit: the handler failed');
}

/** `consulkit watch`. */
export const watchCommand: CliCommand = defineCommand({
  name: 'watch',
  summary: 'print a JSON line (or run a handler) on every change of a key, prefix, service, …',
  help: HELP,
  options: OPTIONS,
  async run(parsed) {
    const { values, positionals } = parsed;
    if (parsed.rest !== undefined)
      throw new ValidationError('arguments', "watch takes no '--'; use --exec CMD");
    const [kindArg, name, ...extra] = positionals;
    if (kindArg === undefined || !(kindArg in KINDS))
      throw new ValidationError(
        'kind',
        `expected one of ${Object.keys(KINDS).join(', ')}, got '${kindArg ?? ''}'`,
      );
    const kind = kindArg as Kind;
    if (KINDS[kind] === 'required' && (name === undefined || name === ''))
      throw new ValidationError('name', `watch ${kind} needs a name`);
    if ((KINDS[kind] === 'none' && name !== undefined) || extra.length > 0)
      throw new ValidationError(
        'arguments',
        `unexpected '${[...(KINDS[kind] === 'none' ? [name] : []), ...extra].join(' ')}'`,
      );
    if (kind !== 'service' && (values.passing !== undefined || values.tag !== undefined))
      throw new ValidationError('--passing', '--passing and --tag only apply to `watch service`');
    if (values.exec !== undefined && values.exec.trim() === '')
      throw new ValidationError('--exec', 'must not be empty');
    const logger = createCliLogger(values['log-level'], 'watch');
    const consul = createClient(values, logger);
    let watch: Watch<unknown> | undefined;
    const stopSignals = onSignals(['SIGTERM', 'SIGINT'], (signal) => {
      logger.info({ signal }, 'consulkit: stopping');
      void watch?.close();
    });
    try {
      watch = openWatch(consul, kind, name, values);
      const opened = watch;
      opened.on('error', (error) => logger.warn({ err: error }, 'consulkit: watch failed; retrying'));
      try {
        await opened.ready();
      } catch (error) {
        if (opened.closed) return EXIT.ok;
        logger.error({ err: error }, 'consulkit: the watch cannot go on');
        return EXIT.failure;
      }
      for await (const value of opened) {
        const line = toJson(value ?? null);
        if (values.exec !== undefined) await runHandler(values.exec, `${line}\n`, logger);
        else process.stdout.write(`${line}\n`);
      }
      return EXIT.ok;
    } finally {
      stopSignals();
      await watch?.close();
      await consul.close();
    }
  },
});
