import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/index.js';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniqueName } from '../support/consul.js';

const clients = new Clients(sharedConsulAddress());
const consul = clients.create();

afterAll(() => clients.closeAll());

describe('connect.intentions', () => {
  it('creates, gets, lists, matches, checks, updates and deletes an intention', async () => {
    const web = uniqueName('web');
    const db = uniqueName('db');
    const id = await consul.connect.intentions.create({
      SourceName: web,
      DestinationName: db,
      Action: 'deny',
      Description: 'first',
      Meta: { team: 'data' },
    });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const stored = await consul.connect.intentions.get(id);
    expect(stored).toMatchObject({
      ID: id,
      SourceName: web,
      DestinationName: db,
      Action: 'deny',
      Meta: { team: 'data' },
    });
    expect(typeof stored?.ModifyIndex).toBe('bigint');

    const { data: all, meta } = await consul.connect.intentions.list().withMeta();
    expect(all.map((intention) => intention.ID)).toContain(id);
    expect(meta.index).toBeGreaterThan(0n);

    const matched = await consul.connect.intentions.match(db, { by: 'destination' });
    expect(matched[db]?.map((intention) => intention.ID)).toEqual([id]);
    const bySource = await consul.connect.intentions.match([web], { by: 'source' });
    expect(bySource[web]?.[0]?.DestinationName).toBe(db);

    expect(await consul.connect.intentions.check(web, db)).toBe(false);

    await consul.connect.intentions.update(id, { SourceName: web, DestinationName: db, Action: 'allow' });
    expect((await consul.connect.intentions.get(id))?.Action).toBe('allow');
    expect(await consul.connect.intentions.check(web, db)).toBe(true);

    await consul.connect.intentions.delete(id);
    expect(await consul.connect.intentions.get(id)).toBeUndefined();
  });

  it('a blocking list returns when an intention is created', async () => {
    const { meta } = await consul.connect.intentions.list().withMeta();
    const blocked = consul.connect.intentions.list({ index: meta.index ?? 1n, wait: '20s' }).withMeta();
    const id = await consul.connect.intentions.create({
      SourceName: uniqueName('a'),
      DestinationName: uniqueName('b'),
      Action: 'allow',
    });
    const next = await blocked;
    expect(next.meta.index).toBeGreaterThan(meta.index ?? 0n);
    expect(next.data.map((intention) => intention.ID)).toContain(id);
    await consul.connect.intentions.delete(id);
  });

  it('refuses bad intentions before sending', async () => {
    const before = consul.stats().requests;
    await expect(
      consul.connect.intentions.create({ SourceName: 'a', DestinationName: 'b', Action: 'maybe' as 'allow' }),
    ).rejects.toThrow(ValidationError);
    await expect(
      consul.connect.intentions.create({ SourceName: '', DestinationName: 'b', Action: 'allow' }),
    ).rejects.toThrow(/SourceName/);
    expect(() => consul.connect.intentions.match([], { by: 'source' })).toThrow(ValidationError);
    expect(() => consul.connect.intentions.match('x', { by: 'up' as 'source' })).toThrow(/by/);
    expect(() => consul.connect.intentions.get('a/b')).toThrow(ValidationError);
    expect(consul.stats().requests).toBe(before);
  });
});

describe('connect.ca', () => {
  it('reads the roots and the configuration, and sets the configuration', async () => {
    const roots = await consul.connect.ca.roots();
    expect(roots.TrustDomain).toMatch(/\.consul$/);
    const active = roots.Roots.find((root) => root.ID === roots.ActiveRootID);
    expect(active?.Active).toBe(true);
    expect(active?.RootCert).toContain('BEGIN CERTIFICATE');

    const config = await consul.connect.ca.config();
    expect(config.Provider).toBe('consul');
    const original = config.Config;
    try {
      await consul.connect.ca.setConfig({ Provider: 'consul', Config: { ...original, LeafCertTTL: '71h' } });
      expect((await consul.connect.ca.config()).Config['LeafCertTTL']).toBe('71h');
    } finally {
      await consul.connect.ca.setConfig({ Provider: 'consul', Config: original });
    }
    await expect(consul.connect.ca.setConfig({ Provider: '', Config: {} })).rejects.toThrow(ValidationError);
  });
});

describe('agent.connect', () => {
  it('issues a leaf certificate, and authorizes by the intentions', async () => {
    const web = uniqueName('web');
    const db = uniqueName('db');
    const { data: leaf, meta } = await consul.agent.connect.leaf(web).withMeta();
    expect(leaf.Service).toBe(web);
    expect(leaf.CertPEM).toContain('BEGIN CERTIFICATE');
    expect(leaf.PrivateKeyPEM).toContain('PRIVATE KEY');
    expect(leaf.ServiceURI).toMatch(new RegExp(`^spiffe://.+/svc/${web}$`));
    expect(meta.index).toBeGreaterThan(0n);

    const agentRoots = await consul.agent.connect.roots();
    expect(agentRoots.ActiveRootID).toBe((await consul.connect.ca.roots()).ActiveRootID);

    const request = { Target: db, ClientCertURI: leaf.ServiceURI, ClientCertSerial: leaf.SerialNumber };
    const id = await consul.connect.intentions.create({
      SourceName: web,
      DestinationName: db,
      Action: 'deny',
    });
    try {
      const denied = await consul.agent.connect.authorize(request);
      expect(denied.Authorized).toBe(false);
      expect(denied.Reason).toMatch(/deny/i);
      await consul.connect.intentions.update(id, { SourceName: web, DestinationName: db, Action: 'allow' });
      const allowed = await consul.agent.connect.authorize(request);
      expect(allowed.Authorized).toBe(true);
    } finally {
      await consul.connect.intentions.delete(id);
    }
    await expect(consul.agent.connect.authorize({ ...request, ClientCertURI: '' })).rejects.toThrow(
      /ClientCertURI/,
    );
  });
});
