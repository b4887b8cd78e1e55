import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consul, InvalidResponseError, isRetryable, TimeoutError, type Watch } from '../../src/index.js';
import { startConsul, type ConsulInstance } from '../../src/testing/index.js';
import { deepEqual } from '../../src/watch/deep-equal.js';
import { startHttpProxy } from '../support/http-proxy.js';
import { memoryLogger } from '../support/logging.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { expectEventually } from '../support/wait.js';
import { text, until } from '../support/watch.js';

/** Records every change of a watch, to check that no change repeats the previous value. */
function recordChanges<T>(watch: Watch<T>): T[] {
  const values: T[] = [];
  watch.on('change', (value) => values.push(value));
  return values;
}

function expectNoRepeatedChange<T>(values: readonly T[]): void {
  for (let i = 1; i < values.length; i++) expect(deepEqual(values[i], values[i - 1])).toBe(false);
}

const fastBackoff = { initialDelay: '100ms', maxDelay: '1s' } as const;

// Recovering from a fault includes the watch's retry backoff: a longer hang guard than the
// shared helpers' default.
const HANG_GUARD_MS = 30_000;

describe('watch faults (dedicated agents)', () => {
  let agent: ConsulInstance;
  let other: ConsulInstance;

  beforeAll(async () => {
    [agent, other] = await Promise.all([startConsul(), startConsul()]);
  });
  afterAll(async () => {
    await Promise.all([agent?.stop(), other?.stop()]);
  });

  it('resets the index when it goes backwards, without a double change', async () => {
    // `agent` gets a much higher raft index than the fresh `other`; both hold the prefix.
    await using a = new Consul({ address: agent.address, env: {} });
    await using b = new Consul({ address: other.address, env: {} });
    await b.kv.put('moved/a', 'from-b');
    for (let i = 0; i < 40; i++) await a.kv.put(`filler/${i}`, String(i));
    await a.kv.put('moved/a', 'from-a');
    const indexA = (await a.kv.list('moved/').withMeta()).meta.index ?? 0n;
    const indexB = (await b.kv.list('moved/').withMeta()).meta.index ?? 0n;
    expect(indexB).toBeLessThan(indexA);

    const forwarder = await startHttpProxy(agent.address);
    try {
      await using consul = new Consul({ address: forwarder.url, env: {} });
      const watch = consul.watch.keyPrefix('moved/', { wait: '1s', minInterval: 0 });
      const changes = recordChanges(watch);
      expect(text((await watch.ready())[0])).toBe('from-a');

      forwarder.target = other.address;
      const fromB = await until(watch, (entries) => text(entries[0]) === 'from-b', HANG_GUARD_MS);
      expect(fromB[0]?.ModifyIndex).toBe(indexB);
      expect(watch.index).toBe(indexB);
      // After the answer that went backwards: one plain read, then blocking on the new index.
      await expectEventually(
        () => expect(forwarder.urls.some((url) => url.includes(`index=${indexB}`))).toBe(true),
        HANG_GUARD_MS,
      );
      const firstB = forwarder.urls.findIndex(
        (url) => url.includes(`index=${indexA}`) && url.includes('wait='),
      );
      const firstNew = forwarder.urls.findIndex((url) => url.includes(`index=${indexB}`));
      const between = forwarder.urls.slice(firstB + 1, firstNew);
      // The reset read returns at once without ever sending index 0 after the first read.
      expect(between.some((url) => /[?&]index=1(&|$)/.test(url))).toBe(true);
      expect(between.some((url) => !url.includes('index='))).toBe(false);
      expect(forwarder.urls.slice(firstNew).some((url) => url.includes(`index=${indexA}`))).toBe(false);

      // The loop keeps blocking on the right index: a change on `other` arrives, once.
      await b.kv.put('moved/b', 'new');
      await until(watch, (entries) => entries.length === 2, HANG_GUARD_MS);
      expect(changes.map((entries) => entries.map(text))).toEqual([
        ['from-a'],
        ['from-b'],
        ['from-b', 'new'],
      ]);
      expectNoRepeatedChange(changes);
      await watch.close();
    } finally {
      await forwarder.close();
    }
  });

  it('detects a half-open connection within the timeout bound and recovers', async () => {
    const proxy = await startTcpProxy(agent.address);
    const log = memoryLogger('info');
    try {
      await using direct = new Consul({ address: agent.address, env: {} });
      await using consul = new Consul({ address: `http://${proxy.address}`, env: {}, logger: log.logger });
      await direct.kv.put('halfopen/key', 'before');
      const watch = consul.watch.key('halfopen/key', { wait: '2s', timeout: '1s', backoff: fastBackoff });
      const errors: Error[] = [];
      watch.on('error', (error) => errors.push(error));
      expect(text(await watch.ready())).toBe('before');

      const boundMs = Math.ceil(2000 + 2000 / 16 + 1000);
      const blackholedAt = Date.now();
      proxy.blackhole();
      await direct.kv.put('halfopen/key', 'during');
      await expectEventually(() => expect(errors.length).toBeGreaterThan(0), boundMs + 10_000);
      // Hang guard with slack: the loop must not wait longer than its own bound.
      expect(Date.now() - blackholedAt).toBeLessThan(boundMs + 5000);
      expect(errors[0]).toBeInstanceOf(TimeoutError);
      expect((errors[0] as TimeoutError).timeoutMs).toBe(boundMs);
      expect(watch.closed).toBe(false);
      expect(text(watch.current)).toBe('before');

      proxy.resume();
      await until(watch, (value) => text(value) === 'during', HANG_GUARD_MS);
      await direct.kv.put('halfopen/key', 'after');
      await until(watch, (value) => text(value) === 'after', HANG_GUARD_MS);
      expect(log.lines.some((line) => line.level === 40 && line.err?.type === 'TimeoutError')).toBe(true);
      expect(log.lines.some((line) => line.msg === 'consulkit: watch recovered')).toBe(true);

      // A connection cut outright is recovered from as well.
      proxy.dropAll();
      await direct.kv.put('halfopen/key', 'after-drop');
      await until(watch, (value) => text(value) === 'after-drop', HANG_GUARD_MS);
      await watch.close();
    } finally {
      await proxy.close();
    }
  });

  it('backs off while the agent is down and converges after it restarts with its state lost', async () => {
    const log = memoryLogger('info');
    await using consul = new Consul({ address: agent.address, env: {}, logger: log.logger });
    const keys = Array.from({ length: 10 }, (_, i) => `restart/k${i}`);
    for (const key of keys) await consul.kv.put(key, 'before');
    const watches = keys.map((key) => consul.watch.key(key, { wait: '10s', backoff: fastBackoff }));
    const tree = consul.watch.keyPrefix('restart/', { wait: '10s', backoff: fastBackoff });
    const changes = watches.map(recordChanges);
    const treeChanges = recordChanges(tree);
    const errors = watches.map(() => [] as Error[]);
    watches.forEach((watch, i) => watch.on('error', (error) => errors[i]?.push(error)));
    await Promise.all([...watches.map((watch) => watch.ready()), tree.ready()]);
    const treeIndexBefore = tree.index ?? 0n;

    await agent.kill();
    await expectEventually(() => {
      for (const list of errors) expect(list.length).toBeGreaterThan(0);
    }, HANG_GUARD_MS);
    for (const list of errors) for (const error of list) expect(isRetryable(error)).toBe(true);
    expect(watches.every((watch) => !watch.closed)).toBe(true);

    await agent.restart();
    await Promise.all(keys.map((key, i) => consul.kv.put(key, `after-${i}`)));
    await Promise.all(
      watches.map((watch, i) => until(watch, (value) => text(value) === `after-${i}`, HANG_GUARD_MS)),
    );
    await until(
      tree,
      (entries) => entries.length === 10 && entries.every((entry) => text(entry)?.startsWith('after')),
      HANG_GUARD_MS,
    );

    expect(consul.watch.stats()).toMatchObject({ loops: 11, watches: 11 });
    expect(tree.index).toBeLessThan(treeIndexBefore);
    for (const list of changes) {
      expect(text(list[0])).toBe('before');
      expectNoRepeatedChange(list);
    }
    expectNoRepeatedChange(treeChanges);
    expect(
      log.lines.some((line) => line.level === 40 && line.msg === 'consulkit: watch read failed; retrying'),
    ).toBe(true);
    await Promise.all([...watches, tree].map((watch) => watch.close()));
    expect(consul.watch.stats().loops).toBe(0);
  });

  it('an HTML page from a proxy is a transient error: watch, config map and balancer stay alive (issue 10, item 2)', async () => {
    const proxy = await startHttpProxy(agent.address);
    const log = memoryLogger('warn');
    try {
      await using direct = new Consul({ address: agent.address, env: {} });
      await using consul = new Consul({ address: proxy.url, env: {}, logger: log.logger });
      await direct.kv.put('html/cfg/pool', '5');
      await direct.agent.service.register({
        Name: 'html-svc',
        ID: 'html-svc-1',
        Address: '127.0.0.1',
        Port: 1,
      });
      const loop = { wait: '1s', backoff: fastBackoff } as const;
      const watch = consul.watch.key('html/cfg/pool', loop);
      const cfg = consul.configMap('html/cfg/', { decode: 'json', ...loop });
      const lb = consul.balancer('html-svc', { passingOnly: false, watch: loop });
      const errors: Error[] = [];
      watch.on('error', (error) => errors.push(error));
      const cfgErrors: Error[] = [];
      cfg.on('error', (error) => cfgErrors.push(error));
      const lbErrors: Error[] = [];
      lb.on('error', (error) => lbErrors.push(error));
      await Promise.all([watch.ready(), cfg.ready(), lb.ready()]);

      // Every kind of read gets one HTML page from the proxy.
      proxy.htmlNext(3, (method, path) => method === 'GET' && /^\/v1\/(kv|health)\//.test(path));
      await direct.kv.put('html/cfg/pool', '6');
      await direct.agent.service.register({
        Name: 'html-svc',
        ID: 'html-svc-2',
        Address: '127.0.0.1',
        Port: 2,
      });
      await until(watch, (value) => text(value) === '6', HANG_GUARD_MS);
      await expectEventually(() => expect(cfg.get('pool')).toBe(6), HANG_GUARD_MS);
      await expectEventually(() => expect(lb.instances()).toHaveLength(2), HANG_GUARD_MS);
      expect(proxy.failed).toBe(3);
      const reported = [...errors, ...cfgErrors, ...lbErrors];
      expect(reported.length).toBeGreaterThanOrEqual(3);
      for (const error of reported) {
        expect(error).toBeInstanceOf(InvalidResponseError);
        expect(isRetryable(error)).toBe(true);
      }
      expect(errors[0]?.message).toMatch(/not valid JSON: <html>/);
      expect(watch.closed).toBe(false);
      expect(cfg.closed).toBe(false);
      expect(watch.state).toBe('live');
      await direct.agent.service.deregister('html-svc-1');
      await direct.agent.service.deregister('html-svc-2');
      await Promise.all([watch.close(), cfg.close(), lb.close()]);
    } finally {
      await proxy.close();
    }
  });

  it('answers without X-Consul-Index are reported once and polled with backoff, not every 100 ms (issue 10, item 8)', async () => {
    const proxy = await startHttpProxy(agent.address);
    const log = memoryLogger('warn');
    try {
      await using direct = new Consul({ address: agent.address, env: {} });
      await using consul = new Consul({ address: proxy.url, env: {}, logger: log.logger });
      await direct.kv.put('noindex/key', 'a');
      proxy.stripHeaders.add('x-consul-index');
      const watch = consul.watch.key('noindex/key', { backoff: { initialDelay: 200, maxDelay: 400 } });
      const errors: Error[] = [];
      watch.on('error', (error) => errors.push(error));
      expect(text(await watch.ready())).toBe('a');
      // Data still flows: a change is picked up by the (slowed) poll.
      await direct.kv.put('noindex/key', 'b');
      await until(watch, (value) => text(value) === 'b', HANG_GUARD_MS);

      // Over two seconds: at 100 ms a poll would send ~20 reads; backed off (≥ 200 ms, then
      // ≥ 200 ms…), at most ~10. Reported once, not on every read.
      const before = proxy.urls.length;
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const reads = proxy.urls.length - before;
      expect(reads).toBeGreaterThan(0);
      expect(reads).toBeLessThanOrEqual(11);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(InvalidResponseError);
      expect(errors[0]?.message).toMatch(/X-Consul-Index/);
      expect(watch.lastError).toBe(errors[0]);
      expect(log.lines.filter((line) => line.msg.includes('no index')).length).toBe(1);
      expect(proxy.urls.every((url) => !url.includes('index='))).toBe(true);

      // The proxy is fixed: the watch blocks again on the index.
      proxy.stripHeaders.clear();
      await expectEventually(() => expect(proxy.urls.slice(-1)[0]).toMatch(/[?&]index=\d+/), HANG_GUARD_MS);
      await expectEventually(() => expect(watch.lastError).toBeUndefined(), HANG_GUARD_MS);
      await watch.close();
    } finally {
      await proxy.close();
    }
  });

  it('after a timeout, the retry goes over a new connection, not another dead idle one (issue 10, item 7)', async () => {
    const proxy = await startTcpProxy(agent.address);
    try {
      await using direct = new Consul({ address: agent.address, env: {} });
      await using consul = new Consul({
        address: `http://${proxy.address}`,
        env: {},
        logger: memoryLogger('warn').logger,
      });
      await direct.kv.put('halfopen2/key', 'before');
      const watch = consul.watch.key('halfopen2/key', { wait: '2s', timeout: '2s', backoff: fastBackoff });
      const errors: Error[] = [];
      watch.on('error', (error) => errors.push(error));
      expect(text(await watch.ready())).toBe('before');
      // Idle connections in the ordinary pool, as any application making calls has.
      await Promise.all([1, 2, 3].map(() => consul.kv.get('halfopen2/key')));
      expect(consul.stats().connections).toBeGreaterThanOrEqual(3);
      // The watch's blocking read is on the wire before the connections die.
      await expectEventually(() => expect(consul.stats().blockingRequests).toBeGreaterThanOrEqual(1));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(consul.stats().running).toBeGreaterThanOrEqual(1);

      // Every open connection goes silent (a NAT that forgot them); new ones work.
      proxy.blackholeExisting();
      await direct.kv.put('halfopen2/key', 'during');
      await until(watch, (value) => text(value) === 'during', HANG_GUARD_MS);
      // One detection period, one timeout: the plain read after it did not land on one of
      // the dead idle connections (each would have cost another timeout).
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(TimeoutError);
      await watch.close();
    } finally {
      await proxy.close();
    }
  });
});
