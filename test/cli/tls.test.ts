/**
 * The CLI's TLS flags and variables against a real agent that serves HTTPS and requires a
 * client certificate (`verify_incoming_https`), with certificates made by `consul tls`: with
 * the CA and the client certificate it works, without either, or when the agent's certificate
 * does not carry `--tls-server-name`, it fails with exit 1 and an error that says why.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsul, type ConsulInstance } from '../../src/testing/index.js';
import { uniquePrefix } from '../support/consul.js';
import { cliResult } from './support.js';

let agent: ConsulInstance;
let dir: string;
let files: { ca: string; cert: string; key: string };

beforeAll(async () => {
  agent = await startConsul({ tls: { verifyIncoming: true } });
  dir = await mkdtemp(join(tmpdir(), 'consulkit-cli-tls-'));
  files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client-key.pem') };
  await writeFile(files.ca, agent.ca!);
  await writeFile(files.cert, agent.clientCert!.cert);
  await writeFile(files.key, agent.clientCert!.key);
});

afterAll(async () => {
  await agent?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** `consulkit <args>` with only the HTTPS address set (no variable of the shared agent). */
function run(args: string[], env: Record<string, string> = {}): ReturnType<typeof cliResult> {
  return cliResult(args, { CONSUL_HTTP_ADDR: agent.address, ...env });
}

const clientFlags = (): string[] => ['--client-cert', files.cert, '--client-key', files.key];

describe('consulkit over HTTPS', () => {
  it('works with --ca-file, --client-cert and --client-key: reads, and holds a lock', async () => {
    expect(agent.address).toMatch(/^https:\/\//);
    const status = await run(['status', '--json', '--ca-file', files.ca, ...clientFlags()]);
    expect(status.stderr).not.toContain('"level":50');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toBeTypeOf('object');
    const lock = await run([
      'lock',
      '--ca-file',
      files.ca,
      ...clientFlags(),
      uniquePrefix('cli-tls'),
      '--',
      'sh',
      '-c',
      'echo "held=$CONSUL_LOCK_HELD"',
    ]);
    expect(lock.code).toBe(0);
    expect(lock.stdout).toContain('held=true');
  });

  it('works with the same material from CONSUL_CACERT, CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY', async () => {
    const status = await run(['status', '--json'], {
      CONSUL_CACERT: files.ca,
      CONSUL_CLIENT_CERT: files.cert,
      CONSUL_CLIENT_KEY: files.key,
    });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toBeTypeOf('object');
  });

  it('--tls-server-name: the name in the agent certificate passes, another is refused with exit 1', async () => {
    const good = await run([
      'status',
      '--json',
      '--ca-file',
      files.ca,
      ...clientFlags(),
      '--tls-server-name',
      agent.tlsServerName!,
    ]);
    expect(good.code).toBe(0);
    const wrong = await run([
      'status',
      '--ca-file',
      files.ca,
      ...clientFlags(),
      '--tls-server-name',
      'wrong.example.com',
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toContain('wrong.example.com');
  });

  it('without the CA: exit 1 with a certificate error', async () => {
    const result = await run(['status', ...clientFlags()]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/certificate/i);
  });

  it('without the client certificate the agent refuses the connection: exit 1', async () => {
    const result = await run(['status', '--ca-file', files.ca]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    // The agent ends the TLS 1.3 connection after the handshake with an alert that undici
    // reports as "other side closed": the error names the refused request and, since this
    // client sends no certificate, the agent's certificate check among the likely causes.
    expect(result.stderr).toMatch(/^consulkit status: GET \/v1\//);
    expect(result.stderr).toContain('verify_incoming');
  });

  it('a missing CA file, or a certificate without its key, is a usage error (exit 2)', async () => {
    const missing = await run(['status', '--ca-file', join(dir, 'nope.pem'), ...clientFlags()]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.pem');
    const keyless = await run(['status', '--ca-file', files.ca, '--client-cert', files.cert]);
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toContain('key');
  });
});
