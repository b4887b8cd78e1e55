/**
 * Decoding against a real multi-node cluster (issue 10, item 1): serf's network coordinates
 * are floats with 16+ significant digits, which broke `agent.self()` and `coordinate.nodes()`
 * on every cluster with more than one node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consul } from '../../src/index.js';
import { startCluster, type Cluster } from '../../src/testing/index.js';
import { parseConsulJson } from '../../src/transport/uint64-json.js';
import { quietLogger } from '../support/clients.js';
import { eventually } from '../support/wait.js';

/** Whether any number in the vector needs more than 15 significant digits. */
const hasLongFloat = (values: readonly number[]): boolean =>
  values.some((value) => value.toString().replace(/^-?0\.0*|\.|e.*$/g, '').length >= 16);

describe('decoding on a real cluster (3 servers, 1 client)', () => {
  let cluster: Cluster;
  const clients: Consul[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ servers: 3, clients: 1 });
  }, 180_000);
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await cluster?.stop();
  });

  it('agent.self() and coordinate.nodes() decode serf coordinates exactly as JSON.parse does', async () => {
    for (const node of cluster.nodes) {
      const consul = new Consul({
        address: node.address,
        env: {},
        logger: quietLogger,
        ...(cluster.token !== undefined && { token: cluster.token }),
      });
      clients.push(consul);
      // Serf pings the other members and the coordinate moves off the origin within seconds.
      const self = await eventually(
        () => consul.agent.self(),
        (answer) => answer.Coord !== undefined && answer.Coord.Vec.some((component) => component !== 0),
        `${node.name}'s coordinate to move`,
      );
      const raw = (await (
        await fetch(
          `${node.address}/v1/agent/self`,
          cluster.token ? { headers: { 'x-consul-token': cluster.token } } : {},
        )
      ).json()) as { Coord: { Vec: number[] } };
      expect(self.Coord?.Vec).toHaveLength(raw.Coord.Vec.length);
      expect(self.Config.Datacenter).toBe(cluster.datacenter);
    }
    const consul = clients[0] as Consul;
    // Agents send their coordinate to the servers every few seconds, in batches; follow
    // the list with blocking reads (a hang guard of 90 s, not a speed bound).
    let coordinates = await consul.coordinate.nodes().withMeta();
    const deadline = Date.now() + 90_000;
    while (!coordinates.data.some((entry) => hasLongFloat(entry.Coord.Vec))) {
      if (Date.now() > deadline) throw new Error('no coordinate with 16+ digit floats within 90 s');
      coordinates = await consul.coordinate
        .nodes(coordinates.meta.index === undefined ? {} : { index: coordinates.meta.index, wait: '10s' })
        .withMeta();
    }
    // Coordinates keep moving, so the exact comparison is on one body, decoded both ways.
    const headers: Record<string, string> =
      cluster.token === undefined ? {} : { 'x-consul-token': cluster.token };
    for (const path of ['/v1/coordinate/nodes', '/v1/agent/self']) {
      const text = await (await fetch(`${cluster.servers[0]?.address ?? ''}${path}`, { headers })).text();
      const decoded = parseConsulJson(text) as unknown;
      const plain = JSON.parse(text) as unknown;
      expect(
        JSON.stringify(decoded, (_key, value: unknown) =>
          typeof value === 'bigint' ? Number(value) : value,
        ),
      ).toBe(JSON.stringify(plain));
    }
    expect(coordinates.data.every((entry) => entry.Coord.Vec.every(Number.isFinite))).toBe(true);
  }, 170_000);
});
