/**
 * `consulkit run` against the real agent: registers and heartbeats, passes signals on and
 * deregisters, passes a crash's exit code on, and reports what its health command or health
 * URL says.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniqueName } from '../support/consul.js';
import { waitFor } from '../support/wait.js';
import { alive, cli, runningPids } from './support.js';

const clients = new Clients(sharedConsulAddress());
afterAll(() => clients.closeAll());
const consul = clients.create();

async function ttlCheck(serviceId: string): Promise<{ Status: string; Output: string } | undefined> {
  const checks = await consul.agent.check.list();
  return Object.values(checks).find((check) => check.ServiceID === serviceId && check.Type === 'ttl');
}

describe('consulkit run', () => {
  it('registers the service and heartbeats its TTL check while the command runs', async () => {
    const name = uniqueName('cli-run');
    const run = cli([
      'run',
      '--name',
      name,
      '--id',
      `${name}-1`,
      '--port',
      '8080',
      '--tag',
      'v2',
      '--meta',
      'team=core',
      '--ttl',
      '2s',
      '--',
      'sh',
      '-c',
      'echo "RUNNING $$"; exec sleep 120',
    ]);
    await run.line('RUNNING');
    runningPids(run);
    const service = await waitFor(
      'the service',
      async () => (await consul.agent.service.list())[`${name}-1`],
    );
    expect(service.Service).toBe(name);
    expect(service.Port).toBe(8080);
    expect(service.Tags).toEqual(['v2']);
    expect(service.Meta).toEqual({ team: 'core' });
    await waitFor('a passing check', async () => (await ttlCheck(`${name}-1`))?.Status === 'passing');
    // Longer than the TTL: only heartbeats keep it passing.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect((await ttlCheck(`${name}-1`))?.Status).toBe('passing');
  });

  it('passes SIGTERM on, deregisters once the command exited, and exits with its code', async () => {
    const name = uniqueName('cli-run-term');
    const script = 'trap "echo GOT-TERM; exit 7" TERM; echo "RUNNING $$"; while :; do sleep 0.1; done';
    const run = cli(['run', '--name', name, '--id', name, '--', 'sh', '-c', script]);
    await run.line('RUNNING');
    const [pid] = runningPids(run);
    await waitFor('the service', async () => (await consul.agent.service.list())[name]);
    run.child.kill('SIGTERM');
    await run.line('GOT-TERM');
    const { code } = await run.exited;
    expect(code).toBe(7);
    expect(alive(pid!)).toBe(false);
    expect((await consul.agent.service.list())[name]).toBeUndefined();
  });

  it('with --drain marks the service critical before passing SIGTERM on', async () => {
    const name = uniqueName('cli-run-drain');
    const script = 'trap "echo GOT-TERM; exit 0" TERM; echo "RUNNING $$"; while :; do sleep 0.1; done';
    const run = cli(['run', '--name', name, '--id', name, '--drain', '3s', '--', 'sh', '-c', script]);
    await run.line('RUNNING');
    runningPids(run);
    await waitFor('a passing check', async () => (await ttlCheck(name))?.Status === 'passing');
    run.child.kill('SIGTERM');
    await waitFor('a critical check', async () => (await ttlCheck(name))?.Status === 'critical');
    // Still draining: the command has not had the signal yet.
    expect(run.lines.some((line) => line.includes('GOT-TERM'))).toBe(false);
    await run.line('GOT-TERM');
    expect((await run.exited).code).toBe(0);
    expect((await consul.agent.service.list())[name]).toBeUndefined();
  });

  it('deregisters when the command crashes and passes its exit code on', async () => {
    const name = uniqueName('cli-run-crash');
    const run = cli([
      'run',
      '--name',
      name,
      '--id',
      name,
      '--',
      'sh',
      '-c',
      'echo "RUNNING $$"; sleep 2; exit 3',
    ]);
    await run.line('RUNNING');
    await waitFor('the service', async () => (await consul.agent.service.list())[name]);
    const { code } = await run.exited;
    expect(code).toBe(3);
    expect((await consul.agent.service.list())[name]).toBeUndefined();
  });

  it('reports the health command: exit 0 passing, 2 critical with its output', async () => {
    const name = uniqueName('cli-run-health');
    const flag = `/tmp/${name}.ok`;
    const run = cli([
      'run',
      '--name',
      name,
      '--id',
      name,
      '--ttl',
      '3s',
      '--health-cmd',
      `test -f ${flag} && echo fine || { echo missing; exit 2; }`,
      '--',
      ...['sh', '-c', 'echo "RUNNING $$"; exec sleep 120'],
    ]);
    await run.line('RUNNING');
    runningPids(run);
    const critical = await waitFor('a critical check', async () => {
      const check = await ttlCheck(name);
      // Consul's initial status is critical too, with no output: wait for the probe's own.
      return check?.Status === 'critical' && check.Output.includes('missing') && check;
    });
    expect(critical.Output).toContain('missing');
    const { writeFile, rm } = await import('node:fs/promises');
    await writeFile(flag, '');
    try {
      await waitFor('a passing check', async () => (await ttlCheck(name))?.Status === 'passing');
    } finally {
      await rm(flag, { force: true });
    }
  });

  it('reports the health URL: 2xx passing, 429 warning, 5xx and no answer critical, with the answer', async () => {
    const name = uniqueName('cli-run-http');
    // The service's own health endpoint, played by the test: its answer is switched below.
    let answer = { status: 200, body: 'ok' };
    const server = createServer((_request, response) => {
      response.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
    let serverOpen = true;
    try {
      const run = cli([
        'run',
        '--name',
        name,
        '--id',
        name,
        '--ttl',
        '3s',
        '--health-http',
        url,
        '--',
        ...['sh', '-c', 'echo "RUNNING $$"; exec sleep 120'],
      ]);
      await run.line('RUNNING');
      runningPids(run);
      const reaches = (status: string, output: string): Promise<unknown> =>
        waitFor(`a ${status} check saying '${output}'`, async () => {
          const check = await ttlCheck(name);
          return check?.Status === status && check.Output.includes(output) && check;
        });
      await reaches('passing', `HTTP GET ${url}: 200 ok`);
      answer = { status: 500, body: 'database down' };
      await reaches('critical', `HTTP GET ${url}: 500 database down`);
      answer = { status: 429, body: 'busy' };
      await reaches('warning', `HTTP GET ${url}: 429 busy`);
      answer = { status: 204, body: '' };
      await reaches('passing', `HTTP GET ${url}: 204`);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      serverOpen = false;
      await reaches('critical', 'ECONNREFUSED');
    } finally {
      if (serverOpen) {
        server.closeAllConnections();
        server.close();
      }
    }
  });

  it('rejects bad arguments with exit 2 without starting the command', async () => {
    const { cliResult } = await import('./support.js');
    const env = { CONSUL_HTTP_ADDR: 'http://127.0.0.1:1' };
    for (const args of [
      ['run', '--name', 'x'],
      ['run', '--port', '70000', '--', 'true'],
      ['run', '--meta', 'novalue', '--', 'true'],
      ['run', '--health-http', 'ftp://x', '--', 'true'],
      ['run', '--health-http', 'http://x', '--health-cmd', 'true', '--', 'true'],
      ['run', '--name', 'a/b', '--', 'sh', '-c', 'echo STARTED'],
    ]) {
      const result = await cliResult(args, env);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout).not.toContain('STARTED');
    }
  });
});
