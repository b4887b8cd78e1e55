/**
 * Locates the package root and the host's consul binary.
 *
 * The binary is needed on the host even with the container backend: TLS material is made
 * with `consul tls ...`, and tests drive reference clients such as `consul lock`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

let rootCache: string | undefined;

/**
 * The consulkit package root: the nearest ancestor of this module holding
 * `scripts/get-consul.sh`. Walking up (instead of a fixed `../..`) keeps it right both for
 * `src/testing/*.ts` under tsx/vitest and for `dist/testing/*.js` after a build.
 */
export function packageRoot(): string {
  if (rootCache !== undefined) return rootCache;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'scripts', 'get-consul.sh')) && existsSync(join(dir, 'package.json'))) {
      rootCache = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('consulkit/testing: cannot find scripts/get-consul.sh above ' + import.meta.url);
    dir = parent;
  }
}

let binaryPromise: Promise<string> | undefined;

/**
 * Path to a working consul binary: env `CONSUL_BIN` if set, else whatever
 * `scripts/get-consul.sh` prints (PATH, the `.consul/` cache, or a fresh download of
 * Debian's package). Memoized per process; a failure is not cached so a later call retries.
 */
export function findConsulBinary(): Promise<string> {
  binaryPromise ??= (async () => {
    const fromEnv = process.env['CONSUL_BIN'];
    if (fromEnv !== undefined && fromEnv !== '') {
      await execFileAsync(fromEnv, ['version'], { timeout: 10_000 });
      return fromEnv;
    }
    const script = join(packageRoot(), 'scripts', 'get-consul.sh');
    try {
      const { stdout } = await execFileAsync('bash', [script], { timeout: 180_000, maxBuffer: 1 << 20 });
      const path = stdout.trim().split('\n').pop()?.trim() ?? '';
      if (path === '') throw new Error('get-consul.sh printed no path');
      return path;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(
        `consulkit/testing: no consul binary (${script}): ${(error as Error).message}\n${stderr}`,
        {
          cause: error,
        },
      );
    }
  })();
  binaryPromise.catch(() => {
    binaryPromise = undefined;
  });
  return binaryPromise;
}

/** First line of `consul version`, e.g. "Consul v1.8.7". */
export async function consulVersion(bin: string): Promise<string> {
  const { stdout } = await execFileAsync(bin, ['version'], { timeout: 10_000 });
  return stdout.split('\n')[0]?.trim() ?? 'unknown';
}
