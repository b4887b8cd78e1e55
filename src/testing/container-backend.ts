/**
 * Container backend: one `consul agent -dev` per container, via Testcontainers 11.
 *
 * Host ports are chosen by the harness and bound explicitly (on 127.0.0.1 when the engine
 * shares this machine's network, see published-host.ts) so that `restart()` — a `docker restart` of the same container — comes back on
 * the same address. Dev mode keeps all state in memory, so a restart loses it like a
 * crashed-and-replaced agent would.
 */
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import type { StartedTestContainer } from 'testcontainers';
import type { BackendAgent, BackendStartSpec } from './backend.js';
import { CONFIG_FILE, EXTRA_CONFIG_FILE } from './backend.js';
import { trackContainer, untrackContainer } from './cleanup.js';
import { renderAgentConfig } from './config.js';
import { resolveConsulImage } from './docker.js';
import { allocatePort, releasePorts } from './ports.js';
import { resolvePublishedHost } from './published-host.js';
import { waitUntilReady } from './ready.js';
import { LineRing } from './ring-buffer.js';

const CONFIG_DIR = '/consulkit/config';
const TLS_DIR = '/consulkit/tls';
const HTTP = 8500;
const HTTPS = 8501;
const SERF_LAN = 8301;
/** What `consul agent` prints once its HTTP listener is up. */
const AGENT_RUNNING = /Consul agent running!/;

type Testcontainers = typeof import('testcontainers');

let testcontainers: Promise<Testcontainers> | undefined;

/**
 * Loads Testcontainers lazily: it is a dev dependency (consumers of `consulkit/testing`
 * using the binary backend need not install it), and the reaper must be disabled in the
 * environment before it is first used, because the Ryuk image cannot be pulled here. The
 * harness removes its own containers instead (see cleanup.ts).
 */
function loadTestcontainers(): Promise<Testcontainers> {
  process.env['TESTCONTAINERS_RYUK_DISABLED'] ??= 'true';
  testcontainers ??= import('testcontainers');
  return testcontainers;
}

const PORT_CLASH = /port is already allocated|address already in use/i;

/** Starts one dev agent in a container; resolves when it is ready. */
export async function startContainerAgent(spec: BackendStartSpec): Promise<BackendAgent> {
  const tc = await loadTestcontainers();
  const image = await resolveConsulImage(spec.log);
  const runtime = await tc.getContainerRuntimeClient();
  const { host, loopbackOnly } = await resolvePublishedHost(runtime.info.containerRuntime.host);

  const tlsFiles = spec.tls;
  const config = renderAgentConfig({
    ...spec.config,
    ...(tlsFiles === undefined
      ? {}
      : {
          tls: {
            caFile: `${TLS_DIR}/${basename(tlsFiles.caFile)}`,
            certFile: `${TLS_DIR}/${basename(tlsFiles.serverCertFile)}`,
            keyFile: `${TLS_DIR}/${basename(tlsFiles.serverKeyFile)}`,
            verifyIncoming: tlsFiles.verifyIncoming,
            httpsPort: HTTPS,
          },
        }),
  });
  const contents = [{ content: config, target: `${CONFIG_DIR}/${CONFIG_FILE}`, mode: 0o644 }];
  if (spec.extraHcl !== undefined) {
    contents.push({ content: spec.extraHcl, target: `${CONFIG_DIR}/${EXTRA_CONFIG_FILE}`, mode: 0o644 });
  }
  const tlsCopies =
    tlsFiles === undefined
      ? []
      : [tlsFiles.caFile, tlsFiles.serverCertFile, tlsFiles.serverKeyFile].map((source) => ({
          source,
          target: `${TLS_DIR}/${basename(source)}`,
          mode: 0o644,
        }));

  const ring = new LineRing();
  const follow = (stream: Readable): void => {
    stream.on('data', (chunk: Buffer | string) => ring.push(chunk));
    stream.on('error', () => undefined);
  };

  for (let attempt = 1; ; attempt++) {
    const ports = {
      http: await allocatePort(),
      https: tlsFiles === undefined ? undefined : await allocatePort(),
      serfLan: await allocatePort({ udp: true }),
    };
    let createdId: string | undefined;

    class ConsulContainer extends tc.GenericContainer {
      // Testcontainers binds published ports on all interfaces; tests only need loopback,
      // and not exposing a default-allow dev agent to the network is the safer default.
      protected override async beforeContainerCreated(): Promise<void> {
        if (!loopbackOnly) return;
        for (const bindings of Object.values(this.hostConfig.PortBindings ?? {}) as { HostIp?: string }[][]) {
          for (const binding of bindings) binding.HostIp = '127.0.0.1';
        }
      }

      // Remember the id as soon as it exists: without a reaper, a container whose wait
      // strategy fails would otherwise be left running.
      protected override async containerCreated(containerId: string): Promise<void> {
        createdId = containerId;
        trackContainer(containerId);
      }
    }

    const exposed = [
      { container: HTTP, host: ports.http },
      { container: SERF_LAN, host: ports.serfLan },
      { container: SERF_LAN, host: ports.serfLan, protocol: 'udp' as const },
    ];
    if (ports.https !== undefined) exposed.push({ container: HTTPS, host: ports.https });

    const container = new ConsulContainer(image)
      .withCommand([
        'agent',
        '-dev',
        '-client',
        '0.0.0.0',
        // -dev binds Serf/RPC to 127.0.0.1; bind all interfaces so another container on
        // the bridge network can join this agent at <container IP>:8301.
        '-bind',
        '0.0.0.0',
        '-node',
        spec.nodeName,
        '-config-dir',
        CONFIG_DIR,
      ])
      .withExposedPorts(...exposed)
      .withCopyContentToContainer(contents)
      .withCopyFilesToContainer(tlsCopies)
      .withLabels({ 'org.consulkit.testing': 'true', 'org.consulkit.node': spec.nodeName })
      .withLogConsumer(follow)
      // Testcontainers would probe HTTP at the host it detected, which may be a gateway the
      // loopback-bound ports do not listen on; so it only waits for the agent's start line,
      // and waitUntilReady below probes the address tests will use.
      .withWaitStrategy(tc.Wait.forLogMessage(AGENT_RUNNING))
      .withStartupTimeout(60_000);

    let started: StartedTestContainer;
    try {
      started = await container.start();
      await waitUntilReady({
        httpAddress: `http://${host}:${ports.http}`,
        token: spec.token,
        timeoutMs: 30_000,
      });
    } catch (error) {
      const id = createdId;
      if (id !== undefined) {
        try {
          await runtime.container.getById(id).remove({ force: true, v: true });
          untrackContainer(id);
        } catch (removeError) {
          // Keep it tracked: the exit-time cleanup tries again.
          spec.log(`could not remove failed container ${id}: ${(removeError as Error).message}`);
        }
      }
      releasePorts([ports.http, ports.https, ports.serfLan]);
      const message = (error as Error).message;
      if (attempt < 3 && PORT_CLASH.test(message)) {
        spec.log(`host port clash (${message.split('\n')[0]}); retrying with other ports`);
        continue;
      }
      throw new Error(
        `consulkit/testing: container ${image} did not start: ${message}\n--- last agent output ---\n${ring.tail()}`,
        { cause: error },
      );
    }
    return new ContainerAgent(started, image, host, ports, spec.token, ring, follow, runtime);
  }
}

type RuntimeClient = Awaited<ReturnType<Testcontainers['getContainerRuntimeClient']>>;

class ContainerAgent implements BackendAgent {
  readonly backend = 'container' as const;
  readonly ports: { http: number; https?: number; serfLan: number };
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly container: StartedTestContainer,
    readonly describe: string,
    readonly host: string,
    ports: { http: number; https: number | undefined; serfLan: number },
    private readonly token: string | undefined,
    private readonly ring: LineRing,
    private readonly follow: (stream: Readable) => void,
    private readonly runtime: RuntimeClient,
  ) {
    this.ports = {
      http: ports.http,
      serfLan: ports.serfLan,
      ...(ports.https === undefined ? {} : { https: ports.https }),
    };
  }

  serfLanAddress(): string {
    // The container's bridge IP (re-read after restarts, which may change it). Reachable
    // from other containers on the same bridge and, on Linux, from the host.
    const network = this.container.getNetworkNames()[0];
    const ip = network === undefined ? '' : this.container.getIpAddress(network);
    return ip === '' ? `${this.host}:${this.ports.serfLan}` : `${ip}:${SERF_LAN}`;
  }

  async kill(): Promise<void> {
    this.assertLive();
    try {
      await this.runtime.container.getById(this.container.getId()).kill({ signal: 'SIGKILL' });
    } catch (error) {
      // 409: not running — killing a dead agent is a no-op.
      if ((error as { statusCode?: number }).statusCode !== 409) throw error;
    }
  }

  async restart(): Promise<void> {
    this.assertLive();
    const since = Math.floor(Date.now() / 1000);
    this.ring.add('--- restart ---');
    try {
      await this.container.restart({ timeout: 0 });
      this.follow(await this.container.logs({ since }));
      await waitUntilReady({ httpAddress: `http://${this.host}:${this.ports.http}`, token: this.token });
    } catch (error) {
      throw new Error(
        `consulkit/testing: restart failed: ${(error as Error).message}\n--- last agent output ---\n${this.ring.tail()}`,
        { cause: error },
      );
    }
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      try {
        await this.container.stop({ timeout: 0, remove: true, removeVolumes: true });
      } finally {
        untrackContainer(this.container.getId());
        releasePorts([this.ports.http, this.ports.https, this.ports.serfLan]);
      }
    })();
    return this.stopped;
  }

  private assertLive(): void {
    if (this.stopped !== undefined) throw new Error('consulkit/testing: instance already stopped');
  }
}
