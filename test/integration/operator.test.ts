import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consul, ConsulHttpError, type CoordinateUpdate } from '../../src/index.js';
import { startConsul, type ConsulInstance } from '../../src/testing/index.js';
import { sharedConsulAddress, uniqueName } from '../support/consul.js';
import { expectInvalid } from '../support/validation.js';
import { eventually } from '../support/wait.js';

/** An 8-dimensional coordinate, the dimensionality of Consul's servers. */
function coordinate(first: number): CoordinateUpdate['Coord'] {
  return { Vec: [first, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 0.00001 };
}

describe('operator', () => {
  let consul: Consul;
  let nodeName: string;

  beforeAll(async () => {
    consul = new Consul({ address: sharedConsulAddress(), env: {} });
    nodeName = (await consul.agent.self()).Config.NodeName;
  });
  afterAll(async () => {
    await consul.close();
  });

  it('lists the dev server as the Raft leader and a voter', async () => {
    const { data, meta } = await consul.operator.raftConfiguration().withMeta();
    expect(data.Servers).toHaveLength(1);
    expect(data.Servers[0]).toMatchObject({
      Node: nodeName,
      Leader: true,
      Voter: true,
      ProtocolVersion: '3',
    });
    expect(data.Servers[0]?.Address).toMatch(/:\d+$/);
    expect(typeof data.Index).toBe('bigint');
    expect(meta).toBeTypeOf('object');
    // Any server may answer a stale read; the dev agent is the only one.
    const stale = await consul.operator.raftConfiguration({ consistency: 'stale' });
    expect(stale.Servers.map((server) => server.ID)).toEqual(data.Servers.map((server) => server.ID));
    // The Raft ID agrees with what status.peers reports as the address.
    expect(await consul.status.peers()).toEqual([data.Servers[0]?.Address]);
  });

  it('reads the Autopilot configuration and health', async () => {
    const config = await consul.operator.autopilotConfiguration();
    expect(config).toMatchObject({ CleanupDeadServers: true, MaxTrailingLogs: 250 });
    expect(config.LastContactThreshold).toMatch(/^\d+(ms|s)$/);
    expect(config.ServerStabilizationTime).toMatch(/^\d+(ms|s)$/);
    expect(typeof config.ModifyIndex).toBe('bigint');
    expect((await consul.operator.autopilotConfiguration({ consistency: 'stale' })).ModifyIndex).toBe(
      config.ModifyIndex,
    );

    const health = await consul.operator.autopilotHealth();
    expect(health).toMatchObject({ Healthy: true, FailureTolerance: 0 });
    expect(health.Servers).toHaveLength(1);
    expect(health.Servers[0]).toMatchObject({
      Name: nodeName,
      Leader: true,
      Voter: true,
      Healthy: true,
      SerfStatus: 'alive',
      Version: '1.8.7',
    });
    expect(health.Servers[0]?.LastIndex).toBeGreaterThan(0);
  });

  it('sends raftRemovePeer for exactly one of address and id', async () => {
    await expectInvalid(consul, () => consul.operator.raftRemovePeer({}), 'peer');
    await expectInvalid(
      consul,
      () => consul.operator.raftRemovePeer({ address: '10.0.0.1:8300', id: 'x' }),
      'peer',
    );
    await expectInvalid(consul, () => consul.operator.raftRemovePeer({ address: '' }), 'address');
    await expectInvalid(consul, () => consul.operator.raftRemovePeer({ id: 7 as never }), 'id');
    // A peer that is not there: Consul's answer names the parameter that reached it.
    await expect(consul.operator.raftRemovePeer({ address: '10.255.255.1:8300' })).rejects.toMatchObject({
      body: expect.stringMatching(/address "10\.255\.255\.1:8300" was not found/) as unknown,
    });
    await expect(consul.operator.raftRemovePeer({ id: 'no-such-peer' })).rejects.toMatchObject({
      body: expect.stringMatching(/id "no-such-peer" was not found/) as unknown,
    });
    // The dev server is still there.
    expect((await consul.operator.raftConfiguration()).Servers).toHaveLength(1);
  });

  it('answers keyringList with an HTTP error on an agent without gossip encryption', async () => {
    const error: unknown = await consul.operator.keyringList().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConsulHttpError);
    expect((error as ConsulHttpError).status).toBe(500);
    expect((error as ConsulHttpError).body).toMatch(/encryption not enabled/);
    await expectInvalid(consul, () => consul.operator.keyringList({ relayFactor: 6 }), 'relayFactor');
    await expectInvalid(consul, () => consul.operator.raftConfiguration({ index: 1 } as never), 'index');
  });

  describe('with gossip encryption', () => {
    let agent: ConsulInstance | undefined;
    let encrypted: Consul;
    const key = randomBytes(32).toString('base64');

    beforeAll(async () => {
      agent = await startConsul({ hcl: `encrypt = "${key}"` });
      encrypted = new Consul({ address: agent.address, env: {} });
    });
    afterAll(async () => {
      await encrypted.close();
      await agent?.stop();
    });

    it('lists the installed key in the WAN and LAN pools', async () => {
      const pools = await encrypted.operator.keyringList({ relayFactor: 1 });
      expect(pools.map((pool) => pool.WAN).sort()).toEqual([false, true]);
      for (const pool of pools) {
        expect(pool).toMatchObject({ Datacenter: 'dc1', NumNodes: 1, Keys: { [key]: 1 } });
        expect(pool.PrimaryKeys).toEqual({ [key]: 1 });
      }
    });
  });
});

describe('coordinate', () => {
  let consul: Consul;
  const nodes: string[] = [];

  beforeAll(() => {
    consul = new Consul({ address: sharedConsulAddress(), env: {} });
  });
  afterAll(async () => {
    for (const node of nodes) await consul.catalog.deregister({ Node: node });
    await consul.close();
  });

  it('reports the WAN coordinates of dc1', async () => {
    const datacenters = await consul.coordinate.datacenters();
    const dc1 = datacenters.find((dc) => dc.Datacenter === 'dc1');
    expect(dc1?.AreaID).toBe('wan');
    expect(dc1?.Coordinates.length).toBeGreaterThan(0);
    expect(dc1?.Coordinates[0]?.Coord.Vec).toHaveLength(8);
  });

  it('sets a node coordinate with update, then reads it from nodes and node (blocking)', async () => {
    const node = uniqueName('coord-node');
    nodes.push(node);
    await consul.catalog.register({ Node: node, Address: '192.0.2.10' });

    const before = await consul.coordinate.nodes().withMeta();
    expect(Array.isArray(before.data)).toBe(true);
    expect(before.data.some((entry) => entry.Node === node)).toBe(false);
    expect(typeof before.meta.index).toBe('bigint');
    expect(await consul.coordinate.node(node)).toEqual([]);

    await consul.coordinate.update({ Node: node, Coord: coordinate(0.25) });
    // The servers apply coordinate updates in batches (every 5 s by default); follow them
    // with blocking reads on the index of the previous answer.
    let index = before.meta.index;
    const entries = await eventually(
      async () => {
        const { data, meta } = await consul.coordinate
          .node(node, index === undefined ? {} : { index, wait: '10s' })
          .withMeta();
        index = meta.index;
        return data;
      },
      (data) => data.length > 0,
      'the coordinate to be applied',
    );
    expect(entries).toEqual([{ Node: node, Segment: '', Coord: coordinate(0.25) }]);
    const all = await consul.coordinate.nodes();
    expect(all.find((entry) => entry.Node === node)?.Coord.Vec[0]).toBe(0.25);

    // Deregistering the node drops its coordinate too.
    await consul.catalog.deregister({ Node: node });
    expect(await consul.coordinate.node(node)).toEqual([]);
  });

  it('reads back coordinates whose floats have 16+ significant digits, exactly (issue 10, item 1)', async () => {
    // The shapes serf's Vivaldi coordinates take on any multi-node cluster; Go writes them in
    // shortest round-trip form, which is what broke the uint64-exact parser.
    const coord: CoordinateUpdate['Coord'] = {
      Vec: [
        0.0005246854734420745, -8.414709848078965e-5, 1.2345678901234566e-7, 0.1234567890123456, 0,
        -0.0005403023058681397, 3.1415926535897935e-5, -2.718281828459045e-3,
      ],
      Error: 0.23104906018664842,
      Adjustment: -1.4112000805986721e-5,
      Height: 0.000010234567890123456,
    };
    const node = uniqueName('coord-float');
    nodes.push(node);
    await consul.catalog.register({ Node: node, Address: '192.0.2.11' });
    await consul.coordinate.update({ Node: node, Coord: coord });
    const entries = await eventually(
      () => consul.coordinate.node(node),
      (data) => data.length > 0,
      'the coordinate to be applied',
    );
    expect(entries).toStrictEqual([{ Node: node, Segment: '', Coord: coord }]);
    const all = await consul.coordinate.nodes();
    expect(all.find((entry) => entry.Node === node)?.Coord).toStrictEqual(coord);
  });

  it('refuses a bad coordinate before sending, and Consul refuses a wrong dimensionality', async () => {
    const node = uniqueName('coord-bad');
    await expectInvalid(consul, () => consul.coordinate.update({ Node: '', Coord: coordinate(0) }), 'Node');
    await expectInvalid(
      consul,
      () => consul.coordinate.update({ Node: node, Coord: { ...coordinate(0), Vec: [Number.NaN] } }),
      'Coord.Vec[0]',
    );
    await expectInvalid(
      consul,
      () => consul.coordinate.update({ Node: node, Coord: { ...coordinate(0), Error: Infinity } }),
      'Coord.Error',
    );
    await expectInvalid(consul, () => consul.coordinate.update({ Node: node } as never), 'Coord');
    await expectInvalid(consul, () => consul.coordinate.nodes({ filter: 'x' } as never), 'filter');
    await expect(
      consul.coordinate.update({ Node: node, Coord: { ...coordinate(0), Vec: [0, 0] } }),
    ).rejects.toMatchObject({
      status: 500,
      body: expect.stringMatching(/incompatible coordinate/) as unknown,
    });
  });
});
