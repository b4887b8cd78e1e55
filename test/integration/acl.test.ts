import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AclBootstrapError,
  Consul,
  PermissionDeniedError,
  ValidationError,
  type ACLPolicy,
} from '../../src/index.js';
import { startConsul, type ConsulInstance } from '../../src/testing/index.js';
import { expectInvalid } from '../support/validation.js';

describe('acl (dedicated agent, default deny)', () => {
  let agent: ConsulInstance;
  let consul: Consul;
  let anonymous: Consul;
  let masterToken: string;

  beforeAll(async () => {
    agent = await startConsul({ acl: true });
    if (agent.token === undefined) throw new Error('startConsul({ acl: true }) gave no master token');
    masterToken = agent.token;
    consul = new Consul({ address: agent.address, token: masterToken, env: {} });
    anonymous = new Consul({ address: agent.address, env: {} });
  });

  afterAll(async () => {
    await consul?.close();
    await anonymous?.close();
    await agent?.stop();
  });

  it('refuses a datacenter on ACL writes, which Consul 1.8.7 applies locally whatever dc says (issue 10, item 14)', async () => {
    // The premise, against the real agent: `?dc=dc2` is ignored and the policy is created here.
    const probe = await fetch(`${agent.address}/v1/acl/policy?dc=dc2`, {
      method: 'PUT',
      headers: { 'x-consul-token': masterToken },
      body: JSON.stringify({ Name: 'dc-probe', Rules: '' }),
    });
    expect(probe.status).toBe(200);
    const created = (await probe.json()) as { ID: string };
    expect((await consul.acl.policy.read(created.ID)).Name).toBe('dc-probe');
    await consul.acl.policy.delete(created.ID);

    const dc2 = { datacenter: 'dc2' };
    await expectInvalid(consul, () => consul.acl.policy.create({ Name: 'p', Rules: '' }, dc2), 'datacenter');
    await expectInvalid(
      consul,
      () => consul.acl.policy.delete('00000000-0000-0000-0000-000000000001', dc2),
      'datacenter',
    );
    await expectInvalid(consul, () => consul.acl.role.create({ Name: 'r' }, dc2), 'datacenter');
    await expectInvalid(consul, () => consul.acl.token.create({ Description: 't' }, dc2), 'datacenter');
    await expectInvalid(
      consul,
      () => consul.acl.token.delete('00000000-0000-0000-0000-000000000001', dc2),
      'datacenter',
    );
    await expectInvalid(consul, () => consul.acl.legacy.create({ Name: 'l' }, dc2), 'datacenter');
    expect(await consul.acl.policy.list()).not.toContainEqual(expect.objectContaining({ Name: 'p' }));
  });

  it('runs the legacy API: create, info, update, list, clone, destroy', async () => {
    const id = await consul.acl.legacy.create({
      Name: 'legacy-client',
      Type: 'client',
      Rules: 'key "legacy/" { policy = "read" }',
    });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await consul.acl.legacy.info(id)).toMatchObject({
      ID: id,
      Name: 'legacy-client',
      Type: 'client',
      Rules: 'key "legacy/" { policy = "read" }',
    });

    expect(await consul.acl.legacy.update({ ID: id, Name: 'renamed', Type: 'client', Rules: '' })).toBe(id);
    const updated = await consul.acl.legacy.info(id);
    expect(updated?.Name).toBe('renamed');
    expect(typeof updated?.ModifyIndex).toBe('bigint');

    const listed = await consul.acl.legacy.list();
    expect(listed.map((acl) => acl.ID)).toEqual(expect.arrayContaining([id, masterToken]));

    const copy = await consul.acl.legacy.clone(id);
    expect(copy).not.toBe(id);
    expect((await consul.acl.legacy.info(copy))?.Name).toBe('renamed');

    expect(await consul.acl.legacy.destroy(copy)).toBe(true);
    expect(await consul.acl.legacy.destroy(id)).toBe(true);
    expect(await consul.acl.legacy.info(id)).toBeUndefined();
    expect(await consul.acl.legacy.info(copy)).toBeUndefined();
  });

  it('offers the python-consul names on consul.acl as the same legacy calls', async () => {
    const management = await consul.acl.create({ Name: 'alias-management', Type: 'management' });
    expect((await consul.acl.info(management))?.Type).toBe('management');
    expect(await consul.acl.destroy(management)).toBe(true);

    // The update runs on a client token with rules: the leader upgrades legacy management
    // tokens in the background (it links them to global-management), after which Consul
    // refuses legacy updates of them, so updating one would race that upgrade.
    const rules = 'key "alias/" { policy = "read" }';
    const id = await consul.acl.create({ Name: 'alias', Type: 'client', Rules: rules });
    expect((await consul.acl.info(id))?.Type).toBe('client');
    expect(await consul.acl.update({ ID: id, Name: 'alias-2', Type: 'client', Rules: rules })).toBe(id);
    expect((await consul.acl.list()).find((acl) => acl.ID === id)?.Name).toBe('alias-2');
    const copy = await consul.acl.clone(id);
    expect(await consul.acl.destroy(copy)).toBe(true);
    expect(await consul.acl.destroy(id)).toBe(true);
    expect(await consul.acl.info(id)).toBeUndefined();
  });

  it('creates, reads, updates, lists and deletes policies', async () => {
    const created = await consul.acl.policy.create({
      Name: 'app-read',
      Description: 'read app/',
      Rules: 'key_prefix "app/" { policy = "read" }',
    });
    expect(created).toMatchObject({ Name: 'app-read', Description: 'read app/' });
    expect(typeof created.CreateIndex).toBe('bigint');

    expect(await consul.acl.policy.read(created.ID)).toMatchObject({ ID: created.ID, Rules: created.Rules });
    expect((await consul.acl.policy.readByName('app-read')).ID).toBe(created.ID);

    const updated = await consul.acl.policy.update(created.ID, {
      Name: 'app-write',
      Rules: 'key_prefix "app/" { policy = "write" }',
      Datacenters: ['dc1'],
    });
    expect(updated).toMatchObject({ ID: created.ID, Name: 'app-write', Datacenters: ['dc1'] });
    expect(updated.ModifyIndex).toBeGreaterThan(created.ModifyIndex);

    const { data: list, meta } = await consul.acl.policy.list().withMeta();
    expect(list.map((p) => p.Name)).toEqual(expect.arrayContaining(['global-management', 'app-write']));
    expect(meta.index).toBeGreaterThan(0n);

    expect(await consul.acl.policy.delete(created.ID)).toBe(true);
    expect((await consul.acl.policy.list()).map((p) => p.ID)).not.toContain(created.ID);
    // Consul answers a missing policy with 403 "ACL not found".
    await expect(consul.acl.policy.read(created.ID)).rejects.toThrow(PermissionDeniedError);
  });

  it('creates, reads, lists and deletes roles', async () => {
    const policy = await consul.acl.policy.create({
      Name: 'role-policy',
      Rules: 'node_prefix "" { policy = "read" }',
    });
    const role = await consul.acl.role.create({ Name: 'reader', Policies: [{ Name: 'role-policy' }] });
    expect(role.Policies).toEqual([{ ID: policy.ID, Name: 'role-policy' }]);
    expect((await consul.acl.role.read(role.ID)).Name).toBe('reader');
    expect((await consul.acl.role.readByName('reader')).ID).toBe(role.ID);
    const updated = await consul.acl.role.update(role.ID, { Name: 'reader', Description: 'now described' });
    expect(updated.Description).toBe('now described');
    expect(updated.Policies ?? []).toEqual([]);
    expect((await consul.acl.role.list()).map((r) => r.ID)).toContain(role.ID);
    expect(await consul.acl.role.delete(role.ID)).toBe(true);
    expect(await consul.acl.policy.delete(policy.ID)).toBe(true);
  });

  describe('tokens', () => {
    let policy: ACLPolicy;

    beforeAll(async () => {
      policy = await consul.acl.policy.create({
        Name: 'x-read',
        Rules: 'key_prefix "x/" { policy = "read" }',
      });
    });

    it('creates, reads, updates, lists, clones and deletes tokens', async () => {
      const token = await consul.acl.token.create({
        Description: 'weak',
        Policies: [{ Name: 'x-read' }],
        ExpirationTTL: '1h',
      });
      expect(token.Policies).toEqual([{ ID: policy.ID, Name: 'x-read' }]);
      expect(token.Local).toBe(false);
      expect(token.SecretID).toMatch(/^[0-9a-f-]{36}$/);
      const expires = Date.parse(token.ExpirationTime ?? '');
      expect(expires - Date.parse(token.CreateTime)).toBeGreaterThan(59 * 60_000);

      expect(await consul.acl.token.read(token.AccessorID)).toMatchObject({
        AccessorID: token.AccessorID,
        SecretID: token.SecretID,
        Description: 'weak',
      });
      const self = await consul.acl.token.self({ token: token.SecretID });
      expect(self.AccessorID).toBe(token.AccessorID);
      expect((await consul.acl.token.self()).Policies?.[0]?.Name).toBe('global-management');

      const updated = await consul.acl.token.update(token.AccessorID, {
        Description: 'still weak',
        Policies: [{ ID: policy.ID }],
      });
      expect(updated).toMatchObject({
        AccessorID: token.AccessorID,
        SecretID: token.SecretID,
        Description: 'still weak',
      });

      const byPolicy = await consul.acl.token.list({ policy: policy.ID });
      expect(byPolicy.map((t) => t.AccessorID)).toEqual([token.AccessorID]);
      expect((await consul.acl.token.list()).map((t) => t.AccessorID)).toContain(token.AccessorID);

      const copy = await consul.acl.token.clone(token.AccessorID, { Description: 'copy' });
      expect(copy.AccessorID).not.toBe(token.AccessorID);
      expect(copy).toMatchObject({ Description: 'copy', Policies: [{ ID: policy.ID, Name: 'x-read' }] });

      expect(await consul.acl.token.delete(copy.AccessorID)).toBe(true);
      expect(await consul.acl.token.delete(token.AccessorID)).toBe(true);
      expect((await consul.acl.token.list()).map((t) => t.AccessorID)).not.toContain(token.AccessorID);
      await expect(consul.acl.token.read(token.AccessorID)).rejects.toThrow(PermissionDeniedError);
    });

    it('enforces a weak token: reads under x/ only, no writes, no token management', async () => {
      await consul.kv.put('x/a', 'visible');
      const token = await consul.acl.token.create({ Description: 'weak', Policies: [{ ID: policy.ID }] });
      const weak = new Consul({ address: agent.address, token: token.SecretID, env: {} });
      try {
        expect(String((await weak.kv.get('x/a'))?.Value)).toBe('visible');
        await expect(weak.kv.put('x/a', 'nope')).rejects.toThrow(PermissionDeniedError);
        await expect(weak.kv.put('y/a', 'nope')).rejects.toThrow(PermissionDeniedError);
        await expect(weak.acl.token.create({ Description: 'escalate' })).rejects.toThrow(
          PermissionDeniedError,
        );
        await expect(weak.acl.policy.list()).rejects.toThrow(PermissionDeniedError);
        // A denied transaction is a permission problem, not a rollback of failed conditions.
        await expect(weak.txn.execute([weak.txn.kv.set('x/a', 'nope')])).rejects.toThrow(
          PermissionDeniedError,
        );
        await expect(weak.txn.execute([weak.txn.kv.get('x/a')])).resolves.toMatchObject({ results: [{}] });
        expect(String((await consul.kv.get('x/a'))?.Value)).toBe('visible');
      } finally {
        await weak.close();
        await consul.acl.token.delete(token.AccessorID);
      }
    });

    it('denies the anonymous token', async () => {
      await expect(anonymous.kv.put('x/anon', 'nope')).rejects.toThrow(PermissionDeniedError);
      await expect(anonymous.acl.token.create({ Description: 'anon' })).rejects.toThrow(
        PermissionDeniedError,
      );
      await expect(anonymous.acl.legacy.create({ Name: 'anon' })).rejects.toThrow(PermissionDeniedError);
      await expect(anonymous.event.fire('anon')).rejects.toThrow(PermissionDeniedError);
      const failure = await anonymous.acl.token.list().catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(PermissionDeniedError);
      expect((failure as PermissionDeniedError).status).toBe(403);
    });
  });

  it('refuses bootstrap when a master token is configured, with a typed error', async () => {
    const failure = await anonymous.acl.bootstrap().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AclBootstrapError);
    expect(failure).toBeInstanceOf(PermissionDeniedError);
    const error = failure as AclBootstrapError;
    expect(error.code).toBe('PERMISSION_DENIED');
    expect(error.status).toBe(403);
    expect(typeof error.resetIndex).toBe('bigint');
    expect(error.resetIndex).toBeGreaterThan(0n);
  });

  it('reports replication status', async () => {
    const status = await consul.acl.replication();
    expect(status).toMatchObject({ Enabled: false, Running: false, SourceDatacenter: '' });
    expect(typeof status.ReplicatedIndex).toBe('bigint');
    expect(typeof status.ReplicatedTokenIndex).toBe('bigint');
  });

  it('rejects bad input without sending anything', async () => {
    const before = consul.stats().requests;
    const invalid: Array<() => Promise<unknown>> = [
      () => consul.acl.policy.create({ Name: 'has space' }),
      () => consul.acl.policy.create({ Name: '' }),
      () => consul.acl.policy.create({ Name: 'x'.repeat(129) }),
      () => consul.acl.role.create({ Name: 'bad/name' }),
      () => consul.acl.token.create({ Policies: [{}] }),
      () => consul.acl.token.create({ ExpirationTTL: '1h', ExpirationTime: new Date() }),
      () => consul.acl.token.create({ ExpirationTTL: 'soon' }),
      () => consul.acl.token.create({ ExpirationTTL: 0 }),
      () => consul.acl.token.update('abc', { ExpirationTTL: '1h' }),
      () => consul.acl.token.update('abc', { AccessorID: 'other' }),
      () => consul.acl.token.delete(''),
      () => consul.acl.token.clone('a/b'),
      () => consul.acl.legacy.create({ Type: 'root' as 'client' }),
      () => consul.acl.legacy.update({ ID: '' }),
      () => consul.acl.legacy.destroy(''),
    ];
    for (const call of invalid) await expect(call()).rejects.toThrow(ValidationError);
    expect(() => consul.acl.token.read('')).toThrow(ValidationError);
    expect(() => consul.acl.legacy.info('a/b')).toThrow(ValidationError);
    expect(consul.stats().requests).toBe(before);
  });
});

describe('acl bootstrap (dedicated agent with ACLs on and no master token)', () => {
  let agent: ConsulInstance;
  let anonymous: Consul;

  beforeAll(async () => {
    agent = await startConsul({ acl: { masterToken: false } });
    anonymous = new Consul({ address: agent.address, env: {} });
  });

  afterAll(async () => {
    await anonymous?.close();
    await agent?.stop();
  });

  it('bootstraps once, returns a working management token, then refuses with the reset index', async () => {
    expect(agent.token).toBeUndefined();
    // Default deny and no token yet: even a KV write is refused.
    await expect(anonymous.kv.put('bootstrap/probe', 'x')).rejects.toThrow(PermissionDeniedError);

    const token = await anonymous.acl.bootstrap();
    expect(token.SecretID).toMatch(/^[0-9a-f-]{36}$/);
    expect(token.AccessorID).toMatch(/^[0-9a-f-]{36}$/);
    expect(token.Policies?.map((policy) => policy.Name)).toEqual(['global-management']);
    expect(typeof token.CreateIndex).toBe('bigint');

    await using management = new Consul({ address: agent.address, token: token.SecretID, env: {} });
    await management.kv.put('bootstrap/probe', 'x');
    expect((await management.kv.get('bootstrap/probe'))?.Value?.toString()).toBe('x');
    expect((await management.acl.token.self()).AccessorID).toBe(token.AccessorID);

    const again = await anonymous.acl.bootstrap().catch((error: unknown) => error);
    expect(again).toBeInstanceOf(AclBootstrapError);
    expect((again as AclBootstrapError).resetIndex).toBe(token.CreateIndex);
  });
});
