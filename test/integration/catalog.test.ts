import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consul, type CatalogRegistration } from '../../src/index.js';
import { sharedConsulAddress, uniqueName } from '../support/consul.js';
import { expectInvalid } from '../support/validation.js';

describe('catalog', () => {
  let consul: Consul;
  const nodes: string[] = [];

  beforeAll(() => {
    consul = new Consul({ address: sharedConsulAddress(), env: {} });
  });
  afterAll(async () => {
    for (const node of nodes) await consul.catalog.deregister({ Node: node });
    await consul.close();
  });

  /** Registers an external node with one service and one check, all uniquely named. */
  async function registerExternal(): Promise<{
    node: string;
    service: string;
    serviceId: string;
    checkId: string;
    env: string;
  }> {
    const node = uniqueName('ext-node');
    const service = uniqueName('ext-svc');
    const serviceId = `${service}-1`;
    const checkId = `${service}-alive`;
    const env = uniqueName('env');
    nodes.push(node);
    const entry: CatalogRegistration = {
      Node: node,
      Address: '10.20.30.40',
      TaggedAddresses: { wan: '198.51.100.7' },
      NodeMeta: { env, rack: 'r1' },
      Service: {
        ID: serviceId,
        Service: service,
        Tags: ['primary', 'v2'],
        Port: 6379,
        Meta: { engine: 'redis' },
        Weights: { Passing: 4, Warning: 1 },
      },
      Check: {
        CheckID: checkId,
        Name: 'redis alive',
        Status: 'warning',
        ServiceID: serviceId,
        Output: 'slow replies',
        Definition: { TCP: '10.20.30.40:6379', Interval: 10_000, Timeout: '2s' },
      },
    };
    await consul.catalog.register(entry);
    return { node, service, serviceId, checkId, env };
  }

  it('registers an external node with a service and a check, and reads them back', async () => {
    const { node, service, serviceId, checkId, env } = await registerExternal();

    const read = await consul.catalog.node(node);
    expect(read?.Node).toMatchObject({
      Node: node,
      Address: '10.20.30.40',
      Datacenter: 'dc1',
      TaggedAddresses: { wan: '198.51.100.7' },
      Meta: { env, rack: 'r1' },
    });
    expect(typeof read?.Node.ModifyIndex).toBe('bigint');
    expect(read?.Services?.[serviceId]).toMatchObject({
      Service: service,
      Tags: ['primary', 'v2'],
      Port: 6379,
      Meta: { engine: 'redis' },
      Weights: { Passing: 4, Warning: 1 },
    });

    const instances = await consul.catalog.service(service);
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({
      Node: node,
      Address: '10.20.30.40',
      NodeMeta: { env, rack: 'r1' },
      ServiceID: serviceId,
      ServiceName: service,
      ServicePort: 6379,
      ServiceWeights: { Passing: 4, Warning: 1 },
    });

    const checks = await consul.health.checks(service);
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({
      Node: node,
      CheckID: checkId,
      Status: 'warning',
      Output: 'slow replies',
      ServiceID: serviceId,
      Definition: { TCP: '10.20.30.40:6379', Interval: '10s', Timeout: '2s' },
    });
  });

  it('lists nodes and services, filtered by node-meta, filter expressions and tags', async () => {
    const { node, service, env } = await registerExternal();

    expect((await consul.catalog.nodes()).map((n) => n.Node)).toContain(node);
    expect((await consul.catalog.nodes({ nodeMeta: { env } })).map((n) => n.Node)).toEqual([node]);
    expect(await consul.catalog.nodes({ nodeMeta: { env, rack: 'other' } })).toEqual([]);
    expect((await consul.catalog.nodes({ filter: `Node == "${node}"` })).map((n) => n.Node)).toEqual([node]);
    expect((await consul.catalog.nodes({ near: '_agent' })).map((n) => n.Node)).toContain(node);

    const all = await consul.catalog.services();
    expect(all[service]?.sort()).toEqual(['primary', 'v2']);
    // Consul merges the tags of a service's instances into a set: their order is not stable.
    const byMeta = await consul.catalog.services({ nodeMeta: { env } });
    expect(Object.keys(byMeta)).toEqual([service]);
    expect(byMeta[service]?.sort()).toEqual(['primary', 'v2']);

    expect(await consul.catalog.service(service, { tag: 'primary' })).toHaveLength(1);
    expect(await consul.catalog.service(service, { tag: ['primary', 'v2'] })).toHaveLength(1);
    expect(await consul.catalog.service(service, { tag: 'replica' })).toEqual([]);
    expect(await consul.catalog.service(service, { tag: ['primary', 'replica'] })).toEqual([]);
    expect(await consul.catalog.service(service, { nodeMeta: { rack: 'r9' } })).toEqual([]);
    expect(await consul.catalog.service(service, { filter: 'ServicePort == 6379' })).toHaveLength(1);
    expect(await consul.catalog.service(service, { filter: 'ServicePort == 1' })).toEqual([]);
  });

  it('deregisters a check, then the service, then the node', async () => {
    const { node, service, serviceId, checkId } = await registerExternal();

    await consul.catalog.deregister({ Node: node, CheckID: checkId });
    expect(await consul.health.checks(service)).toEqual([]);
    expect(await consul.catalog.service(service)).toHaveLength(1);

    await consul.catalog.deregister({ Node: node, ServiceID: serviceId });
    expect(await consul.catalog.service(service)).toEqual([]);
    expect((await consul.catalog.node(node))?.Node.Node).toBe(node);

    await consul.catalog.deregister({ Node: node });
    expect(await consul.catalog.node(node)).toBeUndefined();
    // Deregistering what is already gone succeeds.
    await consul.catalog.deregister({ Node: node });
  });

  it('reads an unknown node or service as empty', async () => {
    expect(await consul.catalog.node(uniqueName('missing'))).toBeUndefined();
    expect(await consul.catalog.service(uniqueName('missing'))).toEqual([]);
  });

  it('lists the datacenters', async () => {
    expect(await consul.catalog.datacenters()).toEqual(['dc1']);
  });

  it('exposes the index, blocks on it, and answers from the agent cache with cached', async () => {
    const { service } = await registerExternal();
    const { data, meta } = await consul.catalog.service(service).withMeta();
    expect(data).toHaveLength(1);
    expect(meta.index).toBeGreaterThan(0n);
    const index = meta.index;
    if (index === undefined) throw new Error('the read carried no X-Consul-Index');

    // A change to the watched service wakes a blocking read with a higher index.
    const blocked = consul.catalog.service(service, { index, wait: '20s' }).withMeta();
    const second = uniqueName('ext-node');
    nodes.push(second);
    await consul.catalog.register({
      Node: second,
      Address: '10.20.30.41',
      Service: { Service: service, Port: 1 },
    });
    const woke = await blocked;
    expect(woke.data.map((instance) => instance.Node).sort()).toEqual([data[0]?.Node ?? '', second].sort());
    expect(woke.meta.index).toBeGreaterThan(index);

    // X-Cache is only sent for reads served through the agent cache.
    const cached = await consul.catalog.service(service, { cached: true }).withMeta();
    expect(typeof cached.meta.cacheHit).toBe('boolean');
    expect(cached.data).toHaveLength(2);
    const services = await consul.catalog.services({ cached: true }).withMeta();
    expect(typeof services.meta.cacheHit).toBe('boolean');
    const uncached = await consul.catalog.service(service).withMeta();
    expect(uncached.meta.cacheHit).toBeUndefined();
  });

  it('refuses bad input with a ValidationError before sending anything', async () => {
    const catalog = consul.catalog;
    await expectInvalid(consul, () => catalog.register({ Node: '', Address: '1.2.3.4' }), 'Node');
    await expectInvalid(consul, () => catalog.register({ Node: 'n' }), 'Address');
    await expectInvalid(
      consul,
      () => catalog.register({ Node: 'n', Address: 'a', Service: { Service: '', Port: 1 } }),
      'Service.Service',
    );
    await expectInvalid(
      consul,
      () => catalog.register({ Node: 'n', Address: 'a', Service: { Service: 's', Port: 65_536 } }),
      'Service.Port',
    );
    await expectInvalid(
      consul,
      () => catalog.register({ Node: 'n', Address: 'a', Check: { Name: 'c', Status: 'ok' as never } }),
      'Check.Status',
    );
    await expectInvalid(consul, () => catalog.deregister({ Node: '' }), 'Node');
    await expectInvalid(
      consul,
      () => catalog.deregister({ Node: 'n', ServiceID: 's', CheckID: 'c' }),
      'entry',
    );
    await expectInvalid(consul, () => catalog.service(''), 'name');
    await expectInvalid(consul, () => catalog.service('a/b'), 'name');
    await expectInvalid(consul, () => catalog.service('s', { tag: '' }), 'tag');
    await expectInvalid(consul, () => catalog.service('s', { nodeMeta: { 'a:b': 'c' } }), 'nodeMeta');
    await expectInvalid(consul, () => catalog.service('s', { near: '' }), 'near');
    await expectInvalid(consul, () => catalog.node(''), 'name');
    await expectInvalid(consul, () => catalog.nodes({ cached: true } as never), 'cached');
    await expectInvalid(consul, () => catalog.services({ filter: 'x' } as never), 'filter');
    await expectInvalid(consul, () => catalog.services({ nodeMeta: { '': 'x' } }), 'nodeMeta');
  });
});

describe('catalog writes addressed to another datacenter (issue 10, item 14)', () => {
  let consul: Consul;
  let inDc2: Consul;
  const nodes: string[] = [];

  beforeAll(() => {
    consul = new Consul({ address: sharedConsulAddress(), env: {} });
    inDc2 = new Consul({ address: sharedConsulAddress(), env: {}, datacenter: 'dc2', retry: { retries: 0 } });
  });
  afterAll(async () => {
    for (const node of nodes) await consul.catalog.deregister({ Node: node });
    await Promise.all([consul.close(), inDc2.close()]);
  });

  const noPath = { status: 500, body: expect.stringMatching(/No path to datacenter/) as unknown };
  const localNode = async (node: string) =>
    (await consul.catalog.nodes()).some((entry) => entry.Node === node);

  it('a deregister for dc2 never deletes the local node of that name; Consul refuses the unknown dc', async () => {
    const node = uniqueName('dc-trap');
    nodes.push(node);
    await consul.catalog.register({ Node: node, Address: '192.0.2.30' });
    expect(await localNode(node)).toBe(true);

    await expect(consul.catalog.deregister({ Node: node }, { datacenter: 'dc2' })).rejects.toMatchObject(
      noPath,
    );
    await expect(inDc2.catalog.deregister({ Node: node })).rejects.toMatchObject(noPath);
    expect(await localNode(node)).toBe(true);
  });

  it('a register for dc2 does not create the node locally', async () => {
    const node = uniqueName('dc-trap-reg');
    nodes.push(node);
    await expect(
      consul.catalog.register({ Node: node, Address: '192.0.2.31' }, { datacenter: 'dc2' }),
    ).rejects.toMatchObject(noPath);
    await expect(inDc2.catalog.register({ Node: node, Address: '192.0.2.31' })).rejects.toMatchObject(noPath);
    expect(await localNode(node)).toBe(false);
    // An entry naming its datacenter wins over the client's default, and a local one works.
    await inDc2.catalog.register({ Node: node, Address: '192.0.2.31', Datacenter: 'dc1' });
    expect(await localNode(node)).toBe(true);
  });

  it('conflicting datacenters in the entry and the options, and an empty one, are refused before sending', async () => {
    await expectInvalid(
      consul,
      () =>
        consul.catalog.register(
          { Node: 'n', Address: '192.0.2.32', Datacenter: 'dc1' },
          { datacenter: 'dc2' },
        ),
      'Datacenter',
    );
    await expectInvalid(
      consul,
      () => consul.catalog.deregister({ Node: 'n' }, { datacenter: '' }),
      'datacenter',
    );
    await expectInvalid(consul, () => consul.kv.get('x', { datacenter: ' ' }), 'datacenter');
  });

  it('config entry writes, which Consul 1.8 applies locally whatever dc says, refuse a datacenter', async () => {
    await expectInvalid(
      consul,
      () =>
        consul.configEntry.set(
          { Kind: 'service-defaults', Name: 'web', Protocol: 'http' },
          { datacenter: 'dc2' },
        ),
      'datacenter',
    );
    await expectInvalid(
      consul,
      () => consul.configEntry.delete('service-defaults', 'web', { datacenter: 'dc2' }),
      'datacenter',
    );
  });
});
