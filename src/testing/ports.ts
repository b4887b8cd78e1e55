/**
 * Free-port allocation for Consul agents.
 *
 * The harness picks host ports itself (instead of letting Docker or Consul choose) so that
 * `restart()` can bring an agent back on exactly the same address. Ports handed out stay in
 * an in-process reservation set until the owning instance is stopped, so a killed agent's
 * ports are never given to another instance of this process while it is down.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const reserved = new Set<number>();

function freeTcpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read a bound port'))));
    });
  });
}

function udpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.unref();
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ port, address: host, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

/** Options for {@link allocatePort}. */
export interface AllocatePortOptions {
  /** Also require the UDP port of the same number to be free (Serf gossips over TCP and UDP). */
  udp?: boolean;
  /** Interface to probe; 127.0.0.1 by default because every agent is bound to loopback. */
  host?: string;
}

/**
 * Returns a port that is free now on the loopback interface and reserves it in this
 * process. The OS may still hand it to an unrelated process before the agent binds it;
 * callers retry a start on "address already in use".
 */
export async function allocatePort(options: AllocatePortOptions = {}): Promise<number> {
  const host = options.host ?? '127.0.0.1';
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await freeTcpPort(host);
    if (reserved.has(port)) continue;
    if (options.udp === true && !(await udpPortFree(host, port))) continue;
    reserved.add(port);
    return port;
  }
  throw new Error('could not find a free port on ' + host);
}

/** Gives ports back to the in-process pool (called when an instance is stopped). */
export function releasePorts(ports: Iterable<number | undefined>): void {
  for (const port of ports) if (port !== undefined) reserved.delete(port);
}
