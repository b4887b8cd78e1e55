/**
 * What every `consulkit` command shares: the connection flags (`--address`, `--token`,
 * `--ca-file`, `--client-cert`, …) on top of the `CONSUL_HTTP_*` environment, `--log-level`, `--help`,
 * argument parsing with `node:util.parseArgs`, and the exit codes.
 *
 * @packageDocumentation
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import {
  Consul,
  toMilliseconds,
  ValidationError,
  type ConsulOptions,
  type Duration,
  type TlsOptions,
} from '../index.js';

/** Exit codes shared by every command (a command may also pass on its child's code). */
export const EXIT = Object.freeze({
  /** Done. */
  ok: 0,
  /** Consul refused or could not be reached, or the command could not do its job. */
  failure: 1,
  /** Bad arguments: nothing was sent to Consul. */
  usage: 2,
});

/** One `consulkit` sub-command. */
export interface CliCommand {
  /** Name on the command line, e.g. `lock`. */
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  /** Full `--help` text, with examples. */
  readonly help: string;
  /**
   * Runs the command with the arguments after its name and resolves with the exit code.
   *
   * @throws ValidationError for bad arguments (the caller exits 2)
   */
  run(argv: readonly string[]): Promise<number>;
}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Flags every command accepts. */
export const COMMON_OPTIONS = {
  address: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'ca-file': { type: 'string' },
  'client-cert': { type: 'string' },
  'client-key': { type: 'string' },
  'tls-server-name': { type: 'string' },
  datacenter: { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionsConfig;

/** Help text for {@link COMMON_OPTIONS}, appended to every command's help. */
export const COMMON_HELP = `Connection (flags win over the environment):
  --address URL        Consul agent, http://, https:// or unix:// (CONSUL_HTTP_ADDR;
                       default http://127.0.0.1:8500; CONSUL_HTTP_SSL=true for https)
  --token TOKEN        ACL token (CONSUL_HTTP_TOKEN)
  --token-file PATH    file holding the ACL token (CONSUL_HTTP_TOKEN_FILE)
  --ca-file PATH       CA certificate for https (CONSUL_CACERT)
  --client-cert PATH   client certificate, for agents that verify incoming HTTPS
                       (CONSUL_CLIENT_CERT), with its key
  --client-key PATH    its private key (CONSUL_CLIENT_KEY)
  --tls-server-name NAME
                       name the agent's certificate must carry, e.g. server.dc1.consul
                       when the address is an IP (CONSUL_TLS_SERVER_NAME)
  --datacenter DC      datacenter to query (default: the agent's)
  --log-level LEVEL    fatal, error, warn, info (default), debug, trace or silent;
                       logs are JSON lines (pino) on stderr (CONSULKIT_LOG_LEVEL)
  -h, --help           this help`;

const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Values of {@link COMMON_OPTIONS} after parsing. */
export interface CommonValues {
  address?: string | undefined;
  token?: string | undefined;
  'token-file'?: string | undefined;
  'ca-file'?: string | undefined;
  'client-cert'?: string | undefined;
  'client-key'?: string | undefined;
  'tls-server-name'?: string | undefined;
  datacenter?: string | undefined;
  'log-level'?: string | undefined;
  help?: boolean | undefined;
}

/** Result of {@link parseCommand}. */
export interface ParsedCommand<V> {
  /** Flag values. */
  readonly values: V;
  /** Arguments that are not flags, before `--`. */
  readonly positionals: string[];
  /** Everything after the first `--` (the child command); `undefined` when there was no `--`. */
  readonly rest: string[] | undefined;
}

/**
 * Parses a command's arguments strictly with `node:util.parseArgs`: everything after the
 * first `--` is kept apart, untouched, as the child command (so its own flags are not taken
 * for ours).
 *
 * @throws ValidationError for an unknown flag, a missing flag value or a stray positional
 */
export function parseCommand<O extends OptionsConfig>(
  argv: readonly string[],
  options: O,
): ParsedCommand<
  ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>['values']
> {
  const separator = argv.indexOf('--');
  const head = separator < 0 ? [...argv] : argv.slice(0, separator);
  const rest = separator < 0 ? undefined : argv.slice(separator + 1);
  try {
    const parsed = parseArgs({ args: head, options, allowPositionals: true, strict: true });
    return { values: parsed.values, positionals: parsed.positionals, rest };
  } catch (error) {
    // parseArgs throws TypeErrors carrying ERR_PARSE_ARGS_* codes: they are usage errors.
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      throw new ValidationError('arguments', (error as Error).message);
    }
    throw error;
  }
}

/** Flag values of a command taking `O` (the common flags included). */
export type CommandValues<O extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ options: typeof COMMON_OPTIONS & O; allowPositionals: true; strict: true }>
>['values'];

/** What {@link defineCommand} needs of a command. */
export interface CommandSpec<O extends OptionsConfig> {
  /** Name on the command line, e.g. `lock`. */
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  /** Full `--help` text, with examples. */
  readonly help: string;
  /** The command's own flags; {@link COMMON_OPTIONS} are added to them. */
  readonly options: O;
  /**
   * Runs the command once its arguments are parsed (never for `--help`) and resolves with
   * the exit code.
   *
   * @throws ValidationError for bad arguments (the caller exits 2)
   */
  run(parsed: ParsedCommand<CommandValues<O>>): Promise<number>;
}

/**
 * A {@link CliCommand} from its spec: its flags plus the common ones are parsed strictly, and
 * `--help` prints the help and exits 0 before anything else is checked.
 */
export function defineCommand<O extends OptionsConfig>(spec: CommandSpec<O>): CliCommand {
  const options = { ...COMMON_OPTIONS, ...spec.options } as typeof COMMON_OPTIONS & O;
  return {
    name: spec.name,
    summary: spec.summary,
    help: spec.help,
    async run(argv) {
      const parsed = parseCommand(argv, options) as ParsedCommand<CommandValues<O>>;
      if ((parsed.values as CommonValues).help) {
        process.stdout.write(spec.help);
        return EXIT.ok;
      }
      return spec.run(parsed);
    },
  };
}

/**
 * Parses a duration flag (`'10s'`, `'1m30s'`, `'500ms'`).
 *
 * @throws ValidationError naming the flag when the value is not a duration
 */
export function durationFlag(flag: string, value: string | undefined, fallback: Duration): number {
  return toMilliseconds(value ?? fallback, `--${flag}`);
}

/**
 * Parses a positive integer flag.
 *
 * @throws ValidationError naming the flag when the value is not an integer from `min` up
 */
export function integerFlag(flag: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new ValidationError(`--${flag}`, `expected an integer of at least ${min}, got '${value}'`);
  }
  return Number(value);
}

/**
 * The child command given after `--` (or, when there was no `--`, the positionals after the
 * first `skip` ones).
 *
 * @throws ValidationError when no command was given
 */
export function childCommand(parsed: ParsedCommand<unknown>, skip: number): string[] {
  const command = parsed.rest ?? parsed.positionals.slice(skip);
  if (parsed.rest !== undefined && parsed.positionals.length > skip) {
    throw new ValidationError(
      'arguments',
      `unexpected '${parsed.positionals.slice(skip).join(' ')}' before '--'`,
    );
  }
  if (command.length === 0 || command[0] === '') {
    throw new ValidationError('command', "missing: give the command to run after '--'");
  }
  return command;
}

/**
 * The CLI's logger: pino JSON lines on stderr (stdout is kept for data), at `--log-level`,
 * else `CONSULKIT_LOG_LEVEL`, else `info`.
 *
 * @throws ValidationError for an unknown level
 */
export function createCliLogger(level: string | undefined, command: string): Logger {
  const chosen = level ?? process.env['CONSULKIT_LOG_LEVEL'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(chosen)) {
    throw new ValidationError('--log-level', `expected one of ${LOG_LEVELS.join(', ')}, got '${chosen}'`);
  }
  return pino(
    {
      name: 'consulkit',
      level: chosen,
      base: { cli: command, pid: process.pid },
      redact: ['token', '*.token'],
    },
    // Synchronous: the last lines before an exit must not be lost in a buffer.
    pino.destination({ dest: 2, sync: true }),
  );
}

/**
 * A client from the `CONSUL_HTTP_*` environment overridden by the connection flags.
 *
 * @throws ValidationError for a malformed address, an unreadable token file, CA, certificate or
 *   key file, or a client certificate without its key (or the reverse)
 */
export function createClient(values: CommonValues, logger: Logger): Consul {
  const options: ConsulOptions = { logger };
  if (values.address !== undefined) options.address = values.address;
  if (values.token !== undefined) options.token = values.token;
  if (values['token-file'] !== undefined) options.tokenFile = values['token-file'];
  if (values.datacenter !== undefined) options.datacenter = values.datacenter;
  // Each TLS flag overrides only its own variable; the others still come from the environment.
  const tls: TlsOptions = {};
  if (values['ca-file'] !== undefined) tls.caFile = values['ca-file'];
  if (values['client-cert'] !== undefined) tls.certFile = values['client-cert'];
  if (values['client-key'] !== undefined) tls.keyFile = values['client-key'];
  if (values['tls-server-name'] !== undefined) tls.serverName = values['tls-server-name'];
  if (Object.keys(tls).length > 0) options.tls = tls;
  return new Consul(options);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Resolves when `signal` aborts (at once if it already has). */
export function abortOf(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
