/**
 * `startCluster` against real agents, on each backend: one 3-server, 2-client cluster per
 * backend shared by that backend's tests (they run in order and leave it healthy for the
 * next one), the same assertions on both, plus option validation and a check that stop()
 * leaves nothing behind. The container variant runs where a Docker engine answers.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import type { Cluster, ClusterNode } from '../../src/testing/index.js';
import { startCluster } from '../../src/testing/index.js';
import { chooseClusterBackend } from '../../src/testing/cluster-options.js';
import {
  CLUSTER_OWNER_LABEL,
  dockerHostName,
  staleOwners,
  sweepStaleClusterResources,
} from '../../src/testing/cluster-docker.js';
import { dockerEngineAvailable, resolveConsulImage } from '../../src/testing/docker.js';
import { pidAlive } from '../../src/testing/loopback-claims.js';
import { ownRulesInForce } from '../../src/testing/netfault.js';
import { cgroup2Mount } from '../../src/testing/node-cgroup.js';
import { waitFor } from '../support/wait.js';

const dockerAnswers = await dockerEngineAvailable();

/**
 * Tests that inject a fault wait for Consul to notice it and to recover, each wait bounded by
 * 60–90 s: their sum under a loaded machine must not be cut short by the default 60 s.
 */
const FAULT_TEST_TIMEOUT_MS = 180_000;

async function getJson<T>(url: string, timeoutMs = 5_000): Promise<{ status: number; body: T }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

/** serfHealth of `node` as the servers' catalog has it, asked through `via`. */
async function serfHealth(via: ClusterNode, node: ClusterNode): Promise<string | undefined> {
  const { body } = await getJson<{ CheckID: string; Status: string }[]>(
    `${via.address}/v1/health/node/${node.name}`,
  );
  return body.find((check) => check.CheckID === 'serfHealth')?.Status;
}

/** Processes whose command line names this cluster's temp folder. */
function agentPids(clusterPrefix: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(clusterPrefix) && cmdline.includes('agent')) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Names of the running containers of cluster `clusterId`, and whether its network exists. */
function dockerLeftovers(clusterId: string): { containers: string[]; networks: string[] } {
  const containers = execFileSync(
    'docker',
    ['ps', '-a', '--filter', `label=org.consulkit.cluster=${clusterId}`, '--format', '{{.Names}}'],
    { encoding: 'utf8' },
  ).trim();
  const networks = execFileSync(
    'docker',
    ['network', 'ls', '--filter', `label=org.consulkit.cluster=${clusterId}`, '--format', '{{.Name}}'],
    { encoding: 'utf8' },
  ).trim();
  return {
    containers: containers === '' ? [] : containers.split('\n'),
    networks: networks === '' ? [] : networks.split('\n'),
  };
}

/** Whether `node`'s container is attached to its cluster network right now. */
function attachedToClusterNetwork(node: ClusterNode): boolean {
  const networks = execFileSync(
    'docker',
    ['inspect', '--format', '{{json .NetworkSettings.Networks}}', node.name],
    {
      encoding: 'utf8',
    },
  );
  return Object.keys(JSON.parse(networks) as Record<string, unknown>).some((name) => name.endsWith('-lan'));
}

/**
 * Ends every fault in force (delay, isolation, freeze, kill), then waits until the cluster is
 * as a test expects to find it: a leader usable through every node and every node passing
 * serfHealth in the servers' catalog.
 */
async function repairCluster(cluster: Cluster): Promise<void> {
  for (const node of cluster.nodes) {
    node.undelay();
    if (node.isolated) await node.heal();
    if (node.state === 'frozen') await node.thaw();
    if (node.state === 'killed') await node.restart();
  }
  await cluster.waitForLeader({ timeoutMs: 90_000 });
  const leader = await cluster.leader();
  await waitFor(
    'every node passing serfHealth after the repair',
    async () => {
      for (const node of cluster.nodes) if ((await serfHealth(leader, node)) !== 'passing') return false;
      return true;
    },
    90_000,
    250,
  );
}

const BACKENDS = [
  { backend: 'binary' as const, skip: false },
  { backend: 'container' as const, skip: !dockerAnswers },
];

describe.each(BACKENDS)('startCluster, $backend backend', ({ backend, skip }) => {
  const logLines: string[] = [];
  let cluster: Cluster;
  /** Set by the stop() test: no repair after it. */
  let stopped = false;

  beforeAll(async () => {
    if (skip) return;
    cluster = await startCluster({
      backend,
      servers: 3,
      clients: 2,
      log: (line) => {
        logLines.push(line);
        process.stderr.write(`[consulkit/testing] ${line}\n`);
      },
    });
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  // Whatever a test left broken (it failed between a fault and its repair) is repaired here,
  // so one failure never cascades into the next test on the shared cluster.
  afterEach(async () => {
    if (skip || cluster === undefined || stopped) return;
    await repairCluster(cluster);
  }, 180_000);

  // Without a Docker engine the container variant is reported as skipped, never as passed.
  const test = skip ? it.skip : it;

  test('forms a datacenter of 3 servers and 2 clients; a write through one client is read through the other', async () => {
    expect(cluster.servers.map((node) => node.role)).toEqual(['server', 'server', 'server']);
    expect(cluster.clients.map((node) => node.role)).toEqual(['client', 'client']);
    expect(new Set(cluster.nodes.map((node) => node.ip)).size).toBe(5);
    expect(cluster.backend).toBe(backend);
    expect(
      logLines.some(
        (line) => line.startsWith(`${backend} backend`) && line.includes('3 server(s), 2 client(s)'),
      ),
    ).toBe(true);

    const { body: members } = await getJson<{ Name: string; Status: number; Tags: { role: string } }[]>(
      `${cluster.servers[0]!.address}/v1/agent/members`,
    );
    expect(
      members
        .filter((m) => m.Status === 1)
        .map((m) => m.Name)
        .sort(),
    ).toEqual(cluster.nodes.map((node) => node.name).sort());
    const { body: peers } = await getJson<string[]>(`${cluster.servers[0]!.address}/v1/status/peers`);
    expect(peers.sort()).toEqual(cluster.servers.map((s) => `${s.ip}:${s.ports.server}`).sort());

    const [a, b] = cluster.clients;
    const put = await fetch(`${a!.address}/v1/kv/cluster-test/x`, { method: 'PUT', body: 'from-a' });
    expect(await put.text()).toBe('true');
    const read = await fetch(`${b!.address}/v1/kv/cluster-test/x?raw&consistent`);
    expect(await read.text()).toBe('from-a');
  });

  test(
    'leader() names the raft leader; killing it yields another leader, and a restart rejoins',
    async () => {
      const leader = await cluster.leader();
      const { body: raft } = await getJson<{ Servers: { Node: string; Leader: boolean; Voter: boolean }[] }>(
        `${cluster.servers[0]!.address}/v1/operator/raft/configuration`,
      );
      expect(raft.Servers.find((server) => server.Leader)?.Node).toBe(leader.name);

      await leader.kill();
      expect(leader.state).toBe('killed');
      const waitStarted = performance.now();
      const next = await cluster.waitForLeader({ exclude: leader, timeoutMs: 60_000 });
      process.stderr.write(
        `[consulkit/testing] ${backend}: a usable new leader ${Math.round(performance.now() - waitStarted)} ms after the kill\n`,
      );
      expect(next).not.toBe(leader);
      expect(next.role).toBe('server');
      // waitForLeader's promise: the new leader takes writes through every live node at once
      // (a client may still list the dead server first; without that wait its write fails).
      for (const node of cluster.nodes.filter((n) => n !== leader)) {
        const put = await fetch(`${node.address}/v1/kv/cluster-test/after-kill/${node.name}`, {
          method: 'PUT',
          body: '1',
          signal: AbortSignal.timeout(30_000),
        });
        expect(`${node.name}: ${await put.text()}`).toBe(`${node.name}: true`);
      }

      await leader.restart();
      expect(leader.state).toBe('running');
      await waitFor(
        'the restarted server back among the raft voters',
        async () => {
          const { body } = await getJson<{ Servers: { Node: string; Voter: boolean }[] }>(
            `${next.address}/v1/operator/raft/configuration`,
          );
          return body.Servers.filter((s) => s.Voter).length === 3;
        },
        60_000,
        250,
      );
    },
    FAULT_TEST_TIMEOUT_MS,
  );

  test(
    'freeze() stops a client answering and makes it fail in the catalog; thaw() brings it back',
    async () => {
      const node = cluster.clients[0]!;
      const server = cluster.servers[0]!;
      await node.freeze();
      expect(node.state).toBe('frozen');
      await expect(
        fetch(`${node.address}/v1/agent/self`, { signal: AbortSignal.timeout(1_000) }),
      ).rejects.toThrow();
      await waitFor(
        'serfHealth critical for the frozen node',
        async () => (await serfHealth(server, node)) === 'critical',
        60_000,
        250,
      );

      await node.thaw();
      expect(node.state).toBe('running');
      expect((await getJson(`${node.address}/v1/agent/self`)).status).toBe(200);
      await waitFor(
        'serfHealth passing again',
        async () => (await serfHealth(server, node)) === 'passing',
        60_000,
        250,
      );
    },
    FAULT_TEST_TIMEOUT_MS,
  );

  test(
    'isolate() makes the others see the node as failed while its own HTTP API answers; heal() ends it',
    async () => {
      const node = cluster.clients[1]!;
      const server = cluster.servers[1]!;
      await node.isolate();
      expect(node.isolated).toBe(true);
      if (backend === 'binary') expect(await ownRulesInForce()).toBeGreaterThan(0);
      else expect(attachedToClusterNetwork(node)).toBe(false);
      await waitFor(
        'serfHealth critical for the isolated node',
        async () => (await serfHealth(server, node)) === 'critical',
        60_000,
        250,
      );
      // Its local API still answers the application ...
      expect((await getJson(`${node.address}/v1/agent/self`)).status).toBe(200);
      // ... but it no longer reaches the servers: a consistent read through it is not served
      // (an error status once the RPC times out, or no answer before we stop waiting).
      const served = await fetch(`${node.address}/v1/kv/cluster-test/x?consistent`, {
        signal: AbortSignal.timeout(8_000),
      }).then(
        async (response) => {
          await response.text();
          return response.status === 200;
        },
        () => false,
      );
      expect(served).toBe(false);

      await node.heal();
      expect(node.isolated).toBe(false);
      if (backend === 'binary') expect(await ownRulesInForce()).toBe(0);
      else expect(attachedToClusterNetwork(node)).toBe(true);
      await waitFor(
        'serfHealth passing after heal',
        async () => (await serfHealth(server, node)) === 'passing',
        60_000,
        250,
      );
      await waitFor(
        'reads through the healed node',
        async () => {
          const response = await fetch(`${node.address}/v1/kv/cluster-test/x?raw&consistent`);
          return response.status === 200 && (await response.text()) === 'from-a';
        },
        60_000,
        250,
      );
    },
    FAULT_TEST_TIMEOUT_MS,
  );

  test(
    'restart({ keepData: false }) brings an agent back with its local state lost, same node ID',
    async () => {
      const node = cluster.clients[1]!;
      const { body: before } = await getJson<{ Config: { NodeID: string } }>(`${node.address}/v1/agent/self`);
      const register = await fetch(`${node.address}/v1/agent/service/register`, {
        method: 'PUT',
        body: JSON.stringify({ Name: 'cluster-test-svc' }),
      });
      expect(register.status).toBe(200);
      const { body: services } = await getJson<Record<string, unknown>>(`${node.address}/v1/agent/services`);
      expect(Object.keys(services)).toContain('cluster-test-svc');

      await node.restart({ keepData: false });
      const { body: after } = await getJson<Record<string, unknown>>(`${node.address}/v1/agent/services`);
      expect(after).toEqual({});
      const { body: self } = await getJson<{ Config: { NodeID: string } }>(`${node.address}/v1/agent/self`);
      expect(self.Config.NodeID).toBe(before.Config.NodeID);
      await waitFor(
        'state-lost node passing',
        async () => (await serfHealth(cluster.servers[0]!, node)) === 'passing',
        60_000,
        250,
      );
    },
    FAULT_TEST_TIMEOUT_MS,
  );

  test('delay() slows traffic through proxyAddress only; undelay() ends it', async () => {
    const node = cluster.clients[0]!;
    expect((await getJson(`${node.proxyAddress}/v1/agent/self`)).status).toBe(200);
    node.delay(400);
    const started = performance.now();
    expect((await getJson(`${node.proxyAddress}/v1/status/leader`, 20_000)).status).toBe(200);
    // A request and its answer each wait 400 ms: a lower bound, whatever the machine's speed.
    expect(performance.now() - started).toBeGreaterThanOrEqual(750);
    node.undelay();
    expect((await getJson(`${node.proxyAddress}/v1/status/leader`)).status).toBe(200);
    expect(() => node.delay(-1)).toThrow(ValidationError);
  });

  test('rejects bad options with a ValidationError before starting anything', async () => {
    await expect(startCluster({ backend, servers: 0 })).rejects.toBeInstanceOf(ValidationError);
    await expect(startCluster({ backend, clients: 1.5 })).rejects.toBeInstanceOf(ValidationError);
    await expect(startCluster({ backend: 'podman' as 'binary' })).rejects.toBeInstanceOf(ValidationError);
    await expect(startCluster({ backend, acl: { defaultPolicy: 'maybe' as 'deny' } })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  test(
    'stop() leaves no agent, container, network, firewall rule, cgroup or address behind, and can be called twice',
    async () => {
      const prefix = cluster.nodes[0]!.name.split('-')[0]!;
      if (backend === 'binary') expect(agentPids(`consulkit-${prefix}-`).length).toBe(5);
      else expect(dockerLeftovers(prefix).containers.sort()).toEqual(cluster.nodes.map((n) => n.name).sort());
      await cluster.nodes[0]!.isolate();
      await cluster.nodes[3]!.freeze();
      stopped = true;
      await cluster.stop();
      await cluster.stop();
      if (backend === 'binary') {
        expect(agentPids(`consulkit-${prefix}-`)).toEqual([]);
        expect(await ownRulesInForce()).toBe(0);
        const iptables = execFileSync('iptables', ['-w', '5', '-S'], { encoding: 'utf8' });
        expect(iptables).not.toContain(prefix);
        const mount = cgroup2Mount();
        const cgroups = mount === null ? [] : readdirSync(mount).filter((entry) => entry.includes(prefix));
        expect(cgroups).toEqual([]);
      } else {
        expect(dockerLeftovers(prefix)).toEqual({ containers: [], networks: [] });
      }
      for (const node of cluster.nodes) {
        await expect(
          fetch(`${node.address}/v1/agent/self`, { signal: AbortSignal.timeout(2_000) }),
        ).rejects.toThrow();
      }
    },
    FAULT_TEST_TIMEOUT_MS,
  );
});

describe('startCluster backend choice', () => {
  it("'auto' is the binary backend unless CONSULKIT_CLUSTER_BACKEND says container; a bad value is a ValidationError", async () => {
    const yes = async (): Promise<boolean> => true;
    const no = async (): Promise<boolean> => false;
    expect(await chooseClusterBackend('auto', yes, {})).toBe('binary');
    expect(await chooseClusterBackend('auto', yes, { CONSULKIT_CLUSTER_BACKEND: 'container' })).toBe(
      'container',
    );
    expect(await chooseClusterBackend('auto', no, { CONSULKIT_CLUSTER_BACKEND: 'binary' })).toBe('binary');
    expect(await chooseClusterBackend('container', yes, {})).toBe('container');
    await expect(
      chooseClusterBackend('auto', yes, { CONSULKIT_CLUSTER_BACKEND: 'vm' }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(chooseClusterBackend('container', no, {})).rejects.toThrow(/needs a Docker engine/);
  });
});

describe('container backend helpers', () => {
  it('staleOwners judges only owners on this host, by whether their pid still runs', () => {
    const me = hostname();
    const alive = (pid: number): boolean => pid === 100;
    expect([
      ...staleOwners([`${me}/100`, `${me}/200`, `other-host/200`, 'garbage', `${me}/x`], alive),
    ]).toEqual([`${me}/200`]);
  });

  it('dockerHostName: a local socket is localhost, a tcp engine its host', () => {
    expect(dockerHostName(undefined)).toBe('localhost');
    expect(dockerHostName('unix:///var/run/docker.sock')).toBe('localhost');
    expect(dockerHostName('tcp://10.1.2.3:2376')).toBe('10.1.2.3');
    expect(dockerHostName('ssh://user@builder')).toBe('builder');
  });
});

describe.skipIf(!dockerAnswers)('container backend leftovers', () => {
  it('a network and container of an ended process are swept; those of a live process stay', async () => {
    // A pid that surely ended: a child that has exited.
    const dead = execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"'], { encoding: 'utf8' }).trim();
    expect(pidAlive(Number(dead))).toBe(false);
    const tag = `cksweep${process.pid}`;
    const deadOwner = `${hostname()}/${dead}`;
    const liveOwner = `${hostname()}/${process.pid}`;
    const label = (owner: string): string[] => [
      '--label',
      `${CLUSTER_OWNER_LABEL}=${owner}`,
      '--label',
      `org.consulkit.cluster=${tag}`,
    ];
    execFileSync('docker', ['network', 'create', '--internal', ...label(deadOwner), `${tag}-dead`]);
    execFileSync('docker', ['network', 'create', '--internal', ...label(liveOwner), `${tag}-live`]);
    execFileSync('docker', [
      'create',
      '--name',
      `${tag}-dead-c`,
      ...label(deadOwner),
      '--network',
      `${tag}-dead`,
      '--entrypoint',
      '/bin/consul',
      await resolveConsulImage(() => undefined),
      'version',
    ]);
    try {
      const swept = await sweepStaleClusterResources(pidAlive);
      expect(swept.containers).toBeGreaterThanOrEqual(1);
      expect(swept.networks).toBeGreaterThanOrEqual(1);
      expect(dockerLeftovers(tag)).toEqual({ containers: [], networks: [`${tag}-live`] });
    } finally {
      execFileSync('sh', [
        '-c',
        `docker rm -f ${tag}-dead-c >/dev/null 2>&1; docker network rm ${tag}-dead ${tag}-live >/dev/null 2>&1; true`,
      ]);
    }
  });
});
