/**
 * A tour of consulkit's primitives against a real Consul: `npm run demo`.
 *
 * Uses the agent named by CONSUL_HTTP_ADDR (and the rest of the CONSUL_* environment), or
 * starts a throwaway one (a container when Docker answers, else the local binary) when none
 * is configured. Every step prints what it shows and how long it took; the process exits 0
 * when every step's check held, and 1 otherwise.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Consul, type ServiceRegistration } from '../src/index.js';
import { startConsul, type ConsulInstance } from '../src/testing/index.js';

const run = randomBytes(3).toString('hex');
const prefix = `demo/${run}`;
let failures = 0;

function check(condition: boolean, what: string): void {
  if (condition) console.log(`   ✓ ${what}`);
  else {
    failures++;
    console.log(`   ✗ ${what}`);
  }
}

async function step(title: string, body: () => Promise<void>): Promise<void> {
  console.log(`\n▶ ${title}`);
  const started = performance.now();
  try {
    await body();
  } catch (error) {
    failures++;
    console.log(`   ✗ failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  console.log(`   (${Math.round(performance.now() - started)} ms)`);
}

function until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (predicate() || Date.now() - started > timeoutMs) {
        clearInterval(timer);
        resolve(predicate());
      }
    }, 20);
  });
}

/** A tiny HTTP backend that says who it is; the balancer step registers three of these. */
async function backend(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.end(name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

let agent: ConsulInstance | undefined;
if (!process.env['CONSUL_HTTP_ADDR']) {
  console.log('CONSUL_HTTP_ADDR is not set: starting a throwaway Consul…');
  agent = await startConsul({ log: (line) => console.log(`   ${line}`) });
}
const consul = new Consul(agent ? { address: agent.address } : {});
console.log(`Consul leader: ${await consul.status.leader()}  (key prefix ${prefix})`);

try {
  await step('Typed KV with exact uint64 fields and blocking reads', async () => {
    await consul.kv.put(`${prefix}/greeting`, 'hello', { flags: 3304740253564472344n });
    const { data, meta } = await consul.kv.get(`${prefix}/greeting`).withMeta();
    console.log(`   value "${String(data?.Value)}", flags ${data?.Flags}, index ${meta.index}`);
    check(data?.Flags === 3304740253564472344n, 'a flag above 2^53 came back exact');
    setTimeout(() => void consul.kv.put(`${prefix}/greeting`, 'hello again'), 200);
    const changed = await consul.kv.get(`${prefix}/greeting`, { index: meta.index ?? 0n, wait: '10s' });
    check(String(changed?.Value) === 'hello again', 'a blocking read woke up on the change');
  });

  await step('One shared watch: 1,000 subscribers to one key, one long poll', async () => {
    const before = consul.stats().blockingRequests;
    const watches = Array.from({ length: 1000 }, () => consul.watch.key(`${prefix}/flag`));
    let notified = 0;
    for (const watch of watches) watch.on('change', (entry) => entry && notified++);
    await Promise.all(watches.map((watch) => watch.ready()));
    await consul.kv.put(`${prefix}/flag`, 'on');
    check(await until(() => notified === 1000, 10_000), `all ${notified} subscribers notified of the change`);
    const polls = consul.stats().blockingRequests - before;
    console.log(`   blocking requests sent for 1,000 subscribers: ${polls}`);
    check(polls <= 3, 'the subscribers shared one blocking loop');
    await Promise.all(watches.map((watch) => watch.close()));
  });

  await step('A service that registers itself and heartbeats its TTL check', async () => {
    const registration: ServiceRegistration = await consul.registerService({
      name: `demo-web-${run}`,
      port: 8080,
      ttl: '10s',
      handleSignals: false,
      health: () => ({ status: 'passing', note: 'all good' }),
    });
    const passing = await consul.health.service(`demo-web-${run}`, { passing: true });
    console.log(`   registered ${registration.id}; passing instances: ${passing.length}`);
    check(passing.length === 1, 'visible as passing as soon as registerService resolved');
    await registration.stop();
    check((await consul.health.service(`demo-web-${run}`)).length === 0, 'gone after stop()');
  });

  await step('A lock with fencing tokens: three workers take turns, never together', async () => {
    let inside = 0;
    let overlap = false;
    const tokens: bigint[] = [];
    await Promise.all(
      ['a', 'b', 'c'].map(async (name) => {
        const lock = consul.lock(`${prefix}/lock`, { value: name, lockDelay: 0 });
        await lock.withLock(async (signal) => {
          inside++;
          overlap ||= inside > 1;
          tokens.push(lock.fencingToken ?? 0n);
          console.log(`   worker ${name} holds the lock, fencing token ${lock.fencingToken}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
          signal.throwIfAborted();
          inside--;
        });
      }),
    );
    check(!overlap, 'no two workers were inside at once');
    check(
      tokens.every((token, i) => i === 0 || token > (tokens[i - 1] ?? 0n)),
      'fencing tokens strictly increased',
    );
  });

  await step('Leader election: three cron workers, one runs the job; a resign hands over', async () => {
    const elections = ['cron-1', 'cron-2', 'cron-3'].map((name) =>
      consul.election(`${prefix}/leader`, { value: name, lockDelay: 0 }),
    );
    const first = await Promise.race(elections.map((e) => e.campaign().then(() => e)));
    const ran = await Promise.all(
      elections.map((e) => e.runWhileLeader(async () => `nightly job run by ${String(e.isLeader)}`)),
    );
    console.log(`   leader: ${await first.leader()}`);
    check(ran.filter((r) => r.ran).length === 1, 'exactly one worker ran the job');
    await first.resign();
    const others = elections.filter((e) => e !== first);
    check(await until(() => others.some((e) => e.isLeader), 10_000), 'another worker took over');
    console.log(`   new leader: ${await first.leader()}`);
    await Promise.all(elections.map((e) => e.close()));
  });

  await step('A watched config map that updates live', async () => {
    await consul.kv.put(`${prefix}/config/limits`, JSON.stringify({ rps: 100 }));
    const config = consul.configMap(`${prefix}/config/`, { decode: 'json' });
    await config.ready();
    console.log(`   initial: ${JSON.stringify(config.toObject())}`);
    const changed = new Promise<readonly string[]>((resolve) =>
      config.once('change', (change) => resolve(change.changed)),
    );
    await consul.kv.put(`${prefix}/config/limits`, JSON.stringify({ rps: 250 }));
    const keys = await changed;
    console.log(`   changed ${keys.join(', ')} → ${JSON.stringify(config.get('limits'))}`);
    check(
      (config.get('limits') as { rps: number } | undefined)?.rps === 250,
      'the new value arrived by itself',
    );
    await config.close();
  });

  await step('A health-aware balancer: calls reach only passing instances', async () => {
    const service = `demo-api-${run}`;
    const backends = await Promise.all(['api-1', 'api-2', 'api-3'].map(backend));
    const registrations = await Promise.all(
      backends.map((b, i) =>
        consul.registerService({
          name: service,
          id: `${service}-${i + 1}`,
          address: '127.0.0.1',
          port: b.port,
          ttl: '10s',
          handleSignals: false,
        }),
      ),
    );
    const lb = consul.balancer(service, { strategy: 'round-robin' });
    await lb.ready();
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await (await lb.request('/')).text());
    console.log(`   answers from: ${[...seen].sort().join(', ')}`);
    check(seen.size === 3, 'round-robin reached all three instances');
    await registrations[0]?.setStatus('critical', 'demo: taken out of rotation');
    check(await until(() => lb.instances().length === 2, 10_000), 'the critical instance left the rotation');
    const after = new Set<string>();
    for (let i = 0; i < 6; i++) after.add(await (await lb.request('/')).text());
    check(!after.has('api-1'), `calls now reach ${[...after].sort().join(', ')} only`);
    await lb.close();
    await Promise.all(registrations.map((r) => r.stop()));
    await Promise.all(backends.map((b) => new Promise((resolve) => b.server.close(resolve))));
  });
} finally {
  await consul.kv.delete(prefix, { recurse: true }).catch((error: unknown) => {
    console.error(`cleanup of ${prefix} failed: ${String(error)}`);
  });
  await consul.close();
  await agent?.stop();
}

console.log(failures === 0 ? '\nAll demo checks held.' : `\n${failures} demo check(s) failed.`);
process.exitCode = failures === 0 ? 0 : 1;
