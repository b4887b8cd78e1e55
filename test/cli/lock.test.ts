/**
 * `consulkit lock` against the real agent, interoperating with the real `consul lock` both
 * ways (single lock and `-n` semaphore), the lost-lock kill, and `consul lock`'s exit codes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';
import { waitFor } from '../support/wait.js';
import { ConsulLock } from '../support/consul-lock.js';
import { alive, cli, cliResult, runningPids, sleeper } from './support.js';

const clients = new Clients(sharedConsulAddress());
afterAll(() => clients.closeAll());

describe('consulkit lock', () => {
  it('excludes and is excluded by consul lock on the same prefix', async () => {
    const prefix = uniquePrefix('cli-lock-interop');
    const theirs = await ConsulLock.start(prefix);
    await theirs.waitLocked();
    // consul lock holds <prefix>/.lock: consulkit must wait, time out and exit 1 without running.
    const blocked = await cliResult(['lock', '--timeout', '2s', prefix, '--', ...sleeper('blocked')]);
    expect(blocked.code).toBe(1);
    expect(blocked.stdout).not.toContain('RUNNING');
    expect(blocked.stderr).toContain('timeout during lock acquisition');

    expect(await theirs.stop()).toBe(0);
    const ours = cli(['lock', prefix, '--', ...sleeper('ours')]);
    await ours.line('RUNNING');
    const [pid] = runningPids(ours);
    const pair = await clients.create().kv.get(`${prefix}/.lock`);
    expect(pair?.Session).toBeTruthy();
    expect(pair?.Flags).toBe(0x2ddccbc058a50c18n);

    // Now consul lock must be the one that waits and gives up (its exit code 1).
    const late = await ConsulLock.start(prefix, ['-timeout=2s']);
    expect(await late.exited).toBe(1);
    expect(late.locked).toBe(false);

    ours.child.kill('SIGTERM');
    expect((await ours.exited).code).toBe(0);
    expect(alive(pid!)).toBe(false);
    const after = await ConsulLock.start(prefix, ['-timeout=10s']);
    await after.waitLocked();
  });

  it('shares a semaphore with consul lock -n, and refuses a slot over the limit to both', async () => {
    const prefix = uniquePrefix('cli-sem-interop');
    const theirs = await ConsulLock.start(prefix, ['-n=2']);
    await theirs.waitLocked();
    const ours = cli(['lock', '-n', '2', '--value', 'cli-holder', prefix, '--', ...sleeper('slot')]);
    await ours.line('RUNNING');
    runningPids(ours);
    const coordination = await clients.create().kv.get(`${prefix}/.lock`);
    const holders = Object.keys((JSON.parse(String(coordination?.Value)) as { Holders: object }).Holders);
    expect(holders).toHaveLength(2);

    const third = await cliResult(['lock', '-n', '2', '--timeout', '2s', prefix, '--', ...sleeper('third')]);
    expect(third.code).toBe(1);
    expect(third.stdout).not.toContain('RUNNING');
    const theirThird = await ConsulLock.start(prefix, ['-n=2', '-timeout=2s']);
    expect(await theirThird.exited).toBe(1);
    expect(theirThird.locked).toBe(false);

    // A slot freed by consulkit goes to a waiting consul lock.
    const waiting = await ConsulLock.start(prefix, ['-n=2', '-timeout=20s']);
    ours.child.kill('SIGTERM');
    expect((await ours.exited).code).toBe(0);
    await waiting.waitLocked();
  });

  it('a lock of the wrong kind on the prefix (lock vs semaphore) fails with exit 1', async () => {
    const prefix = uniquePrefix('cli-lock-kind');
    const theirs = await ConsulLock.start(prefix);
    await theirs.waitLocked();
    const result = await cliResult(['lock', '-n', '3', '--timeout', '5s', prefix, '--', ...sleeper()]);
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('RUNNING');
  });

  it('stops the command within the TTL when the lock is lost (SIGTERM, then SIGKILL after --grace)', async () => {
    const prefix = uniquePrefix('cli-lock-lost');
    // A command that ignores SIGTERM: only the SIGKILL after the grace period ends it.
    const stubborn = ['sh', '-c', 'trap "" TERM; echo "RUNNING $$"; while :; do sleep 0.2; done'];
    const ours = cli(['lock', '--ttl', '10s', '--grace', '1s', prefix, '--', ...stubborn]);
    await ours.line('RUNNING');
    const [pid] = runningPids(ours);
    expect(alive(pid!)).toBe(true);
    const lostAt = Date.now();
    await clients.create().kv.delete(`${prefix}/.lock`);
    await waitFor('the command to be killed', () => !alive(pid!), 10_000);
    expect(Date.now() - lostAt).toBeLessThan(10_000);
    const { code } = await ours.exited;
    expect(code).toBe(0); // consul lock exits 0 after a lost lock too
    expect(ours.stderr.join('')).toContain('lock lost');
    expect(ours.stderr.join('')).toContain('SIGKILL');
  });

  it('exits as consul lock does: 0 whatever the command did, 2 with --child-exit-code when it failed', async () => {
    const prefix = uniquePrefix('cli-lock-codes');
    const plain = await cliResult([
      'lock',
      prefix,
      '--',
      'sh',
      '-c',
      'echo "held=$CONSUL_LOCK_HELD"; exit 3',
    ]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('held=true');
    const propagated = await cliResult(['lock', '--child-exit-code', prefix, '--', 'sh', '-c', 'exit 3']);
    expect(propagated.code).toBe(2);
    const succeeded = await cliResult(['lock', '--child-exit-code', prefix, '--', 'true']);
    expect(succeeded.code).toBe(0);
    // Released and cleaned up like consul lock: the key is gone.
    expect(await clients.create().kv.get(`${prefix}/.lock`)).toBeUndefined();
  });

  it('rejects bad arguments with exit 2 and a pointer to --help, before contacting Consul', async () => {
    // An address nothing listens on: a usage error must not even try it.
    const env = { CONSUL_HTTP_ADDR: 'http://127.0.0.1:1' };
    for (const args of [
      ['lock'],
      ['lock', 'jobs/x'],
      ['lock', '-n', 'zero', 'jobs/x', '--', 'true'],
      ['lock', '--timeout', 'soon', 'jobs/x', '--', 'true'],
      ['lock', '--no-such-flag', 'jobs/x', '--', 'true'],
      ['lock', '--ttl', '1s', 'jobs/x', '--', 'true'],
    ]) {
      const result = await cliResult(args, env);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain("Run 'consulkit lock --help'");
    }
    const help = await cliResult(['lock', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
  });
});
