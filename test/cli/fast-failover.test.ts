/**
 * `--fast-failover` of `consulkit lock` and `consulkit leader` against the real agent: the
 * session read back from Consul has what the README promises (the heartbeat check only, as a
 * `ServiceChecks` entry, no `serfHealth`, a 1 s lock-delay), and a holder that dies frees the
 * key through that check, long before its (here one hour) TTL could.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { SessionEntry } from '../../src/index.js';
import type { TsChild } from '../support/child-process.js';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';
import { waitFor } from '../support/wait.js';
import { cli, runningPids, sleeper } from './support.js';

const clients = new Clients(sharedConsulAddress());
afterAll(() => clients.closeAll());
const consul = clients.create();

/** The session holding `key` while `holder` runs its command. */
async function holdingSession(holder: TsChild, key: string): Promise<SessionEntry> {
  await holder.line('RUNNING', 30_000);
  runningPids(holder);
  const id = await waitFor(`a session on ${key}`, async () => (await consul.kv.get(key))?.Session);
  const session = await consul.session.info(id);
  if (session === undefined) throw new Error(`session ${id} of ${key} is gone`);
  return session;
}

/**
 * Checks the session against the README's fast-failover row, then SIGKILLs the CLI (its
 * command is left running, as after a crash of the supervisor) and waits for the key to be
 * freed by the heartbeat check: with a one-hour TTL nothing else can free it within the wait.
 */
async function expectFastFailover(holder: TsChild, key: string): Promise<void> {
  const session = await holdingSession(holder, key);
  expect(session.LockDelay).toBe(1_000_000_000);
  expect(session.TTL).toBe('3600s');
  expect([...(session.Checks ?? []), ...(session.NodeChecks ?? [])]).toEqual([]);
  expect(session.ServiceChecks).toHaveLength(1);
  const checkId = session.ServiceChecks![0]!.ID;
  const check = (await consul.agent.check.list())[checkId];
  expect(check?.ServiceName).toBe('consulkit-session');
  expect(check?.Type).toBe('ttl');
  expect(check?.Status).toBe('passing');
  try {
    holder.child.kill('SIGKILL');
    await holder.exited;
    await waitFor(
      'the heartbeat check to free the key',
      async () => !(await consul.kv.get(key))?.Session,
      30_000,
    );
    expect(await consul.session.info(session.ID)).toBeUndefined();
    expect((await consul.agent.check.list())[checkId]?.Status).toBe('critical');
  } finally {
    // The dead holder could not deregister its heartbeat instance.
    if (check !== undefined) await consul.agent.service.deregister(check.ServiceID);
  }
}

describe('--fast-failover', () => {
  it('consulkit lock: heartbeat-only session with a 1 s lock-delay; a killed holder frees the lock', async () => {
    const prefix = uniquePrefix('cli-lock-fast');
    const holder = cli(['lock', '--fast-failover', '--ttl', '1h', prefix, '--', ...sleeper('lock')]);
    await expectFastFailover(holder, `${prefix}/.lock`);
  });

  it('consulkit leader: heartbeat-only session with a 1 s lock-delay; a killed leader frees the key', async () => {
    const key = `${uniquePrefix('cli-leader-fast')}/leader`;
    const holder = cli(['leader', '--fast-failover', '--ttl', '1h', key, '--', ...sleeper('leader')]);
    await expectFastFailover(holder, key);
  });

  it('without it, the session is bound to serfHealth and keeps the 15 s lock-delay', async () => {
    const prefix = uniquePrefix('cli-lock-plain');
    const holder = cli(['lock', prefix, '--', ...sleeper('plain')]);
    const session = await holdingSession(holder, `${prefix}/.lock`);
    expect(session.LockDelay).toBe(15_000_000_000);
    expect(session.NodeChecks).toEqual(['serfHealth']);
    expect(session.ServiceChecks ?? []).toEqual([]);
    holder.child.kill('SIGTERM');
    expect((await holder.exited).code).toBe(0);
  });
});
