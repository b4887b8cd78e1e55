/**
 * `consulkit lock`: runs a command while holding a lock (or a semaphore slot with `-n`), with
 * the key layout and exit codes of Consul's own `consul lock`, so both contend on one prefix.
 *
 * @packageDocumentation
 */
import { hostname } from 'node:os';
import {
  ConflictError,
  TimeoutError,
  ValidationError,
  type Lock,
  type LockOptions,
  type Semaphore,
} from '../index.js';
import { Child, exitCodeOf, onSignals } from './child.js';
import {
  childCommand,
  COMMON_HELP,
  createCliLogger,
  createClient,
  durationFlag,
  abortOf,
  EXIT,
  integerFlag,
  defineCommand,
  type CliCommand,
} from './common.js';
import { holderSessionName } from './holder.js';
import {
  applySessionFlags,
  DEFAULT_GRACE,
  SESSION_CHILD_HELP,
  SESSION_CHILD_OPTIONS,
} from './session-flags.js';

const OPTIONS = {
  ...SESSION_CHILD_OPTIONS,
  n: { type: 'string', short: 'n' },
  timeout: { type: 'string' },
  value: { type: 'string' },
  name: { type: 'string' },
  'child-exit-code': { type: 'boolean' },
} as const;

const HELP = `Usage: consulkit lock [options] <prefix> -- <command> [args...]

Acquires a lock (or, with -n N, one of N semaphore slots) at <prefix> and runs the command
while it is held, with CONSUL_LOCK_HELD=true in its environment. Same keys as \`consul lock\`:
the lock is <prefix>/.lock; a semaphore uses <prefix>/<session> per contender and
<prefix>/.lock for coordination. Both tools exclude each other on one prefix.

If the lock is lost, the command gets SIGTERM, then SIGKILL after --grace. SIGTERM and SIGINT
stop the command the same way and release; SIGHUP is passed on to it.

Exit codes (as \`consul lock\`): 0 once the command ran (whatever its code, unless
--child-exit-code); 1 when the lock could not be acquired (--timeout, Consul error, signal
while waiting); 2 for bad arguments, or with --child-exit-code when the command failed.

Options:
  -n N                 slots: 1 is a lock (default), more is a semaphore; every holder of
                       the prefix must use the same N
  --timeout DUR        give up acquiring after this long and exit 1 (default: wait forever)
  --fast-failover      bind the session to a 2 s heartbeat check with a 1 s lock-delay, so a
                       crashed holder is replaced within seconds instead of ~45 s
  --value TEXT         value of the lock key (or of this contender's key) while held
  --name TEXT          session name (default: says what holds it, where, and since when)
${SESSION_CHILD_HELP}
  --child-exit-code    exit 2 when the command exits non-zero
  --pass-stdin         give the command this process's stdin

${COMMON_HELP}

Examples:
  consulkit lock jobs/backup -- ./backup.sh
  consulkit lock --timeout 30s --fast-failover jobs/reindex -- node reindex.js
  consulkit lock -n 3 batch/encoders -- ffmpeg -i in.mp4 out.webm
`;

/** Builds the lock or semaphore described by the flags. */
function primitiveFor(
  consul: ReturnType<typeof createClient>,
  prefix: string,
  limit: number,
  options: LockOptions,
): Lock | Semaphore {
  // consul lock keys a single lock at <prefix>/.lock (Go's DefaultSemaphoreKey), so that a
  // lock and a semaphore on one prefix conflict instead of silently coexisting.
  return limit === 1
    ? consul.lock(`${prefix}/.lock`, options)
    : consul.semaphore(prefix, { ...options, limit });
}

/** Validates the prefix as `consul lock` reads it (one leading slash dropped). */
function lockPrefix(raw: string | undefined): string {
  if (raw === undefined || raw === '')
    throw new ValidationError('prefix', 'missing: give the key prefix to lock');
  const prefix = raw.replace(/^\//, '').replace(/\/+$/, '');
  if (prefix === '' || prefix.startsWith('/'))
    throw new ValidationError('prefix', `'${raw}' does not name a key prefix`);
  return prefix;
}

/** `consulkit lock`. */
export const lockCommand: CliCommand = defineCommand({
  name: 'lock',
  summary: 'run a command while holding a lock or semaphore slot (interoperates with `consul lock`)',
  help: HELP,
  options: OPTIONS,
  async run(parsed) {
    const { values } = parsed;
    const prefix = lockPrefix(parsed.positionals[0]);
    const command = childCommand(parsed, 1);
    const limit = integerFlag('n', values.n, 1);
    const timeoutMs = values.timeout === undefined ? undefined : durationFlag('timeout', values.timeout, 0);
    const graceMs = durationFlag('grace', values.grace, DEFAULT_GRACE);
    const logger = createCliLogger(values['log-level'], 'lock');
    const options: LockOptions = {
      sessionName: values.name ?? holderSessionName(limit === 1 ? 'lock' : 'semaphore', prefix, hostname()),
    };
    applySessionFlags(options, values);
    if (values.value !== undefined) options.value = values.value;
    const consul = createClient(values, logger);
    try {
      // Built before anything is sent, so bad options are a usage error.
      const primitive = primitiveFor(consul, prefix, limit, options);
      return await holdAndRun(primitive, command, {
        timeoutMs,
        graceMs,
        childExitCode: values['child-exit-code'] === true,
        stdin: values['pass-stdin'] === true,
        logger,
      });
    } finally {
      await consul.close();
    }
  },
});

interface HoldOptions {
  timeoutMs: number | undefined;
  graceMs: number;
  childExitCode: boolean;
  stdin: boolean;
  logger: ReturnType<typeof createCliLogger>;
}

async function holdAndRun(
  primitive: Lock | Semaphore,
  command: string[],
  options: HoldOptions,
): Promise<number> {
  const { logger } = options;
  const shutdown = new AbortController();
  let child: Child | undefined;
  const stopSignals = onSignals(['SIGTERM', 'SIGINT', 'SIGHUP'], (signal) => {
    if (signal === 'SIGHUP' && child) {
      child.signal(signal);
      return;
    }
    logger.info({ signal }, 'consulkit: stopping');
    shutdown.abort(signal);
  });
  try {
    try {
      await primitive.acquire({
        signal: shutdown.signal,
        ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
      });
    } catch (error) {
      if (shutdown.signal.aborted) logger.error('consulkit: shutdown during lock acquisition');
      else if (error instanceof TimeoutError) logger.error('consulkit: timeout during lock acquisition');
      else if (error instanceof ValidationError) throw error;
      else logger.error({ err: error }, 'consulkit: lock acquisition failed');
      return EXIT.failure;
    }
    logger.info('consulkit: lock acquired');
    child = new Child(command, logger, { env: { CONSUL_LOCK_HELD: 'true' }, stdin: options.stdin });
    const lost = primitive.signal;
    const outcome = await Promise.race([
      child.exited.then((exit) => ({ kind: 'exited' as const, exit })),
      abortOf(lost).then(() => ({ kind: 'lost' as const })),
      abortOf(shutdown.signal).then(() => ({ kind: 'shutdown' as const })),
    ]);
    let childFailed = false;
    if (outcome.kind === 'exited') {
      childFailed = exitCodeOf(outcome.exit) !== 0;
      logger.info({ code: exitCodeOf(outcome.exit) }, 'consulkit: the command exited; releasing');
    } else {
      if (outcome.kind === 'lost')
        logger.error({ reason: String(lost.reason) }, 'consulkit: lock lost; stopping the command');
      const exit = await child.terminate(options.graceMs);
      logger.info({ code: exitCodeOf(exit) }, 'consulkit: the command stopped');
    }
    await primitive.release();
    await cleanUp(primitive, logger);
    // As consul lock: a failed command is only reported with --child-exit-code, as 2.
    return options.childExitCode && childFailed ? EXIT.usage : EXIT.ok;
  } finally {
    stopSignals();
    if (child?.running) await child.terminate(options.graceMs);
  }
}

/**
 * Deletes the lock or coordination key once nobody holds it, as `consul lock` does after
 * releasing (Go's `Destroy`); a key still in use by another holder stays, which is expected.
 */
async function cleanUp(primitive: Lock | Semaphore, logger: HoldOptions['logger']): Promise<void> {
  try {
    await primitive.destroy();
  } catch (error) {
    if (error instanceof ConflictError)
      logger.debug({ reason: error.message }, 'consulkit: key still in use; kept');
    else logger.warn({ err: error }, 'consulkit: could not clean up the lock key');
  }
}
