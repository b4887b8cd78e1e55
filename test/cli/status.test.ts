/**
 * `consulkit status` against the real agent: a lock held by `consul lock` and one held by
 * `consulkit lock`, a semaphore, an election leader and a service, as a table and as JSON.
 */
import { describe, expect, it } from 'vitest';
import { uniqueName, uniquePrefix } from '../support/consul.js';
import { ConsulLock } from '../support/consul-lock.js';
import { cli, cliResult, runningPids, sleeper } from './support.js';

interface Report {
  locks: {
    key: string;
    holder?: { session: string; node?: string; value: string; ageMs?: number; sessionName?: string };
  }[];
  semaphores: { prefix: string; limit: number; holders: { session: string; value: string }[] }[];
  elections: { key: string; leader?: { value: string } }[];
  services: { name: string; passing: number; instances: unknown[] }[];
}

describe('consulkit status', () => {
  it('shows who holds locks from consul lock and consulkit lock, a semaphore, a leader and services', async () => {
    const prefix = uniquePrefix('cli-status');
    const service = uniqueName('cli-status-svc');
    const theirs = await ConsulLock.start(`${prefix}/theirs`);
    const ours = cli(['lock', '--value', 'ours-value', `${prefix}/ours`, '--', ...sleeper('lock')]);
    const slots = cli([
      'lock',
      '-n',
      '3',
      '--value',
      'slot-value',
      `${prefix}/slots`,
      '--',
      ...sleeper('slot'),
    ]);
    const leader = cli(['leader', '--value', 'the-leader', `${prefix}/election`, '--', ...sleeper('leader')]);
    const run = cli(['run', '--name', service, '--', ...sleeper('svc')]);
    await theirs.waitLocked();
    for (const child of [ours, slots, leader, run]) {
      await child.line('RUNNING');
      runningPids(child);
    }

    const json = await cliResult(['status', prefix, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as Report;
    const theirLock = report.locks.find((lock) => lock.key === `${prefix}/theirs/.lock`);
    const ourLock = report.locks.find((lock) => lock.key === `${prefix}/ours/.lock`);
    expect(theirLock?.holder?.session).toMatch(/^[0-9a-f-]{36}$/);
    expect(theirLock?.holder?.sessionName).toContain('Consul lock');
    expect(theirLock?.holder?.node).toBeTruthy();
    expect(ourLock?.holder?.value).toBe('ours-value');
    expect(ourLock?.holder?.ageMs).toBeGreaterThanOrEqual(0);
    expect(report.semaphores).toEqual([
      expect.objectContaining({
        prefix: `${prefix}/slots`,
        limit: 3,
        holders: [expect.objectContaining({ value: 'slot-value' })],
      }),
    ]);
    expect(report.elections).toEqual([
      expect.objectContaining({
        key: `${prefix}/election`,
        leader: expect.objectContaining({ value: 'the-leader' }),
      }),
    ]);
    expect(report.services.find((s) => s.name === service)).toEqual(expect.objectContaining({ passing: 1 }));

    const text = await cliResult(['status', prefix]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${prefix}/theirs/.lock  ${theirLock?.holder?.session}`);
    expect(text.stdout).toContain(`${prefix}/ours/.lock`);
    expect(text.stdout).toMatch(new RegExp(`${prefix}/slots\\s+1/3`));
    expect(text.stdout).toContain('the-leader');
    expect(text.stdout).toMatch(new RegExp(`${service}\\s+1\\s+1\\s+0\\s+0`));
  });
});
