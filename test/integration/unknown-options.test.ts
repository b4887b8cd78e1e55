/**
 * Unknown and misspelt options, against the real Consul: every entry point refuses them with
 * an UnknownOptionError (a ValidationError) before anything is sent, and nothing is written
 * (no key, no session, no service); the same options spelt right do what they say.
 *
 * The invalid calls go through `probe`, a client that runs nothing else, so that its request
 * counter proves no request left it; the effects are then checked through `consul`.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Consul,
  UnknownOptionError,
  ValidationError,
  type Watch,
  type WatchOptions,
} from '../../src/index.js';
import { suggestOption } from '../../src/options-check.js';
import { LOCK_OPTION_KEYS } from '../../src/primitives/session/session-options.js';
import { Clients, quietLogger } from '../support/clients.js';
import { sharedConsulAddress, uniqueName, uniquePrefix } from '../support/consul.js';

const address = sharedConsulAddress();
const clients = new Clients(address);
const probe = clients.create();
const consul = clients.create();

afterAll(() => clients.closeAll());

/** Any options object, as a JavaScript caller or an `as any` cast could pass it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

/**
 * Runs `fn` on the probe client and expects an UnknownOptionError on `field` (suggesting
 * `suggestion`), thrown or rejected, with no request sent and no watch loop opened.
 */
async function expectUnknown(fn: () => unknown, field: string, suggestion?: string): Promise<void> {
  const before = probe.stats();
  let error: unknown;
  try {
    await fn();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(UnknownOptionError);
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as UnknownOptionError).field).toBe(field);
  expect((error as UnknownOptionError).suggestion).toBe(suggestion);
  const after = probe.stats();
  expect(after.requests).toBe(before.requests);
  expect(after.watch.loops).toBe(before.watch.loops);
}

async function sessionsNamed(name: string): Promise<number> {
  return (await consul.session.list()).filter((session) => session.Name === name).length;
}

describe('new Consul()', () => {
  it('refuses a misspelt top-level, tls or retry option; spelt right, the client works', async () => {
    const base = { logger: quietLogger, env: {} };
    expect(() => new Consul({ ...base, adress: address } as Loose)).toThrow(UnknownOptionError);
    const tls = (() => {
      try {
        new Consul({ ...base, address, tls: { serverNmae: 'consul' } } as Loose);
      } catch (error) {
        return error as UnknownOptionError;
      }
      return undefined;
    })();
    expect(tls?.field).toBe('tls.serverNmae');
    expect(tls?.suggestion).toBe('tls.serverName');
    expect(() => new Consul({ ...base, address, retry: { retires: 0 } } as Loose)).toThrow(
      "retry.retires: unknown option of new Consul(); did you mean 'retry.retries'?",
    );
    const good = clients.create({ retry: { retries: 0 } });
    const key = `${uniquePrefix('unknown-options-client')}/k`;
    expect(await good.kv.put(key, 'v')).toBe(true);
    expect(String((await good.kv.get(key))?.Value)).toBe('v');
  });
});

describe('lock(), semaphore(), election()', () => {
  it('lock: a misspelt lockDelay creates no session and writes no key; spelt right, the session has it', async () => {
    const key = `${uniquePrefix('unknown-options-lock')}/.lock`;
    const sessionName = uniqueName('unknown-options-lock');
    await expectUnknown(
      () => probe.lock(key, { ttl: '10s', lockDelya: '0s', sessionName } as Loose).acquire(),
      'lockDelya',
      'lockDelay',
    );
    // Undefined is still a misspelling: the caller believed they set lockDelay.
    await expectUnknown(() => probe.lock(key, { lockDelya: undefined } as Loose), 'lockDelya', 'lockDelay');
    await expectUnknown(
      () => probe.lock(key, { heartbeat: { tll: '2s' }, sessionName } as Loose),
      'heartbeat.tll',
      'heartbeat.ttl',
    );
    expect(await consul.kv.get(key)).toBeUndefined();
    expect(await sessionsNamed(sessionName)).toBe(0);

    const lock = consul.lock(key, { ttl: '10s', lockDelay: '0s', sessionName });
    await lock.acquire({ timeout: '20s' });
    try {
      const session = await consul.session.info(lock.sessionId as string);
      expect(session?.LockDelay).toBe(0);
      expect(session?.Name).toBe(sessionName);
    } finally {
      await lock.release();
    }
  });

  it('lock: any key off the list is refused before anything is sent (property)', async () => {
    const key = `${uniquePrefix('unknown-options-lock-property')}/.lock`;
    const known: readonly string[] = LOCK_OPTION_KEYS;
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 16 }).filter((name) => !known.includes(name)),
        fc.anything(),
        async (name, value) => {
          const options = { ttl: '10s' };
          Object.defineProperty(options, name, { value, enumerable: true });
          await expectUnknown(
            () => probe.lock(key, options as Loose).acquire(),
            name,
            suggestOption(name, known),
          );
        },
      ),
      { numRuns: 100 },
    );
    expect(await consul.kv.get(key)).toBeUndefined();
  });

  it('acquire(), tryAcquire(), withLock(), destroy(), campaign(), runWhileLeader(): a misspelt call option is refused before any request', async () => {
    const key = `${uniquePrefix('unknown-options-calls')}/.lock`;
    const sessionName = uniqueName('unknown-options-calls');
    const lock = probe.lock(key, { sessionName });
    await expectUnknown(() => lock.acquire({ timout: '1s' } as Loose), 'timout', 'timeout');
    // acquire's `timeout` given to tryAcquire, whose bound is `wait`: it would try only once.
    await expectUnknown(() => lock.tryAcquire({ timeout: '5s' } as Loose), 'timeout');
    let ran = false;
    await expectUnknown(
      () => lock.withLock(() => (ran = true), { timout: '1s' } as Loose),
      'timout',
      'timeout',
    );
    expect(ran).toBe(false);
    const election = probe.election(key, { sessionName });
    await expectUnknown(() => election.campaign({ sigal: undefined } as Loose), 'sigal', 'signal');
    await expectUnknown(
      () => election.runWhileLeader(() => (ran = true), { sigal: undefined } as Loose),
      'sigal',
      'signal',
    );
    expect(ran).toBe(false);
    await expectUnknown(() => lock.destroy({ timeuot: '1s' } as Loose), 'timeuot', 'timeout');
    await expectUnknown(
      () => probe.semaphore(`${key}-slots`, { limit: 1 }).destroy({ signl: undefined } as Loose),
      'signl',
      'signal',
    );
    expect(await consul.kv.get(key)).toBeUndefined();
    expect(await sessionsNamed(sessionName)).toBe(0);

    // Spelt right, tryAcquire waits up to `wait` for a lock another session holds.
    const holder = consul.lock(key, { lockDelay: '0s' });
    await holder.acquire({ timeout: '20s' });
    const contender = consul.lock(key, { lockDelay: '0s' });
    const waiting = contender.tryAcquire({ wait: '20s' });
    await holder.release();
    try {
      expect(await waiting).toBe(true);
    } finally {
      await contender.release();
    }
  });

  it('semaphore: a misspelt option creates no session and no key; spelt right, it holds a slot', async () => {
    const prefix = uniquePrefix('unknown-options-semaphore');
    const sessionName = uniqueName('unknown-options-semaphore');
    await expectUnknown(
      () => probe.semaphore(prefix, { limit: 2, sesionName: sessionName } as Loose).acquire(),
      'sesionName',
      'sessionName',
    );
    expect(await consul.kv.list(prefix)).toEqual([]);
    expect(await sessionsNamed(sessionName)).toBe(0);

    const semaphore = consul.semaphore(prefix, { limit: 2, sessionName });
    await semaphore.acquire({ timeout: '20s' });
    try {
      expect(await sessionsNamed(sessionName)).toBe(1);
      expect((await consul.kv.get(`${prefix}/.lock`))?.Value).toBeDefined();
    } finally {
      await semaphore.release();
    }
  });

  it("election: a misspelt value creates no session; spelt right, leader() is the candidate's value", async () => {
    const key = `${uniquePrefix('unknown-options-election')}/leader`;
    const sessionName = uniqueName('unknown-options-election');
    await expectUnknown(
      () => probe.election(key, { vaule: 'me', sessionName } as Loose).campaign(),
      'vaule',
      'value',
    );
    expect(await consul.kv.get(key)).toBeUndefined();
    expect(await sessionsNamed(sessionName)).toBe(0);

    const election = consul.election(key, { value: 'me', sessionName, lockDelay: '0s' });
    await election.campaign();
    try {
      expect(await election.leader()).toBe('me');
    } finally {
      await election.resign();
    }
  });
});

describe('registerService()', () => {
  it('rejects a misspelt option, nested ones included, and registers nothing; spelt right, the port is set', async () => {
    const name = uniqueName('unknown-options-web');
    const id = `${name}-1`;
    const base = { name, id, handleSignals: false };
    await expectUnknown(() => probe.registerService({ ...base, prot: 8080 } as Loose), 'prot', 'port');
    await expectUnknown(
      () => probe.registerService({ ...base, checks: [{ tcp: '127.0.0.1:1', intreval: '10s' }] } as Loose),
      'checks[0].intreval',
      'checks[0].interval',
    );
    await expectUnknown(
      () => probe.registerService({ ...base, drain: { dealy: '1s' } } as Loose),
      'drain.dealy',
      'drain.delay',
    );
    expect(await consul.agent.service.get(id)).toBeUndefined();

    const registration = await consul.registerService({ ...base, port: 8080 });
    try {
      expect((await consul.agent.service.get(id))?.Port).toBe(8080);
      // A misspelt stop() option leaves the registration running.
      await expect(registration.stop({ dran: false } as Loose)).rejects.toThrow(
        "dran: unknown option of stop(); did you mean 'drain'?",
      );
      expect(registration.active).toBe(true);
      expect(await consul.agent.service.get(id)).toBeDefined();
    } finally {
      await registration.stop();
    }
  });
});

describe('configMap(), config()', () => {
  it('configMap: a misspelt decode opens no watch; spelt right, values are decoded', async () => {
    const prefix = uniquePrefix('unknown-options-config-map');
    await consul.kv.put(`${prefix}/n`, '{"a":1}');
    await expectUnknown(() => probe.configMap(prefix, { decod: 'json' } as Loose), 'decod', 'decode');
    await expectUnknown(
      () => probe.configMap(prefix, { backoff: { maxDelya: '1s' } } as Loose),
      'backoff.maxDelya',
      'backoff.maxDelay',
    );
    const cfg = consul.configMap(prefix, { decode: 'json' });
    try {
      await cfg.ready();
      expect(cfg.get('n')).toEqual({ a: 1 });
    } finally {
      await cfg.close();
    }
  });

  it('config: a misspelt format opens no watch; spelt right, the layer is parsed as given', async () => {
    const root = uniquePrefix('unknown-options-layered');
    await consul.kv.put(`${root}/billing/data`, '{"port":8080}');
    await expectUnknown(
      () => probe.config({ name: 'billing', root, formt: 'json' } as Loose),
      'formt',
      'format',
    );
    const config = consul.config({ name: 'billing', root, format: 'json' });
    try {
      expect(await config.ready()).toEqual({ port: 8080 });
    } finally {
      await config.close();
    }
  });
});

describe('balancer()', () => {
  it('refuses a misspelt option, nested ones included, and opens no watch; spelt right, the strategy is used', async () => {
    const service = uniqueName('unknown-options-api');
    await expectUnknown(() => probe.balancer(service, { stratgy: 'random' } as Loose), 'stratgy', 'strategy');
    await expectUnknown(
      () => probe.balancer(service, { outlierDetection: { ejectonTime: '1s' } } as Loose),
      'outlierDetection.ejectonTime',
      'outlierDetection.ejectionTime',
    );
    await expectUnknown(
      () => probe.balancer(service, { watch: { wiat: '5s' } } as Loose),
      'watch.wiat',
      'watch.wait',
    );
    const lb = consul.balancer(service, { strategy: 'random' });
    try {
      await lb.ready();
      expect(lb.strategy).toBe('random');
      await expectUnknown(() => lb.request('/', { methd: 'POST' } as Loose), 'methd', 'method');
    } finally {
      await lb.close();
    }
  });
});

describe('watch factories', () => {
  const misspelt = { wiat: '5s' } as Loose as WatchOptions;
  const factories: Record<string, (consul: Consul, options: WatchOptions) => Watch<unknown>> = {
    key: (c, o) => c.watch.key('unknown-options/k', o),
    keyPrefix: (c, o) => c.watch.keyPrefix('unknown-options/', o),
    service: (c, o) => c.watch.service('consul', o),
    services: (c, o) => c.watch.services(o),
    nodes: (c, o) => c.watch.nodes(o),
    checks: (c, o) => c.watch.checks('any', o),
    events: (c, o) => c.watch.events(undefined, o),
    agentService: (c, o) => c.watch.agentService('unknown-options-none', o),
    connectRoots: (c, o) => c.watch.connectRoots(o),
    query: (c, o) =>
      c.watch.query(
        { endpoint: 'status.leader', params: {}, read: (read) => c.kv.get('unknown-options/q', read) },
        o,
      ),
  };

  for (const [name, open] of Object.entries(factories)) {
    it(`${name}: a misspelt option is refused with no loop opened; spelt right, the watch answers`, async () => {
      await expectUnknown(() => open(probe, misspelt), 'wiat', 'wait');
      const watch = open(consul, { wait: '2s' });
      try {
        await watch.ready();
      } finally {
        await watch.close();
      }
    });
  }

  it('connectLeaf and a misspelt backoff key are refused too', async () => {
    await expectUnknown(() => probe.watch.connectLeaf('web', misspelt), 'wiat', 'wait');
    await expectUnknown(
      () => probe.watch.key('unknown-options/k', { backoff: { initalDelay: '1s' } } as Loose),
      'backoff.initalDelay',
      'backoff.initialDelay',
    );
  });
});
