/**
 * Runs `npm run demo`'s script (examples/demo.ts) against the shared agent, so the README's
 * main command is exercised by CI. The demo checks its own claims and exits non-zero when one
 * does not hold.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Consul } from '../../src/index.js';
import { sharedConsulAddress } from '../support/consul.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

describe('examples/demo.ts', () => {
  it('runs every step with its checks holding, exits 0 and leaves no keys behind', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/demo.ts'], {
      cwd: ROOT,
      env: { ...process.env, CONSUL_HTTP_ADDR: sharedConsulAddress() },
      timeout: 60_000, // hang guard: the process must end by itself once the tour is over
    });
    const steps = stdout.split('\n').filter((line) => line.startsWith('▶'));
    expect(steps).toHaveLength(7);
    expect(stdout).not.toContain('✗');
    expect(stdout.match(/✓/g)?.length).toBe(14); // every check of every step
    expect(stdout).toContain('All demo checks held.');
    const prefix = /key prefix (demo\/[0-9a-f]+)/.exec(stdout)?.[1];
    expect(prefix).toBeDefined();
    const consul = new Consul({ address: sharedConsulAddress(), env: {} });
    try {
      expect(await consul.kv.list(`${prefix}/`)).toEqual([]);
    } finally {
      await consul.close();
    }
  });
});
