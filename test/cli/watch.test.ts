/**
 * `consulkit watch` against the real agent: JSON lines on every change of each kind (key,
 * service with --passing and --tag, services, nodes, checks, event), `--exec` with the data
 * on stdin, and a clean exit on SIGINT.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniqueName, uniquePrefix } from '../support/consul.js';
import { waitFor } from '../support/wait.js';
import type { TsChild } from '../support/child-process.js';
import { cli, cliResult } from './support.js';

const clients = new Clients(sharedConsulAddress());
afterAll(() => clients.closeAll());
const consul = clients.create();

/**
 * Waits for a line printed after the first `from` lines whose JSON satisfies `match`, and
 * returns that JSON with the number of lines seen so far.
 */
async function jsonLine<T>(
  watch: TsChild,
  match: (value: T) => boolean,
  from = 0,
): Promise<{ value: T; seen: number }> {
  try {
    return await waitFor(
      'a matching line',
      () => {
        for (let index = from; index < watch.lines.length; index += 1) {
          const value = JSON.parse(watch.lines[index]!) as T;
          if (match(value)) return { value, seen: index + 1 };
        }
        return undefined;
      },
      30_000,
    );
  } catch (error) {
    // What the watch printed by the deadline, to tell a wrong line from no line at all.
    throw new Error(
      `${(error as Error).message}; lines: ${watch.lines.slice(from).join(' | ')}; stderr: ${watch.stderr.join('')}`,
      { cause: error },
    );
  }
}

/** Stops a watch with SIGINT and expects its clean exit. */
async function stop(watch: TsChild): Promise<void> {
  watch.child.kill('SIGINT');
  expect((await watch.exited).code).toBe(0);
}

interface ServiceEntry {
  Service: { ID: string; Service: string; Tags: string[] };
  Checks: { CheckID: string; Status: string }[];
}

describe('consulkit watch', () => {
  it('prints a JSON line for the first answer and for each change of a key', async () => {
    const key = `${uniquePrefix('cli-watch')}/k`;
    const watch = cli(['watch', 'key', key]);
    await waitFor('the first line', () => watch.lines.length >= 1, 20_000);
    expect(watch.lines[0]).toBe('null');
    await consul.kv.put(key, 'one');
    await waitFor('a second line', () => watch.lines.length >= 2, 20_000);
    const entry = JSON.parse(watch.lines[1]!) as { Key: string; Value: string; Flags: number };
    expect(entry.Key).toBe(key);
    expect(Buffer.from(entry.Value, 'base64').toString()).toBe('one');
    watch.child.kill('SIGINT');
    expect((await watch.exited).code).toBe(0);
  });

  it('--exec runs the handler with the data on stdin', async () => {
    const prefix = uniquePrefix('cli-watch-exec');
    await consul.kv.put(`${prefix}/a`, 'x');
    const watch = cli(['watch', 'prefix', prefix, '--exec', 'echo "HANDLER $(wc -c)"; cat >/dev/null']);
    await waitFor('the handler', () => watch.lines.some((line) => line.startsWith('HANDLER')), 20_000);
    const size = Number(watch.lines.find((line) => line.startsWith('HANDLER'))!.split(' ')[1]);
    expect(size).toBeGreaterThan(20);
    watch.child.kill('SIGTERM');
    expect((await watch.exited).code).toBe(0);
  });

  it('service: --passing prints an instance only once its checks pass', async () => {
    const name = uniqueName('cli-watch-svc');
    const watch = cli(['watch', 'service', name, '--passing']);
    await jsonLine<unknown[]>(watch, (value) => Array.isArray(value) && value.length === 0);
    // A TTL check starts critical: the instance exists but is not passing.
    await consul.agent.service.register({ Name: name, ID: `${name}-1`, Check: { TTL: '60s' } });
    try {
      const before = watch.lines.length;
      await consul.agent.check.pass(`service:${name}-1`);
      const { value } = await jsonLine<ServiceEntry[]>(watch, (entries) => entries.length === 1, before);
      expect(value[0]!.Service.ID).toBe(`${name}-1`);
      expect(value[0]!.Checks.every((check) => check.Status === 'passing')).toBe(true);
      // No line ever listed the instance while its check was critical.
      const listed = watch.lines.flatMap((line) => JSON.parse(line) as ServiceEntry[]);
      expect(listed.flatMap((entry) => entry.Checks.map((check) => check.Status))).not.toContain('critical');
    } finally {
      await consul.agent.service.deregister(`${name}-1`);
    }
    await stop(watch);
  });

  it('service: --tag keeps only the instances carrying the tag', async () => {
    const name = uniqueName('cli-watch-tag');
    const watch = cli(['watch', 'service', name, '--tag', 'v2']);
    await jsonLine<unknown[]>(watch, (value) => value.length === 0);
    await consul.agent.service.register({ Name: name, ID: `${name}-old`, Tags: ['v1'] });
    await consul.agent.service.register({ Name: name, ID: `${name}-new`, Tags: ['v2'] });
    try {
      const { value } = await jsonLine<ServiceEntry[]>(watch, (entries) => entries.length > 0);
      expect(value.map((entry) => entry.Service.ID)).toEqual([`${name}-new`]);
      expect(watch.lines.some((line) => line.includes(`${name}-old`))).toBe(false);
    } finally {
      await consul.agent.service.deregister(`${name}-old`);
      await consul.agent.service.deregister(`${name}-new`);
    }
    await stop(watch);
  });

  it('services: prints the catalog of names and tags, again when a service appears', async () => {
    const name = uniqueName('cli-watch-svcs');
    const watch = cli(['watch', 'services']);
    const first = await jsonLine<Record<string, string[]>>(watch, (value) => 'consul' in value);
    expect(first.value[name]).toBeUndefined();
    await consul.agent.service.register({ Name: name, ID: name, Tags: ['blue'] });
    try {
      const { value } = await jsonLine<Record<string, string[]>>(watch, (services) => name in services);
      expect(value[name]).toEqual(['blue']);
    } finally {
      await consul.agent.service.deregister(name);
    }
    await stop(watch);
  });

  it('nodes: prints the node list, again when a node is registered', async () => {
    const node = uniqueName('cli-watch-node');
    const watch = cli(['watch', 'nodes']);
    const first = await jsonLine<{ Node: string }[]>(watch, (nodes) => nodes.length > 0);
    expect(first.value.some((entry) => entry.Node === node)).toBe(false);
    await consul.catalog.register({ Node: node, Address: '192.0.2.77' });
    try {
      const { value } = await jsonLine<{ Node: string; Address: string }[]>(watch, (nodes) =>
        nodes.some((entry) => entry.Node === node),
      );
      expect(value.find((entry) => entry.Node === node)?.Address).toBe('192.0.2.77');
    } finally {
      await consul.catalog.deregister({ Node: node });
    }
    await stop(watch);
  });

  it('checks critical: prints a check while it is critical and drops it once it passes', async () => {
    const name = uniqueName('cli-watch-checks');
    const checkId = `service:${name}`;
    const watch = cli(['watch', 'checks', 'critical']);
    await jsonLine<unknown[]>(watch, (value) => Array.isArray(value));
    await consul.agent.service.register({ Name: name, ID: name, Check: { TTL: '60s' } });
    try {
      type Check = { CheckID: string; Status: string; ServiceName: string };
      const critical = await jsonLine<Check[]>(watch, (checks) =>
        checks.some((check) => check.CheckID === checkId),
      );
      const entry = critical.value.find((check) => check.CheckID === checkId)!;
      expect(entry.Status).toBe('critical');
      expect(entry.ServiceName).toBe(name);
      await consul.agent.check.pass(checkId);
      await jsonLine<Check[]>(
        watch,
        (checks) => !checks.some((check) => check.CheckID === checkId),
        critical.seen,
      );
    } finally {
      await consul.agent.service.deregister(name);
    }
    await stop(watch);
  });

  it('event <name>: prints the events of that name with their payload, not of others', async () => {
    const name = uniqueName('cli-watch-event');
    const watch = cli(['watch', 'event', name]);
    await jsonLine<unknown[]>(watch, (value) => Array.isArray(value));
    await consul.event.fire(`${name}-other`, 'ignored');
    await consul.event.fire(name, 'payload-1');
    type UserEvent = { Name: string; Payload: string | null };
    const { value } = await jsonLine<UserEvent[]>(watch, (events) => events.length > 0);
    expect(value.map((event) => event.Name)).toEqual([name]);
    expect(Buffer.from(value[0]!.Payload ?? '', 'base64').toString()).toBe('payload-1');
    await stop(watch);
  });

  it('rejects an unknown kind or a missing name with exit 2', async () => {
    const env = { CONSUL_HTTP_ADDR: 'http://127.0.0.1:1' };
    expect((await cliResult(['watch', 'keys', 'x'], env)).code).toBe(2);
    expect((await cliResult(['watch', 'key'], env)).code).toBe(2);
    expect((await cliResult(['watch', 'checks', 'sideways'], env)).code).toBe(2);
  });
});
