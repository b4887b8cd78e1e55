/**
 * consul.registerService() against the shared real agent (plus one ACL agent of its own).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ClosedError,
  Consul,
  PermissionDeniedError,
  ValidationError,
  type RegisterServiceOptions,
  type ServiceRegistration,
} from '../../src/index.js';
import { startConsul, type ConsulInstance } from '../../src/testing/index.js';
import { sharedConsulAddress } from '../support/consul.js';
import { killIfRunning, spawnTs, type TsChild } from '../support/child-process.js';
import { waitFor } from '../support/wait.js';
import {
  agentCheck,
  catalogCheck,
  instanceIds,
  passingIds,
  timing,
  uniqueServiceName,
} from '../fixtures/registration-helpers.js';

let consul: Consul;
const registrations: ServiceRegistration[] = [];
const children: TsChild[] = [];

/** Registers with signal handling off (the test worker's signals are not ours) and stops it after the test. */
async function register(options: RegisterServiceOptions): Promise<ServiceRegistration> {
  const registration = await consul.registerService({ handleSignals: false, ...options });
  registrations.push(registration);
  return registration;
}

beforeAll(() => {
  consul = new Consul({ address: sharedConsulAddress() });
});

afterEach(async () => {
  await Promise.all(children.splice(0).map(killIfRunning));
  await Promise.all(registrations.splice(0).map((registration) => registration.stop()));
});

afterAll(async () => {
  await consul.close();
});

describe('registerService', () => {
  it('is passing in /v1/health/service?passing as soon as it resolves, and stays passing over several TTLs', async () => {
    const name = uniqueServiceName('basic');
    const heartbeats: string[] = [];
    const started = performance.now();
    const registration = await register({
      name,
      ttl: '2s',
      port: 8080,
      tags: ['blue'],
      meta: { build: '7' },
    });
    const resolvedMs = performance.now() - started;
    registration.on('heartbeat', ({ status }) => heartbeats.push(status));

    // Read at once: the agent syncs its catalog entry on every status change, and
    // registerService resolved only after the first heartbeat reached the agent.
    const firstRead = await passingIds(consul, name);
    const visibleMs = performance.now() - started;
    timing(
      `registerService resolved after ${resolvedMs.toFixed(0)} ms; passing in the catalog at the first read, ${visibleMs.toFixed(0)} ms after the call`,
    );
    expect(firstRead).toEqual([registration.id]);
    expect(registration.id).toMatch(new RegExp(`^${name}-.+-${process.pid}-[0-9a-f]{6}$`));
    expect(registration.lastHeartbeat).toEqual({ status: 'passing', note: '', source: 'default' });

    const [entry] = await consul.health.service(name);
    expect(entry?.Service).toMatchObject({
      ID: registration.id,
      Port: 8080,
      Tags: ['blue'],
      Meta: { build: '7' },
    });

    // Three and a half TTLs: without heartbeats the check would have expired twice over.
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    expect(await passingIds(consul, name)).toEqual([registration.id]);
    expect(heartbeats.length).toBeGreaterThanOrEqual(7);
    expect(new Set(heartbeats)).toEqual(new Set(['passing']));
  });

  it('sends what health() reports: warning, critical, a throw, a hang, and an invalid value', async () => {
    const name = uniqueServiceName('health');
    let report: () => unknown = () => ({ status: 'passing', note: 'all good' });
    const registration = await register({
      name,
      ttl: '2s',
      health: async () => report() as 'passing',
    });
    expect(await passingIds(consul, name)).toEqual([registration.id]);
    expect(await agentCheck(consul, registration.checkId)).toMatchObject({
      Status: 'passing',
      Output: 'all good',
    });

    const expectCheck = (status: string, output: RegExp) =>
      waitFor(`check ${status} ${String(output)}`, async () => {
        const check = await agentCheck(consul, registration.checkId);
        return check?.Status === status && output.test(check.Output) ? check : undefined;
      });

    report = () => ({ status: 'warning', note: 'disk 91% full' });
    await expectCheck('warning', /^disk 91% full$/);
    // `?passing` means every check passes: a warning instance is left out.
    await waitFor('left out of ?passing', async () => (await passingIds(consul, name)).length === 0);
    expect((await catalogCheck(consul, name, registration.checkId))?.Status).toBe('warning');

    report = () => 'critical';
    await expectCheck('critical', /^$/);

    report = () => {
      throw new Error('database unreachable');
    };
    await expectCheck('critical', /database unreachable/);

    report = () => new Promise(() => undefined);
    await expectCheck('critical', /did not answer within 333 ms/);

    report = () => 'ok';
    await expectCheck('critical', /returned "ok"/);

    report = () => 'passing';
    await waitFor('passing again', async () => (await passingIds(consul, name)).includes(registration.id));
  });

  it('setStatus() overrides health() until clearStatus(); maintenance() hides the instance', async () => {
    const name = uniqueServiceName('override');
    const registration = await register({ name, health: () => 'passing' });

    await registration.setStatus('critical', 'manual drain');
    // setStatus resolves once the agent has the status: no waiting for the next heartbeat.
    const check = await agentCheck(consul, registration.checkId);
    expect(check).toMatchObject({ Status: 'critical', Output: 'manual drain' });
    expect(registration.lastHeartbeat).toEqual({
      status: 'critical',
      note: 'manual drain',
      source: 'override',
    });

    await registration.clearStatus();
    expect((await agentCheck(consul, registration.checkId))?.Status).toBe('passing');
    await waitFor('passing in the catalog', async () =>
      (await passingIds(consul, name)).includes(registration.id),
    );
    expect(registration.lastHeartbeat?.source).toBe('health');

    await registration.maintenance(true, 'upgrading');
    expect(registration.inMaintenance).toBe(true);
    const maintenance = await agentCheck(consul, `_service_maintenance:${registration.id}`);
    expect(maintenance).toMatchObject({ Status: 'critical', Notes: 'upgrading' });
    await waitFor('out of ?passing', async () => (await passingIds(consul, name)).length === 0);
    await registration.maintenance(false);
    expect(await agentCheck(consul, `_service_maintenance:${registration.id}`)).toBeUndefined();
    await waitFor('back in ?passing', async () => (await passingIds(consul, name)).includes(registration.id));

    await expect(registration.setStatus('fine' as 'passing')).rejects.toBeInstanceOf(ValidationError);
  });

  it('registers extra HTTP and TCP checks beside the TTL check, and their results count', async () => {
    // Targets the agent can reach whether it runs in a container or as a local process: its
    // own Serf listener and its own HTTP API.
    const self = await consul.agent.self();
    const host = self.Member.Addr;
    const httpPort = Number(self.DebugConfig?.['HTTPPort']);
    expect(httpPort).toBeGreaterThan(0);
    const name = uniqueServiceName('extra');
    const healthy = await register({
      name,
      checks: [
        { http: `http://${host}:${httpPort}/v1/status/leader`, interval: '1s', id: `${name}-http` },
        { tcp: `${host}:${self.Member.Port}`, interval: '1s', id: `${name}-tcp` },
      ],
    });
    const ids = await waitFor('all three checks passing', async () => {
      const checks = (await consul.health.checks(name)).filter((check) => check.Status === 'passing');
      return checks.length === 3 ? checks.map((check) => check.CheckID).sort() : undefined;
    });
    expect(ids).toEqual([`${name}-http`, `${name}-tcp`, healthy.checkId].sort());
    expect(await passingIds(consul, name)).toEqual([healthy.id]);

    // Heartbeats alone do not make an instance pass when one of its own checks fails.
    const broken = await register({
      name,
      checks: [
        { http: `http://${host}:${httpPort}/v1/no-such-endpoint`, interval: '1s', id: `${name}-broken` },
      ],
    });
    await waitFor('the broken HTTP check run', async () => {
      const check = await agentCheck(consul, `${name}-broken`);
      return check?.Status === 'critical' && check.Output !== '' ? check : undefined;
    });
    expect((await agentCheck(consul, broken.checkId))?.Status).toBe('passing');
    expect(await passingIds(consul, name)).toEqual([healthy.id]);
  });

  it('stop() deregisters, is idempotent, and ends the heartbeats', async () => {
    const name = uniqueServiceName('stop');
    const registration = await consul.registerService({ name, ttl: '1s', handleSignals: false });
    let heartbeatsAfterStop = 0;
    let deregistered = 0;
    registration.on('deregistered', () => deregistered++);
    const first = registration.stop();
    expect(registration.stop()).toBe(first);
    await first;
    registration.on('heartbeat', () => heartbeatsAfterStop++);
    await registration[Symbol.asyncDispose]();
    expect(registration.active).toBe(false);
    expect(deregistered).toBe(1);
    await waitFor('gone from the catalog', async () => (await instanceIds(consul, name)).length === 0, 5_000);
    await expect(registration.setStatus('passing')).rejects.toBeInstanceOf(ClosedError);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(heartbeatsAfterStop).toBe(0);
    expect(await consul.agent.service.get(registration.id)).toBeUndefined();
  });

  it('consul.close() deregisters what the client registered', async () => {
    const name = uniqueServiceName('close');
    const client = new Consul({ address: sharedConsulAddress() });
    const registration = await client.registerService({ name, handleSignals: false });
    expect(await consul.agent.service.get(registration.id)).toBeDefined();
    await client.close();
    expect(await consul.agent.service.get(registration.id)).toBeUndefined();
    expect(registration.active).toBe(false);
  });

  it('an AbortSignal stops it: before it completed (rejects, leaves nothing) and after (deregisters)', async () => {
    const name = uniqueServiceName('abort');
    const early = new AbortController();
    const pending = consul.registerService({
      name,
      id: `${name}-early`,
      signal: early.signal,
      handleSignals: false,
    });
    early.abort();
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    expect(await consul.agent.service.get(`${name}-early`)).toBeUndefined();

    const late = new AbortController();
    const registration = await consul.registerService({ name, signal: late.signal, handleSignals: false });
    const deregistered = new Promise((resolve) => registration.once('deregistered', resolve));
    late.abort();
    await deregistered;
    expect(registration.active).toBe(false);
    expect(await consul.agent.service.get(registration.id)).toBeUndefined();
  });

  it('registers again at once when the agent forgets the service', async () => {
    const name = uniqueServiceName('forgot');
    const registration = await register({ name, ttl: '3s' });
    const registered = new Promise<string>((resolve) =>
      registration.once('registered', ({ reason }) => resolve(reason)),
    );
    await consul.agent.service.deregister(registration.id);
    expect(await consul.agent.service.get(registration.id)).toBeUndefined();
    const forgotAt = performance.now();
    expect(await registered).toBe('agent-forgot');
    await waitFor('passing again', async () => (await passingIds(consul, name)).includes(registration.id));
    timing(
      `back and passing ${(performance.now() - forgotAt).toFixed(0)} ms after an external deregistration (heartbeat interval 1000 ms)`,
    );
  });

  it('keeps several registrations per process apart', async () => {
    const name = uniqueServiceName('many');
    const [a, b] = await Promise.all([register({ name }), register({ name, id: `${name}-fixed` })]);
    expect(new Set(await passingIds(consul, name))).toEqual(new Set([a?.id, `${name}-fixed`]));
    await a?.stop();
    await waitFor('only b left', async () => {
      const ids = await instanceIds(consul, name);
      return ids.length === 1 && ids[0] === b?.id;
    });
    expect(b?.active).toBe(true);
  });

  it('drains: critical first, deregistered after the delay', async () => {
    const name = uniqueServiceName('drain');
    const registration = await register({ name, drain: { delay: '2s', note: 'going away' } });
    let draining: unknown;
    registration.on('draining', (event) => (draining = event));
    const started = performance.now();
    const stopped = registration.stop();
    const check = await waitFor('critical while draining', async () => {
      const found = await agentCheck(consul, registration.checkId);
      return found?.Status === 'critical' ? found : undefined;
    });
    expect(check.Output).toBe('going away');
    // Emitted once the agent has confirmed the mark: this process may read the critical
    // check on another connection a moment before that answer is handled.
    await waitFor('the draining event', async () => draining);
    expect(draining).toEqual({ mode: 'critical', delayMs: 2000 });
    expect(await instanceIds(consul, name)).toEqual([registration.id]);
    await stopped;
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_990);
    expect(await consul.agent.service.get(registration.id)).toBeUndefined();
  });

  it('drains in maintenance mode when asked to', async () => {
    const name = uniqueServiceName('drain-maint');
    const registration = await register({ name, drain: { delay: 1500, mode: 'maintenance' } });
    const stopped = registration.stop();
    await waitFor('maintenance check', async () =>
      agentCheck(consul, `_service_maintenance:${registration.id}`),
    );
    await waitFor('out of ?passing', async () => (await passingIds(consul, name)).length === 0);
    await stopped;
    expect(await consul.agent.service.get(registration.id)).toBeUndefined();
  });

  it('refuses a second registration of the same service ID until the first has stopped', async () => {
    const name = uniqueServiceName('dup-id');
    const id = `${name}-fixed`;
    const first = await register({ name, id, ttl: '2s' });
    const before = consul.stats().requests;
    const error = await consul.registerService({ name, id, ttl: '2s', handleSignals: false }).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('id');
    expect((error as Error).message).toContain(id);
    expect(consul.stats().requests).toBe(before);
    // A second client of the same agent is the same agent.
    await using other = new Consul({ address: sharedConsulAddress() });
    await expect(other.registerService({ name, id, handleSignals: false })).rejects.toBeInstanceOf(
      ValidationError,
    );
    // The first keeps its check through more than a TTL: nothing overwrote its definition.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await agentCheck(consul, first.checkId))?.Status).toBe('passing');
    expect(first.active).toBe(true);

    await first.stop();
    const second = await register({ name, id, ttl: '2s' });
    expect(second.id).toBe(id);
    expect(await passingIds(consul, name)).toEqual([id]);
  });

  it('refuses a registration whose extra check ID another registration holds', async () => {
    const name = uniqueServiceName('dup-check');
    const checkId = `${name}-tcp`;
    const check = { id: checkId, tcp: '127.0.0.1:1', interval: '30s' } as const;
    const first = await register({ name, checks: [check] });
    const error = await consul
      .registerService({ name: `${name}-b`, checks: [check], handleSignals: false })
      .then(
        () => undefined,
        (rejection: unknown) => rejection,
      );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('checks');
    expect((error as Error).message).toContain(checkId);
    expect(await agentCheck(consul, checkId)).toMatchObject({ ServiceID: first.id });
    // One definition naming a check ID twice is refused too.
    await expect(
      consul.registerService({ name: `${name}-c`, checks: [check, check], handleSignals: false }),
    ).rejects.toBeInstanceOf(ValidationError);
    await first.stop();
    const second = await register({ name: `${name}-b`, checks: [check] });
    expect(await agentCheck(consul, checkId)).toMatchObject({ ServiceID: second.id });
  });

  it.each<[string, RegisterServiceOptions, string]>([
    ['no name', {} as RegisterServiceOptions, 'name'],
    ['an invalid TTL', { name: 'x', ttl: 'fast' }, 'ttl'],
    ['a TTL below 1s', { name: 'x', ttl: 10 }, 'ttl'],
    ['an invalid port', { name: 'x', port: 99_999 }, 'port'],
    [
      'a heartbeat interval not below the TTL',
      { name: 'x', ttl: '5s', heartbeatInterval: '6s' },
      'heartbeatInterval',
    ],
  ])('rejects a definition with %s before any request', async (_label, options, field) => {
    const before = consul.stats().requests;
    const error = await consul.registerService(options).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    expect(consul.stats().requests).toBe(before);
  });
});

describe('registerService in a child process', () => {
  const fixture = 'test/fixtures/registration-child.ts';

  it('deregisters on SIGTERM, then exits by the signal as it would have', async () => {
    const name = uniqueServiceName('sigterm');
    const child = spawnTs(fixture, {
      CONSUL_HTTP_ADDR: sharedConsulAddress(),
      SERVICE_NAME: name,
      TTL: '15s',
    });
    children.push(child);
    const id = (await child.line('READY ')).slice('READY '.length);
    expect(await passingIds(consul, name)).toEqual([id]);

    const signalled = performance.now();
    child.child.kill('SIGTERM');
    const exit = await child.exited;
    const exitedMs = performance.now() - signalled;
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
    expect(child.lines).toContain('DEREGISTERED');
    expect(await consul.agent.service.get(id)).toBeUndefined();
    await waitFor(
      'gone from the catalog',
      async () => (await instanceIds(consul, name)).length === 0,
      5_000,
      20,
    );
    timing(
      `SIGTERM → deregistered and exited after ${exitedMs.toFixed(0)} ms; gone from the catalog after ${(performance.now() - signalled).toFixed(0)} ms`,
    );
  });

  it('leaves the exit to the application when it has its own SIGTERM listener', async () => {
    const name = uniqueServiceName('apphandler');
    const child = spawnTs(fixture, {
      CONSUL_HTTP_ADDR: sharedConsulAddress(),
      SERVICE_NAME: name,
      APP_HANDLER: '1',
    });
    children.push(child);
    const id = (await child.line('READY ')).slice('READY '.length);
    child.child.kill('SIGTERM');
    await child.line('DEREGISTERED');
    expect(child.lines).toContain('APP HANDLER');
    expect(await consul.agent.service.get(id)).toBeUndefined();
    // The application's handler exits with 7 after 1.5 s; consulkit did not end it first.
    expect(await child.exited).toEqual({ code: 7, signal: null });
  });

  it('drains on SIGTERM, and a second SIGTERM ends the process at once', async () => {
    const name = uniqueServiceName('drainsig');
    const child = spawnTs(fixture, {
      CONSUL_HTTP_ADDR: sharedConsulAddress(),
      SERVICE_NAME: name,
      DRAIN_DELAY: '20s',
    });
    children.push(child);
    const id = (await child.line('READY ')).slice('READY '.length);
    try {
      child.child.kill('SIGTERM');
      await waitFor('critical while draining', async () => {
        const check = await agentCheck(consul, `service:${id}:ttl`);
        return check?.Status === 'critical' && check.Output === 'draining';
      });
      const second = performance.now();
      child.child.kill('SIGTERM');
      expect(await child.exited).toEqual({ code: null, signal: 'SIGTERM' });
      // Well before the 20 s drain would have ended; the instance stays critical until reaped.
      expect(performance.now() - second).toBeLessThan(10_000);
      expect(child.lines).not.toContain('DEREGISTERED');
    } finally {
      await consul.agent.service.deregister(id);
    }
  });

  it('runs examples/self-register.ts: serves, registers, deregisters on SIGTERM', async () => {
    const name = uniqueServiceName('example');
    const child = spawnTs('examples/self-register.ts', {
      CONSUL_HTTP_ADDR: sharedConsulAddress(),
      SERVICE_NAME: name,
    });
    children.push(child);
    const [entry] = await waitFor('the example passing', async () => {
      const entries = await consul.health.service(name, { passing: true });
      return entries.length === 1 ? entries : undefined;
    });
    const { Address, Port } = entry?.Service ?? { Address: '', Port: 0 };
    const response = await fetch(`http://${Address}:${Port}/`);
    expect(await response.text()).toBe('hello\n');

    child.child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(await consul.agent.service.get(entry?.Service.ID ?? '')).toBeUndefined();
  });
});

describe('registerService with ACLs', () => {
  let agent: ConsulInstance;

  beforeAll(async () => {
    agent = await startConsul({ acl: true });
  });

  afterAll(async () => {
    await agent?.stop();
  });

  it('works with a token that has only service:write on the name', async () => {
    const name = uniqueServiceName('acl');
    const admin = new Consul({ address: agent.address, token: agent.token as string });
    try {
      const policy = await admin.acl.policy.create({
        Name: `${name}-write`,
        Rules: `service "${name}" { policy = "write" }`,
      });
      const token = await admin.acl.token.create({ Policies: [{ ID: policy.ID }] });
      const client = new Consul({ address: agent.address, token: token.SecretID });
      try {
        const registration = await client.registerService({ name, ttl: '2s', handleSignals: false });
        expect(await passingIds(admin, name)).toEqual([registration.id]);
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        expect(await passingIds(admin, name)).toEqual([registration.id]);
        await registration.setStatus('warning', 'degraded');
        await registration.maintenance(true, 'acl test');
        await registration.maintenance(false);
        await registration.stop();
        expect(await admin.agent.service.get(registration.id)).toBeUndefined();

        // A token without the policy is refused before anything is left behind.
        const other = await admin.acl.token.create({ Description: 'no rights' });
        const denied = new Consul({ address: agent.address, token: other.SecretID });
        try {
          await expect(
            denied.registerService({ name: `${name}-denied`, handleSignals: false }),
          ).rejects.toBeInstanceOf(PermissionDeniedError);
        } finally {
          await denied.close();
        }
      } finally {
        await client.close();
      }
    } finally {
      await admin.close();
    }
  });
});
