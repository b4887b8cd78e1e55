/**
 * `consulkit watch` against the real agent: JSON lines on every change, `--exec` with the data
 * on stdin, and a clean exit on SIGINT.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';
import { waitFor } from '../support/wait.js';
import { cli, cliResult } from './support.js';

const clients = new Clients(sharedConsulAddress());
afterAll(() => clients.closeAll());
const consul = clients.create();

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

  it('rejects an unknown kind or a missing name with exit 2', async () => {
    const env = { CONSUL_HTTP_ADDR: 'http://127.0.0.1:1' };
    expect((await cliResult(['watch', 'keys', 'x'], env)).code).toBe(2);
    expect((await cliResult(['watch', 'key'], env)).code).toBe(2);
    expect((await cliResult(['watch', 'checks', 'sideways'], env)).code).toBe(2);
  });
});
