/**
 * Docker engine detection and Consul image resolution for the container backend.
 * Uses the docker CLI: it is what scripts/ensure-docker.sh and build-consul-image.sh use
 * too, and its `timeout` kills a hanging `docker pull` cleanly.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from './consul-bin.js';

const execFileAsync = promisify(execFile);

/** The image a registry would serve; overridable with env `CONSUL_IMAGE`. */
export const DEFAULT_CONSUL_IMAGE = 'hashicorp/consul:1.8.7';
/** The image built from the host binary when no registry can serve one. */
export const LOCAL_CONSUL_IMAGE = 'consulkit/consul:local';

let enginePromise: Promise<boolean> | undefined;

/** Whether a Docker engine answers `docker info` within 10 s (memoized per process). */
export function dockerEngineAvailable(): Promise<boolean> {
  enginePromise ??= execFileAsync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    timeout: 10_000,
  }).then(
    () => true,
    () => false,
  );
  return enginePromise;
}

/** Whether `tag` exists in the local engine. */
export async function imageExists(tag: string): Promise<boolean> {
  try {
    await execFileAsync('docker', ['image', 'inspect', '--format', '{{.Id}}', tag], { timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` holding a cross-process lock (an atomic mkdir), so parallel vitest workers do
 * not build the same image twice at once. A lock older than 10 minutes is taken as stale.
 */
async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = join(tmpdir(), `${name}.lock`);
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      await mkdir(dir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = await stat(dir).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > 10 * 60_000) await rm(dir, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${dir}`);
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let imagePromise: Promise<string> | undefined;

/** Env var through which child processes learn which image replaced an unpullable one. */
const RESOLVED_ENV = 'CONSULKIT_RESOLVED_IMAGE';

/**
 * The image to run: `CONSUL_IMAGE` (default {@link DEFAULT_CONSUL_IMAGE}) when present or
 * pullable within 20 s; otherwise {@link LOCAL_CONSUL_IMAGE}, built once from the host
 * binary by scripts/build-consul-image.sh and reused afterwards. Memoized per process so a
 * failing pull is attempted once, not per test.
 */
export function resolveConsulImage(log: (line: string) => void): Promise<string> {
  imagePromise ??= (async () => {
    const wanted = process.env['CONSUL_IMAGE'] || DEFAULT_CONSUL_IMAGE;
    if (await imageExists(wanted)) return wanted;
    // A parent process (e.g. vitest's main process running the globalSetup) already went
    // through the pull-or-build dance for this same image; workers inherit its answer.
    const inherited = process.env[RESOLVED_ENV];
    if (inherited?.startsWith(`${wanted}=>`)) {
      const image = inherited.slice(wanted.length + 2);
      if (await imageExists(image)) return image;
    }
    const remember = (image: string): string => {
      process.env[RESOLVED_ENV] = `${wanted}=>${image}`;
      return image;
    };
    try {
      await execFileAsync('docker', ['pull', '--quiet', wanted], { timeout: 20_000 });
      log(`pulled ${wanted}`);
      return wanted;
    } catch (error) {
      // Docker's own message names the registry host; the log keeps only its gist.
      const detail = ((error as { stderr?: string }).stderr ?? (error as Error).message).trim();
      const reason = /timed out|deadline|timeout/i.test(detail)
        ? 'the pull timed out'
        : /no such host|lookup|dial tcp|connection refused|network/i.test(detail)
          ? 'no registry reachable'
          : 'the pull failed';
      log(`cannot pull ${wanted} (${reason}); using ${LOCAL_CONSUL_IMAGE} built from the local binary`);
    }
    if (await imageExists(LOCAL_CONSUL_IMAGE)) return remember(LOCAL_CONSUL_IMAGE);
    return withLock('consulkit-consul-image', async () => {
      if (await imageExists(LOCAL_CONSUL_IMAGE)) return remember(LOCAL_CONSUL_IMAGE);
      const started = Date.now();
      const script = join(packageRoot(), 'scripts', 'build-consul-image.sh');
      try {
        await execFileAsync('bash', [script, LOCAL_CONSUL_IMAGE], { timeout: 300_000, maxBuffer: 1 << 22 });
      } catch (error) {
        throw new Error(
          `building ${LOCAL_CONSUL_IMAGE} failed: ${(error as { stderr?: string }).stderr ?? error}`,
          {
            cause: error,
          },
        );
      }
      log(`built ${LOCAL_CONSUL_IMAGE} in ${Date.now() - started} ms`);
      return remember(LOCAL_CONSUL_IMAGE);
    });
  })();
  imagePromise.catch(() => {
    imagePromise = undefined;
  });
  return imagePromise;
}
