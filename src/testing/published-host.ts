/**
 * Where the container backend publishes an agent's ports, and the address tests use.
 *
 * Testcontainers reports the engine's host as `localhost` for a local socket, but as the
 * bridge gateway (e.g. `172.17.0.1`) whenever `/.dockerenv` exists, because it then assumes
 * the engine runs outside the caller's container. When the engine was started in the
 * caller's own network namespace (as `.ci/run` does inside a CI container), that gateway is
 * an address of the caller's own machine, so loopback reaches the published ports as well
 * and is the address users expect. Only an engine elsewhere keeps the reported host.
 */
import { createServer } from 'node:net';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

/** The decision for one engine host. */
export interface PublishedHost {
  /** Host tests connect to. */
  host: string;
  /**
   * Whether published ports are bound to loopback only. True when the engine shares this
   * machine's network: not exposing a default-allow dev agent to the network is the safer
   * default there. False for an engine elsewhere, whose host must be reachable from here.
   */
  loopbackOnly: boolean;
}

/**
 * Whether `host` is an address of this machine. Probed by binding a socket to it, because
 * `os.networkInterfaces()` leaves out interfaces that are down, and Docker's bridge is
 * down while no container is attached to it.
 */
export function isOwnAddress(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port: 0, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Chooses the published host for an engine that Testcontainers reports at `runtimeHost`. */
export function choosePublishedHost(runtimeHost: string, runtimeHostIsOwn: boolean): PublishedHost {
  if (LOOPBACK_NAMES.has(runtimeHost) || runtimeHostIsOwn) return { host: '127.0.0.1', loopbackOnly: true };
  return { host: runtimeHost, loopbackOnly: false };
}

/** {@link choosePublishedHost} with the ownership of `runtimeHost` probed on this machine. */
export async function resolvePublishedHost(runtimeHost: string): Promise<PublishedHost> {
  const own = LOOPBACK_NAMES.has(runtimeHost) || (await isOwnAddress(runtimeHost));
  return choosePublishedHost(runtimeHost, own);
}
