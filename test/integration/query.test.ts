import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Check,
  Consul,
  ConsulHttpError,
  NotFoundError,
  type PreparedQueryDefinition,
  type PreparedQueryExecuteResponse,
} from '../../src/index.js';
import { sharedConsulAddress, uniqueName } from '../support/consul.js';
import { expectInvalid } from '../support/validation.js';
import { eventually } from '../support/wait.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function instanceIds(answer: PreparedQueryExecuteResponse): string[] {
  return answer.Nodes.map((entry) => entry.Service.ID).sort();
}

describe('prepared queries', () => {
  let consul: Consul;
  /** The service both instances belong to. */
  let service: string;
  let blue: string;
  let green: string;
  const queries = new Set<string>();

  async function create(definition: PreparedQueryDefinition): Promise<string> {
    const { ID } = await consul.query.create(definition);
    queries.add(ID);
    return ID;
  }

  beforeAll(async () => {
    consul = new Consul({ address: sharedConsulAddress(), env: {} });
    service = uniqueName('pq-svc');
    blue = `${service}-blue`;
    green = `${service}-green`;
    for (const [id, tag, port] of [
      [blue, 'blue', 9001],
      [green, 'green', 9002],
    ] as const) {
      await consul.agent.service.register({
        Name: service,
        ID: id,
        Port: port,
        Tags: [tag],
        Check: { ...Check.ttl('5m'), CheckID: `${id}-ttl` },
      });
    }
    await consul.agent.check.pass(`${blue}-ttl`, 'ok');
    await consul.agent.check.fail(`${green}-ttl`, 'down');
    await eventually(
      () => consul.health.service(service),
      (entries) =>
        entries.length === 2 &&
        entries.every((entry) =>
          entry.Checks.some(
            (check) =>
              check.CheckID === `${entry.Service.ID}-ttl` &&
              check.Status === (entry.Service.ID === blue ? 'passing' : 'critical'),
          ),
        ),
      'one passing and one critical instance',
    );
  });

  afterAll(async () => {
    for (const id of queries) {
      if (await consul.query.get(id)) await consul.query.delete(id);
    }
    for (const id of [blue, green]) await consul.agent.service.deregister(id);
    await consul.close();
  });

  it('creates, executes, reads, updates, explains and deletes a query', async () => {
    const name = uniqueName('pq');
    const id = await create({
      Name: name,
      Service: { Service: service, OnlyPassing: true },
      DNS: { TTL: 10_000 },
    });
    expect(id).toMatch(UUID);

    // OnlyPassing: only the instance whose check passes, by name and by ID.
    const { data: byName, meta } = await consul.query.execute(name).withMeta();
    expect(instanceIds(byName)).toEqual([blue]);
    expect(byName).toMatchObject({ Service: service, Datacenter: 'dc1', Failovers: 0, DNS: { TTL: '10s' } });
    expect(byName.Nodes[0]?.Checks.map((check) => check.CheckID)).toContain(`${blue}-ttl`);
    expect(meta.knownLeader).toBe(true);
    expect(instanceIds(await consul.query.execute(id))).toEqual([blue]);

    const stored = await consul.query.get(id);
    expect(stored).toMatchObject({
      ID: id,
      Name: name,
      Service: { Service: service, OnlyPassing: true },
      DNS: { TTL: '10s' },
      Template: { Type: '' },
    });
    expect(typeof stored?.CreateIndex).toBe('bigint');
    const listed = await consul.query.list();
    expect(listed.find((query) => query.ID === id)?.Name).toBe(name);

    // Both instances healthy now; the tag filter decides which one answers.
    await consul.agent.check.pass(`${green}-ttl`, 'ok');
    await eventually(
      () => consul.query.execute(id),
      (answer) => answer.Nodes.length === 2,
      'both instances passing',
    );
    await consul.query.update(id, {
      Name: name,
      Service: { Service: service, OnlyPassing: true, Tags: ['green'] },
    });
    expect(instanceIds(await consul.query.execute(name))).toEqual([green]);
    const updated = await consul.query.get(id);
    expect(updated?.Service.Tags).toEqual(['green']);
    expect(updated?.ModifyIndex).toBeGreaterThan(stored?.ModifyIndex ?? 0n);
    // update replaces the whole definition: the DNS TTL left out is reset.
    expect(updated?.DNS.TTL).toBe('');
    await consul.query.update(id, { Name: name, Service: { Service: service, Tags: ['!green'] } });
    expect(instanceIds(await consul.query.execute(name))).toEqual([blue]);

    const explained = await consul.query.explain(name);
    expect(explained.Query).toMatchObject({
      ID: id,
      Name: name,
      Service: { Service: service, Tags: ['!green'] },
    });

    await consul.query.delete(id);
    queries.delete(id);
    expect(await consul.query.get(id)).toBeUndefined();
    expect((await consul.query.list()).some((query) => query.ID === id)).toBe(false);
    await expect(consul.query.execute(name)).rejects.toBeInstanceOf(NotFoundError);
    await expect(consul.query.explain(id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('OnlyPassing drops warning instances, which a query without it keeps', async () => {
    await consul.agent.check.pass(`${blue}-ttl`, 'ok');
    await consul.agent.check.warn(`${green}-ttl`, 'slow');
    const strict = await create({
      Name: uniqueName('pq-strict'),
      Service: { Service: service, OnlyPassing: true },
    });
    const lenient = await create({ Name: uniqueName('pq-lenient'), Service: { Service: service } });
    await eventually(
      () => consul.query.execute(lenient),
      (answer) => answer.Nodes.length === 2,
      'the warning instance in the lenient answer',
    );
    expect(instanceIds(await consul.query.execute(strict))).toEqual([blue]);
  });

  it('binds an unnamed query to a session, which deletes it when destroyed', async () => {
    const session = await consul.session.create({ Name: uniqueName('pq-session'), TTL: '30s' });
    const id = await create({ Session: session, Service: { Service: service } });
    expect(await consul.query.get(id)).toMatchObject({ Name: '', Session: session });
    await consul.session.destroy(session);
    await eventually(
      () => consul.query.get(id),
      (query) => query === undefined,
      'the query to go with its session',
    );
    queries.delete(id);
  });

  it('honours limit and near on execute', async () => {
    await consul.agent.check.pass(`${blue}-ttl`, 'ok');
    await consul.agent.check.pass(`${green}-ttl`, 'ok');
    const id = await create({ Name: uniqueName('pq-limit'), Service: { Service: service } });
    await eventually(
      () => consul.query.execute(id),
      (answer) => answer.Nodes.length === 2,
      'both instances passing',
    );
    expect((await consul.query.execute(id, { limit: 1 })).Nodes).toHaveLength(1);
    expect((await consul.query.execute(id, { near: '_agent', limit: 5 })).Nodes).toHaveLength(2);
    const cached = await consul.query.execute(id, { cached: true }).withMeta();
    expect(cached.data.Nodes).toHaveLength(2);
    expect(typeof cached.meta.cacheHit).toBe('boolean');
  });

  it('resolves a name_prefix_match template by name prefix, interpolating the suffix', async () => {
    const prefix = `${uniqueName('pqtpl')}-`;
    const id = await create({
      Name: prefix,
      Template: { Type: 'name_prefix_match' },
      Service: { Service: '${name.suffix}', OnlyPassing: true, Tags: ['blue'] },
    });
    const answer = await consul.query.execute(`${prefix}${service}`);
    expect(answer.Service).toBe(service);
    expect(instanceIds(answer)).toEqual([blue]);
    const explained = await consul.query.explain(`${prefix}${service}`);
    expect(explained.Query).toMatchObject({
      ID: id,
      Template: { Type: 'name_prefix_match' },
      Service: { Service: service },
    });
    // The stored template keeps its interpolation.
    expect((await consul.query.get(id))?.Service.Service).toBe('${name.suffix}');
    // A name outside the prefix does not match the template.
    await expect(consul.query.execute(`${uniqueName('other')}-${service}`)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('passes a regexp template and reports Consul-side rejections as HTTP errors', async () => {
    const prefix = `${uniqueName('pqre')}-`;
    await create({
      Name: prefix,
      Template: { Type: 'name_prefix_match', Regexp: `^${prefix}(.+)$` },
      Service: { Service: '${match(1)}' },
    });
    expect((await consul.query.execute(`${prefix}${service}`)).Service).toBe(service);
    // The same template name again: Consul refuses it (only it knows the other queries).
    await expect(
      consul.query.create({
        Name: prefix,
        Template: { Type: 'name_prefix_match' },
        Service: { Service: 'x' },
      }),
    ).rejects.toBeInstanceOf(ConsulHttpError);
    // Updating an unknown ID is a 500 on Consul 1.8.
    await expect(
      consul.query.update('00000000-0000-4000-8000-000000000000', { Service: { Service: service } }),
    ).rejects.toMatchObject({ body: expect.stringMatching(/non-existent prepared query/) as unknown });
  });

  it('refuses bad definitions and options before sending anything', async () => {
    const bad = (definition: unknown) => () => consul.query.create(definition as PreparedQueryDefinition);
    await expectInvalid(consul, bad({ Name: 'x', Service: {} }), 'Service.Service');
    await expectInvalid(consul, bad({ Name: 'x', Service: { Service: '' } }), 'Service.Service');
    await expectInvalid(consul, bad({ Name: 'x' }), 'Service');
    await expectInvalid(consul, bad(null), 'definition');
    await expectInvalid(
      consul,
      bad({ Name: 'x', Template: { Type: 'bogus' }, Service: { Service: 'x' } }),
      'Template.Type',
    );
    await expectInvalid(consul, bad({ Service: { Service: 'x' }, DNS: { TTL: 'soon' } }), 'DNS.TTL');
    await expectInvalid(
      consul,
      bad({ Service: { Service: 'x', Failover: { NearestN: -1 } } }),
      'Service.Failover.NearestN',
    );
    await expectInvalid(
      consul,
      bad({ Service: { Service: 'x', Failover: { Datacenters: [''] } } }),
      'Service.Failover.Datacenters[0]',
    );
    await expectInvalid(consul, bad({ Service: { Service: 'x', Tags: 'blue' } }), 'Service.Tags');
    await expectInvalid(consul, bad({ Service: { Service: 'x', NodeMeta: { a: 1 } } }), 'Service.NodeMeta');
    await expectInvalid(consul, () => consul.query.execute('q', { limit: 0 }), 'limit');
    await expectInvalid(consul, () => consul.query.execute('q', { limit: 1.5 }), 'limit');
    await expectInvalid(consul, () => consul.query.execute('q', { near: '' }), 'near');
    await expectInvalid(consul, () => consul.query.execute('q', { index: 5 } as never), 'index');
    await expectInvalid(consul, () => consul.query.list({ filter: 'x' } as never), 'filter');
    await expectInvalid(consul, () => consul.query.get('a/b'), 'id');
    await expectInvalid(consul, () => consul.query.delete(''), 'id');
    await expectInvalid(
      consul,
      () => consul.query.update('id', { Service: { Service: '' } }),
      'Service.Service',
    );
  });
});
