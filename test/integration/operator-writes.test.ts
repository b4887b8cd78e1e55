import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consul, NotFoundError, ValidationError } from '../../src/index.js';
import { startConsul, type ConsulInstance } from '../../src/testing/index.js';

const FIRST_KEY = randomBytes(32).toString('base64');

// Gossip encryption needs a key at start, so this file runs on an agent of its own.
describe('operator writes (dedicated agent with gossip encryption)', () => {
  let agent: ConsulInstance;
  let consul: Consul;

  beforeAll(async () => {
    agent = await startConsul({ hcl: `encrypt = ${JSON.stringify(FIRST_KEY)}` });
    consul = new Consul({ address: agent.address, env: {} });
  });

  afterAll(async () => {
    await consul?.close();
    await agent?.stop();
  });

  const keysOf = async () => {
    const pools = await consul.operator.keyringList();
    const lan = pools.find((pool) => !pool.WAN);
    return { installed: Object.keys(lan?.Keys ?? {}), primary: Object.keys(lan?.PrimaryKeys ?? {}) };
  };

  it('rotates the gossip key: install, use, remove', async () => {
    expect(await keysOf()).toEqual({ installed: [FIRST_KEY], primary: [FIRST_KEY] });
    const next = randomBytes(32).toString('base64');

    await consul.operator.keyringInstall(next);
    const installed = await keysOf();
    expect(installed.installed.sort()).toEqual([FIRST_KEY, next].sort());
    expect(installed.primary).toEqual([FIRST_KEY]);

    await consul.operator.keyringUse(next, { relayFactor: 1 });
    expect((await keysOf()).primary).toEqual([next]);

    // The key in use cannot go.
    await expect(consul.operator.keyringRemove(next)).rejects.toMatchObject({ status: 500 });
    await consul.operator.keyringRemove(FIRST_KEY);
    expect(await keysOf()).toEqual({ installed: [next], primary: [next] });
  });

  it('sets the autopilot configuration with check-and-set', async () => {
    const current = await consul.operator.autopilotConfiguration();
    const changed = { ...current, MaxTrailingLogs: current.MaxTrailingLogs + 7 };
    expect(await consul.operator.autopilotSetConfiguration(changed, { cas: current.ModifyIndex })).toBe(true);
    const after = await consul.operator.autopilotConfiguration();
    expect(after.MaxTrailingLogs).toBe(current.MaxTrailingLogs + 7);
    expect(after.ModifyIndex).toBeGreaterThan(current.ModifyIndex);

    // The index read before the change is stale now: the write is refused, nothing changes.
    expect(
      await consul.operator.autopilotSetConfiguration(
        { ...current, MaxTrailingLogs: 1 },
        { cas: current.ModifyIndex },
      ),
    ).toBe(false);
    expect((await consul.operator.autopilotConfiguration()).MaxTrailingLogs).toBe(after.MaxTrailingLogs);

    // Without cas it always writes.
    expect(await consul.operator.autopilotSetConfiguration({ ...after, CleanupDeadServers: false })).toBe(
      true,
    );
    expect((await consul.operator.autopilotConfiguration()).CleanupDeadServers).toBe(false);
  });

  it('raft transfer-leader: Consul 1.8 has no such endpoint', async () => {
    await expect(consul.operator.raftTransferLeader()).rejects.toThrow(NotFoundError);
  });

  it('refuses bad keys, relay factors and cas values before sending', async () => {
    const before = consul.stats().requests;
    await expect(consul.operator.keyringInstall('not base64!')).rejects.toThrow(ValidationError);
    await expect(consul.operator.keyringInstall(randomBytes(20).toString('base64'))).rejects.toThrow(
      /20 bytes/,
    );
    await expect(consul.operator.keyringUse(FIRST_KEY, { relayFactor: 6 })).rejects.toThrow(/relayFactor/);
    const config = await consul.operator.autopilotConfiguration();
    const afterRead = consul.stats().requests;
    await expect(consul.operator.autopilotSetConfiguration(config, { cas: -1 })).rejects.toThrow(/cas/);
    await expect(consul.operator.raftTransferLeader({ id: '' })).rejects.toThrow(/id/);
    expect(afterRead - before).toBe(1);
    expect(consul.stats().requests).toBe(afterRead);
  });
});
