import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError, ClosedError, Consul, PermissionDeniedError, type KVPair } from '../../src/index.js';
import { startConsul, type ConsulInstance } from '../../src/testing/index.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';
import { memoryLogger } from '../support/logging.js';
import { expectEventually } from '../support/wait.js';
import { text, until } from '../support/watch.js';

describe('consul.watch (shared Consul)', () => {
  let consul: Consul;
  let prefix: string;
  let log: ReturnType<typeof memoryLogger>;

  beforeAll(() => {
    log = memoryLogger('warn');
    consul = new Consul({ address: sharedConsulAddress(), env: {}, logger: log.logger });
    prefix = uniquePrefix('watch');
  });
  afterAll(async () => {
    await consul.kv.delete(prefix, { recurse: true });
    await consul.close();
  });

  it('reports the first answer, then each change with the previous value', async () => {
    const key = `${prefix}/first`;
    await consul.kv.put(key, 'one');
    await using watch = consul.watch.key(key);
    const seen: [string | undefined, string | undefined][] = [];
    watch.on('change', (value, previous) => seen.push([text(value), text(previous)]));
    expect(text(await watch.ready())).toBe('one');
    expect(typeof watch.index).toBe('bigint');
    await consul.kv.put(key, 'two');
    await until(watch, (value) => text(value) === 'two');
    expect(seen).toEqual([
      ['one', undefined],
      ['two', 'one'],
    ]);
    expect(watch.current?.ModifyIndex).toBe(watch.index);
  });

  it('gives a late subscriber the current value at once, without a read of its own', async () => {
    const key = `${prefix}/late`;
    await consul.kv.put(key, 'v1');
    await using first = consul.watch.key(key);
    await first.ready();
    const readsBefore = consul.watch.stats().reads;
    await using late = consul.watch.key(key);
    expect(text(late.current)).toBe('v1');
    expect(late.index).toBe(first.index);
    const firstChange = new Promise<[KVPair | undefined, KVPair | undefined]>((resolve) =>
      late.on('change', (value, previous) => resolve([value, previous])),
    );
    expect(text(await late.ready())).toBe('v1');
    const [value, previous] = await firstChange;
    expect(text(value)).toBe('v1');
    expect(previous).toBeUndefined();
    expect(consul.watch.stats().reads).toBe(readsBefore);
  });

  it('shares one blocking loop among many subscribers and notifies all of them', async () => {
    const key = `${prefix}/shared`;
    await consul.kv.put(key, '0');
    const loopsBefore = consul.watch.stats().loops;
    const watches = Array.from({ length: 50 }, () => consul.watch.key(key, { wait: '30s' }));
    const seen = watches.map(() => [] as string[]);
    watches.forEach((watch, i) => watch.on('change', (value) => seen[i]?.push(text(value) ?? '-')));
    await Promise.all(watches.map((watch) => watch.ready()));
    expect(consul.watch.stats().loops).toBe(loopsBefore + 1);
    const blockingBefore = consul.stats().blockingRequests;
    for (const value of ['1', '2', '3']) {
      await consul.kv.put(key, value);
      await Promise.all(watches.map((watch) => until(watch, (entry) => text(entry) === value)));
    }
    for (const values of seen) expect(values).toEqual(['0', '1', '2', '3']);
    // One loop: one blocking read per change (plus the one waiting now), not one per subscriber.
    expect(consul.stats().blockingRequests - blockingBefore).toBeLessThanOrEqual(5);
    await Promise.all(watches.map((watch) => watch.close()));
    expect(consul.watch.stats().loops).toBe(loopsBefore);
  });

  it('stops the loop, and its request, when the last subscriber leaves', async () => {
    const isolated = new Consul({ address: sharedConsulAddress(), env: {}, logger: log.logger });
    try {
      const key = `${prefix}/last`;
      const a = isolated.watch.key(key);
      const b = isolated.watch.key(key);
      await Promise.all([a.ready(), b.ready()]);
      await expectEventually(() => expect(isolated.stats().running).toBe(1));
      await a.close();
      expect(isolated.watch.stats()).toMatchObject({ loops: 1, watches: 1 });
      expect(isolated.stats().running).toBe(1);
      await b.close();
      expect(isolated.watch.stats()).toMatchObject({ loops: 0, watches: 0 });
      await expectEventually(() => expect(isolated.stats().running).toBe(0));
      const requests = isolated.stats().requests;
      await consul.kv.put(key, 'after');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(isolated.stats().requests).toBe(requests);
      expect(a.closed && b.closed).toBe(true);
    } finally {
      await isolated.close();
    }
  });

  it('follows a key through deletion and re-creation', async () => {
    const key = `${prefix}/phoenix`;
    await consul.kv.put(key, 'alive');
    await using watch = consul.watch.key(key);
    const seen: (string | undefined)[] = [];
    watch.on('change', (value) => seen.push(text(value)));
    await watch.ready();
    await consul.kv.delete(key);
    await until(watch, (value) => value === undefined);
    await consul.kv.put(key, 'reborn');
    const reborn = await until(watch, (value) => text(value) === 'reborn');
    expect(seen).toEqual(['alive', undefined, 'reborn']);
    expect(reborn?.CreateIndex).toBe(reborn?.ModifyIndex);
  });

  it('reports a change only when the data changed, not merely the index', async () => {
    // The index of a missing key is the KV store's: every write anywhere wakes the read.
    const missing = `${prefix}/never-written`;
    await using watch = consul.watch.key(missing, { minInterval: 0 });
    let changes = 0;
    watch.on('change', () => changes++);
    expect(await watch.ready()).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 0));
    const index = watch.index ?? 0n;
    for (let i = 0; i < 3; i++) await consul.kv.put(`${prefix}/noise-${i}`, String(i));
    await expectEventually(() => expect(watch.index).toBeGreaterThan(index));
    expect(changes).toBe(1);
    expect(watch.current).toBeUndefined();
  });

  it('watches a prefix: additions, changes and removals', async () => {
    const base = `${prefix}/tree/`;
    await using watch = consul.watch.keyPrefix(base);
    expect(await watch.ready()).toEqual([]);
    await consul.kv.put(`${base}a`, '1');
    await until(watch, (entries) => entries.length === 1);
    await consul.kv.put(`${base}b`, '2');
    await until(watch, (entries) => entries.length === 2);
    await consul.kv.put(`${base}a`, '3');
    await until(watch, (entries) => text(entries[0]) === '3');
    await consul.kv.delete(`${base}a`);
    const final = await until(watch, (entries) => entries.length === 1);
    expect(final.map((entry) => entry.Key)).toEqual([`${base}b`]);
  });

  it('keeps the loop and other listeners going when a listener throws', async () => {
    const key = `${prefix}/throwing`;
    await consul.kv.put(key, 'a');
    await using watch = consul.watch.key(key);
    const good: (string | undefined)[] = [];
    const errors: Error[] = [];
    const boom = new Error('listener bug');
    watch.on('change', () => {
      throw boom;
    });
    watch.on('change', (value) => good.push(text(value)));
    watch.on('change', async () => {
      await Promise.resolve();
      throw new Error('async listener bug');
    });
    watch.on('error', (error) => errors.push(error));
    watch.on('error', () => {
      throw new Error('error listener bug');
    });
    await using other = consul.watch.key(key);
    await watch.ready();
    await consul.kv.put(key, 'b');
    await until(other, (value) => text(value) === 'b');
    await consul.kv.put(key, 'c');
    await until(watch, (value) => text(value) === 'c');
    await expectEventually(() =>
      expect(errors.filter((error) => error.message === 'async listener bug')).toHaveLength(3),
    );
    expect(good).toEqual(['a', 'b', 'c']);
    expect(errors.filter((error) => error === boom)).toHaveLength(3);
    expect(log.lines.some((line) => line.level === 50 && line.err?.message === 'listener bug')).toBe(true);
    expect(log.lines.some((line) => line.level === 50 && line.err?.message === 'error listener bug')).toBe(
      true,
    );
    expect(watch.closed).toBe(false);
  });

  it('iterates with latest-value semantics and closes the watch on break', async () => {
    const key = `${prefix}/iterate`;
    await consul.kv.put(key, '0');
    const watch = consul.watch.key(key, { minInterval: 0 });
    const loopsBefore = consul.watch.stats().loops;
    const seen: string[] = [];
    for await (const entry of watch) {
      const value = text(entry) ?? '-';
      seen.push(value);
      if (value === '0') {
        // A consumer busy while 30 changes happen gets the newest snapshot next, not a backlog.
        for (let i = 1; i <= 30; i++) await consul.kv.put(key, String(i));
        await expectEventually(() => expect(text(watch.current)).toBe('30'));
      }
      if (value === '30') break;
    }
    expect(seen).toEqual(['0', '30']);
    expect(watch.closed).toBe(true);
    expect(consul.watch.stats().loops).toBe(loopsBefore - 1);
  });

  it('an iterator yields no stale value after close(), nor does a new one (issue 10, watch half)', async () => {
    const key = `${prefix}/stale-after-close`;
    await consul.kv.put(key, 'a');
    const watch = consul.watch.key(key, { minInterval: 0 });
    const iterator = watch[Symbol.asyncIterator]();
    expect(text((await iterator.next()).value)).toBe('a');
    // A change arrives while the consumer is busy: it sits unread in the iterator.
    await consul.kv.put(key, 'b');
    await until(watch, (value) => text(value) === 'b');
    await watch.close();
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    // An iterator opened on the closed watch ends at once, without the last value either.
    expect(await watch[Symbol.asyncIterator]().next()).toEqual({ value: undefined, done: true });
  });

  it('closes with close(), asyncDispose (twice) and an AbortSignal', async () => {
    const key = `${prefix}/closing`;
    const watch = consul.watch.key(key);
    await watch.ready();
    await watch[Symbol.asyncDispose]();
    await watch[Symbol.asyncDispose]();
    await watch.close();
    expect(watch.closed).toBe(true);
    const values: unknown[] = [];
    for await (const value of watch) values.push(value);
    // A closed watch yields nothing, not even its last value (which is stale once closed).
    expect(values).toEqual([]);

    const controller = new AbortController();
    const aborted = consul.watch.key(`${prefix}/aborted`, { signal: controller.signal });
    const pending = aborted.ready();
    controller.abort(new Error('stop now'));
    await expect(pending).rejects.toThrow('stop now');
    expect(aborted.closed).toBe(true);

    const already = consul.watch.key(key, { signal: AbortSignal.abort() });
    expect(already.closed).toBe(true);
    await expect(already.ready()).rejects.toMatchObject({ name: 'AbortError' });

    const early = consul.watch.key(`${prefix}/early-close`);
    const never = early.ready();
    await early.close();
    await expect(never).rejects.toBeInstanceOf(ClosedError);
  });

  it('watches a service by health and tag, the service list and the checks in a state', async () => {
    const name = `watch-svc-${prefix.split('-').at(-1) ?? 'x'}`;
    const checkId = `service:${name}-1`;
    await using healthy = consul.watch.service(name, { passing: true });
    await using tagged = consul.watch.service(name, { tag: 'v2' });
    await using services = consul.watch.services();
    await using critical = consul.watch.checks('critical');
    expect(await healthy.ready()).toEqual([]);
    expect(await tagged.ready()).toEqual([]);
    expect((await services.ready())[name]).toBeUndefined();
    await critical.ready();
    try {
      await consul.agent.service.register({
        Name: name,
        ID: `${name}-1`,
        Port: 8080,
        Tags: ['v2'],
        Check: { CheckID: checkId, Name: 'ttl', TTL: '30s' },
      });
      // A TTL check starts critical: the instance is listed, but not as passing.
      const instances = await until(tagged, (entries) => entries.length === 1);
      expect(instances[0]?.Service.Port).toBe(8080);
      await until(critical, (checks) => checks.some((check) => check.CheckID === checkId));
      expect((await until(services, (all) => all[name] !== undefined))[name]).toEqual(['v2']);
      expect(healthy.current).toEqual([]);
      await consul.agent.check.pass(checkId);
      const passing = await until(healthy, (entries) => entries.length === 1);
      expect(passing[0]?.Checks.every((check) => check.Status === 'passing')).toBe(true);
      await until(critical, (checks) => !checks.some((check) => check.CheckID === checkId));
    } finally {
      await consul.agent.service.deregister(`${name}-1`);
    }
    await until(tagged, (entries) => entries.length === 0);
    await until(services, (all) => all[name] === undefined);
  });

  it('watches the nodes of the datacenter', async () => {
    await using nodes = consul.watch.nodes();
    const list = await nodes.ready();
    expect(list.length).toBeGreaterThan(0);
    expect(typeof list[0]?.Node).toBe('string');
  });

  it("watches user events, with Consul's non-monotonic event index", async () => {
    const name = `watch-event-${prefix.split('-').at(-1) ?? 'x'}`;
    await using events = consul.watch.events(name, { minInterval: 0 });
    expect(await events.ready()).toEqual([]);
    const first = await consul.event.fire(name, 'one');
    const one = await until(events, (list) => list.some((event) => event.ID === first.ID));
    expect(String(one.at(-1)?.Payload)).toBe('one');
    const second = await consul.event.fire(name, 'two');
    const two = await until(events, (list) => list.some((event) => event.ID === second.ID));
    expect(two.map((event) => event.ID)).toEqual([first.ID, second.ID]);
    // The index is the newest event's hash: passed back as it is, each event costs one read.
    // Taken for a raft index, every hash smaller than the one before would look like a reset
    // and cost an extra read (about half the events).
    const reads = consul.watch.stats().reads;
    for (let i = 0; i < 10; i++) {
      const fired = await consul.event.fire(name, String(i));
      await until(events, (list) => list.some((event) => event.ID === fired.ID));
    }
    expect(consul.watch.stats().reads - reads).toBeLessThanOrEqual(11);
  });

  it('rejects bad input before anything is sent', () => {
    const requests = consul.stats().requests;
    expect(() => consul.watch.key('')).toThrow(/key/);
    expect(() => consul.watch.key('/abs')).toThrow(/key/);
    expect(() => consul.watch.keyPrefix('/abs')).toThrow(/prefix/);
    expect(() => consul.watch.key('x', { wait: '1h' })).toThrow(/wait/);
    expect(() => consul.watch.service('a/b')).toThrow(/name/);
    expect(() => consul.watch.service('web', { tag: [''] })).toThrow(/tag/);
    // @ts-expect-error: not a health state
    expect(() => consul.watch.checks('sick')).toThrow(/state/);
    expect(() => consul.watch.events('a//b')).toThrow(/name/);
    // @ts-expect-error: the event list is the local agent's
    expect(() => consul.watch.events('deploy', { datacenter: 'dc2' })).toThrow(/datacenter/);
    expect(consul.stats().requests).toBe(requests);
  });

  it('stops every watch when the client closes, and the process can exit by itself', async () => {
    const address = sharedConsulAddress();
    const entry = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
    const script = `
      const { Consul } = await import(${JSON.stringify(entry)});
      const consul = new Consul({ address: ${JSON.stringify(address)}, env: {} });
      const watches = [consul.watch.key(${JSON.stringify(`${prefix}/child`)}), consul.watch.keyPrefix(${JSON.stringify(`${prefix}/`)})];
      await Promise.all(watches.map((w) => w.ready()));
      const ended = watches[0].ready().then(() => 'ok');
      await consul.close();
      console.log(JSON.stringify({ closed: watches.every((w) => w.closed), running: consul.stats().running, ended: await ended }));
    `;
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    const code = await new Promise<number | null>((resolve, reject) => {
      const guard = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`child still running after 20 s (a handle is left open)\n${stderr}`));
      }, 20_000);
      child.on('exit', (exitCode) => {
        clearTimeout(guard);
        resolve(exitCode);
      });
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ closed: true, running: 0, ended: 'ok' });
    // The watches' default wait is a minute: an exit long before that means nothing held on.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('refuses new watches once the client is closed', async () => {
    const closing = new Consul({ address: sharedConsulAddress(), env: {} });
    await closing.close();
    expect(() => closing.watch.key(`${prefix}/x`)).toThrow(ClosedError);
  });
});

describe('consul.watch on an ACL-enabled agent', () => {
  let agent: ConsulInstance;

  beforeAll(async () => {
    agent = await startConsul({ acl: true });
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it('keeps a watch denied by ACLs alive, reporting each refusal, until a policy is granted (issue 10, item 6)', async () => {
    const log = memoryLogger('warn');
    await using admin = new Consul({ address: agent.address, env: {}, token: agent.token ?? '' });
    await admin.kv.put('secret/key', 'classified');
    const token = await admin.acl.token.create({ Description: 'watch without rights yet' });
    await using client = new Consul({
      address: agent.address,
      env: {},
      token: token.SecretID,
      logger: log.logger,
    });
    const watch = client.watch.key('secret/key', { backoff: { initialDelay: 50, maxDelay: 200 } });
    const errors: Error[] = [];
    watch.on('error', (error) => errors.push(error));
    const ready = watch.ready();

    // Refused again and again: each refusal is reported, the watch stays open and says why.
    await expectEventually(() => expect(errors.length).toBeGreaterThanOrEqual(3));
    for (const error of errors) expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(watch.closed).toBe(false);
    expect(watch.state).toBe('retrying');
    expect(watch.lastError).toBeInstanceOf(PermissionDeniedError);
    expect(client.watch.stats().loops).toBe(1);
    expect(log.lines.some((line) => line.level === 40 && line.err?.type === 'PermissionDeniedError')).toBe(
      true,
    );

    // The operator grants the policy: the same watch starts delivering, no restart needed.
    const policy = await admin.acl.policy.create({
      Name: `secret-read-${token.AccessorID.slice(0, 8)}`,
      Rules: 'key_prefix "secret/" { policy = "read" }',
    });
    await admin.acl.token.update(token.AccessorID, { Policies: [{ ID: policy.ID }] });
    expect(text(await ready)).toBe('classified');
    expect(watch.state).toBe('live');
    expect(watch.lastError).toBeUndefined();
    await admin.kv.put('secret/key', 'updated');
    await until(watch, (value) => text(value) === 'updated');
    await watch.close();
    expect(watch.state).toBe('closed');
  });

  it("with permissionDenied: 'fail', stops at the first refusal (what lock acquisition uses)", async () => {
    await using anonymous = new Consul({
      address: agent.address,
      env: {},
      logger: memoryLogger('warn').logger,
    });
    const watch = anonymous.watch.key('secret/key', { permissionDenied: 'fail' });
    await expect(watch.ready()).rejects.toBeInstanceOf(PermissionDeniedError);
    expect(watch.closed).toBe(true);
    expect(watch.lastError).toBeInstanceOf(PermissionDeniedError);
    expect(anonymous.watch.stats().loops).toBe(0);
    expect(() => anonymous.watch.key('x', { permissionDenied: 'sometimes' as never })).toThrow(
      /permissionDenied/,
    );
  });

  it('still stops a watch on an error retrying cannot fix (a filter Consul cannot parse)', async () => {
    await using admin = new Consul({
      address: agent.address,
      env: {},
      token: agent.token ?? '',
      logger: memoryLogger('warn').logger,
    });
    const watch = admin.watch.query({
      endpoint: 'test.bad-filter',
      params: {},
      read: (options) => admin.health.service('web', { ...options, filter: 'Service.Service ==' }),
    });
    const errors: Error[] = [];
    watch.on('error', (error) => errors.push(error));
    // Consul 1.8.7 answers 500 to a bad filter; it is still the caller's input, never retried.
    await expect(watch.ready()).rejects.toBeInstanceOf(BadRequestError);
    expect(errors).toHaveLength(1);
    expect(watch.closed).toBe(true);
    expect(watch.state).toBe('closed');
    expect(watch.lastError).toBe(errors[0]);
    expect(admin.watch.stats().loops).toBe(0);
  });
});
