/**
 * Tests of consulkit/testing itself, against real agents (no mocks). Each test starts its
 * own instance because several of them kill and restart agents.
 */
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConsulInstance, StartConsulOptions } from '../../src/testing/index.js';
import { startConsul } from '../../src/testing/index.js';

const started: ConsulInstance[] = [];
const logLines: string[] = [];

/** Starts an instance that afterAll stops even if the test fails midway. */
async function start(options: StartConsulOptions = {}): Promise<ConsulInstance> {
  const instance = await startConsul({
    ...options,
    log: (line) => {
      logLines.push(line);
      process.stderr.write(`[consulkit/testing] ${line}\n`);
    },
  });
  started.push(instance);
  return instance;
}

afterAll(async () => {
  await Promise.allSettled(started.map((instance) => instance.stop()));
});

async function leader(address: string): Promise<string> {
  const response = await fetch(`${address}/v1/status/leader`, { signal: AbortSignal.timeout(5_000) });
  expect(response.status).toBe(200);
  return (await response.json()) as string;
}

async function put(address: string, key: string, value: string, token?: string): Promise<number> {
  const headers: Record<string, string> = token === undefined ? {} : { 'X-Consul-Token': token };
  const response = await fetch(`${address}/v1/kv/${key}`, { method: 'PUT', body: value, headers });
  await response.text();
  return response.status;
}

async function members(address: string): Promise<string[]> {
  const response = await fetch(`${address}/v1/agent/members`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { Name: string }[]).map((member) => member.Name).sort();
}

describe('startConsul (default backend)', () => {
  it('starts a dev agent that has a leader and logs which backend it used', async () => {
    const consul = await start();
    expect(consul.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(consul.httpAddress).toBe(consul.address);
    expect(consul.datacenter).toBe('dc1');
    expect(await leader(consul.address)).toMatch(/:8300$|:\d+$/);
    expect(
      logLines.some((line) => line.startsWith(`${consul.backend} backend`) && / in \d+ ms$/.test(line)),
    ).toBe(true);
    expect(consul.consulBin).toMatch(/consul$/);
  });

  it('kill() makes requests fail; restart() answers again on the same address with state lost', async () => {
    const consul = await start();
    const address = consul.address;
    expect(await put(address, 'harness/survivor', 'v1')).toBe(200);

    await consul.kill();
    await expect(
      fetch(`${address}/v1/status/leader`, { signal: AbortSignal.timeout(3_000) }),
    ).rejects.toThrow();

    await consul.restart();
    expect(consul.address).toBe(address);
    expect(await leader(address)).not.toBe('');
    const gone = await fetch(`${address}/v1/kv/harness/survivor`);
    expect(gone.status).toBe(404);

    // restart() while running is allowed too.
    await consul.restart();
    expect(await put(address, 'harness/after', 'v2')).toBe(200);
  });

  it('acl: true denies anonymous writes and accepts the master token', async () => {
    const consul = await start({ acl: true });
    expect(consul.token).toMatch(/^[0-9a-f-]{36}$/);
    expect(await put(consul.address, 'harness/acl', 'x')).toBe(403);
    expect(await put(consul.address, 'harness/acl', 'x', consul.token)).toBe(200);
  });

  it('tls with verifyIncoming requires the client certificate', async () => {
    const consul = await start({ tls: { verifyIncoming: true } });
    expect(consul.address).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(consul.ports.https).toBeTypeOf('number');
    const ca = consul.ca ?? '';
    const servername = consul.tlsServerName ?? '';
    const clientCert = consul.clientCert ?? { cert: '', key: '' };
    expect(ca).toContain('BEGIN CERTIFICATE');
    expect(servername).toBe('server.dc1.consul');

    const withCert = new Agent({ connect: { ca, cert: clientCert.cert, key: clientCert.key, servername } });
    const withoutCert = new Agent({ connect: { ca, servername } });
    try {
      const ok = await undiciFetch(`${consul.address}/v1/status/leader`, { dispatcher: withCert });
      expect(ok.status).toBe(200);
      expect(await ok.json()).not.toBe('');
      await expect(
        undiciFetch(`${consul.address}/v1/status/leader`, { dispatcher: withoutCert }).then((r) => r.text()),
      ).rejects.toThrow();
    } finally {
      await withCert.close();
      await withoutCert.close();
    }
    // Plain HTTP stays available alongside HTTPS.
    expect(await leader(consul.httpAddress)).not.toBe('');
  });

  it('two instances can join each other via serfLanAddress', async () => {
    const [a, b] = await Promise.all([start({ nodeName: 'harness-a' }), start({ nodeName: 'harness-b' })]);
    expect(a.backend).toBe(b.backend);
    const response = await fetch(`${a.address}/v1/agent/join/${b.serfLanAddress}`, { method: 'PUT' });
    expect(response.status, await response.text()).toBe(200);
    await expect.poll(() => members(a.address), { timeout: 10_000 }).toEqual(['harness-a', 'harness-b']);
  });
});

describe('startConsul({ backend: "binary" })', () => {
  it('runs the local binary with ACLs and TLS, and survives kill/restart', async () => {
    const consul = await start({ backend: 'binary', acl: { masterToken: 'harness-root' }, tls: true });
    expect(consul.backend).toBe('binary');
    expect(consul.token).toBe('harness-root');
    expect(consul.serfLanAddress).toBe(`127.0.0.1:${consul.ports.serfLan}`);
    expect(await leader(consul.httpAddress)).not.toBe('');

    const agent = new Agent({ connect: { ca: consul.ca ?? '', servername: consul.tlsServerName ?? '' } });
    try {
      const response = await undiciFetch(`${consul.address}/v1/kv/harness/tls`, {
        method: 'PUT',
        body: 'x',
        headers: { 'X-Consul-Token': 'harness-root' },
        dispatcher: agent,
      });
      expect(response.status).toBe(200);
    } finally {
      await agent.close();
    }
    expect(await put(consul.httpAddress, 'harness/anon', 'x')).toBe(403);

    await consul.kill();
    await expect(fetch(`${consul.httpAddress}/v1/status/leader`)).rejects.toThrow();
    await consul.restart();
    expect(await put(consul.httpAddress, 'harness/anon', 'x', 'harness-root')).toBe(200);

    await consul.stop();
    await consul.stop(); // idempotent
    await expect(fetch(`${consul.httpAddress}/v1/status/leader`)).rejects.toThrow();
  });

  it('two binary instances can join each other', async () => {
    const [a, b] = await Promise.all([
      start({ backend: 'binary', nodeName: 'bin-a' }),
      start({ backend: 'binary', nodeName: 'bin-b' }),
    ]);
    const response = await fetch(`${a.address}/v1/agent/join/${b.serfLanAddress}`, { method: 'PUT' });
    expect(response.status, await response.text()).toBe(200);
    await expect.poll(() => members(a.address), { timeout: 10_000 }).toEqual(['bin-a', 'bin-b']);
  });

  it('applies httpMaxConnsPerClient and extra HCL', async () => {
    const consul = await start({
      backend: 'binary',
      httpMaxConnsPerClient: 7,
      hcl: 'node_meta { harness = "yes" }',
    });
    const response = await fetch(`${consul.address}/v1/agent/self`);
    const self = (await response.json()) as {
      DebugConfig: { HTTPMaxConnsPerClient: number };
      Meta: Record<string, string>;
    };
    expect(self.DebugConfig.HTTPMaxConnsPerClient).toBe(7);
    expect(self.Meta['harness']).toBe('yes');
  });
});
