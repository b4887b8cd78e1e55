/**
 * The published shape: `npm pack`, install the tarball into a fresh project, then
 * `npx consulkit --help`, `--version` and a real command against the shared agent.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';
import { ROOT } from '../support/child-process.js';

const run = promisify(execFile);
const clients = new Clients(sharedConsulAddress());
let folder: string | undefined;

afterAll(async () => {
  await clients.closeAll();
  if (folder !== undefined) await rm(folder, { recursive: true, force: true });
});

describe('packed consulkit', () => {
  it('works from npx after npm install of the packed tarball', { timeout: 300_000 }, async () => {
    folder = await mkdtemp(join(tmpdir(), 'consulkit-pack-'));
    // prepack builds dist/, so the tarball holds the compiled CLI.
    await run('npm', ['pack', '--pack-destination', folder], { cwd: ROOT, timeout: 180_000 });
    const tarball = (await readdir(folder)).find((name) => name.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    const project = join(folder, 'project');
    await run('mkdir', [project]);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'uses-consulkit', private: true }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(folder, tarball!)], {
      cwd: project,
      timeout: 180_000,
    });
    const env = { ...process.env, CONSUL_HTTP_ADDR: sharedConsulAddress(), CONSULKIT_LOG_LEVEL: 'warn' };

    const help = await run('npx', ['--no-install', 'consulkit', '--help'], {
      cwd: project,
      env,
      timeout: 60_000,
    });
    expect(help.stdout).toContain('Usage: consulkit <command>');
    const version = await run('npx', ['--no-install', 'consulkit', '--version'], {
      cwd: project,
      env,
      timeout: 60_000,
    });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);

    // A real command: run something under a lock, and see the lock key cleaned up after.
    const prefix = uniquePrefix('cli-pack');
    const locked = await run(
      'npx',
      ['--no-install', 'consulkit', 'lock', prefix, '--', 'sh', '-c', 'echo "held=$CONSUL_LOCK_HELD"'],
      {
        cwd: project,
        env,
        timeout: 60_000,
      },
    );
    expect(locked.stdout).toContain('held=true');
    expect(await clients.create().kv.get(`${prefix}/.lock`)).toBeUndefined();

    // A bad argument is exit 2 from the installed binary too.
    const bad = await run('npx', ['--no-install', 'consulkit', 'lock'], {
      cwd: project,
      env,
      timeout: 60_000,
    }).then(
      () => 0,
      (error: { code?: number }) => error.code,
    );
    expect(bad).toBe(2);
  });
});
