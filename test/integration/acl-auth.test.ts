import { createSign, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consul, PermissionDeniedError, ValidationError } from '../../src/index.js';
import { startConsul, type ConsulInstance } from '../../src/testing/index.js';

const ISSUER = 'consulkit-test-issuer';
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

/** An RS256 JWT signed with the test key, as an identity provider would issue it. */
function jwt(claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode({ iss: ISSUER, aud: 'consul', iat: now, nbf: now - 5, exp: now + 300, ...claims })}`;
  const signature = createSign('RSA-SHA256').update(body).sign(privateKey).toString('base64url');
  return `${body}.${signature}`;
}

describe('acl auth methods, binding rules, login and logout (dedicated agent, default deny)', () => {
  let agent: ConsulInstance;
  let consul: Consul;
  let anonymous: Consul;

  beforeAll(async () => {
    agent = await startConsul({ acl: true });
    consul = new Consul({ address: agent.address, token: agent.token!, env: {} });
    anonymous = new Consul({ address: agent.address, env: {} });
  });

  afterAll(async () => {
    await consul?.close();
    await anonymous?.close();
    await agent?.stop();
  });

  it('manages a jwt auth method and its binding rules, and logs in and out with it', async () => {
    const method = await consul.acl.authMethod.create({
      Name: 'ci-jwt',
      Type: 'jwt',
      DisplayName: 'CI',
      Description: 'tokens for CI jobs',
      MaxTokenTTL: '10m',
      TokenLocality: 'local',
      Config: {
        JWTValidationPubKeys: [publicPem],
        BoundIssuer: ISSUER,
        BoundAudiences: ['consul'],
        ClaimMappings: { service: 'service', team: 'team' },
      },
    });
    expect(method).toMatchObject({ Name: 'ci-jwt', Type: 'jwt', DisplayName: 'CI', MaxTokenTTL: '10m0s' });
    expect((await consul.acl.authMethod.read('ci-jwt'))?.Config['BoundIssuer']).toBe(ISSUER);
    const updated = await consul.acl.authMethod.update('ci-jwt', {
      Name: 'ci-jwt',
      Type: 'jwt',
      Description: 'renamed',
      MaxTokenTTL: 600_000,
      TokenLocality: 'local',
      Config: method.Config,
    });
    expect(updated.Description).toBe('renamed');
    expect((await consul.acl.authMethod.list()).map((entry) => entry.Name)).toContain('ci-jwt');

    // Without a binding rule nothing binds, so Consul refuses the login.
    await expect(
      anonymous.acl.login({ AuthMethod: 'ci-jwt', BearerToken: jwt({ service: 'web' }) }),
    ).rejects.toThrow(PermissionDeniedError);

    const rule = await consul.acl.bindingRule.create({
      AuthMethod: 'ci-jwt',
      BindType: 'service',
      BindName: '${value.service}',
      Selector: 'value.team == ops',
      Description: 'ops jobs act as their service',
    });
    expect(rule).toMatchObject({ AuthMethod: 'ci-jwt', BindType: 'service', Selector: 'value.team == ops' });
    expect((await consul.acl.bindingRule.read(rule.ID))?.BindName).toBe('${value.service}');
    expect((await consul.acl.bindingRule.list({ authMethod: 'ci-jwt' })).map((r) => r.ID)).toEqual([rule.ID]);

    // The selector keeps other teams out.
    await expect(
      anonymous.acl.login({ AuthMethod: 'ci-jwt', BearerToken: jwt({ service: 'web', team: 'dev' }) }),
    ).rejects.toThrow(PermissionDeniedError);

    const token = await anonymous.acl.login({
      AuthMethod: 'ci-jwt',
      BearerToken: jwt({ service: 'web', team: 'ops' }),
      Meta: { job: '42' },
    });
    expect(token.AuthMethod).toBe('ci-jwt');
    expect(token.ServiceIdentities).toEqual([{ ServiceName: 'web' }]);
    expect(token.ExpirationTime).toBeDefined();
    expect((await anonymous.acl.token.self({ token: token.SecretID })).AccessorID).toBe(token.AccessorID);

    // A JWT signed by someone else is refused; Consul 1.8 answers that with a 500.
    const forged = jwt({ service: 'web', team: 'ops' }).replace(/\.[^.]+$/, '.AAAA');
    await expect(anonymous.acl.login({ AuthMethod: 'ci-jwt', BearerToken: forged })).rejects.toMatchObject({
      status: 500,
      body: expect.stringMatching(/signature/),
    });

    const ruleUpdated = await consul.acl.bindingRule.update(rule.ID, {
      AuthMethod: 'ci-jwt',
      BindType: 'service',
      BindName: 'svc-${value.service}',
    });
    expect(ruleUpdated.BindName).toBe('svc-${value.service}');

    await anonymous.acl.logout(token.SecretID);
    await expect(anonymous.acl.token.self({ token: token.SecretID })).rejects.toThrow(PermissionDeniedError);

    expect(await consul.acl.bindingRule.delete(rule.ID)).toBe(true);
    expect(await consul.acl.bindingRule.read(rule.ID)).toBeUndefined();
    expect(await consul.acl.bindingRule.list({ authMethod: 'ci-jwt' })).toEqual([]);
    expect(await consul.acl.authMethod.delete('ci-jwt')).toBe(true);
    expect(await consul.acl.authMethod.read('ci-jwt')).toBeUndefined();
  });

  it('logout refuses a token that no login created', async () => {
    const plain = await consul.acl.token.create({ Description: 'not from a login' });
    await expect(anonymous.acl.logout(plain.SecretID)).rejects.toThrow(PermissionDeniedError);
    expect((await consul.acl.token.read(plain.AccessorID)).AccessorID).toBe(plain.AccessorID);
  });

  it('agent.updateToken sets the default token that requests without one use', async () => {
    await consul.kv.put('shared/greeting', 'hello');
    const policy = await consul.acl.policy.create({
      Name: 'shared-read',
      Rules: 'key_prefix "shared/" { policy = "read" }',
    });
    const reader = await consul.acl.token.create({ Policies: [{ ID: policy.ID }] });
    await expect(anonymous.kv.get('shared/greeting')).rejects.toThrow(PermissionDeniedError);

    await consul.agent.updateToken('default', reader.SecretID);
    expect(String((await anonymous.kv.get('shared/greeting'))?.Value)).toBe('hello');

    // Back to the anonymous token (its well-known secret), so requests without a token are
    // denied again.
    await consul.agent.updateToken('default', '00000000-0000-0000-0000-000000000002');
    await expect(anonymous.kv.get('shared/greeting')).rejects.toThrow(PermissionDeniedError);
    await expect(anonymous.agent.updateToken('default', reader.SecretID)).rejects.toThrow(
      PermissionDeniedError,
    );
  });

  it('refuses bad auth methods, rules, logins and token kinds before sending', async () => {
    const before = consul.stats().requests;
    await expect(consul.acl.authMethod.create({ Name: 'bad name', Type: 'jwt', Config: {} })).rejects.toThrow(
      /Name/,
    );
    await expect(
      consul.acl.authMethod.create({
        Name: 'x',
        Type: 'jwt',
        Config: [] as unknown as Record<string, unknown>,
      }),
    ).rejects.toThrow(/Config/);
    await expect(
      consul.acl.authMethod.create({ Name: 'x', Type: 'jwt', Config: {}, MaxTokenTTL: '-1s' }),
    ).rejects.toThrow(ValidationError);
    await expect(consul.acl.authMethod.update('x', { Name: 'y', Type: 'jwt', Config: {} })).rejects.toThrow(
      /differs/,
    );
    await expect(
      consul.acl.bindingRule.create({ AuthMethod: 'x', BindType: 'node' as 'role', BindName: 'n' }),
    ).rejects.toThrow(/BindType/);
    await expect(consul.acl.login({ AuthMethod: 'x', BearerToken: '' })).rejects.toThrow(/BearerToken/);
    await expect(consul.acl.logout('')).rejects.toThrow(ValidationError);
    await expect(consul.agent.updateToken('master' as 'agent', 'x')).rejects.toThrow(/kind/);
    await expect(consul.agent.updateToken('agent', '')).rejects.toThrow(/token/);
    expect(consul.stats().requests).toBe(before);
  });
});
