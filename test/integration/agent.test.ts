import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Check,
  Consul,
  ConsulHttpError,
  MemberStatus,
  NotFoundError,
  type AgentMember,
} from '../../src/index.js';
import { startConsul, type ConsulInstance } from '../../src/testing/index.js';
import { sharedConsulAddress, uniqueName } from '../support/consul.js';
import { expectInvalid } from '../support/validation.js';
import { eventually } from '../support/wait.js';

describe('agent (shared agent)', () => {
  let consul: Consul;
  const services: string[] = [];
  const checks: string[] = [];

  beforeAll(() => {
    consul = new Consul({ address: sharedConsulAddress(), env: {} });
  });
  afterAll(async () => {
    for (const id of services) await consul.agent.service.deregister(id);
    for (const id of checks) await consul.agent.check.deregister(id);
    await consul.close();
  });

  it('self describes the agent and matches its own member entry', async () => {
    const self = await consul.agent.self();
    expect(self.Config.Datacenter).toBe('dc1');
    expect(self.Config.Server).toBe(true);
    expect(self.Config.Version).toMatch(/^\d+\.\d+\.\d+/);
    expect(self.Member.Name).toBe(self.Config.NodeName);
    expect(self.Member.Status).toBe(MemberStatus.Alive);
    expect(self.Member.Tags['dc']).toBe('dc1');
  });

  it('members lists the agent itself as alive, on LAN and WAN', async () => {
    const { Config } = await consul.agent.self();
    const lan = await consul.agent.members();
    expect(lan.find((member) => member.Name === Config.NodeName)?.Status).toBe(MemberStatus.Alive);
    const wan = await consul.agent.members({ wan: true });
    // WAN member names carry the datacenter: <node>.<dc>.
    expect(wan.map((member) => member.Name)).toContain(`${Config.NodeName}.dc1`);
  });

  it('registers a service with a TTL check and drives it passing → warning → critical → passing', async () => {
    const name = uniqueName('agent-ttl');
    const checkId = `${name}-ttl`;
    services.push(name);
    await consul.agent.service.register({
      Name: name,
      Port: 8080,
      Tags: ['v1'],
      Meta: { owner: 'agent-test' },
      Weights: { Passing: 5, Warning: 1 },
      Check: { ...Check.ttl('5m', { notes: 'heartbeat' }), CheckID: checkId },
    });

    const registered = await consul.agent.service.get(name);
    expect(registered).toMatchObject({
      ID: name,
      Service: name,
      Port: 8080,
      Tags: ['v1'],
      Meta: { owner: 'agent-test' },
      Weights: { Passing: 5, Warning: 1 },
    });
    expect(Object.keys(await consul.agent.service.list())).toContain(name);

    const statusOf = async () => (await consul.agent.check.list())[checkId];
    expect(await statusOf()).toMatchObject({
      Status: 'critical',
      ServiceID: name,
      Notes: 'heartbeat',
      Type: 'ttl',
    });

    await consul.agent.check.pass(checkId, 'all good');
    expect(await statusOf()).toMatchObject({ Status: 'passing', Output: 'all good' });
    await consul.agent.check.warn(checkId, 'degraded');
    expect(await statusOf()).toMatchObject({ Status: 'warning', Output: 'degraded' });
    await consul.agent.check.fail(checkId);
    expect((await statusOf())?.Status).toBe('critical');
    await consul.agent.check.update(checkId, 'passing', 'updated output');
    expect(await statusOf()).toMatchObject({ Status: 'passing', Output: 'updated output' });
    await consul.agent.check.update(checkId, 'warning');
    expect((await statusOf())?.Status).toBe('warning');

    await consul.agent.service.deregister(name);
    expect(await consul.agent.service.get(name)).toBeUndefined();
    expect((await consul.agent.check.list())[checkId]).toBeUndefined();
  });

  it('rejects a TTL update of an unknown check with NotFoundError after a single request', async () => {
    const before = consul.stats().requests;
    await expect(consul.agent.check.pass(uniqueName('no-such-check'))).rejects.toThrow(NotFoundError);
    // NotFoundError is an answer, not a transient failure: the transport must not retry it.
    expect(consul.stats().requests).toBe(before + 1);
    await expect(consul.agent.check.update(uniqueName('no-such-check'), 'passing')).rejects.toThrow(
      NotFoundError,
    );
    await expect(consul.agent.check.warn(uniqueName('no-such-check'))).rejects.toThrow(NotFoundError);
  });

  it('replaceExistingChecks drops the checks the new definition does not list', async () => {
    const name = uniqueName('agent-replace');
    services.push(name);
    await consul.agent.service.register({
      Name: name,
      Checks: [
        { ...Check.ttl('5m'), CheckID: `${name}-a` },
        { ...Check.ttl('5m'), CheckID: `${name}-b` },
      ],
    });
    const ids = async () =>
      Object.keys(await consul.agent.check.list({ filter: `ServiceID == "${name}"` })).sort();
    expect(await ids()).toEqual([`${name}-a`, `${name}-b`]);

    await consul.agent.service.register({ Name: name, Check: { ...Check.ttl('5m'), CheckID: `${name}-a` } });
    expect(await ids()).toEqual([`${name}-a`, `${name}-b`]);

    await consul.agent.service.register(
      { Name: name, Check: { ...Check.ttl('5m'), CheckID: `${name}-a` } },
      { replaceExistingChecks: true },
    );
    expect(await ids()).toEqual([`${name}-a`]);
  });

  it('filters the service and check lists server-side', async () => {
    const name = uniqueName('agent-filter');
    services.push(name);
    await consul.agent.service.register({ Name: name, Tags: ['blue'], Check: Check.ttl('5m') });
    const listed = await consul.agent.service.list({ filter: `Service == "${name}"` });
    expect(Object.keys(listed)).toEqual([name]);
    const listedChecks = await consul.agent.check.list({ filter: `ServiceName == "${name}"` });
    expect(Object.values(listedChecks).map((check) => check.ServiceID)).toEqual([name]);
  });

  it('registers and deregisters a node-level check and a check bound to a service', async () => {
    const name = uniqueName('agent-check');
    const nodeCheck = `${name}-node`;
    const serviceCheck = `${name}-svc`;
    services.push(name);
    checks.push(nodeCheck, serviceCheck);
    await consul.agent.service.register({ Name: name });
    await consul.agent.check.register({
      ...Check.ttl('5m'),
      Name: 'node heartbeat',
      ID: nodeCheck,
      Status: 'passing',
    });
    await consul.agent.check.register({
      ...Check.ttl('5m'),
      Name: 'svc heartbeat',
      ID: serviceCheck,
      ServiceID: name,
    });
    const listed = await consul.agent.check.list();
    expect(listed[nodeCheck]).toMatchObject({ Name: 'node heartbeat', Status: 'passing', ServiceID: '' });
    expect(listed[serviceCheck]).toMatchObject({
      Name: 'svc heartbeat',
      Status: 'critical',
      ServiceID: name,
    });

    await consul.agent.check.deregister(nodeCheck);
    await consul.agent.check.deregister(serviceCheck);
    const after = await consul.agent.check.list();
    expect(after[nodeCheck]).toBeUndefined();
    expect(after[serviceCheck]).toBeUndefined();
  });

  it('service maintenance adds and removes a critical _service_maintenance:<id> check', async () => {
    const name = uniqueName('agent-maint');
    services.push(name);
    await consul.agent.service.register({ Name: name, Check: Check.ttl('5m', { status: 'passing' }) });
    const maintenanceId = `_service_maintenance:${name}`;

    await consul.agent.service.maintenance(name, true, 'deploying v2');
    expect((await consul.agent.check.list())[maintenanceId]).toMatchObject({
      Status: 'critical',
      Notes: 'deploying v2',
      ServiceID: name,
    });
    await eventually(
      () => consul.health.service(name, { passing: true }),
      (entries) => entries.length === 0,
      'the service to leave passing-only results',
    );

    await consul.agent.service.maintenance(name, false);
    expect((await consul.agent.check.list())[maintenanceId]).toBeUndefined();
    await eventually(
      () => consul.health.service(name, { passing: true }),
      (entries) => entries.length === 1,
      'the service to come back',
    );
  });

  it('service maintenance of an unknown service is NotFoundError; force-leave of an unknown node is an HTTP error', async () => {
    await expect(consul.agent.service.maintenance(uniqueName('nope'), true)).rejects.toThrow(NotFoundError);
    await expect(consul.agent.forceLeave(uniqueName('no-such-node'))).rejects.toThrow(ConsulHttpError);
  });

  it('refuses bad input with a ValidationError before sending anything', async () => {
    const agent = consul.agent;
    await expectInvalid(consul, () => agent.service.register({ Name: '' }), 'Name');
    await expectInvalid(consul, () => agent.service.register({ Name: 'x', Port: 70_000 }), 'Port');
    await expectInvalid(consul, () => agent.service.register({ Name: 'x', Port: 1.5 }), 'Port');
    await expectInvalid(
      consul,
      () => agent.service.register({ Name: 'x', Check: { HTTP: 'http://127.0.0.1/' } }),
      'Check.Interval',
    );
    await expectInvalid(
      consul,
      () => agent.service.register({ Name: 'x', Check: { TCP: 'a:1' } }),
      'Check.Interval',
    );
    await expectInvalid(
      consul,
      () => agent.service.register({ Name: 'x', Check: { Args: ['/bin/true'] } }),
      'Check.Interval',
    );
    await expectInvalid(
      consul,
      () => agent.service.register({ Name: 'x', Check: { GRPC: 'a:1' } }),
      'Check.Interval',
    );
    await expectInvalid(
      consul,
      () => agent.service.register({ Name: 'x', Check: { DockerContainerID: 'c', Args: ['/c'] } }),
      'Check.Interval',
    );
    await expectInvalid(
      consul,
      () => agent.service.register({ Name: 'x', Check: { TTL: '10s', TCP: 'a:1' } }),
      'Check',
    );
    await expectInvalid(consul, () => agent.service.register({ Name: 'x', Check: {} }), 'Check');
    await expectInvalid(
      consul,
      () => agent.service.register({ Name: 'x', Weights: { Passing: 0, Warning: 1 } }),
      'Weights.Passing',
    );
    await expectInvalid(
      consul,
      () => agent.service.register({ Name: 'x', Check: { TTL: '10s', Status: 'ok' as never } }),
      'Check.Status',
    );
    await expectInvalid(consul, () => agent.check.register({ Name: '', TTL: '10s' }), 'Name');
    await expectInvalid(consul, () => agent.check.update('c', 'fine' as never), 'status');
    await expectInvalid(consul, () => agent.check.pass(''), 'checkId');
    await expectInvalid(consul, () => agent.check.pass('a/b'), 'checkId');
    await expectInvalid(consul, () => agent.service.deregister(''), 'serviceId');
    await expectInvalid(consul, () => agent.service.maintenance('x', 'yes' as never), 'enable');
    await expectInvalid(consul, () => agent.maintenance('on' as never), 'enable');
    await expectInvalid(consul, () => agent.join(''), 'address');
    await expectInvalid(consul, () => agent.forceLeave(''), 'node');
    await expectInvalid(consul, () => agent.members({ segment: '' }), 'segment');
  });
});

describe('agent (dedicated agents: node maintenance, reload, join, force-leave)', () => {
  let first: ConsulInstance | undefined;
  let second: ConsulInstance | undefined;
  let consul: Consul;

  beforeAll(async () => {
    [first, second] = await Promise.all([startConsul(), startConsul()]);
    consul = new Consul({ address: first.address, env: {} });
  });
  afterAll(async () => {
    await consul?.close();
    await Promise.allSettled([first?.stop(), second?.stop()]);
  });

  it('node maintenance adds _node_maintenance and takes every service out of passing results', async () => {
    const name = uniqueName('node-maint');
    await consul.agent.service.register({ Name: name, Check: Check.ttl('5m', { status: 'passing' }) });
    await eventually(
      () => consul.health.service(name, { passing: true }),
      (entries) => entries.length === 1,
      'the service to pass',
    );

    await consul.agent.maintenance(true, 'kernel upgrade');
    expect((await consul.agent.check.list())['_node_maintenance']).toMatchObject({
      Status: 'critical',
      Notes: 'kernel upgrade',
      ServiceID: '',
    });
    await eventually(
      () => consul.health.service(name, { passing: true }),
      (entries) => entries.length === 0,
      'node maintenance to hide the service',
    );

    await consul.agent.maintenance(false);
    expect((await consul.agent.check.list())['_node_maintenance']).toBeUndefined();
    await eventually(
      () => consul.health.service(name, { passing: true }),
      (entries) => entries.length === 1,
      'the service to pass again',
    );
  });

  // Whether services registered through the API survive a reload depends on the agent
  // persisting them: the container dev agent forgot them, the binary one (with -data-dir)
  // kept them. So this only checks that the reload is accepted and the agent keeps serving.
  it('reload is accepted and the agent keeps serving', async () => {
    await consul.agent.reload();
    expect((await consul.agent.self()).Config.NodeName).toBe(first?.nodeName);
  });

  // Both harness agents are -dev servers bootstrapped in their own "dc1". Joining them works
  // (Serf merges the pools and Raft takes the second server in as a peer), but once the
  // second one is gone the first has lost quorum and no leader: only agent-local endpoints
  // (members, force-leave) keep answering, so this test comes last in this block.
  it('joins a second agent, sees it in members, and force-leaves it after it died', async () => {
    if (!first || !second) throw new Error('agents not started');
    const other = second.nodeName;
    const find = async (): Promise<AgentMember | undefined> =>
      (await consul.agent.members()).find((member) => member.Name === other);

    await consul.agent.join(second.serfLanAddress);
    const joined = await eventually(
      find,
      (member) => member?.Status === MemberStatus.Alive,
      'the joined member',
    );
    expect(joined?.Tags['dc']).toBe('dc1');

    await second.kill();
    await eventually(
      find,
      (member) => member?.Status === MemberStatus.Failed,
      'the killed member to be failed',
    );

    await consul.agent.forceLeave(other);
    await eventually(find, (member) => member?.Status === MemberStatus.Left, 'the member to be left');

    await consul.agent.forceLeave(other, { prune: true });
    await eventually(find, (member) => member === undefined, 'the member to be pruned');
  });
});
