/**
 * Binary backend: `consul agent -dev` as a child process of the test process, for machines
 * without a Docker engine. Every port is explicit (so several agents coexist and restart()
 * reuses them) and DNS/gRPC are switched off because nothing here needs them.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendAgent, BackendStartSpec } from './backend.js';
import { CONFIG_FILE, EXTRA_CONFIG_FILE } from './backend.js';
import { trackChild, untrackChild } from './cleanup.js';
import { renderAgentConfig } from './config.js';
import { allocatePort, releasePorts } from './ports.js';
import { waitUntilReady } from './ready.js';
import { LineRing } from './ring-buffer.js';

interface BinaryPorts {
  http: number;
  https: number | undefined;
  serfLan: number;
  serfWan: number;
  server: number;
}

const PORT_CLASH = /address already in use/i;

/** Starts one dev agent as a local process; resolves when it is ready. */
export async function startBinaryAgent(spec: BackendStartSpec): Promise<BackendAgent> {
  const bin = spec.consulBin;
  if (bin === undefined) throw new Error('consulkit/testing: the binary backend needs a consul binary');
  const configDir = join(spec.workDir, 'config');
  const dataDir = join(spec.workDir, 'data');
  await mkdir(configDir, { recursive: true });

  for (let attempt = 1; ; attempt++) {
    const ports: BinaryPorts = {
      http: await allocatePort(),
      https: spec.tls === undefined ? undefined : await allocatePort(),
      serfLan: await allocatePort({ udp: true }),
      serfWan: await allocatePort({ udp: true }),
      server: await allocatePort(),
    };
    const tls = spec.tls;
    const config = renderAgentConfig({
      ...spec.config,
      ...(tls === undefined || ports.https === undefined
        ? {}
        : {
            tls: {
              caFile: tls.caFile,
              certFile: tls.serverCertFile,
              keyFile: tls.serverKeyFile,
              verifyIncoming: tls.verifyIncoming,
              httpsPort: ports.https,
            },
          }),
    });
    await writeFile(join(configDir, CONFIG_FILE), config);
    if (spec.extraHcl !== undefined) await writeFile(join(configDir, EXTRA_CONFIG_FILE), spec.extraHcl);

    const agent = new BinaryAgent(bin, spec, ports, configDir, dataDir);
    try {
      await agent.launch();
      return agent;
    } catch (error) {
      await agent.stop();
      if (attempt < 3 && agent.sawPortClash()) {
        spec.log('port clash on start; retrying with other ports');
        continue;
      }
      throw error;
    }
  }
}

class BinaryAgent implements BackendAgent {
  readonly backend = 'binary' as const;
  readonly host = '127.0.0.1';
  readonly ports: { http: number; https?: number; serfLan: number };
  readonly describe: string;
  private readonly ring = new LineRing();
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private exitInfo: string | undefined;
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly bin: string,
    private readonly spec: BackendStartSpec,
    private readonly allPorts: BinaryPorts,
    private readonly configDir: string,
    private readonly dataDir: string,
  ) {
    this.describe = bin;
    this.ports = {
      http: allPorts.http,
      serfLan: allPorts.serfLan,
      ...(allPorts.https === undefined ? {} : { https: allPorts.https }),
    };
  }

  serfLanAddress(): string {
    return `127.0.0.1:${this.allPorts.serfLan}`;
  }

  sawPortClash(): boolean {
    return this.ring.matches(PORT_CLASH);
  }

  /** Spawns a fresh agent (empty data dir) and waits until it is ready. */
  async launch(): Promise<void> {
    await rm(this.dataDir, { recursive: true, force: true });
    await mkdir(this.dataDir, { recursive: true });
    const p = this.allPorts;
    const args = [
      'agent',
      '-dev',
      '-node',
      this.spec.nodeName,
      '-client',
      '127.0.0.1',
      '-bind',
      '127.0.0.1',
      '-http-port',
      String(p.http),
      '-serf-lan-port',
      String(p.serfLan),
      '-serf-wan-port',
      String(p.serfWan),
      '-server-port',
      String(p.server),
      '-dns-port',
      '-1',
      '-grpc-port',
      '-1',
      '-data-dir',
      this.dataDir,
      '-config-dir',
      this.configDir,
    ];
    const child = spawn(this.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exitInfo = undefined;
    trackChild(child);
    child.stdout?.on('data', (chunk: Buffer) => this.ring.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.ring.push(chunk));
    this.exited = new Promise((resolve) => {
      const done = (info: string): void => {
        untrackChild(child);
        this.exitInfo ??= info;
        resolve();
      };
      child.once('exit', (code, signal) => done(`consul exited (code ${code}, signal ${signal})`));
      child.once('error', (error) => done(`consul could not run: ${error.message}`));
    });
    try {
      await waitUntilReady({
        httpAddress: `http://127.0.0.1:${p.http}`,
        token: this.spec.token,
        deadReason: () =>
          this.exitInfo === undefined ? undefined : `${this.exitInfo} before becoming ready`,
      });
    } catch (error) {
      throw new Error(
        `consulkit/testing: ${this.bin} did not start: ${(error as Error).message}\n--- last agent output ---\n${this.ring.tail()}`,
        { cause: error },
      );
    }
  }

  async kill(): Promise<void> {
    this.assertLive();
    await this.killChild();
  }

  async restart(): Promise<void> {
    this.assertLive();
    await this.killChild();
    this.ring.add('--- restart ---');
    await this.launch();
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await this.killChild();
      releasePorts(Object.values(this.allPorts));
    })();
    return this.stopped;
  }

  /** SIGKILL: a dev agent has nothing worth a graceful leave, and kill() models a crash. */
  private async killChild(): Promise<void> {
    const child = this.child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await this.exited;
  }

  private assertLive(): void {
    if (this.stopped !== undefined) throw new Error('consulkit/testing: instance already stopped');
  }
}
