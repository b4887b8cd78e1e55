import { afterAll, describe, expect, it } from 'vitest';
import { ConsulHttpError, ValidationError, type ConfigEntry } from '../../src/index.js';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniqueName } from '../support/consul.js';

const clients = new Clients(sharedConsulAddress());
const consul = clients.create();

afterAll(() => clients.closeAll());

describe('configEntry', () => {
  it('sets, gets, lists and deletes service-defaults, with cas', async () => {
    const name = uniqueName('svc');
    expect(
      await consul.configEntry.set({ Kind: 'service-defaults', Name: name, Protocol: 'http' }, { cas: 0 }),
    ).toBe(true);
    // cas 0 means "only if absent": a second create loses.
    expect(
      await consul.configEntry.set({ Kind: 'service-defaults', Name: name, Protocol: 'grpc' }, { cas: 0 }),
    ).toBe(false);
    const stored = await consul.configEntry.get('service-defaults', name);
    expect(stored).toMatchObject({ Kind: 'service-defaults', Name: name, Protocol: 'http' });
    expect(typeof stored?.ModifyIndex).toBe('bigint');

    const stale = stored!.ModifyIndex;
    expect(
      await consul.configEntry.set(
        { Kind: 'service-defaults', Name: name, Protocol: 'http2' },
        { cas: stale },
      ),
    ).toBe(true);
    expect(
      await consul.configEntry.set(
        { Kind: 'service-defaults', Name: name, Protocol: 'grpc' },
        { cas: stale },
      ),
    ).toBe(false);
    expect((await consul.configEntry.get('service-defaults', name))?.Protocol).toBe('http2');

    const listed = await consul.configEntry.list('service-defaults');
    expect(listed.map((entry) => entry.Name)).toContain(name);

    await consul.configEntry.delete('service-defaults', name);
    expect(await consul.configEntry.get('service-defaults', name)).toBeUndefined();
  });

  it('round-trips a typed body of every kind Consul 1.8 knows', async () => {
    const web = uniqueName('web');
    const gateway = uniqueName('gw');
    const terminating = uniqueName('tgw');
    const entries: ConfigEntry[] = [
      { Kind: 'proxy-defaults', Name: 'global', Config: { protocol: 'http' }, Meta: { owner: 'test' } },
      { Kind: 'service-defaults', Name: web, Protocol: 'http', MeshGateway: { Mode: 'local' } },
      {
        Kind: 'service-resolver',
        Name: web,
        DefaultSubset: 'v1',
        Subsets: {
          v1: { Filter: 'Service.Meta.version == v1' },
          v2: { Filter: 'Service.Meta.version == v2' },
        },
        ConnectTimeout: '15s',
      },
      {
        Kind: 'service-splitter',
        Name: web,
        Splits: [
          { Weight: 90, ServiceSubset: 'v1' },
          { Weight: 10, ServiceSubset: 'v2' },
        ],
      },
      {
        Kind: 'service-router',
        Name: web,
        Routes: [
          {
            Match: { HTTP: { PathPrefix: '/admin', Methods: ['GET'] } },
            Destination: { ServiceSubset: 'v2', RequestTimeout: '5s', NumRetries: 2 },
          },
        ],
      },
      {
        Kind: 'ingress-gateway',
        Name: gateway,
        Listeners: [{ Port: 8080, Protocol: 'http', Services: [{ Name: web, Hosts: ['web.example.com'] }] }],
      },
      {
        Kind: 'terminating-gateway',
        Name: terminating,
        Services: [{ Name: uniqueName('legacy'), SNI: 'legacy.example' }],
      },
    ];
    try {
      for (const entry of entries) expect(await consul.configEntry.set(entry)).toBe(true);

      expect(await consul.configEntry.get('proxy-defaults', 'global')).toMatchObject({
        Config: { protocol: 'http' },
        Meta: { owner: 'test' },
      });
      expect(await consul.configEntry.get('service-resolver', web)).toMatchObject({
        DefaultSubset: 'v1',
        Subsets: { v2: { Filter: 'Service.Meta.version == v2' } },
        ConnectTimeout: '15s',
      });
      const splitter = await consul.configEntry.get('service-splitter', web);
      expect(splitter?.Splits?.map((split) => split.Weight)).toEqual([90, 10]);
      const router = await consul.configEntry.get('service-router', web);
      expect(router?.Routes?.[0]).toMatchObject({
        Match: { HTTP: { PathPrefix: '/admin', Methods: ['GET'] } },
        Destination: { ServiceSubset: 'v2', RequestTimeout: '5s', NumRetries: 2 },
      });
      const ingress = await consul.configEntry.get('ingress-gateway', gateway);
      expect(ingress?.Listeners?.[0]?.Services[0]?.Hosts).toEqual(['web.example.com']);
      const tgw = await consul.configEntry.get('terminating-gateway', terminating);
      expect(tgw?.Services?.[0]?.SNI).toBe('legacy.example');
    } finally {
      // Dependants first: Consul refuses to delete an entry another one relies on.
      for (const entry of [...entries].reverse()) await consul.configEntry.delete(entry.Kind, entry.Name);
    }
    expect(await consul.configEntry.get('service-router', web)).toBeUndefined();
  });

  it('passes on what Consul refuses: a router for a tcp service', async () => {
    const name = uniqueName('tcp');
    await expect(
      consul.configEntry.set({
        Kind: 'service-router',
        Name: name,
        Routes: [{ Match: { HTTP: { PathPrefix: '/' } } }],
      }),
    ).rejects.toBeInstanceOf(ConsulHttpError);
  });

  it('refuses bad entries before sending', async () => {
    const before = consul.stats().requests;
    await expect(
      consul.configEntry.set({ Kind: 'service-intentions', Name: 'x' } as unknown as ConfigEntry),
    ).rejects.toThrow(ValidationError);
    await expect(consul.configEntry.set({ Kind: 'proxy-defaults', Name: 'mine' })).rejects.toThrow(/global/);
    await expect(
      consul.configEntry.set({
        Kind: 'service-splitter',
        Name: 'x',
        Splits: [{ Weight: 50 }, { Weight: 40 }],
      }),
    ).rejects.toThrow(/100/);
    await expect(consul.configEntry.set({ Kind: 'service-defaults', Name: '' })).rejects.toThrow(/Name/);
    await expect(
      consul.configEntry.set({ Kind: 'service-defaults', Name: 'x' }, { cas: -1 }),
    ).rejects.toThrow(/cas/);
    expect(() => consul.configEntry.get('nope' as 'service-defaults', 'x')).toThrow(ValidationError);
    expect(consul.stats().requests).toBe(before);
  });
});
