/**
 * Runs examples/lock.ts and examples/leader-cron.ts as child processes, against the shared
 * agent and (once) against a throwaway agent the example starts itself.
 */
import { describe, expect, it } from 'vitest';
import { childrenKilledAfterEach, spawnTs, type TsChild } from '../support/child-process.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';

const address = sharedConsulAddress();
const children = childrenKilledAfterEach();

function run(file: string, env: Record<string, string>): TsChild {
  const child = spawnTs(file, { CONSULKIT_LOG_LEVEL: 'error', ...env });
  children.push(child);
  return child;
}

describe('examples/lock.ts', () => {
  it('runs every critical section alone against CONSUL_HTTP_ADDR', async () => {
    const child = run('examples/lock.ts', { CONSUL_HTTP_ADDR: address, WORKERS: '3', ROUNDS: '2' });
    const { code } = await child.exited;
    expect(code, child.stderr.join('')).toBe(0);
    expect(child.lines).toContain('done: 6 critical sections, no overlap');
    expect(child.lines.filter((line) => line.includes('holds the lock'))).toHaveLength(6);
  }, 60_000);

  it('starts its own agent when CONSUL_HTTP_ADDR is not set', async () => {
    const env: Record<string, string> = { WORKERS: '2', ROUNDS: '1', CONSUL_HTTP_ADDR: '' };
    const child = run('examples/lock.ts', env);
    const { code } = await child.exited;
    expect(code, child.stderr.join('')).toBe(0);
    expect(child.lines).toContain('done: 2 critical sections, no overlap');
  }, 120_000);
});

describe('examples/leader-cron.ts', () => {
  it('only the leader runs the job; when it is killed another worker takes over', async () => {
    const env = {
      CONSUL_HTTP_ADDR: address,
      ELECTION_KEY: `${uniquePrefix('example-cron')}/leader`,
      TICK: '200ms',
    };
    const a = run('examples/leader-cron.ts', { ...env, WORKER_NAME: 'cron-a' });
    const b = run('examples/leader-cron.ts', { ...env, WORKER_NAME: 'cron-b' });
    const first = await Promise.race([
      a.line('cron-a: ran the job', 60_000).then(() => ({ leader: a, follower: b, name: 'cron-b' })),
      b.line('cron-b: ran the job', 60_000).then(() => ({ leader: b, follower: a, name: 'cron-a' })),
    ]);
    // The follower skips while the other leads.
    await first.follower.line(`${first.name}: not the leader, skipping this tick`, 10_000);
    expect(first.follower.lines.some((line) => line.startsWith(`${first.name}: ran the job`))).toBe(false);

    const from = first.follower.lines.length;
    first.leader.child.kill('SIGKILL');
    await first.follower.line(`${first.name}: elected`, 15_000, from);
    await first.follower.line(`${first.name}: ran the job`, 15_000, from);

    first.follower.child.kill('SIGTERM');
    const { code } = await first.follower.exited;
    expect(code).toBe(0);
    expect(first.follower.lines.at(-1)).toMatch(/stopped after \d+ run\(s\) as leader/);
  }, 120_000);
});
