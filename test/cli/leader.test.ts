/**
 * `consulkit leader` against the real agent: of three workers exactly one runs the command,
 * stopping the leader hands over, and `--once` with three workers runs the job exactly once.
 */
import { describe, expect, it } from 'vitest';
import { uniquePrefix } from '../support/consul.js';
import { waitFor } from '../support/wait.js';
import type { TsChild } from '../support/child-process.js';
import { alive, cli, runningPids, sleeper } from './support.js';

function runners(workers: readonly TsChild[]): number[] {
  return workers.flatMap((worker, index) =>
    worker.lines.some((line) => line.startsWith('RUNNING')) ? [index] : [],
  );
}

describe('consulkit leader', () => {
  it('runs the command on exactly one of three workers, and hands over when the leader stops', async () => {
    const key = `${uniquePrefix('cli-leader')}/leader`;
    const workers = [0, 1, 2].map((n) =>
      cli(['leader', '--lock-delay', '0s', '--value', `w${n}`, key, '--', ...sleeper(`w${n}`)]),
    );
    await waitFor('a leader to run the command', () => runners(workers).length > 0, 30_000);
    // Give the others time to (wrongly) start too.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const first = runners(workers);
    expect(first).toHaveLength(1);
    const leader = workers[first[0]!]!;
    const [pid] = runningPids(leader);
    for (const worker of workers) runningPids(worker);

    leader.child.kill('SIGTERM');
    expect((await leader.exited).code).toBe(0);
    expect(alive(pid!)).toBe(false);
    await waitFor('another worker to take over', () => runners(workers).length === 2, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const second = runners(workers);
    expect(second).toHaveLength(2);
    for (const worker of workers) runningPids(worker);
    // Only one of the remaining two runs it.
    const live = workers.filter((w) => w !== leader && w.lines.some((line) => line.startsWith('RUNNING')));
    expect(live).toHaveLength(1);
  });

  it('--once: three workers run the job exactly once, and all exit 0', async () => {
    const key = `${uniquePrefix('cli-leader-once')}/leader`;
    const job = ['sh', '-c', 'echo RAN'];
    const workers = [0, 1, 2].map(() => cli(['leader', '--once', '--timeout', '3s', key, '--', ...job]));
    const exits = await Promise.all(workers.map((worker) => worker.exited));
    expect(exits.map((exit) => exit.code)).toEqual([0, 0, 0]);
    const ran = workers.flatMap((worker) => worker.lines.filter((line) => line === 'RAN'));
    expect(ran).toHaveLength(1);
  });

  it('--once passes the job exit code on', async () => {
    const key = `${uniquePrefix('cli-leader-code')}/leader`;
    const worker = cli(['leader', '--once', '--timeout', '2s', key, '--', 'sh', '-c', 'exit 4']);
    expect((await worker.exited).code).toBe(4);
  });
});
