import { mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Consul,
  ConsulUnavailableError,
  PermissionDeniedError,
  TimeoutError,
  ValidationError,
} from '../../src/index.js';
import { expectInvalid } from '../support/validation.js';
import { startConsul, type ConsulInstance } from '../../src/testing/index.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';
import { startRecordingServer } from '../support/recording-server.js';
import { startSilentServer } from '../support/silent-server.js';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

describe('transport errors', () => {
  it('a closed port gives ConsulUnavailableError after the retries', async () => {
    const port = await closedPort();
    const consul = new Consul({ address: `127.0.0.1:${port}`, env: {}, retry: { retries: 2, minDelay: 10 } });
    try {
      const error = await consul.kv.get('x').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConsulUnavailableError);
      expect((error as Error).message).toContain('ECONNREFUSED');
      expect(consul.stats().requests).toBe(3); // first attempt + 2 retries
    } finally {
      await consul.close();
    }
  });

  it('a write is not retried', async () => {
    const port = await closedPort();
    const consul = new Consul({ address: `127.0.0.1:${port}`, env: {}, retry: { retries: 3, minDelay: 10 } });
    try {
      await expect(consul.kv.put('x', 'y', { cas: 0 })).rejects.toThrow(ConsulUnavailableError);
      expect(consul.stats().requests).toBe(1);
    } finally {
      await consul.close();
    }
  });

  it('a server that accepts and never answers gives TimeoutError within the bound', async () => {
    const silent = await startSilentServer();
    const consul = new Consul({ address: silent.address, env: {}, timeout: 1500 });
    try {
      const started = Date.now();
      const error = await consul.kv.get('x').catch((e: unknown) => e);
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as TimeoutError).timeoutMs).toBe(1500);
      expect(elapsed).toBeGreaterThanOrEqual(1400);
      expect(elapsed).toBeLessThan(10_000); // hang guard
    } finally {
      await consul.close();
      await silent.close();
    }
  });

  it('a blocking query on a silent server times out at wait × 17/16 + margin, not before', async () => {
    const silent = await startSilentServer();
    const consul = new Consul({ address: silent.address, env: {}, timeout: 500 });
    try {
      const started = Date.now();
      const error = await consul.kv.get('x', { index: 5, wait: '2s' }).catch((e: unknown) => e);
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as TimeoutError).timeoutMs).toBe(Math.ceil(2000 + 2000 / 16 + 500));
      expect(elapsed).toBeGreaterThanOrEqual(2400);
      expect(elapsed).toBeLessThan(15_000); // hang guard
    } finally {
      await consul.close();
      await silent.close();
    }
  });

  it('a caller abort rejects with the signal reason', async () => {
    const silent = await startSilentServer();
    const consul = new Consul({ address: silent.address, env: {} });
    try {
      const controller = new AbortController();
      const pending = consul.kv.get('x', { signal: controller.signal });
      setTimeout(() => controller.abort(new Error('caller gave up')), 100);
      await expect(pending).rejects.toThrow('caller gave up');
    } finally {
      await consul.close();
      await silent.close();
    }
  });

  it('a short request does not queue behind blocking queries', async () => {
    const consul = new Consul({ address: sharedConsulAddress(), env: {}, connections: 1 });
    const prefix = uniquePrefix('starve');
    try {
      await consul.kv.put(`${prefix}/k`, 'v');
      const { meta } = await consul.kv.get(`${prefix}/k`).withMeta();
      const controller = new AbortController();
      const watches = Array.from({ length: 5 }, () =>
        consul.kv
          .get(`${prefix}/k`, { index: meta.index ?? 1n, wait: '30s', signal: controller.signal })
          .catch((e: unknown) => e),
      );
      const started = Date.now();
      expect(await consul.kv.put(`${prefix}/other`, 'x')).toBe(true);
      expect(Date.now() - started).toBeLessThan(5000); // would be 30 s if it queued behind the watches
      controller.abort(new Error('done'));
      await Promise.all(watches);
    } finally {
      await consul.kv.delete(prefix, { recurse: true });
      await consul.close();
    }
  });
});

describe('token handling', () => {
  it('sends the token only in X-Consul-Token, never in the URL', async () => {
    const server = await startRecordingServer({ status: 200, body: 'true' });
    const consul = new Consul({ address: server.url, token: 'secret-token-123', env: {}, datacenter: 'dc1' });
    try {
      await consul.kv.put('k', 'v');
      await consul.kv.get('k', { token: 'per-call-token' }).catch(() => undefined);
      await consul.session.destroy('abc');
      expect(server.requests.length).toBe(3);
      for (const request of server.requests) {
        expect(request.url).not.toContain('secret-token-123');
        expect(request.url).not.toContain('per-call-token');
        expect(request.url).not.toMatch(/[?&]token=/);
      }
      expect(server.requests[0]?.headers['x-consul-token']).toBe('secret-token-123');
      expect(server.requests[1]?.headers['x-consul-token']).toBe('per-call-token');
      expect(server.requests[0]?.url).toContain('dc=dc1');
    } finally {
      await consul.close();
      await server.close();
    }
  });
});

describe('token validation (issue 10, item 16)', () => {
  const bad = ['abc\r\nX-Injected: 1', 'ab\nc', 'ab\0c', 'to ken', 'tökén'];

  it('a token with CR/LF or other header-illegal characters is a ValidationError at construction', () => {
    for (const token of bad) {
      expect(() => new Consul({ address: sharedConsulAddress(), token, env: {} })).toThrow(ValidationError);
      expect(() => new Consul({ address: sharedConsulAddress(), env: { CONSUL_HTTP_TOKEN: token } })).toThrow(
        ValidationError,
      );
    }
    const dir = mkdtempSync(join(tmpdir(), 'consulkit-token-'));
    const file = join(dir, 'token');
    writeFileSync(file, 'abc\r\ndef\n');
    expect(() => new Consul({ address: sharedConsulAddress(), tokenFile: file, env: {} })).toThrow(
      ValidationError,
    );
    // The file's final newline is trimmed, as the Consul CLI does.
    writeFileSync(file, 'abc-def\n');
    expect(() => new Consul({ address: sharedConsulAddress(), tokenFile: file, env: {} })).not.toThrow();
  });

  it('a bad per-call or per-watch token is a ValidationError before anything is sent, never retried', async () => {
    const consul = new Consul({ address: sharedConsulAddress(), env: {} });
    try {
      // Per call nothing is trimmed: a trailing newline is as illegal as an inner one.
      for (const token of [...bad, 'abc\n', '']) {
        await expectInvalid(consul, () => consul.kv.get('x', { token }), 'token');
        await expectInvalid(consul, () => consul.kv.put('x', 'v', { token }), 'token');
        await expectInvalid(consul, () => consul.watch.key('x', { token }), 'token');
      }
    } finally {
      await consul.close();
    }
  });
});

describe('ACL-enabled Consul', () => {
  let agent: ConsulInstance;
  beforeAll(async () => {
    agent = await startConsul({ acl: true });
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it('never writes the token into a log line, on any path that logs', async () => {
    const lines: string[] = [];
    const { pino } = await import('pino');
    // No redaction here: the library itself must keep the token out of what it logs.
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
    const secret = 'hidden-token-0f3c9a';
    const consul = new Consul({ address: agent.address, token: secret, env: {}, logger });
    try {
      // Request lines (debug), a 403 on a read and on a write, a watch retrying on it, and
      // one that stops on it.
      await expect(consul.kv.get('acl/x')).rejects.toThrow(PermissionDeniedError);
      await expect(consul.kv.put('acl/x', 'v')).rejects.toThrow(PermissionDeniedError);
      const watch = consul.watch.key('acl/x');
      await new Promise<void>((resolve) => watch.on('error', () => resolve()));
      await watch.close();
      const failing = consul.watch.key('acl/y', { permissionDenied: 'fail' });
      await expect(failing.ready()).rejects.toThrow(PermissionDeniedError);
      expect(lines.some((line) => line.includes('"path":"/v1/kv/acl/x"'))).toBe(true);
      expect(lines.some((line) => line.includes('PermissionDeniedError'))).toBe(true);
      expect(lines.join('\n')).not.toContain(secret);
    } finally {
      await consul.close();
    }
  });

  it('an anonymous write gets PermissionDeniedError; the master token succeeds', async () => {
    const anonymous = new Consul({ address: agent.address, env: {} });
    const admin = new Consul({ address: agent.address, token: agent.token ?? '', env: {} });
    try {
      const error = await anonymous.kv.put('acl/x', 'v').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect(error).toMatchObject({
        status: 403,
        method: 'PUT',
        path: '/v1/kv/acl/x',
        code: 'PERMISSION_DENIED',
      });
      expect(await admin.kv.put('acl/x', 'v')).toBe(true);
    } finally {
      await anonymous.close();
      await admin.close();
    }
  });
});

describe('TLS', () => {
  let agent: ConsulInstance;
  beforeAll(async () => {
    agent = await startConsul({ tls: { verifyIncoming: true } });
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it('talks https with a client certificate', async () => {
    const consul = new Consul({
      address: agent.address,
      env: {},
      tls: {
        ca: agent.ca ?? '',
        cert: agent.clientCert?.cert ?? '',
        key: agent.clientCert?.key ?? '',
        serverName: agent.tlsServerName ?? '',
      },
    });
    try {
      expect(agent.address.startsWith('https://')).toBe(true);
      expect(await consul.kv.put('tls/x', 'secure')).toBe(true);
      expect(String((await consul.kv.get('tls/x'))?.Value)).toBe('secure');
    } finally {
      await consul.close();
    }
  });

  it('fails without the required client certificate, and without trusting the CA', async () => {
    const noCert = new Consul({
      address: agent.address,
      env: {},
      retry: { retries: 0 },
      tls: { ca: agent.ca ?? '', serverName: agent.tlsServerName ?? '' },
    });
    const untrusted = new Consul({ address: agent.address, env: {}, retry: { retries: 0 } });
    try {
      await expect(noCert.kv.get('tls/x')).rejects.toThrow(ConsulUnavailableError);
      await expect(untrusted.kv.get('tls/x')).rejects.toThrow(/self.signed|unable to verify|certificate/i);
    } finally {
      await noCert.close();
      await untrusted.close();
    }
  });

  it('reads TLS settings from the CONSUL_* environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'consulkit-tls-'));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'ca.pem'), agent.ca ?? '');
    writeFileSync(join(dir, 'cert.pem'), agent.clientCert?.cert ?? '');
    writeFileSync(join(dir, 'key.pem'), agent.clientCert?.key ?? '');
    const consul = new Consul({
      env: {
        CONSUL_HTTP_ADDR: agent.address.replace('https://', ''),
        CONSUL_HTTP_SSL: 'true',
        CONSUL_CACERT: join(dir, 'ca.pem'),
        CONSUL_CLIENT_CERT: join(dir, 'cert.pem'),
        CONSUL_CLIENT_KEY: join(dir, 'key.pem'),
        CONSUL_TLS_SERVER_NAME: agent.tlsServerName ?? '',
      },
    });
    try {
      expect(await consul.status.leader()).toMatch(/:\d+$/);
    } finally {
      await consul.close();
    }
  });
});

describe('unix socket address', () => {
  let bridge: Server;
  let socketPath: string;

  beforeAll(async () => {
    // Consul in a container cannot share a socket file with the host, so a socket on the
    // host forwards bytes to the shared agent's TCP port; the HTTP peer is still Consul.
    const target = new URL(sharedConsulAddress());
    socketPath = join(mkdtempSync(join(tmpdir(), 'consulkit-sock-')), 'consul.sock');
    bridge = createServer((client) => {
      const upstream = createConnection(Number(target.port), target.hostname);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => bridge.listen(socketPath, resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => bridge.close(() => resolve()));
  });

  it('reaches Consul through unix://', async () => {
    const consul = new Consul({ address: `unix://${socketPath}`, env: {} });
    const prefix = uniquePrefix('unix');
    try {
      expect(await consul.kv.put(`${prefix}/k`, 'over a socket')).toBe(true);
      expect(String((await consul.kv.get(`${prefix}/k`))?.Value)).toBe('over a socket');
      await consul.kv.delete(prefix, { recurse: true });
    } finally {
      await consul.close();
    }
  });
});
