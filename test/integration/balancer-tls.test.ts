/**
 * The balancer with instances that serve HTTPS. The instances are this test's own
 * `node:https` servers on 127.0.0.1 (application backends, not a Consul stand-in), with
 * certificates made by the real `consul tls` commands, registered on the shared agent.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BalancerRequestError, Check, Consul, ValidationError, type Balancer } from '../../src/index.js';
import { findConsulBinary } from '../../src/testing/index.js';
import { createTlsMaterial, type TlsMaterial } from '../../src/testing/tls.js';
import { sharedConsulAddress } from '../support/consul.js';
import { waitFor } from '../support/wait.js';

/** What an instance saw of one request's TLS connection. */
interface Seen {
  /** SNI the client sent (false when none). */
  servername: string | false;
  /** Common name of the client certificate, or '' when none was presented. */
  clientCn: string;
}

interface HttpsInstance {
  name: string;
  seen: Seen[];
  server: Server;
  port: number;
}

let consul: Consul;
let material: TlsMaterial;
let serverCert: { cert: string; key: string };
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  consul = new Consul({ address: sharedConsulAddress(), env: {} });
  const dir = await mkdtemp(join(tmpdir(), 'consulkit-lb-tls-'));
  closers.push(() => rm(dir, { recursive: true, force: true }));
  material = await createTlsMaterial(await findConsulBinary(), dir, 'dc1');
  serverCert = {
    cert: await readFile(material.serverCertFile, 'utf8'),
    key: await readFile(material.serverKeyFile, 'utf8'),
  };
});

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await consul.close();
});

/** Starts one HTTPS instance; with `requireClientCert` it refuses clients without a certificate signed by the CA. */
async function startInstance(name: string, requireClientCert: boolean): Promise<HttpsInstance> {
  const seen: Seen[] = [];
  const server = createServer(
    {
      ...serverCert,
      ...(requireClientCert && { ca: material.ca, requestCert: true, rejectUnauthorized: true }),
    },
    (request, response) => {
      const socket = request.socket as TLSSocket;
      seen.push({
        servername: (socket as TLSSocket & { servername?: string | false }).servername ?? false,
        clientCn: String(socket.getPeerCertificate()?.subject?.CN ?? ''),
      });
      request.resume();
      response.end(name);
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(async () => {
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await closed;
  });
  return { name, seen, server, port: (server.address() as AddressInfo).port };
}

/** Two HTTPS instances of a fresh service, registered and passing. */
async function httpsService(
  requireClientCert = false,
): Promise<{ service: string; instances: HttpsInstance[] }> {
  const service = `lb-tls-${randomBytes(4).toString('hex')}`;
  const instances = await Promise.all([1, 2].map((n) => startInstance(`${service}-${n}`, requireClientCert)));
  for (const instance of instances) {
    await consul.agent.service.register({
      Name: service,
      ID: instance.name,
      Address: '127.0.0.1',
      Port: instance.port,
      Check: Check.ttl('10m', { status: 'passing' }),
    });
    closers.push(() => consul.agent.service.deregister(instance.name));
  }
  await waitFor(
    'two passing https instances',
    async () => (await consul.health.service(service, { passing: true })).length === 2,
  );
  return { service, instances };
}

function track(lb: Balancer): Balancer {
  closers.push(() => lb.close());
  return lb;
}

describe('balancer with HTTPS instances', () => {
  it('reaches instances over TLS with the CA given; tls alone selects https', async () => {
    const { service, instances } = await httpsService();
    const lb = track(consul.balancer(service, { tls: { ca: material.ca } }));
    await lb.ready();
    const response = await lb.request('/hello');
    expect(response.status).toBe(200);
    expect(instances.map((instance) => instance.name)).toContain(await response.text());
    expect(instances.flatMap((instance) => instance.seen)).toHaveLength(1);
  });

  it('refuses an instance whose certificate it cannot verify, naming the certificate problem', async () => {
    const { service, instances } = await httpsService();
    const lb = track(consul.balancer(service, { scheme: 'https' }));
    await lb.ready();
    const failure = await lb.request('/hello').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BalancerRequestError);
    expect((failure as Error).message).toMatch(/certificate/i);
    // The handshake failed, so no instance ever saw a request.
    expect(instances.flatMap((instance) => instance.seen)).toHaveLength(0);
  });

  it('sends the configured server name as SNI and checks the certificate against it', async () => {
    const { service, instances } = await httpsService();
    const lb = track(
      consul.balancer(service, {
        tls: { ca: material.ca, serverName: material.serverName },
        strategy: 'round-robin',
      }),
    );
    await lb.ready();
    for (let i = 0; i < 4; i++) expect((await lb.request('/')).status).toBe(200);
    const seen = instances.flatMap((instance) => instance.seen);
    expect(seen).toHaveLength(4);
    expect(seen.every((entry) => entry.servername === material.serverName)).toBe(true);

    const wrongName = track(
      consul.balancer(service, { tls: { ca: material.ca, serverName: 'other.example' } }),
    );
    await wrongName.ready();
    await expect(wrongName.request('/')).rejects.toThrow(/other\.example|altnames|certificate/i);
  });

  it('presents a client certificate to instances that require one (mutual TLS)', async () => {
    const { service, instances } = await httpsService(true);
    const withoutCert = track(consul.balancer(service, { tls: { ca: material.ca } }));
    await withoutCert.ready();
    await expect(withoutCert.request('/', { maxAttempts: 1 })).rejects.toBeInstanceOf(BalancerRequestError);
    expect(instances.flatMap((instance) => instance.seen)).toHaveLength(0);

    const withCert = track(
      consul.balancer(service, {
        tls: { ca: material.ca, cert: material.clientCert.cert, key: material.clientCert.key },
      }),
    );
    await withCert.ready();
    const response = await withCert.request('/');
    expect(response.status).toBe(200);
    const seen = instances.flatMap((instance) => instance.seen);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.clientCn).toMatch(/client\.dc1\.consul/);
  });

  it('rejects bad TLS options before opening anything', async () => {
    // A client of its own: the other tests' balancers keep watches that re-read at any time.
    await using consul = new Consul({ address: sharedConsulAddress(), env: {} });
    const before = consul.stats();
    const service = 'lb-tls-validation';
    expect(() => consul.balancer(service, { scheme: 'http', tls: { ca: material.ca } })).toThrow(
      ValidationError,
    );
    expect(() => consul.balancer(service, { tls: { cert: material.clientCert.cert } })).toThrow(
      /both cert and key/,
    );
    expect(() => consul.balancer(service, { tls: { ca: 42 as unknown as string } })).toThrow(ValidationError);
    expect(() => consul.balancer(service, { tls: { serverName: '' } })).toThrow(ValidationError);
    expect(() =>
      consul.balancer(service, { tls: { rejectUnauthorized: 'no' as unknown as boolean } }),
    ).toThrow(ValidationError);
    // A watch opened by mistake would send its first read right away.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(consul.stats().requests).toBe(before.requests);
  });
});
