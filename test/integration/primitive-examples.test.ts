/**
 * Runs examples/config-map.ts and examples/balancer.ts as child processes against the shared
 * agent (CONSUL_HTTP_ADDR) and checks what they print and what they leave behind.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consul } from '../../src/index.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/** Runs an example to completion with `node --import tsx`; resolves with its stdout lines. */
async function runExample(file: string, env: Record<string, string>): Promise<string[]> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', file], {
    cwd: ROOT,
    env: { ...process.env, CONSUL_HTTP_ADDR: sharedConsulAddress(), ...env },
    // A hang guard: both examples finish in a few seconds.
    timeout: 45_000,
  });
  return stdout.split('\n').filter((line) => line !== '');
}

let consul: Consul;

beforeAll(() => {
  consul = new Consul({ address: sharedConsulAddress() });
});

afterAll(async () => {
  await consul.close();
});

describe('examples', () => {
  it('examples/config-map.ts prints the initial config, each change, a decode error, and cleans up', async () => {
    const prefix = uniquePrefix('example-config');
    const lines = await runExample('examples/config-map.ts', { CONFIG_PREFIX: prefix });
    expect(lines).toEqual([
      'initial {"db/host":"db.internal","db/pool":10}',
      'change {"added":[],"changed":["db/pool"],"removed":[]} {"db/host":"db.internal","db/pool":20}',
      'change {"added":["features/beta"],"changed":[],"removed":[]} {"db/host":"db.internal","db/pool":20,"features/beta":true}',
      expect.stringMatching(
        new RegExp(
          `^error config value '${prefix}/db/pool' could not be decoded: .* \\| db/pool is still 20$`,
        ),
      ),
      'change {"added":[],"changed":["db/pool"],"removed":[]} {"db/host":"db.internal","db/pool":30,"features/beta":true}',
      'change {"added":[],"changed":[],"removed":["features/beta"]} {"db/host":"db.internal","db/pool":30}',
    ]);
    expect(await consul.kv.list(`${prefix}/`)).toEqual([]);
  });

  it('examples/balancer.ts spreads requests over three instances, then drops the failing one', async () => {
    const name = `example-lb-${randomBytes(4).toString('hex')}`;
    const ids = [1, 2, 3].map((n) => `${name}-${n}`);
    const lines = await runExample('examples/balancer.ts', { SERVICE_NAME: name });

    expect(lines[0]).toMatch(
      new RegExp(`^instances ${ids.map((id) => `${id}@127\\.0\\.0\\.1:\\d+`).join(' ')}$`),
    );
    const removedAt = lines.indexOf(`removed ${ids[1]}`);
    expect(removedAt).toBeGreaterThan(0);
    const answered = (part: string[]) =>
      part.filter((line) => line.startsWith('answer ')).map((line) => line.split(' ')[1] ?? '');
    const before = answered(lines.slice(0, removedAt));
    expect(before).toHaveLength(6);
    expect(new Set(before)).toEqual(new Set(ids));
    const crashedAt = lines.indexOf(`crashed ${ids[2]}`);
    expect(crashedAt).toBeGreaterThan(removedAt);
    const beforeCrash = answered(lines.slice(removedAt, crashedAt));
    expect(beforeCrash).toHaveLength(4);
    expect(new Set(beforeCrash)).toEqual(new Set([ids[0], ids[2]]));
    // After the crash every call is still answered, by the survivor, and the crashed
    // instance is ejected after two failures in a row.
    const afterCrash = answered(lines.slice(crashedAt));
    expect(afterCrash).toEqual(Array(6).fill(ids[0]));
    const ejected = lines.filter((line) => line.startsWith('ejected '));
    expect(ejected).toHaveLength(1);
    expect(ejected[0]).toMatch(new RegExp(`^ejected ${ids[2]} after 2 failures \\(.*ECONNREFUSED`));
    // Once ejected, the crashed instance is not even tried.
    expect(lines.at(-1)).toBe(`answer ${ids[0]} hello from ${ids[0]} (1 attempt(s))`);
    for (const line of lines.filter((candidate) => candidate.startsWith('answer '))) {
      const [, id, ...text] = line.split(' ');
      expect(text.join(' ')).toMatch(new RegExp(`^hello from ${id}( \\(\\d attempt\\(s\\)\\))?$`));
    }
    // It deregistered what it registered.
    expect(await consul.health.service(name)).toEqual([]);
  });
});
