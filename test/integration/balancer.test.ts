/**
 * The balancer against the shared Consul agent. The instances are this test's own
 * `node:http` servers on 127.0.0.1 (application backends, not a Consul stand-in), registered
 * on the agent with TTL checks the tests pass, warn and fail.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BalancerNoInstanceError,
  BalancerRequestError,
  Check,
  ClosedError,
  Consul,
  ConsulError,
  ConsulUnavailableError,
  PermissionDeniedError,
  TimeoutError,
  ValidationError,
  type Balancer,
  type BalancerChange,
  type BalancerEjection,
  type BalancerInstance,
  type BalancerResponse,
  type ServiceWeights,
} from '../../src/index.js';
import { startConsul, type ConsulInstance } from '../../src/testing/index.js';
import { sharedConsulAddress } from '../support/consul.js';
import { memoryLogger } from '../support/logging.js';

type Mode = 'ok' | '503' | 'hold';

/** One application backend: answers with its name, a 503, or not at all until released. */
class Backend {
  readonly hits: { method: string; path: string }[] = [];
  readonly held: ServerResponse[] = [];
  mode: Mode = 'ok';
  port = 0;
  readonly server: Server;

  constructor(readonly name: string) {
    this.server = createServer((request, response) => {
      this.hits.push({ method: request.method ?? '', path: request.url ?? '' });
      request.resume();
      if (this.mode === 'hold') this.held.push(response);
      else if (this.mode === '503') {
        response.statusCode = 503;
        response.end(`${this.name} is busy`);
      } else response.end(this.name);
    });
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  release(): void {
    for (const response of this.held.splice(0)) response.end(this.name);
  }

  async stop(): Promise<void> {
    this.release();
    if (!this.server.listening) return;
    const closed = once(this.server, 'close');
    this.server.close();
    this.server.closeAllConnections();
    await closed;
  }
}

interface Fixture {
  name: string;
  backends: Backend[];
  ids: string[];
  checkId(index: number): string;
}

let consul: Consul;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(() => {
  consul = new Consul({ address: sharedConsulAddress() });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await consul.close();
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
): Promise<T> {
  const deadline = performance.now() + 15_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Three backends registered as instances of a fresh service, all passing in the catalog. */
async function fixture(weights: (ServiceWeights | undefined)[] = []): Promise<Fixture> {
  const name = `lb-${randomBytes(4).toString('hex')}`;
  const backends = await Promise.all([1, 2, 3].map((n) => new Backend(`${name}-${n}`).start()));
  const ids = backends.map((backend) => backend.name);
  cleanups.push(async () => {
    await Promise.all(backends.map((backend) => backend.stop()));
  });
  for (const [i, backend] of backends.entries()) {
    const weight = weights[i];
    await consul.agent.service.register({
      Name: name,
      ID: backend.name,
      Address: '127.0.0.1',
      Port: backend.port,
      Tags: ['blue', i === 0 ? 'first' : 'rest'],
      Meta: { n: String(i + 1) },
      ...(weight !== undefined && { Weights: weight }),
      Check: Check.ttl('10m', { status: 'passing' }),
    });
    cleanups.push(() => consul.agent.service.deregister(backend.name));
  }
  await waitFor('3 passing instances', async () => {
    const entries = await consul.health.service(name, { passing: true });
    return entries.length === 3;
  });
  return { name, backends, ids, checkId: (index) => `service:${ids[index] ?? ''}` };
}

function track(lb: Balancer): Balancer {
  cleanups.push(() => lb.close());
  return lb;
}

function nextChange(lb: Balancer): Promise<BalancerChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no change event within 10 s')), 10_000);
    lb.once('change', (change) => {
      clearTimeout(timer);
      resolve(change);
    });
  });
}

function picks(lb: Balancer, times: number): string[] {
  return Array.from({ length: times }, () => lb.pick()?.id ?? 'none');
}

function tally(ids: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const id of ids) counts[id] = (counts[id] ?? 0) + 1;
  return counts;
}

async function textOf(response: BalancerResponse): Promise<string> {
  return response.text();
}

describe('balancer', () => {
  it('uses only passing instances, with their address, port, tags and meta', async () => {
    const { name, backends, ids, checkId } = await fixture();
    await consul.agent.check.fail(checkId(2), 'down for the test');
    await waitFor('the catalog to see the failure', async () => {
      const entries = await consul.health.service(name, { passing: true });
      return entries.length === 2;
    });
    const lb = track(consul.balancer(name));
    expect(lb.strategy).toBe('p2c');
    const instances = await lb.ready();
    expect(instances.map((instance) => instance.id)).toEqual(ids.slice(0, 2));
    const first = instances[0] as BalancerInstance;
    expect(first).toMatchObject({
      id: ids[0],
      address: '127.0.0.1',
      port: backends[0]?.port,
      tags: ['blue', 'first'],
      meta: { n: '1' },
      status: 'passing',
      weight: 1,
    });
    expect(typeof first.node).toBe('string');
    expect(new Set(picks(lb, 60))).toEqual(new Set(ids.slice(0, 2)));

    const back = nextChange(lb);
    await consul.agent.check.pass(checkId(2));
    const change = await back;
    expect(change.added.map((instance) => instance.id)).toEqual([ids[2]]);
    expect(change.removed).toEqual([]);
    expect(change.instances).toHaveLength(3);
    expect(new Set(picks(lb, 90))).toEqual(new Set(ids));
  });

  it('takes a failing instance out of rotation once the change arrives', async () => {
    const { name, ids, checkId } = await fixture();
    const lb = track(consul.balancer(name, { strategy: 'random' }));
    await lb.ready();
    expect(new Set(picks(lb, 90))).toEqual(new Set(ids));

    const change = nextChange(lb);
    await consul.agent.check.fail(checkId(1));
    const { removed, added, instances } = await change;
    expect(removed.map((instance) => instance.id)).toEqual([ids[1]]);
    expect(added).toEqual([]);
    expect(instances.map((instance) => instance.id)).toEqual([ids[0], ids[2]]);
    expect(lb.instances().map((instance) => instance.id)).toEqual([ids[0], ids[2]]);
    expect(picks(lb, 90)).not.toContain(ids[1]);
  });

  it('filters by tag', async () => {
    const { name, ids } = await fixture();
    const lb = track(consul.balancer(name, { tag: 'first' }));
    expect((await lb.ready()).map((instance) => instance.id)).toEqual([ids[0]]);
  });

  it('round-robin cycles through every instance', async () => {
    const { name, ids } = await fixture();
    const lb = track(consul.balancer(name, { strategy: 'round-robin' }));
    await lb.ready();
    const sequence = picks(lb, 9);
    expect(new Set(sequence.slice(0, 3))).toEqual(new Set(ids));
    for (let i = 3; i < 9; i += 1) expect(sequence[i]).toBe(sequence[i - 3]);
  });

  it("weighted follows Consul's Weights.Passing", async () => {
    const { name, ids } = await fixture([
      { Passing: 1, Warning: 1 },
      { Passing: 1, Warning: 1 },
      { Passing: 8, Warning: 1 },
    ]);
    const lb = track(consul.balancer(name, { strategy: 'weighted' }));
    const instances = await lb.ready();
    expect(instances.map((instance) => instance.weight)).toEqual([1, 1, 8]);
    const counts = tally(picks(lb, 4_000));
    // Expected shares 10 %, 10 %, 80 %; loose bounds.
    expect(counts[ids[2] ?? '']).toBeGreaterThan(2_900);
    expect(counts[ids[0] ?? '']).toBeGreaterThan(150);
    expect(counts[ids[0] ?? '']).toBeLessThan(800);
    expect(counts[ids[1] ?? '']).toBeGreaterThan(150);
    expect(counts[ids[1] ?? '']).toBeLessThan(800);
  });

  it('uses warning instances with Weights.Warning only when passingOnly is false', async () => {
    const { name, ids, checkId } = await fixture([
      { Passing: 1, Warning: 1 },
      { Passing: 2, Warning: 0 },
      { Passing: 3, Warning: 1 },
    ]);
    await consul.agent.check.warn(checkId(1), 'degraded');
    await consul.agent.check.warn(checkId(2), 'degraded');
    await waitFor('the warnings in the catalog', async () => {
      const entries = await consul.health.service(name, { passing: true });
      return entries.length === 1;
    });
    const strict = track(consul.balancer(name));
    const lenient = track(consul.balancer(name, { passingOnly: false, strategy: 'weighted' }));
    expect((await strict.ready()).map((instance) => instance.id)).toEqual([ids[0]]);
    const instances = await lenient.ready();
    expect(instances.map((instance) => [instance.id, instance.status, instance.weight])).toEqual([
      [ids[0], 'passing', 1],
      [ids[1], 'warning', 0],
      [ids[2], 'warning', 1],
    ]);
    // Weight 0 takes the second out of rotation; the other two share evenly.
    const counts = tally(picks(lenient, 2_000));
    expect(counts[ids[1] ?? '']).toBeUndefined();
    expect(counts[ids[0] ?? '']).toBeGreaterThan(700);
    expect(counts[ids[2] ?? '']).toBeGreaterThan(700);

    const change = nextChange(lenient);
    await consul.agent.check.fail(checkId(2));
    expect((await change).removed.map((instance) => instance.id)).toEqual([ids[2]]);
  });

  it('p2c avoids the instance with requests outstanding', async () => {
    const { name, backends, ids } = await fixture();
    const slow = backends[0] as Backend;
    slow.mode = 'hold';
    const lb = track(consul.balancer(name));
    await lb.ready();
    // Send until one request is stuck on the slow backend; the others answer at once.
    const held = waitFor('the slow backend to hold a request', () => slow.held.length > 0).then(
      () => 'held' as const,
    );
    // (The pending request is wrapped: a promise returned from the probe would be awaited.)
    const { stuck } = await waitFor('a request held by the slow backend', async () => {
      const pending = lb.request('/work');
      const settled = await Promise.race([pending.then((response) => ({ response })), held]);
      if (settled === 'held') return { stuck: pending };
      await textOf(settled.response);
      return undefined;
    });
    const slowInstance = lb.instances()[0] as BalancerInstance;
    expect(slowInstance.id).toBe(ids[0]);
    expect(lb.outstanding(slowInstance)).toBe(1);
    // Any two distinct instances include an idle one, so the busy one can never win.
    expect(picks(lb, 300)).not.toContain(ids[0]);

    slow.release();
    const response = await stuck;
    expect(response.instance.id).toBe(ids[0]);
    expect(await response.text()).toBe(ids[0]);
    expect(lb.outstanding(slowInstance)).toBe(0);
    expect(new Set(picks(lb, 90))).toContain(ids[0]);
  });

  it('request() sends to an instance and retries on another when a connection is refused', async () => {
    const { name, backends, ids } = await fixture();
    const lb = track(consul.balancer(name, { strategy: 'round-robin' }));
    await lb.ready();
    const first = await lb.request('/hello?x=1', { headers: { 'x-test': 'yes' } });
    expect(first.status).toBe(200);
    expect(first.attempts).toBe(1);
    expect(await first.text()).toBe(first.instance.id);
    const backend = backends.find((candidate) => candidate.name === first.instance.id);
    expect(backend?.hits.at(-1)).toEqual({ method: 'GET', path: '/hello?x=1' });

    // The second backend goes away while Consul still lists it as passing.
    await backends[1]?.stop();
    const results: BalancerResponse[] = [];
    for (let i = 0; i < 6; i += 1) results.push(await lb.request('/'));
    for (const result of results) {
      expect(result.status).toBe(200);
      expect(await result.text()).not.toBe(ids[1]);
    }
    // Round-robin sends every third call to the dead backend first: those took two attempts.
    expect(results.filter((result) => result.attempts === 2)).toHaveLength(2);

    // A refused connection never reached the instance, so even a POST is retried.
    const posts: BalancerResponse[] = [];
    for (let i = 0; i < 3; i += 1)
      posts.push(await lb.request('/orders', { method: 'POST', body: '{"n":1}' }));
    expect(posts.map((post) => post.status)).toEqual([200, 200, 200]);
    expect(posts.some((post) => post.attempts === 2)).toBe(true);
  });

  it('request() retries a 5xx on another instance for GET but not for POST', async () => {
    const { name, backends, ids } = await fixture();
    const busy = backends[1] as Backend;
    busy.mode = '503';
    const lb = track(consul.balancer(name, { strategy: 'round-robin' }));
    await lb.ready();

    const gets: BalancerResponse[] = [];
    for (let i = 0; i < 6; i += 1) gets.push(await lb.request('/items'));
    expect(gets.map((get) => get.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(busy.hits.filter((hit) => hit.method === 'GET')).toHaveLength(2);
    expect(gets.filter((get) => get.attempts === 2)).toHaveLength(2);

    const posts: BalancerResponse[] = [];
    for (let i = 0; i < 3; i += 1) posts.push(await lb.request('/items', { method: 'post', body: 'x' }));
    const refused = posts.filter((post) => post.status === 503);
    expect(refused).toHaveLength(1);
    expect(refused[0]?.instance.id).toBe(ids[1]);
    expect(refused[0]?.attempts).toBe(1);
    expect(await refused[0]?.text()).toBe(`${ids[1]} is busy`);
    expect(busy.hits.filter((hit) => hit.method === 'POST')).toHaveLength(1);
  });

  it('request() serves many concurrent calls, spread over the instances, without listener warnings', async () => {
    const { name, backends, ids } = await fixture();
    const lb = track(consul.balancer(name));
    await lb.ready();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      const responses = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          lb.request(`/many/${i}`, i % 2 === 0 ? {} : { signal: controller.signal }),
        ),
      );
      const bodies = await Promise.all(responses.map((response) => response.text()));
      expect(new Set(bodies)).toEqual(new Set(ids));
      expect(backends.reduce((sum, backend) => sum + backend.hits.length, 0)).toBe(40);
      for (const instance of lb.instances()) expect(lb.outstanding(instance)).toBe(0);
      await sleep(10);
      expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('request() rejects with the reason of its aborted signal', async () => {
    const { name, backends } = await fixture();
    for (const backend of backends) backend.mode = 'hold';
    const lb = track(consul.balancer(name));
    await lb.ready();
    const controller = new AbortController();
    const pending = lb.request('/', { signal: controller.signal }).catch((thrown: unknown) => thrown);
    await waitFor('the request to be held', () => backends.some((backend) => backend.held.length > 0));
    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect(await pending).toBe(reason);
    expect(backends.reduce((sum, backend) => sum + backend.hits.length, 0)).toBe(1);
    for (const instance of lb.instances()) expect(lb.outstanding(instance)).toBe(0);
  });

  it('request() never tries an instance twice in one call, and returns the last 5xx', async () => {
    const { name, backends } = await fixture();
    for (const backend of backends) backend.mode = '503';
    const lb = track(consul.balancer(name, { maxAttempts: 5 }));
    await lb.ready();
    const response = await lb.request('/');
    expect(response.status).toBe(503);
    expect(response.attempts).toBe(3);
    expect(backends.map((backend) => backend.hits.length)).toEqual([1, 1, 1]);

    const limited = await lb.request('/', { maxAttempts: 2 });
    expect(limited.attempts).toBe(2);
  });

  it('outlier detection ejects an instance whose connections fail while Consul still lists it', async () => {
    const { name, backends, ids } = await fixture();
    // Long enough that the ejection cannot run out during the test, however slow the machine.
    const lb = track(
      consul.balancer(name, {
        strategy: 'round-robin',
        outlierDetection: { consecutiveFailures: 2, ejectionTime: '10m' },
      }),
    );
    const ejections: BalancerEjection[] = [];
    lb.on('ejected', (ejection) => ejections.push(ejection));
    await lb.ready();
    const dead = backends[0] as Backend;
    await dead.stop();

    // Every call still succeeds: a refused connection is retried on another instance.
    for (let i = 0; i < 9; i++) expect((await lb.request('/')).status).toBe(200);
    expect(ejections.map((ejection) => ejection.instance.id)).toEqual([dead.name]);
    expect(ejections[0]?.failures).toBe(2);
    expect(ejections[0]?.ejectionTimeMs).toBe(600_000);
    expect(ejections[0]?.reason).toMatch(/ECONNREFUSED/);
    expect(lb.ejected().map((instance) => instance.id)).toEqual([dead.name]);
    // Consul's view is unchanged; only the picks skip the instance.
    expect(lb.instances()).toHaveLength(3);
    expect(new Set(picks(lb, 30))).toEqual(new Set(ids.slice(1)));
    // No call goes to the dead instance any more, so none needs a retry.
    for (let i = 0; i < 6; i++) expect((await lb.request('/')).attempts).toBe(1);
  });

  it('outlier detection readmits an ejected instance once the ejection time has passed', async () => {
    const { name, backends, ids } = await fixture();
    const lb = track(
      consul.balancer(name, {
        strategy: 'round-robin',
        outlierDetection: { consecutiveFailures: 1, ejectionTime: '300ms' },
      }),
    );
    const ejected = new Promise<BalancerEjection>((resolve) => lb.once('ejected', resolve));
    await lb.ready();
    const dead = backends[0] as Backend;
    await dead.stop();
    for (let i = 0; i < 3; i++) await lb.request('/');
    expect((await ejected).instance.id).toBe(dead.name);
    // Only the end of the ejection is awaited: whether it is still running when checked
    // depends on the machine's speed, so that is not asserted.
    await waitFor('the ejection to run out', () => lb.ejected().length === 0);
    expect(new Set(picks(lb, 30))).toEqual(new Set(ids));
  });

  it('outlier detection can be turned off, caps ejections, and never leaves nothing to pick', async () => {
    const { name, backends, ids } = await fixture();
    const off = track(consul.balancer(name, { outlierDetection: false }));
    const capped = track(
      consul.balancer(name, {
        outlierDetection: { consecutiveFailures: 1, maxEjectedPercent: 100, ejectionTime: '10m' },
      }),
    );
    await Promise.all([off.ready(), capped.ready()]);
    for (const backend of backends) backend.mode = '503';
    let offAttempts = 0;
    let cappedAttempts = 0;
    for (let i = 0; i < 6; i++) {
      const fromOff = await off.request('/');
      const fromCapped = await capped.request('/');
      expect(fromOff.status).toBe(503);
      expect(fromCapped.status).toBe(503);
      offAttempts = fromOff.attempts;
      cappedAttempts = fromCapped.attempts;
    }
    // Without detection every GET still tries all three; with it, two of three are out and
    // the third always stays to answer.
    expect(offAttempts).toBe(3);
    expect(capped.ejected()).toHaveLength(2);
    expect(cappedAttempts).toBe(1);
    const remaining = capped.pick()?.id;
    expect(ids).toContain(remaining);

    // Consul drops the one instance still in rotation: the ejected ones are used again
    // rather than none at all.
    await consul.agent.service.deregister(remaining ?? '');
    await waitFor('the deregistration to reach the balancer', () => capped.instances().length === 2);
    expect(capped.ejected()).toHaveLength(2);
    expect(capped.pick()).toBeDefined();
    expect((await capped.request('/')).status).toBe(503);
  });

  it('outlier detection never ejects the only instance a weighted balancer can pick', async () => {
    const { name, backends, ids, checkId } = await fixture([
      { Passing: 1, Warning: 1 },
      { Passing: 1, Warning: 0 },
      { Passing: 1, Warning: 0 },
    ]);
    await consul.agent.check.warn(checkId(1), 'degraded');
    await consul.agent.check.warn(checkId(2), 'degraded');
    await waitFor('the warnings in the catalog', async () => {
      const entries = await consul.health.service(name, { passing: true });
      return entries.length === 1;
    });
    const lb = track(
      consul.balancer(name, {
        passingOnly: false,
        strategy: 'weighted',
        outlierDetection: { consecutiveFailures: 1, maxEjectedPercent: 100 },
      }),
    );
    expect((await lb.ready()).map((instance) => instance.weight)).toEqual([1, 0, 0]);
    (backends[0] as Backend).mode = '503';
    for (let i = 0; i < 4; i++) expect((await lb.request('/')).instance.id).toBe(ids[0]);
    // The two weight-0 instances take no traffic, so they do not make room for an ejection.
    expect(lb.ejected()).toEqual([]);
  });

  it('fails with BalancerNoInstanceError naming the service when no instance is available, BalancerRequestError when none answers', async () => {
    const missing = `lb-missing-${randomBytes(4).toString('hex')}`;
    const lb = track(consul.balancer(missing));
    expect(await lb.ready()).toEqual([]);
    expect(lb.pick()).toBeUndefined();
    const error = await lb.request('/').catch((thrown: unknown) => thrown);
    // A failure of the balanced service, not of Consul (which answered): its own class.
    expect(error).toBeInstanceOf(BalancerNoInstanceError);
    expect(error).toBeInstanceOf(ConsulError);
    expect(error).not.toBeInstanceOf(ConsulUnavailableError);
    expect((error as BalancerNoInstanceError).code).toBe('BALANCER_NO_INSTANCE');
    expect((error as BalancerNoInstanceError).service).toBe(missing);
    expect((error as Error).message).toContain(missing);

    // Every instance listed but none reachable: the last connection failure is the cause.
    const { name, backends } = await fixture();
    await Promise.all(backends.map((backend) => backend.stop()));
    const dead = track(consul.balancer(name));
    await dead.ready();
    const unreachable = await dead.request('/').catch((thrown: unknown) => thrown);
    expect(unreachable).toBeInstanceOf(BalancerRequestError);
    expect(unreachable).not.toBeInstanceOf(ConsulUnavailableError);
    expect((unreachable as BalancerRequestError).code).toBe('BALANCER_REQUEST_FAILED');
    expect((unreachable as BalancerRequestError).attempts).toBe(backends.length);
    expect((unreachable as Error).message).toContain(name);
    expect(((unreachable as Error).cause as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('rejects bad input before sending', async () => {
    const { name } = await fixture();
    expect(() => consul.balancer(name, { strategy: 'fastest' as 'p2c' })).toThrow(ValidationError);
    expect(() => consul.balancer('bad/name')).toThrow(ValidationError);
    const lb = track(consul.balancer(name));
    await expect(lb.request('no-slash')).rejects.toBeInstanceOf(ValidationError);
    await expect(lb.request('/', { method: 'GET', body: 'x' })).rejects.toBeInstanceOf(ValidationError);
    await expect(lb.request('/', { maxAttempts: 0 })).rejects.toBeInstanceOf(ValidationError);
    // Headers undici would refuse are bad input, not a failure of the instance.
    for (const headers of [
      { expect: '100-continue' },
      { upgrade: 'websocket' },
      { 'transfer-encoding': 'chunked' },
      { 'content-length': '3' },
      { connection: 'upgrade' },
    ]) {
      await expect(lb.request('/', { headers }), JSON.stringify(headers)).rejects.toBeInstanceOf(
        ValidationError,
      );
    }
    expect(lb.ejected()).toEqual([]);
  });

  it('close() stops the watch and running requests; it is idempotent', async () => {
    const { name, backends, checkId } = await fixture();
    await using own = new Consul({ address: sharedConsulAddress() });
    const lb = own.balancer(name, { strategy: 'round-robin' });
    await lb.ready();
    const change = nextChange(lb);
    await consul.agent.check.fail(checkId(0));
    await change;
    expect(own.watch.stats().loops).toBe(1);

    const slow = backends[1] as Backend;
    slow.mode = 'hold';
    const running = lb.request('/slow', { maxAttempts: 1 }).catch((thrown: unknown) => thrown);
    await waitFor('the request to be held', () => slow.held.length > 0);

    expect(lb.instances()).toHaveLength(2);
    await Promise.all([lb.close(), lb.close(), lb[Symbol.asyncDispose]()]);
    expect(lb.closed).toBe(true);
    expect(await running).toBeInstanceOf(ClosedError);
    // A closed balancer no longer follows Consul: it has nothing left to hand out.
    expect(lb.pick()).toBeUndefined();
    expect(lb.instances()).toEqual([]);
    expect(lb.ejected()).toEqual([]);
    await expect(lb.ready()).rejects.toBeInstanceOf(ClosedError);
    expect(own.watch.stats().loops).toBe(0);
    await expect(lb.request('/')).rejects.toBeInstanceOf(ClosedError);

    const before = own.stats().blockingRequests;
    await consul.agent.check.pass(checkId(0));
    await consul.agent.check.fail(checkId(2));
    await sleep(500);
    expect(own.stats().blockingRequests).toBe(before);
  });

  it('is closed by consul.close() and by its signal', async () => {
    const { name } = await fixture();
    const own = new Consul({ address: sharedConsulAddress() });
    const lb = own.balancer(name);
    await lb.ready();
    expect(lb.pick()).toBeDefined();
    await own.close();
    expect(lb.closed).toBe(true);
    expect(lb.pick()).toBeUndefined();
    expect(lb.instances()).toEqual([]);
    await expect(lb.request('/')).rejects.toBeInstanceOf(ClosedError);

    const controller = new AbortController();
    const aborted = track(consul.balancer(name, { signal: controller.signal }));
    await aborted.ready();
    controller.abort();
    await waitFor('the balancer to close', () => aborted.closed);
  });
});

describe('balancer while Consul has never answered', () => {
  /** An address where nothing listens: the watch is refused and keeps retrying. */
  async function refusedAddress(): Promise<string> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    server.close();
    await once(server, 'close');
    return `http://127.0.0.1:${port}`;
  }

  it('request() honours timeout and requestTimeout while waiting for the first read', async () => {
    const { logger, lines } = memoryLogger('warn');
    await using client = new Consul({ address: await refusedAddress(), logger });
    const lb = client.balancer('web', { requestTimeout: '400ms' });
    lb.on('error', () => undefined); // each refused read is reported; this test is about request()
    const started = performance.now();
    const byDefault = await lb.request('/').catch((thrown: unknown) => thrown);
    expect(byDefault).toBeInstanceOf(TimeoutError);
    expect((byDefault as Error).message).toContain("service 'web'");
    expect((byDefault as TimeoutError).message).toContain('400 ms');
    const perCall = await lb.request('/', { timeout: '200ms' }).catch((thrown: unknown) => thrown);
    expect(perCall).toBeInstanceOf(TimeoutError);
    expect((perCall as TimeoutError).message).toContain('200 ms');
    // Only catches a call that waits for good (it did: no bound at all before).
    expect(performance.now() - started).toBeLessThan(15_000);
    // The balancer itself goes on: a later read may still succeed.
    expect(lb.closed).toBe(false);
    expect(lines.some((line) => line.msg.includes('watch read failed'))).toBe(true);
    await lb.close();
  });
});

describe('balancer on an agent with ACLs', () => {
  let agent: ConsulInstance | undefined;

  beforeAll(async () => {
    agent = await startConsul({ acl: true });
  });

  afterAll(async () => {
    await agent?.stop();
  });

  it('survives a refused token (403): reports it, keeps trying, and works once the token is granted', async () => {
    // An unknown token is refused with 403 ("ACL not found") on every read. A token created
    // later (or a policy granted late, or replication catching up) must heal the balancer.
    const secret = randomUUID();
    const { logger } = memoryLogger('error');
    const client = new Consul({ address: agent?.address ?? '', token: secret, logger });
    const admin = new Consul({ address: agent?.address ?? '', token: agent?.token ?? '' });
    try {
      const lb = client.balancer('web', { watch: { backoff: { initialDelay: 100, maxDelay: '1s' } } });
      const errors: Error[] = [];
      lb.on('error', (error) => errors.push(error));
      await waitFor('a refused read', () => errors.length > 0);
      expect(errors[0]).toBeInstanceOf(PermissionDeniedError);
      expect(lb.closed).toBe(false);
      expect(lb.pick()).toBeUndefined();
      // No answer yet: request() is bounded by its timeout instead of waiting for good.
      await expect(lb.request('/', { timeout: '300ms' })).rejects.toBeInstanceOf(TimeoutError);

      await admin.agent.service.register({
        Name: 'web',
        ID: 'web-1',
        Address: '127.0.0.1',
        Port: 8080,
        Check: Check.ttl('10m', { status: 'passing' }),
      });
      const policy = await admin.acl.policy.create({
        Name: `lb-read-${randomBytes(4).toString('hex')}`,
        Rules: 'service_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }',
      });
      await admin.acl.token.create({ SecretID: secret, Policies: [{ ID: policy.ID }] });
      const instances = await lb.ready();
      expect(instances.map((instance) => instance.id)).toEqual(['web-1']);
      expect(lb.pick()?.id).toBe('web-1');
      await lb.close();
    } finally {
      await client.close();
      await admin.close();
    }
  });
});
