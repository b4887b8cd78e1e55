/**
 * Observability against a real Consul, recorded by an in-memory OpenTelemetry SDK: lock
 * holders, a lock loss, a leader change, registrations, and consul.healthReport().
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ATTRIBUTES, CHANNELS, LockLostError, METRICS } from '../../src/index.js';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniqueName, uniquePrefix } from '../support/consul.js';
import { waitFor } from '../support/wait.js';
import { MemoryTelemetry } from '../unit/observability-support.js';

const address = sharedConsulAddress();
const clients = new Clients(address);
const sdk = new MemoryTelemetry();
const observed = { meterProvider: sdk.meterProvider, tracerProvider: sdk.tracerProvider };
const unsubscribe: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of unsubscribe.splice(0)) cleanup();
});
afterAll(async () => {
  await clients.closeAll();
  await sdk.shutdown();
});

function listen(name: string): unknown[] {
  const received: unknown[] = [];
  const listener = (message: unknown): void => void received.push(message);
  diagnosticsChannel.subscribe(name, listener);
  unsubscribe.push(() => diagnosticsChannel.unsubscribe(name, listener));
  return received;
}

const fast = { ttl: '10s', lockDelay: 0 } as const;

describe('observability of requests', () => {
  it('records each request by group, method and outcome, with one client span each and no token anywhere', async () => {
    const token = 'f1d5e0c2-obs-token-never-exported';
    const consul = clients.create({ ...observed, token });
    const key = `${uniquePrefix('obs-req')}/a`;
    const messages = listen(CHANNELS.requestEnd);
    sdk.spans.reset();
    await consul.kv.put(key, 'v');
    expect(String((await consul.kv.get(key))?.Value)).toBe('v');
    expect(await consul.kv.get(`${key}-missing`)).toBeUndefined();
    const kv = { [ATTRIBUTES.endpointGroup]: 'kv' };
    expect(
      await sdk.sum(METRICS.requests, { ...kv, [ATTRIBUTES.httpMethod]: 'PUT', [ATTRIBUTES.outcome]: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await sdk.sum(METRICS.requests, {
        ...kv,
        [ATTRIBUTES.httpMethod]: 'GET',
        [ATTRIBUTES.outcome]: 'not_found',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      (await sdk.histogram(METRICS.requestDuration, { ...kv, [ATTRIBUTES.httpStatus]: 200 })).count,
    ).toBeGreaterThanOrEqual(2);
    const spans = sdk
      .finishedSpans()
      .filter((span) => span.attributes[ATTRIBUTES.urlPath] === `/v1/kv/${key}`);
    expect(spans.map((span) => span.name)).toEqual(['PUT consul.kv', 'GET consul.kv']);
    expect(spans[1]?.attributes).toMatchObject({
      [ATTRIBUTES.httpStatus]: 200,
      [ATTRIBUTES.blocking]: false,
    });
    expect(messages.filter((message) => (message as { path: string }).path === `/v1/kv/${key}`)).toHaveLength(
      2,
    );
    const exported = JSON.stringify(
      [sdk.finishedSpans().map((span) => span.attributes), messages],
      (_k, value: unknown) => (typeof value === 'bigint' ? String(value) : value),
    );
    expect(exported).not.toContain(token);
  });

  it('counts retries and the failed attempts of an unreachable agent', async () => {
    const consul = clients.create({
      ...observed,
      address: 'http://127.0.0.1:1',
      retry: { retries: 2, minDelay: 1, maxDelay: 5 },
    });
    const before = await sdk.sum(METRICS.retries, { [ATTRIBUTES.endpointGroup]: 'status' });
    await expect(consul.status.peers()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect((await sdk.sum(METRICS.retries, { [ATTRIBUTES.endpointGroup]: 'status' })) - before).toBe(2);
    expect(
      await sdk.sum(METRICS.requests, {
        [ATTRIBUTES.endpointGroup]: 'status',
        [ATTRIBUTES.outcome]: 'unavailable',
      }),
    ).toBeGreaterThanOrEqual(3);
  });
});

describe('observability of locks and elections', () => {
  it('counts holders, hold time and a loss, publishes acquired/released/lost, and lists held locks in the report', async () => {
    const key = `${uniquePrefix('obs-lock')}/.lock`;
    const consul = clients.create(observed);
    const lost = listen(CHANNELS.lockLost);
    const acquired = listen(CHANNELS.lockAcquired);
    const match = { [ATTRIBUTES.key]: key };

    const lock = await consul.lock(key, fast).acquire();
    expect(await sdk.sum(METRICS.lockHolders, match)).toBe(1);
    expect(acquired).toEqual([{ kind: 'lock', key, fencingToken: lock.fencingToken }]);
    const report = await consul.healthReport();
    expect(report.held).toMatchObject([{ kind: 'lock', key, fencingToken: String(lock.fencingToken) }]);
    await lock.release();
    expect(await sdk.sum(METRICS.lockHolders, match)).toBe(0);
    expect(
      (await sdk.histogram(METRICS.lockHoldDuration, { ...match, [ATTRIBUTES.holdEnd]: 'released' })).count,
    ).toBe(1);

    // Lost: another client destroys the holder's session.
    const again = await consul.lock(key, fast).acquire();
    const gone = new Promise<LockLostError>((resolve) => again.once('lost', resolve));
    await clients.create().session.destroy(again.sessionId as string);
    const error = await gone;
    expect(await sdk.sum(METRICS.lockHolders, match)).toBe(0);
    expect(await sdk.sum(METRICS.lockLosses, match)).toBe(1);
    expect(
      (await sdk.histogram(METRICS.lockHoldDuration, { ...match, [ATTRIBUTES.holdEnd]: 'lost' })).count,
    ).toBe(1);
    expect(lost).toMatchObject([{ kind: 'lock', key, error }]);
    expect((await consul.healthReport()).held).toEqual([]);
  });

  it('times acquisitions by outcome and traces withLock and runWhileLeader bodies with key and fencing token', async () => {
    const key = `${uniquePrefix('obs-span')}/.lock`;
    const consul = clients.create(observed);
    sdk.spans.reset();
    const token = await consul
      .lock(key, fast)
      .withLock(async () => consul.lock(key, fast).fencingToken ?? 'body ran');
    expect(token).toBe('body ran');
    const holder = await consul.lock(key, fast).acquire();
    await expect(consul.lock(key, fast).acquire({ timeout: 300 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    await holder.release();
    const match = { [ATTRIBUTES.key]: key, [ATTRIBUTES.lockKind]: 'lock' };
    expect(
      (await sdk.histogram(METRICS.lockAcquireDuration, { ...match, [ATTRIBUTES.outcome]: 'acquired' }))
        .count,
    ).toBe(2);
    const timedOut = await sdk.histogram(METRICS.lockAcquireDuration, {
      ...match,
      [ATTRIBUTES.outcome]: 'timeout',
    });
    expect(timedOut.count).toBe(1);
    expect(timedOut.sum).toBeGreaterThanOrEqual(0.29);

    const election = clients.create(observed).election(`${uniquePrefix('obs-span')}/leader`, fast);
    await election.campaign();
    expect(await election.runWhileLeader(async () => 'job')).toEqual({ ran: true, result: 'job' });
    const lockSpan = sdk.finishedSpans().find((span) => span.name === 'consulkit.lock');
    const leaderSpan = sdk.finishedSpans().find((span) => span.name === 'consulkit.leader');
    expect(lockSpan?.attributes).toEqual({
      [ATTRIBUTES.key]: key,
      [ATTRIBUTES.fencingToken]: expect.stringMatching(/^\d+$/),
    });
    expect(leaderSpan?.attributes).toEqual({
      [ATTRIBUTES.key]: election.key,
      [ATTRIBUTES.fencingToken]: String(election.fencingToken),
    });
    await election.resign();
  });

  it('counts terms won and lost across a leader change, and times the leadership', async () => {
    const key = `${uniquePrefix('obs-elect')}/leader`;
    const elected = listen(CHANNELS.electionElected);
    const revoked = listen(CHANNELS.electionRevoked);
    const a = clients.create(observed).election(key, { ...fast, value: 'a' });
    const consulB = clients.create(observed);
    const b = consulB.election(key, { ...fast, value: 'b' });
    const match = { [ATTRIBUTES.key]: key };
    await a.campaign();
    // a loses its leadership: its session is destroyed behind its back. A deposed leader
    // campaigns again, so a withdraws as soon as it learns of the loss; then b takes over
    // (were b already campaigning, a could win the next term and b wait forever).
    const aRevoked = new Promise<Error | undefined>((resolve) =>
      a.once('revoked', (reason) => {
        void a.resign();
        resolve(reason);
      }),
    );
    await clients.create().session.destroy(await sessionOf(key));
    expect(await aRevoked).toBeInstanceOf(LockLostError);
    await b.campaign();
    expect(b.isLeader).toBe(true);
    expect(await sdk.sum(METRICS.electionTerms, { ...match, [ATTRIBUTES.term]: 'won' })).toBe(2);
    expect(await sdk.sum(METRICS.electionTerms, { ...match, [ATTRIBUTES.term]: 'lost' })).toBe(1);
    expect((await sdk.histogram(METRICS.electionLeadership, match)).count).toBe(1);
    expect(elected).toMatchObject([{ key }, { key }]);
    expect(revoked).toMatchObject([{ key, end: 'lost' }]);
    expect((await consulB.healthReport()).held).toMatchObject([
      { kind: 'election', key, fencingToken: String(b.fencingToken) },
    ]);
    await b.resign();
    expect(await sdk.sum(METRICS.electionTerms, { ...match, [ATTRIBUTES.term]: 'resigned' })).toBe(1);
  });
});

/** The session holding `key`, read from Consul (elections do not expose theirs). */
async function sessionOf(key: string): Promise<string> {
  const entry = await clients.create().kv.get(key);
  if (entry?.Session === undefined) throw new Error(`${key} is not held`);
  return entry.Session;
}

describe('observability of watches', () => {
  it('counts reads and times deliveries by kind', async () => {
    const consul = clients.create(observed);
    const key = `${uniquePrefix('obs-watch')}/flag`;
    const watch = consul.watch.key(key);
    const seen: Array<string | undefined> = [];
    watch.on('change', (entry) => seen.push(entry === undefined ? undefined : String(entry.Value)));
    await waitFor('the first answer', () => seen.length === 1);
    await consul.kv.put(key, 'on');
    await waitFor('the change', () => seen.includes('on'));
    // The watch is parked in a blocking read now: one loop, and a connection in the blocking pool.
    await waitFor(
      'the blocking read',
      async () => (await sdk.sum(METRICS.connections, { [ATTRIBUTES.pool]: 'blocking' })) >= 1,
    );
    expect(await sdk.sum(METRICS.watchLoops)).toBeGreaterThanOrEqual(1);
    await watch.close();
    expect(
      await sdk.sum(METRICS.watchReads, { [ATTRIBUTES.watchKind]: 'kv', [ATTRIBUTES.outcome]: 'ok' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      (await sdk.histogram(METRICS.watchDelivery, { [ATTRIBUTES.watchKind]: 'kv' })).count,
    ).toBeGreaterThanOrEqual(2);
  });

  it('lists a watch whose reads fail in the report until it is closed', async () => {
    const consul = clients.create({ ...observed, address: 'http://127.0.0.1:1' });
    const errors = listen(CHANNELS.watchError);
    const watch = consul.watch.services();
    watch.on('error', () => undefined); // failures are the point; the report must show them
    const report = await waitFor('a failing watch in the report', async () => {
      const current = await consul.healthReport({ timeout: '1s' });
      return current.watches.failing.length > 0 && current;
    });
    expect(report.healthy).toBe(false);
    expect(report.watches.failing).toMatchObject([
      { kind: 'catalog', lastError: expect.stringMatching(/cannot reach/) },
    ]);
    expect(errors).toContainEqual(expect.objectContaining({ kind: 'catalog', fatal: false }));
    expect(
      await sdk.sum(METRICS.watchErrors, { [ATTRIBUTES.errorType]: 'unavailable' }),
    ).toBeGreaterThanOrEqual(1);
    await watch.close();
    expect((await consul.healthReport({ timeout: '1s' })).watches.failing).toEqual([]);
  });
});

describe('consul.healthReport()', () => {
  it('reports a reachable agent with its leader, and each registration’s last heartbeat', async () => {
    const consul = clients.create(observed);
    const name = uniqueName('obs-web');
    const registration = await consul.registerService({ name, ttl: '3s', handleSignals: false });
    try {
      const report = await consul.healthReport();
      expect(report.healthy).toBe(true);
      expect(report.agent.reachable).toBe(true);
      expect(report.agent.leader).toMatch(/:\d+$/);
      const [entry] = report.registrations;
      expect(entry?.serviceId).toBe(registration.id);
      expect(entry?.failuresInARow).toBe(0);
      expect(entry?.sinceLastHeartbeatMs).toBeLessThan(3000);
      // The agent forgets the service: the registration re-registers it, and the metric says why.
      await clients.create().agent.service.deregister(registration.id);
      await waitFor(
        'a re-registration after the agent forgot the service',
        async () =>
          (await sdk.sum(METRICS.registrations, {
            [ATTRIBUTES.serviceId]: registration.id,
            [ATTRIBUTES.registrationReason]: 'agent-forgot',
          })) >= 1,
        20_000,
      );
    } finally {
      await registration.stop();
    }
    expect((await consul.healthReport()).registrations).toEqual([]);
  });

  it('reports an unreachable agent as unhealthy within its timeout, without throwing', async () => {
    const consul = clients.create({ address: 'http://127.0.0.1:1', retry: { retries: 0 } });
    const report = await consul.healthReport({ timeout: '1s' });
    expect(report.healthy).toBe(false);
    expect(report.agent).toMatchObject({
      reachable: false,
      leader: undefined,
      error: { type: 'unavailable' },
    });
    expect(report.agent.latencyMs).toBeLessThan(5000);
  });
});

describe('observability of a balancer', () => {
  it('counts calls by instance and outcome, including the failed attempt of a retried call', async () => {
    const service = uniqueName('obs-lb');
    // Two real instances: one answers 503, the other 200; a GET to the failing one is
    // retried on the other, so one call gives one '5xx' and one 'ok' attempt.
    const answers = new Map<string, number>([
      ['bad', 503],
      ['good', 200],
    ]);
    const servers = await Promise.all(
      [...answers].map(async ([name, status]) => {
        const server = createServer((_request, response) => {
          response.statusCode = status;
          response.end(name);
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        return { name, server, port: (server.address() as AddressInfo).port };
      }),
    );
    const registrar = clients.create();
    try {
      for (const { name, port } of servers) {
        await registrar.agent.service.register({
          Name: service,
          ID: `${service}-${name}`,
          Address: '127.0.0.1',
          Port: port,
        });
      }
      const consul = clients.create(observed);
      const lb = consul.balancer(service, {
        strategy: 'round-robin',
        passingOnly: false,
        outlierDetection: false,
      });
      await lb.ready();
      const bodies: string[] = [];
      for (let call = 0; call < 4; call++) bodies.push(await (await lb.request('/')).text());
      expect(bodies).toEqual(['good', 'good', 'good', 'good']);
      const calls = (id: string, outcome: string): Promise<number> =>
        sdk.sum(METRICS.balancerCalls, {
          [ATTRIBUTES.service]: service,
          [ATTRIBUTES.instance]: id,
          [ATTRIBUTES.outcome]: outcome,
        });
      expect(await calls(`${service}-good`, 'ok')).toBe(4);
      // Round-robin sends every other call to the failing instance first.
      expect(await calls(`${service}-bad`, '5xx')).toBe(2);
      expect(await calls(`${service}-good`, '5xx')).toBe(0);
      await lb.close();
    } finally {
      for (const { name } of servers) await registrar.agent.service.deregister(`${service}-${name}`);
      await Promise.all(servers.map(({ server }) => new Promise((resolve) => server.close(resolve))));
    }
  });
});
