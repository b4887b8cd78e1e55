/**
 * `consulkit run`: runs a command as a registered service (the ianitor case). The service is
 * registered with a TTL check that is heartbeated while the command lives (and its health
 * probe passes), signals are passed on, and the service is deregistered when it exits.
 *
 * @packageDocumentation
 */
import { basename } from 'node:path';
import { ValidationError, type RegisterServiceOptions, type ServiceRegistration } from '../index.js';
import { Child, exitCodeOf, onSignals } from './child.js';
import {
  childCommand,
  COMMON_HELP,
  createCliLogger,
  createClient,
  durationFlag,
  EXIT,
  integerFlag,
  defineCommand,
  sleep,
  type CliCommand,
} from './common.js';
import { commandProbe, httpProbe, type HealthProbe } from './health-probe.js';

const OPTIONS = {
  name: { type: 'string' },
  id: { type: 'string' },
  'service-address': { type: 'string' },
  port: { type: 'string' },
  tag: { type: 'string', multiple: true },
  meta: { type: 'string', multiple: true },
  ttl: { type: 'string' },
  'health-http': { type: 'string' },
  'health-cmd': { type: 'string' },
  'health-timeout': { type: 'string' },
  drain: { type: 'string' },
  'pass-stdin': { type: 'boolean' },
} as const;

const HELP = `Usage: consulkit run [options] -- <command> [args...]

Starts the command, registers it as a service instance with a TTL check, and heartbeats the
check while the command runs: passing, or what --health-http / --health-cmd says. SIGTERM,
SIGINT and SIGHUP are passed on to the command. When it exits, the service is deregistered
and consulkit exits with the command's exit code (128 + N when signal N ended it).

Options:
  --name NAME            service name (default: the command's file name)
  --id ID                instance ID, unique on the agent (default: name-host-pid-random)
  --service-address ADDR address other services should use (default: the node's)
  --port PORT            port of the service
  --tag TAG              a tag; repeat for more
  --meta KEY=VALUE       a metadata pair; repeat for more
  --ttl DUR              TTL of the check (default 10s); heartbeats every third of it
  --health-http URL      GET it each heartbeat: 2xx passing, 429 warning, else critical
  --health-cmd CMD       run it with sh -c each heartbeat: exit 0 passing, 1 warning,
                         else critical
  --health-timeout DUR   time bound of one probe (default: half the heartbeat interval)
  --drain DUR            on SIGTERM/SIGINT, mark the service critical and wait this long
                         before passing the signal on, so traffic moves away first
  --pass-stdin           give the command this process's stdin

${COMMON_HELP}

Examples:
  consulkit run --name web --port 8080 --tag v2 -- node server.js
  consulkit run --name api --port 3000 --health-http http://127.0.0.1:3000/healthz \\
    --drain 5s -- node dist/api.js
  consulkit run --name worker --health-cmd 'test -f /tmp/ready' -- ./worker
`;

/** Parses repeated `--meta key=value` flags. */
function metaPairs(values: readonly string[] | undefined): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const meta: Record<string, string> = {};
  for (const pair of values) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new ValidationError('--meta', `expected KEY=VALUE, got '${pair}'`);
    meta[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return meta;
}

/** `consulkit run`. */
export const runCommand: CliCommand = defineCommand({
  name: 'run',
  summary: 'run a command as a registered service, heartbeating its TTL check while it lives',
  help: HELP,
  options: OPTIONS,
  async run(parsed) {
    const { values } = parsed;
    const command = childCommand(parsed, 0);
    if (values['health-http'] !== undefined && values['health-cmd'] !== undefined)
      throw new ValidationError('--health-http', 'give either --health-http or --health-cmd, not both');
    const probe: HealthProbe | undefined =
      values['health-http'] !== undefined
        ? httpProbe(values['health-http'])
        : values['health-cmd'] !== undefined
          ? commandProbe(values['health-cmd'])
          : undefined;
    const drainMs = values.drain === undefined ? undefined : durationFlag('drain', values.drain, 0);
    const options: RegisterServiceOptions = {
      name: values.name ?? basename(command[0] ?? ''),
      ttl: values.ttl ?? '10s',
      // The CLI passes signals to the command and deregisters once the command has exited.
      handleSignals: false,
    };
    if (values.id !== undefined) options.id = values.id;
    if (values['service-address'] !== undefined) options.address = values['service-address'];
    if (values.port !== undefined) options.port = integerFlag('port', values.port, 0);
    if (values.tag !== undefined) options.tags = values.tag;
    const meta = metaPairs(values.meta);
    if (meta !== undefined) options.meta = meta;
    if (values['health-timeout'] !== undefined) options.healthTimeout = values['health-timeout'];
    const logger = createCliLogger(values['log-level'], 'run');
    const consul = createClient(values, logger);
    let child: Child | undefined;
    // Until the command runs, the check says so; afterwards the probe (or its being alive) decides.
    options.health = (signal) => {
      if (child === undefined) return { status: 'critical', note: 'starting' };
      if (!child.running) return { status: 'critical', note: 'the command exited' };
      return probe === undefined ? 'passing' : probe(signal);
    };
    const cancelled = new AbortController();
    options.signal = cancelled.signal;
    const state: PassOnState = { registration: undefined, draining: false };
    const stopSignals = onSignals(['SIGTERM', 'SIGINT', 'SIGHUP'], (signal) => {
      if (child === undefined) cancelled.abort(new Error(`${signal} before the command started`));
      else void passOn(signal, child, state, drainMs, logger);
    });
    try {
      // Registered first, so that bad options are refused before the command ever starts.
      let registration: ServiceRegistration;
      try {
        registration = await consul.registerService(options);
      } catch (error) {
        if (error instanceof ValidationError) throw error;
        logger.error({ err: error }, 'consulkit: registration failed; not starting the command');
        return EXIT.failure;
      }
      state.registration = registration;
      logger.info({ service: registration.name, id: registration.id }, 'consulkit: service registered');
      child = new Child(command, logger, { stdin: values['pass-stdin'] === true });
      const exited = child.exited;
      // Passing from now on, without waiting for the next heartbeat.
      await registration.clearStatus().catch((error: unknown) => {
        logger.warn({ err: error }, 'consulkit: first heartbeat failed; the registration retries');
      });
      const exit = await exited;
      logger.info({ code: exitCodeOf(exit) }, 'consulkit: the command exited; deregistering');
      await registration.stop({ drain: false });
      return exitCodeOf(exit);
    } finally {
      stopSignals();
      if (child?.running) await child.terminate(5_000);
      await consul.close();
    }
  },
});

interface PassOnState {
  registration: ServiceRegistration | undefined;
  /** Set by the first drain, so that a second signal is passed on at once. */
  draining: boolean;
}

/** Passes a signal on; with `--drain`, SIGTERM and SIGINT first take the service out of rotation. */
async function passOn(
  signal: NodeJS.Signals,
  child: Child,
  state: PassOnState,
  drainMs: number | undefined,
  logger: ReturnType<typeof createCliLogger>,
): Promise<void> {
  const registration = state.registration;
  if (drainMs !== undefined && signal !== 'SIGHUP' && registration !== undefined && !state.draining) {
    state.draining = true;
    logger.info({ signal, drainMs }, 'consulkit: draining before passing the signal on');
    try {
      await registration.setStatus('critical', 'draining');
    } catch (error) {
      logger.warn({ err: error }, 'consulkit: could not mark the service critical; signalling at once');
    }
    await sleep(drainMs);
  }
  child.signal(signal);
}
