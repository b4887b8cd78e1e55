/**
 * A cron worker that runs its job only while it is the leader.
 *
 *   npx tsx examples/leader-cron.ts            # start several: only one runs the job
 *
 * Every worker campaigns once at start and stays a candidate; on each tick it calls
 * `election.runWhileLeader(job)`, which runs the job on the leader only and aborts the job's
 * signal if leadership is lost in the middle. FAST_FAILOVER makes a crashed leader replaced in
 * about 3–4 s (a heartbeat every 500 ms to the local agent) instead of about 45 s.
 *
 * Uses the agent named by CONSUL_HTTP_ADDR, or starts a throwaway one when none is set.
 * Optional: WORKER_NAME, ELECTION_KEY (default `examples/leader-cron/leader`), TICK (default
 * `1s`), RUN_FOR (stop after this long, e.g. `10s`; default: until SIGINT/SIGTERM).
 */
import { hostname } from 'node:os';
import { Consul, FAST_FAILOVER, toMilliseconds } from '../src/index.js';
import { startConsul } from '../src/testing/index.js';

const ownAgent = process.env['CONSUL_HTTP_ADDR'] ? undefined : await startConsul();
const consul = new Consul(ownAgent ? { address: ownAgent.address } : {});
const name = process.env['WORKER_NAME'] ?? `${hostname()}-${process.pid}`;
const key = process.env['ELECTION_KEY'] ?? 'examples/leader-cron/leader';
const tickMs = toMilliseconds(process.env['TICK'] ?? '1s', 'TICK');

const election = consul.election(key, { value: name, ...FAST_FAILOVER });
election.on('elected', (token) => console.log(`${name}: elected (term ${token})`));
election.on('revoked', (error) =>
  console.log(`${name}: no longer leader${error ? `: ${error.message}` : ''}`),
);
election.on('leader', (leader) => console.log(`${name}: leader is now ${leader ?? '(none)'}`));
election.on('error', (error) => console.error(`${name}: ${error.message}`));

let runs = 0;
/** The job: a few steps of work that stop when leadership is lost. */
async function job(signal: AbortSignal): Promise<void> {
  for (let step = 0; step < 3; step++) {
    signal.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  runs++;
  await consul.kv.put(`${key}-last-run`, JSON.stringify({ by: name, at: new Date().toISOString() }));
  console.log(`${name}: ran the job (#${runs})`);
}

const stopping = new AbortController();
const stop = (): void => stopping.abort();
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
if (process.env['RUN_FOR']) setTimeout(stop, toMilliseconds(process.env['RUN_FOR'], 'RUN_FOR'));

// Enter the race without waiting to win it: followers keep ticking (and skipping).
election.campaign({ signal: stopping.signal }).catch((error: unknown) => {
  if (!stopping.signal.aborted) console.error(`${name}: campaign failed:`, error);
});

while (!stopping.signal.aborted) {
  try {
    const outcome = await election.runWhileLeader(job, { signal: stopping.signal });
    if (!outcome.ran) console.log(`${name}: not the leader, skipping this tick`);
  } catch (error) {
    console.error(`${name}: job interrupted: ${error instanceof Error ? error.message : String(error)}`);
  }
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      stopping.signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, tickMs);
    stopping.signal.addEventListener('abort', done, { once: true });
  });
}

// Resign first, so that another worker takes over at once instead of after a lock-delay.
await election.resign();
await consul.close();
await ownAgent?.stop();
console.log(`${name}: stopped after ${runs} run(s) as leader`);
