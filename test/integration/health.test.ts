import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Check, Consul, type HealthStatus, type ServiceEntry } from '../../src/index.js';
import { sharedConsulAddress, uniqueName } from '../support/consul.js';
import { expectInvalid } from '../support/validation.js';
import { eventually } from '../support/wait.js';

describe('health', () => {
  let consul: Consul;
  let nodeName: string;
  const services: string[] = [];
  const externalNodes: string[] = [];

  beforeAll(async () => {
    consul = new Consul({ address: sharedConsulAddress(), env: {} });
    nodeName = (await consul.agent.self()).Config.NodeName;
  });
  afterAll(async () => {
    for (const id of services) await consul.agent.service.deregister(id);
    for (const node of externalNodes) await consul.catalog.deregister({ Node: node });
    await consul.close();
  });

  /** Registers a service on the shared agent with one TTL check; starts critical. */
  async function registerTtlService(tags: string[] = ['alpha']): Promise<{ name: string; checkId: string }> {
    const name = uniqueName('health-svc');
    const checkId = `${name}-ttl`;
    services.push(name);
    await consul.agent.service.register({
      Name: name,
      Port: 9000,
      Tags: tags,
      Check: { ...Check.ttl('5m'), CheckID: checkId },
    });
    return { name, checkId };
  }

  function ownCheck(entries: ServiceEntry[], checkId: string): HealthStatus | undefined {
    return entries[0]?.Checks.find((check) => check.CheckID === checkId)?.Status;
  }

  it('follows a TTL check passing → warning → critical in health.service, with and without passing', async () => {
    const { name, checkId } = await registerTtlService();
    const all = await eventually(
      () => consul.health.service(name),
      (e) => e.length === 1,
      'the service in the catalog',
    );
    expect(all[0]?.Service).toMatchObject({ ID: name, Service: name, Port: 9000, Tags: ['alpha'] });
    expect(all[0]?.Node.Node).toBe(nodeName);
    expect(ownCheck(all, checkId)).toBe('critical');
    // Node checks come along with the service's own.
    expect(all[0]?.Checks.map((check) => check.CheckID)).toContain('serfHealth');
    expect(await consul.health.service(name, { passing: true })).toEqual([]);

    await consul.agent.check.pass(checkId, 'fine');
    const passing = await eventually(
      () => consul.health.service(name, { passing: true }),
      (e) => e.length === 1,
      'the instance to pass',
    );
    expect(passing[0]?.Checks.find((check) => check.CheckID === checkId)).toMatchObject({
      Status: 'passing',
      Output: 'fine',
    });

    await consul.agent.check.warn(checkId, 'slow');
    await eventually(
      () => consul.health.service(name),
      (e) => ownCheck(e, checkId) === 'warning',
      'warning',
    );
    expect(await consul.health.service(name, { passing: true })).toEqual([]);

    await consul.agent.check.fail(checkId, 'down');
    await eventually(
      () => consul.health.service(name),
      (e) => ownCheck(e, checkId) === 'critical',
      'critical',
    );
    expect(await consul.health.service(name, { passing: true })).toEqual([]);

    await consul.agent.check.update(checkId, 'passing', 'recovered');
    const recovered = await eventually(
      () => consul.health.checks(name),
      (checks) => checks[0]?.Status === 'passing',
      'the update to reach the catalog',
    );
    expect(recovered).toHaveLength(1);
    expect(recovered[0]).toMatchObject({
      CheckID: checkId,
      Output: 'recovered',
      ServiceName: name,
      Node: nodeName,
    });
    expect(await consul.health.service(name, { passing: true })).toHaveLength(1);
  });

  it('filters health.service by tag (all given tags must match), node-meta and filter expressions', async () => {
    const { name } = await registerTtlService(['alpha', 'beta']);
    await eventually(
      () => consul.health.service(name),
      (e) => e.length === 1,
      'the service in the catalog',
    );
    expect(await consul.health.service(name, { tag: 'beta' })).toHaveLength(1);
    expect(await consul.health.service(name, { tag: ['alpha', 'beta'] })).toHaveLength(1);
    expect(await consul.health.service(name, { tag: ['alpha', 'gamma'] })).toEqual([]);
    expect(await consul.health.service(name, { nodeMeta: { 'no-such-meta': 'x' } })).toEqual([]);
    expect(await consul.health.service(name, { filter: 'Service.Port == 9000' })).toHaveLength(1);
    expect(await consul.health.service(name, { filter: 'Service.Port == 1' })).toEqual([]);
    expect(await consul.health.service(name, { near: '_agent' })).toHaveLength(1);
  });

  it('lists a node’s checks and the checks in a given state', async () => {
    const { name, checkId } = await registerTtlService();
    await eventually(
      () => consul.health.node(nodeName),
      (checks) => checks.some((check) => check.CheckID === checkId),
      'the check on the node',
    );
    const nodeChecks = await consul.health.node(nodeName);
    expect(nodeChecks.find((check) => check.CheckID === 'serfHealth')?.Status).toBe('passing');

    const ids = async (state: 'any' | HealthStatus) =>
      (await consul.health.state(state, { filter: `ServiceName == "${name}"` })).map(
        (check) => check.CheckID,
      );
    expect(await ids('critical')).toEqual([checkId]);
    expect(await ids('any')).toEqual([checkId]);
    expect(await ids('passing')).toEqual([]);

    await consul.agent.check.pass(checkId);
    await eventually(
      () => ids('passing'),
      (list) => list.length === 1,
      'the check to pass',
    );
    expect(await ids('critical')).toEqual([]);
    expect((await consul.health.state('passing')).map((check) => check.CheckID)).toContain('serfHealth');
  });

  // The service lives on an external catalog node of its own: health.service results carry
  // node-level checks, and other test files change the shared agent's node checks at any
  // time, which would legitimately wake a query watching a service on that node.
  it('a blocking health.service read waits for a change and wakes up on it', async () => {
    const node = uniqueName('health-ext');
    const name = uniqueName('health-blocking');
    externalNodes.push(node);
    const register = (status: HealthStatus) =>
      consul.catalog.register({
        Node: node,
        Address: '192.0.2.10',
        Service: { ID: name, Service: name, Port: 80 },
        Check: { CheckID: `${name}-check`, Name: 'probe', ServiceID: name, Status: status },
      });
    await register('critical');
    const { data, meta } = await consul.health.service(name).withMeta();
    expect(ownCheck(data, `${name}-check`)).toBe('critical');
    expect(meta.index).toBeGreaterThan(0n);
    const index = meta.index;
    if (index === undefined) throw new Error('the read carried no X-Consul-Index');

    let settled = false;
    const blocked = consul.health
      .service(name, { index, wait: '30s' })
      .withMeta()
      .finally(() => {
        settled = true;
      });
    await new Promise((resolve) => setTimeout(resolve, 700));
    // Nothing changed yet, so Consul must still be holding the query.
    expect(settled).toBe(false);

    const started = Date.now();
    await register('passing');
    const woke = await blocked;
    expect(ownCheck(woke.data, `${name}-check`)).toBe('passing');
    expect(woke.meta.index).toBeGreaterThan(index);
    // Hang guard only: the read must have returned because of the change, well before `wait`.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('health.service can be answered from the agent cache', async () => {
    const { name } = await registerTtlService();
    await eventually(
      () => consul.health.service(name),
      (e) => e.length === 1,
      'the service in the catalog',
    );
    const first = await consul.health.service(name, { cached: true }).withMeta();
    expect(first.data).toHaveLength(1);
    expect(typeof first.meta.cacheHit).toBe('boolean');
  });

  it('refuses bad input with a ValidationError before sending anything', async () => {
    const health = consul.health;
    await expectInvalid(consul, () => health.state('bogus' as never), 'state');
    await expectInvalid(consul, () => health.state('PASSING' as never), 'state');
    await expectInvalid(consul, () => health.service(''), 'name');
    await expectInvalid(consul, () => health.service('s', { tag: [''] }), 'tag');
    await expectInvalid(consul, () => health.service('s', { passing: 'yes' as never }), 'passing');
    await expectInvalid(consul, () => health.service('s', { nodeMeta: { 'k:x': 'v' } }), 'nodeMeta');
    await expectInvalid(consul, () => health.node(''), 'name');
    await expectInvalid(consul, () => health.node('n', { cached: true } as never), 'cached');
    await expectInvalid(consul, () => health.checks('a/b'), 'service');
    await expectInvalid(consul, () => health.state('any', { cached: true } as never), 'cached');
    await expectInvalid(consul, () => health.service('s', { wait: '11m' }), 'wait');
  });
});
