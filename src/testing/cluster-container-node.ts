/**
 * A cluster agent of the container backend: one container on the default bridge (which
 * carries its published HTTP port) and on the cluster's own internal network (which carries
 * Serf and RPC between agents). Faults are Docker operations: kill, pause/unpause, and
 * disconnect/connect of the cluster network, which cuts the node from every other agent
 * while its published HTTP API keeps answering.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { trackChild, trackContainer, untrackChild, untrackContainer } from './cleanup.js';
import type { DockerCommandError } from './cluster-docker.js';
import { RelayedClusterNode } from './cluster-node-base.js';
import { docker } from './cluster-docker.js';
import type { ManagedClusterNode } from './cluster-running.js';
import type { RestartOptions } from './cluster-types.js';
import type { DelayRelay } from './delay-relay.js';
import { LineRing } from './ring-buffer.js';

/** Ports inside the container; the same in every container, each has its own address. */
export const CONTAINER_PORTS = { http: 8500, serfLan: 8301, serfWan: 8302, server: 8300 } as const;

/** Where the harness copies a node's config folder, and where its data lives. */
const CONFIG_ROOT = '/consulkit';
const CONFIG_DIR = `${CONFIG_ROOT}/config`;
const DATA_DIR = `${CONFIG_ROOT}/data`;

/** Everything fixed about one container node. */
export interface ContainerNodeSpec {
  name: string;
  role: 'server' | 'client';
  /** The node's address on the cluster network (advertised to the other agents). */
  ip: string;
  network: string;
  image: string;
  /** Host port the agent's HTTP API is published on (kept across restarts). */
  hostPort: number;
  /** Interface the port is published on (`127.0.0.1`), or `undefined` for all. */
  publishIp: string | undefined;
  /** Host tests connect to for the published port. */
  addressHost: string;
  /** A host folder holding `consulkit/config/...`, copied into each fresh container. */
  configSource: string;
  labels: Readonly<Record<string, string>>;
  token: string | undefined;
}

/** Implements {@link ManagedClusterNode} with Docker. */
export class ContainerClusterNode extends RelayedClusterNode implements ManagedClusterNode {
  readonly role: 'server' | 'client';
  readonly ip: string;
  readonly address: string;
  readonly ports = {
    http: CONTAINER_PORTS.http,
    serfLan: CONTAINER_PORTS.serfLan,
    server: CONTAINER_PORTS.server,
  } as const;
  /** Name of the container (the node name: unique, it carries the cluster id). */
  readonly container: string;
  readonly #spec: ContainerNodeSpec;
  readonly #ring = new LineRing();
  readonly #followers = new Set<ChildProcess>();
  #state: 'running' | 'frozen' | 'killed' = 'killed';
  #isolated = false;
  #created = false;

  constructor(spec: ContainerNodeSpec, relay: DelayRelay) {
    super(spec.name, relay);
    this.#spec = spec;
    this.role = spec.role;
    this.ip = spec.ip;
    this.container = spec.name;
    this.address = `http://${spec.addressHost}:${spec.hostPort}`;
  }

  get state(): 'running' | 'frozen' | 'killed' {
    return this.#state;
  }

  get isolated(): boolean {
    return this.#isolated;
  }

  outputTail(lines = 40): string {
    return this.#ring.tail(lines);
  }

  start(): Promise<void> {
    return this.serial(async () => {
      await this.#create();
      await this.#run();
    });
  }

  kill(): Promise<void> {
    return this.serial(async () => {
      this.#ring.add('--- kill ---');
      await this.#kill();
    });
  }

  restart(options: RestartOptions = {}): Promise<void> {
    const keepData = options.keepData ?? true;
    return this.serial(async () => {
      this.#ring.add(`--- restart (${keepData ? 'data kept' : 'state lost'}) ---`);
      await this.#kill();
      if (!keepData) {
        // State lost: a fresh container from the image, with the same name, address,
        // published port and node ID (in the config), and an empty data folder.
        await this.#remove();
        await this.#create();
      }
      await this.#run();
      await this.waitUntilBack(this.address, this.#spec.token);
    });
  }

  freeze(): Promise<void> {
    return this.serial(async () => {
      this.#expect('running', 'freeze');
      await docker(['pause', this.container]);
      this.#state = 'frozen';
    });
  }

  thaw(): Promise<void> {
    return this.serial(async () => {
      this.#expect('frozen', 'thaw');
      await docker(['unpause', this.container]);
      this.#state = 'running';
    });
  }

  isolate(): Promise<void> {
    return this.serial(async () => {
      if (this.#isolated) return;
      // Packets to its cluster address now go nowhere (no interface answers ARP for it) and
      // its own packets find no route into the internal network: a silent partition.
      await docker(['network', 'disconnect', '--force', this.#spec.network, this.container]);
      this.#isolated = true;
      this.#ring.add('--- isolated ---');
    });
  }

  heal(): Promise<void> {
    return this.serial(async () => {
      if (!this.#isolated) return;
      await this.#connect();
      this.#isolated = false;
      this.#ring.add('--- healed ---');
    });
  }

  /** Removes the container, stops following its output, closes the relay; errors are collected. */
  async dispose(): Promise<unknown[]> {
    const errors = await this.disposeSteps([() => this.#remove()]);
    for (const follower of this.#followers) follower.kill('SIGKILL');
    return errors;
  }

  /** Creates the container (stopped), copies its config in, joins the cluster network unless isolated. */
  async #create(): Promise<void> {
    const spec = this.#spec;
    const publish = `${spec.publishIp === undefined ? '' : `${spec.publishIp}:`}${spec.hostPort}:${CONTAINER_PORTS.http}`;
    const labels = Object.entries(spec.labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]);
    trackContainer(this.container);
    this.#created = true;
    await docker([
      'create',
      '--name',
      this.container,
      '--hostname',
      spec.name,
      ...labels,
      // The default bridge carries the published HTTP port; the cluster network is
      // internal (no gateway), so it never becomes the route the port is published through.
      '--network',
      'bridge',
      '--publish',
      publish,
      // The official image's entrypoint script adds its own -data-dir and -config-dir.
      '--entrypoint',
      '/bin/consul',
      spec.image,
      'agent',
      '-config-dir',
      CONFIG_DIR,
      '-data-dir',
      DATA_DIR,
    ]);
    await docker(['cp', `${spec.configSource}/${CONFIG_ROOT.slice(1)}`, `${this.container}:/`]);
    if (!this.#isolated) await this.#connect();
  }

  async #connect(): Promise<void> {
    await docker(['network', 'connect', '--ip', this.#spec.ip, this.#spec.network, this.container]);
  }

  /** Starts the (stopped) container and follows its output. */
  async #run(): Promise<void> {
    const since = Math.floor(Date.now() / 1000) - 1;
    await docker(['start', this.container]);
    this.#state = 'running';
    this.#follow(since);
  }

  #follow(since: number): void {
    const follower = spawn('docker', ['logs', '--follow', '--since', String(since), this.container], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackChild(follower);
    this.#followers.add(follower);
    follower.stdout.on('data', (chunk: Buffer) => this.#ring.push(chunk));
    follower.stderr.on('data', (chunk: Buffer) => this.#ring.push(chunk));
    const done = (): void => {
      untrackChild(follower);
      this.#followers.delete(follower);
    };
    follower.once('exit', done);
    follower.once('error', (error) => {
      this.#ring.add(`--- cannot follow the container's output: ${error.message} ---`);
      done();
    });
  }

  /** SIGKILL (a paused container dies too). No-op when it is not running. */
  async #kill(): Promise<void> {
    if (this.#state === 'killed') return;
    try {
      await docker(['kill', this.container]);
    } catch (error) {
      // It may have ended on its own; anything else is a real failure.
      const running = await docker(['inspect', '--format', '{{.State.Running}}', this.container]);
      if (running !== 'false') throw error;
    }
    this.#state = 'killed';
  }

  async #remove(): Promise<void> {
    if (!this.#created) return;
    try {
      await docker(['rm', '--force', '--volumes', this.container]);
    } catch (error) {
      // A create that failed half-way may have left nothing to remove.
      if (!/no such container/i.test((error as DockerCommandError).stderr ?? '')) throw error;
    }
    this.#created = false;
    this.#state = 'killed';
    untrackContainer(this.container);
  }

  #expect(state: 'running' | 'frozen', action: string): void {
    if (this.#state !== state) {
      throw new Error(`consulkit/testing: cannot ${action} ${this.name}: it is ${this.#state}`);
    }
  }
}
