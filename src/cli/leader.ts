/**
 * `consulkit leader`: runs a command only while this process leads an election on a key;
 * `--once` is the crontab form (run if we win within `--timeout`, else exit 0).
 *
 * @packageDocumentation
 */
import { hostname } from 'node:os';
import { type Consul, type Election, type ElectionOptions } from '../index.js';
import { Child, exitCodeOf, onSignals } from './child.js';
import {
  abortOf,
  childCommand,
  COMMON_HELP,
  createCliLogger,
  createClient,
  durationFlag,
  EXIT,
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
import { ValidationError } from '../index.js';

const OPTIONS = {
  ...SESSION_CHILD_OPTIONS,
  value: { type: 'string' },
  once: { type: 'boolean' },
  timeout: { type: 'string' },
  window: { type: 'string' },
} as const;

/** Default `--window` of `--once`: shorter than any cron period (a minute at least). */
const DEFAULT_WINDOW = '30s';

/** Default `--timeout` of `--once`. */
const DEFAULT_ONCE_TIMEOUT = '10s';

const HELP = `Usage: consulkit leader [options] <key> -- <command> [args...]

Campaigns for leadership on <key> and runs the command only while this process leads. When
leadership is lost, the command gets SIGTERM (SIGKILL after --grace); this process stays a
candidate and runs the command again once it leads again. When the command exits on its own,
consulkit resigns and exits with its code. SIGTERM and SIGINT stop the command, resign and
exit 0.

--once is for crontab: run the command if this process becomes the leader within --timeout,
else exit 0 without running it. Every worker on every host can carry the same line: one of
them runs the job. The leader notes each run in <key>/last-run; a worker that wins the
election after a quick job has already ended sees a run younger than --window and exits 0
without running it again. With --once the exit code is the job's, 1 if leadership was lost
while it ran, 0 when another worker ran it.

Options:
  --value TEXT         this candidate's value while it leads (default: host and pid)
  --once               run at most once (see above)
  --timeout DUR        with --once: how long to wait for leadership (default 10s)
  --window DUR         with --once: a run that started less than this long ago (on any
                       worker) is this round's run (default 30s; keep it below the cron
                       period). Needs write access to <key>/last-run.
  --fast-failover      2 s heartbeat check and 1 s lock-delay: a crashed leader is replaced
                       within seconds instead of ~45 s
${SESSION_CHILD_HELP}
  --pass-stdin         give the command this process's stdin

${COMMON_HELP}

Examples:
  consulkit leader --fast-failover service/indexer/leader -- node indexer.js
  # crontab on every host: the report runs once per night, on one of them
  0 3 * * * consulkit leader --once --timeout 20s cron/nightly-report -- /opt/report.sh
`;

interface LeaderSettings {
  command: string[];
  graceMs: number;
  stdin: boolean;
  logger: ReturnType<typeof createCliLogger>;
  shutdown: AbortSignal;
}

/** `consulkit leader`. */
export const leaderCommand: CliCommand = defineCommand({
  name: 'leader',
  summary: 'run a command only while this process is the elected leader (--once for crontab)',
  help: HELP,
  options: OPTIONS,
  async run(parsed) {
    const { values } = parsed;
    const key = parsed.positionals[0];
    if (key === undefined || key === '') throw new ValidationError('key', 'missing: give the election key');
    const command = childCommand(parsed, 1);
    if (!values.once && (values.timeout !== undefined || values.window !== undefined))
      throw new ValidationError('--timeout', '--timeout and --window only apply with --once');
    const timeoutMs = durationFlag('timeout', values.timeout, DEFAULT_ONCE_TIMEOUT);
    if (values.once && timeoutMs <= 0) throw new ValidationError('--timeout', 'must be above 0');
    const windowMs = durationFlag('window', values.window, DEFAULT_WINDOW);
    const graceMs = durationFlag('grace', values.grace, DEFAULT_GRACE);
    const logger = createCliLogger(values['log-level'], 'leader');
    const host = hostname();
    const options: ElectionOptions = {
      value: values.value ?? `${host} pid ${process.pid}`,
      sessionName: holderSessionName('election', key, host),
    };
    applySessionFlags(options, values);
    const consul = createClient(values, logger);
    const shutdown = new AbortController();
    let child: Child | undefined;
    const stopSignals = onSignals(['SIGTERM', 'SIGINT', 'SIGHUP'], (signal) => {
      if (signal === 'SIGHUP') child?.signal(signal);
      else {
        logger.info({ signal }, 'consulkit: stopping');
        shutdown.abort(signal);
      }
    });
    const settings: LeaderSettings = {
      command,
      graceMs,
      stdin: values['pass-stdin'] === true,
      logger,
      shutdown: shutdown.signal,
    };
    try {
      const election = consul.election(key, options);
      const track = (started: Child): void => {
        child = started;
      };
      return values.once
        ? await runOnce(consul, election, settings, { timeoutMs, windowMs, marker: `${key}/last-run` }, track)
        : await runWhileLeading(election, settings, track);
    } finally {
      stopSignals();
      if (child?.running) await child.terminate(graceMs);
      await consul.close();
    }
  },
});

/** Campaigns until elected; `false` when `signal` aborted first. */
async function campaign(
  election: Election,
  signal: AbortSignal,
  logger: LeaderSettings['logger'],
): Promise<boolean> {
  try {
    await election.campaign({ signal });
    logger.info({ fencingToken: String(election.fencingToken) }, 'consulkit: elected leader');
    return true;
  } catch (error) {
    if (signal.aborted) return false;
    throw error;
  }
}

/** Runs the command for one term: resolves with how the term ended. */
async function runTerm(
  election: Election,
  settings: LeaderSettings,
  track: (child: Child) => void,
): Promise<{ kind: 'exited'; code: number } | { kind: 'lost' } | { kind: 'shutdown' }> {
  const term = election.signal;
  const child = new Child(settings.command, settings.logger, {
    env: { CONSULKIT_LEADER: 'true' },
    stdin: settings.stdin,
  });
  track(child);
  const outcome = await Promise.race([
    child.exited.then((exit) => ({ kind: 'exited' as const, code: exitCodeOf(exit) })),
    abortOf(term).then(() => ({ kind: 'lost' as const })),
    abortOf(settings.shutdown).then(() => ({ kind: 'shutdown' as const })),
  ]);
  if (outcome.kind === 'lost') {
    settings.logger.error(
      { reason: String(term.reason) },
      'consulkit: leadership lost; stopping the command',
    );
  }
  if (outcome.kind !== 'exited') await child.terminate(settings.graceMs);
  return outcome;
}

async function runWhileLeading(
  election: Election,
  settings: LeaderSettings,
  track: (child: Child) => void,
): Promise<number> {
  for (;;) {
    if (!(await campaign(election, settings.shutdown, settings.logger))) return EXIT.ok;
    const outcome = await runTerm(election, settings, track);
    if (outcome.kind === 'lost') continue; // still a candidate: the command runs again once we lead again
    await election.resign();
    if (outcome.kind === 'shutdown') return EXIT.ok;
    settings.logger.info({ code: outcome.code }, 'consulkit: the command exited; resigned');
    return outcome.code;
  }
}

/** What `<key>/last-run` holds. */
interface LastRun {
  at: string;
  by: string;
}

/** When the last run (on any worker) started, from the marker; `undefined` when none is readable. */
async function lastRunAt(
  consul: Consul,
  marker: string,
  logger: LeaderSettings['logger'],
): Promise<number | undefined> {
  const pair = await consul.kv.get(marker, { consistency: 'consistent' });
  if (pair === undefined) return undefined;
  try {
    const at = Date.parse((JSON.parse(pair.Value.toString('utf8')) as LastRun).at);
    return Number.isNaN(at) ? undefined : at;
  } catch (error) {
    logger.warn({ err: error, marker }, 'consulkit: unreadable last-run marker; running');
    return undefined;
  }
}

async function runOnce(
  consul: Consul,
  election: Election,
  settings: LeaderSettings,
  once: { timeoutMs: number; windowMs: number; marker: string },
  track: (child: Child) => void,
): Promise<number> {
  const waiting = AbortSignal.any([settings.shutdown, AbortSignal.timeout(once.timeoutMs)]);
  if (!(await campaign(election, waiting, settings.logger))) {
    settings.logger.info(
      { timeoutMs: once.timeoutMs },
      'consulkit: not elected in time; another worker runs the job',
    );
    return EXIT.ok;
  }
  // Only the leader reads and writes the marker, so two workers cannot both see it old.
  const last = await lastRunAt(consul, once.marker, settings.logger);
  if (last !== undefined && Date.now() - last < once.windowMs) {
    settings.logger.info(
      { lastRun: new Date(last).toISOString() },
      'consulkit: this round already ran; not running',
    );
    await election.resign();
    return EXIT.ok;
  }
  const run: LastRun = { at: new Date().toISOString(), by: `${hostname()} pid ${process.pid}` };
  await consul.kv.put(once.marker, JSON.stringify(run));
  const outcome = await runTerm(election, settings, track);
  await election.resign();
  return outcome.kind === 'exited' ? outcome.code : outcome.kind === 'lost' ? EXIT.failure : EXIT.ok;
}
