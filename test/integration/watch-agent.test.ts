import { generateKeyPairSync } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { startConsul } from '../../src/testing/index.js';
import { ValidationError, type AgentService, type Watch } from '../../src/index.js';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniqueName } from '../support/consul.js';

const clients = new Clients(sharedConsulAddress());

afterAll(() => clients.closeAll());

/** Resolves with the next change (bounded only to catch hangs). */
function nextChange<T>(watch: Watch<T>, withinMs = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no change within ${withinMs} ms`)), withinMs);
    const listener = (value: T): void => {
      clearTimeout(timer);
      watch.off('change', listener);
      resolve(value);
    };
    watch.on('change', listener);
  });
}

describe('hash-based blocking', () => {
  it('agent.readService returns the content hash and blocks on it until the service changes', async () => {
    const consul = clients.create();
    const id = uniqueName('hash-svc');
    await consul.agent.service.register({ Name: id, ID: id, Tags: ['a'] });
    try {
      const first = await consul.agent.readService(id).withMeta();
      expect(first.data?.Tags).toEqual(['a']);
      expect(first.meta.contentHash).toMatch(/^[0-9a-f]+$/);

      // With the current hash the read is held until the definition changes.
      const held = consul.agent.readService(id, { hash: first.meta.contentHash!, wait: '30s' }).withMeta();
      let settled = false;
      void held.then(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled).toBe(false);
      await consul.agent.service.register({ Name: id, ID: id, Tags: ['b'] });
      const next = await held;
      expect(next.data?.Tags).toEqual(['b']);
      expect(next.meta.contentHash).not.toBe(first.meta.contentHash);
      expect(await consul.agent.readService(uniqueName('missing'))).toBeUndefined();
    } finally {
      await consul.agent.service.deregister(id);
    }
  });

  it('refuses a malformed hash, or a hash with an index, before sending', async () => {
    const consul = clients.create();
    await expect(consul.agent.readService('x', { hash: 'not-hex' })).rejects.toThrow(ValidationError);
    await expect(
      consul.agent.readService('x', { hash: 'abc', index: 5 } as unknown as { hash: string }),
    ).rejects.toThrow(/index/);
    expect(consul.stats().requests).toBe(0);
  });
});

describe('watch.agentService', () => {
  it('follows a service of the local agent through hash-based blocking reads', async () => {
    const consul = clients.create();
    const id = uniqueName('watched-svc');
    await consul.agent.service.register({ Name: id, ID: id, Tags: ['v1'], Port: 80 });
    try {
      await using watch = consul.watch.agentService(id);
      const first: AgentService | undefined = await watch.ready();
      expect(first?.Tags).toEqual(['v1']);

      // Between changes the loop holds one blocking read instead of polling (a poll at the
      // loop's 100 ms pace would send about ten reads in this second).
      const before = consul.stats();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const after = consul.stats();
      expect(after.requests - before.requests).toBeLessThanOrEqual(2);
      expect(after.blockingRequests).toBeGreaterThan(0);

      const changed = nextChange(watch);
      await consul.agent.service.register({ Name: id, ID: id, Tags: ['v2'], Port: 81 });
      expect((await changed)?.Port).toBe(81);

      const removed = nextChange(watch);
      await consul.agent.service.deregister(id);
      expect(await removed).toBeUndefined();
    } finally {
      await consul.agent.service.deregister(id);
    }
  });

  it('refuses what the local agent cannot honour', () => {
    const consul = clients.create();
    expect(() => consul.watch.agentService('')).toThrow(ValidationError);
    expect(() => consul.watch.agentService('x', { datacenter: 'dc2' } as never)).toThrow(/datacenter/);
    expect(() => consul.watch.connectLeaf('a/b')).toThrow(ValidationError);
    expect(() => consul.watch.connectRoots({ consistency: 'stale' } as never)).toThrow(/consistency/);
  });
});

describe('watch.connectRoots and watch.connectLeaf', () => {
  it("give the agent's CA roots and a leaf certificate, held by blocking reads", async () => {
    const consul = clients.create();
    const service = uniqueName('leaf-svc');
    await using roots = consul.watch.connectRoots();
    await using leaf = consul.watch.connectLeaf(service);
    const [rootList, cert] = await Promise.all([roots.ready(), leaf.ready()]);
    expect(rootList.Roots.some((root) => root.ID === rootList.ActiveRootID && root.Active)).toBe(true);
    expect(cert.Service).toBe(service);
    expect(cert.CertPEM).toContain('BEGIN CERTIFICATE');
    expect(roots.index).toBeGreaterThan(0n);
    expect(leaf.index).toBeGreaterThan(0n);
    const before = consul.stats().requests;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(consul.stats().requests - before).toBeLessThanOrEqual(2);
    expect(consul.stats().blockingRequests).toBeGreaterThanOrEqual(2);
  });
});

// A root rotation changes the CA for every test using Connect, so it runs on its own agent.
describe('watch.connectRoots and watch.connectLeaf across a CA root rotation (dedicated agent)', () => {
  it('report the new root, then a leaf certificate signed by it', { timeout: 120_000 }, async () => {
    await using agent = await startConsul();
    const consul = clients.create({ address: agent.address });
    const service = uniqueName('rotated');
    await using roots = consul.watch.connectRoots();
    await using leaf = consul.watch.connectLeaf(service);
    const [before, firstLeaf] = await Promise.all([roots.ready(), leaf.ready()]);

    const rootChanged = nextChange(roots);
    // The agent re-issues leaves after a rotation with a random delay (up to 30 s in 1.8).
    const leafChanged = nextChange(leaf, 90_000);
    const config = await consul.connect.ca.config();
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'sec1', format: 'pem' })
      .toString();
    await consul.connect.ca.setConfig({ Provider: 'consul', Config: { ...config.Config, PrivateKey: key } });

    const after = await rootChanged;
    expect(after.ActiveRootID).not.toBe(before.ActiveRootID);
    expect(after.Roots.map((root) => root.ID)).toContain(before.ActiveRootID);
    const renewed = await leafChanged;
    expect(renewed.SerialNumber).not.toBe(firstLeaf.SerialNumber);
    expect(renewed.Service).toBe(service);
  });
});
