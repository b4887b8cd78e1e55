/**
 * TLS material for HTTPS/mTLS tests, made by the real `consul tls` commands so the
 * certificates look exactly like the ones Consul users create (no openssl dependency).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** PEM material written to a folder by {@link createTlsMaterial}. */
export interface TlsMaterial {
  /** Folder holding the files below (file names are the ones `consul tls` chose). */
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  ca: string;
  clientCert: { cert: string; key: string };
  /** The DNS name every server certificate carries: `server.<dc>.<domain>`. */
  serverName: string;
}

/**
 * Creates a CA, a server certificate and a client certificate in `dir` (an empty temp
 * folder) for datacenter `datacenter`. The server certificate also covers `localhost` and
 * `127.0.0.1`, which is what `consul tls cert create -server` adds by default.
 */
export async function createTlsMaterial(
  consulBin: string,
  dir: string,
  datacenter: string,
): Promise<TlsMaterial> {
  const run = (args: string[]): Promise<unknown> =>
    execFileAsync(consulBin, args, { cwd: dir, timeout: 30_000 });
  await run(['tls', 'ca', 'create']);
  await run(['tls', 'cert', 'create', '-server', '-dc', datacenter]);
  await run(['tls', 'cert', 'create', '-client', '-dc', datacenter]);
  const files = {
    caFile: join(dir, 'consul-agent-ca.pem'),
    serverCertFile: join(dir, `${datacenter}-server-consul-0.pem`),
    serverKeyFile: join(dir, `${datacenter}-server-consul-0-key.pem`),
    clientCertFile: join(dir, `${datacenter}-client-consul-0.pem`),
    clientKeyFile: join(dir, `${datacenter}-client-consul-0-key.pem`),
  };
  const [ca, cert, key] = await Promise.all([
    readFile(files.caFile, 'utf8'),
    readFile(files.clientCertFile, 'utf8'),
    readFile(files.clientKeyFile, 'utf8'),
  ]);
  return { dir, ...files, ca, clientCert: { cert, key }, serverName: `server.${datacenter}.consul` };
}
