/**
 * Runs examples/layered-config.ts as a child process against the shared agent and checks
 * what it prints and that it cleans up.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const clients = new Clients(sharedConsulAddress());
const consul = clients.create();

afterAll(() => clients.closeAll());

describe('examples/layered-config.ts', () => {
  it('prints the merged config, each change with its diff, a rejected value, and cleans up', async () => {
    const root = uniquePrefix('example-layered');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/layered-config.ts'], {
      cwd: ROOT,
      env: { ...process.env, CONSUL_HTTP_ADDR: sharedConsulAddress(), CONFIG_ROOT: root },
      // A hang guard only: the example finishes in a few seconds.
      timeout: 45_000,
    });
    expect(stdout.split('\n').filter((line) => line !== '')).toEqual([
      'initial {"db":{"host":"db.prod.internal","pool":25},"currency":"EUR","retries":3}',
      'change changed db.pool: 25 -> 50; changed currency: "EUR" -> "USD" | {"db":{"host":"db.prod.internal","pool":50},"currency":"USD","retries":3}',
      expect.stringMatching(
        new RegExp(
          `^error config failed validation at 'db\\.pool' \\(from '${root}/billing,prod/data'\\): .* \\| pool is still 50$`,
        ),
      ),
      'change changed db.pool: 50 -> 30 | {"db":{"host":"db.prod.internal","pool":30},"currency":"USD","retries":3}',
      'change changed db.pool: 30 -> 25; changed currency: "USD" -> "EUR" | {"db":{"host":"db.prod.internal","pool":25},"currency":"EUR","retries":3}',
    ]);
    expect(await consul.kv.list(`${root}/`)).toEqual([]);
  });
});
