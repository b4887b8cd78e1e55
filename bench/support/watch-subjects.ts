/**
 * The libraries compared by the watch-budget scenario, behind one interface: each opens one
 * watch per KV key and one per service, and reports what it delivers.
 */
import { Agent as HttpsAgent } from 'node:https';
import ConsulNpm from 'consul';
import { pino } from 'pino';
import { Consul } from '../../src/index.js';

/** Where the subject connects: the plain-HTTP or the HTTPS listener of one agent. */
export interface WatchTarget {
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  readonly ca?: string | undefined;
  readonly serverName?: string | undefined;
}

/** What the subject watches. */
export interface WatchWorkload {
  readonly keys: readonly string[];
  readonly services: readonly string[];
}

/** Callbacks the subject calls on every delivered value. */
export interface WatchSink {
  /** Key `i` has this value (`undefined` while missing). */
  key(i: number, value: string | undefined): void;
  /** Service `j` has instances whose checks are in these states. */
  service(j: number, states: readonly string[]): void;
}

/** A subject with its watches open. */
export interface RunningSubject {
  /** Connections to the agent as the library counts them; `null` when it cannot tell. */
  libraryConnections(): number | null;
  /** Transient errors the watches reported. */
  readonly errors: () => number;
  /** Warning or error lines the library logged; `null` when it does not log. */
  readonly logLines: () => number | null;
  close(): Promise<void>;
}

/** A library under test. */
export interface WatchSubject {
  readonly name: string;
  start(target: WatchTarget, workload: WatchWorkload, sink: WatchSink): RunningSubject;
}

interface HealthEntryLike {
  Checks?: { Status?: string }[];
}

function checkStates(entries: readonly HealthEntryLike[] | undefined): string[] {
  return (entries ?? []).flatMap((entry) => (entry.Checks ?? []).map((check) => check.Status ?? ''));
}

/** consulkit, one client for every watch. */
export const consulkitSubject: WatchSubject = {
  name: 'consulkit',
  start(target, workload, sink) {
    let logLines = 0;
    let errors = 0;
    const logger = pino({ level: 'warn' }, { write: () => void logLines++ });
    const consul = new Consul({
      address: target.address,
      env: {},
      logger,
      ...(target.secure && {
        tls: {
          ...(target.ca !== undefined && { ca: target.ca }),
          ...(target.serverName !== undefined && { serverName: target.serverName }),
        },
      }),
    });
    const onError = (): void => void errors++;
    const watches = [
      ...workload.keys.map((key, i) =>
        consul.watch
          .key(key)
          .on('change', (entry) => sink.key(i, entry === undefined ? undefined : String(entry.Value)))
          .on('error', onError),
      ),
      ...workload.services.map((name, j) =>
        consul.watch
          .service(name)
          .on('change', (entries) => sink.service(j, checkStates(entries)))
          .on('error', onError),
      ),
    ];
    return {
      libraryConnections: () => consul.stats().connections,
      errors: () => errors,
      logLines: () => logLines,
      close: async () => {
        await Promise.all(watches.map((watch) => watch.close()));
        await consul.close();
      },
    };
  },
};

/** The `consul` npm package: one `watch()` per query, as its README shows. */
export const npmSubject: WatchSubject = {
  name: 'consul (npm)',
  start(target, workload, sink) {
    let errors = 0;
    const agent = target.secure
      ? new HttpsAgent({
          keepAlive: true,
          ...(target.ca !== undefined && { ca: target.ca }),
          ...(target.serverName !== undefined && { servername: target.serverName }),
        })
      : undefined;
    const npm = new ConsulNpm({
      host: target.host,
      port: target.port,
      secure: target.secure,
      ...(agent !== undefined && { agent }),
    });
    const onError = (): void => void errors++;
    const watches = [
      ...workload.keys.map((key, i) => {
        const watch = npm.watch({ method: npm.kv.get, options: { key } });
        watch.on('change', (data: { Value?: string | null } | undefined) =>
          sink.key(i, data?.Value ?? undefined),
        );
        watch.on('error', onError);
        return watch;
      }),
      ...workload.services.map((service, j) => {
        const watch = npm.watch({ method: npm.health.service, options: { service } });
        watch.on('change', (entries: HealthEntryLike[] | undefined) => sink.service(j, checkStates(entries)));
        watch.on('error', onError);
        return watch;
      }),
    ];
    return {
      libraryConnections: () => null,
      errors: () => errors,
      logLines: () => null,
      close: async () => {
        for (const watch of watches) watch.end();
        npm.destroy();
        agent?.destroy();
      },
    };
  },
};
