/**
 * The connection budget (issue 11): 1,000 distinct KV keys in 20 folders plus 30 services
 * watched by one process, against an agent with Consul's DEFAULT per-client limit
 * (`http_max_conns_per_client` 200, shared by every process of the host that reaches the
 * agent over loopback). Each subject gets a fresh agent of its own (this scenario starts
 * them; the harness's agent has the limit raised), once over plain HTTP and once over HTTPS.
 *
 * Measured, side by side with the `consul` npm package:
 * - connections held by the subject (ss: established connections from 127.0.0.1 to the
 *   listener it uses; the max over the run and the count once settled);
 * - another client of the host: a PUT every 200 ms on a fresh connection from 127.0.0.1,
 *   counting the requests the agent refused;
 * - time until every change is seen, after each key and each service's check changed once
 *   (writes come from 127.0.0.2, outside the limit), and notification p50/p99/max.
 */
import { randomBytes } from 'node:crypto';
import { startConsul, type ConsulInstance } from '../../src/testing/index.js';
import type { BenchContext, BenchGoal, BenchRow, BenchScenario, ScenarioResult } from '../types.js';
import { HostWriter, connectionsFrom, startProbe, type ProbeResult } from '../support/host-clients.js';
import { percentile, sleep, waitFor } from '../support/measure.js';
import {
  consulkitSubject,
  npmSubject,
  type WatchSubject,
  type WatchTarget,
  type WatchWorkload,
} from '../support/watch-subjects.js';

const FOLDERS = 20;
const KEYS_PER_FOLDER = 50;
const SERVICES = 30;
const WRITE_CONCURRENCY = 8;
/** Bound on waiting for every watch's first value. */
const READY_TIMEOUT_MS = 60_000;
/** Pause after the first values, so connection churn (if any) settles before counting. */
const SETTLE_MS = 2000;
/** Bound on waiting for every change after the last write. */
const DELIVERY_TIMEOUT_MS = 20_000;
const SAMPLE_EVERY_MS = 250;
const TARGET_DELIVERY_MS = 5000;
const TARGET_CONNECTIONS = { http: 64, https: 8 } as const;

type Protocol = 'http' | 'https';

interface Measurement {
  subject: string;
  protocol: Protocol;
  watches: number;
  /** Watches that got a first value within the bound, and how long it took. */
  ready: number;
  readyMs: number;
  maxConnections: number | null;
  settledConnections: number | null;
  libraryConnections: number | null;
  probe: ProbeResult;
  writerFailures: number;
  delivered: number;
  expected: number;
  allSeenMs: number | null;
  latencies: number[];
  watchErrors: number;
  logLines: number | null;
}

function workloadFor(run: string): WatchWorkload {
  const keys: string[] = [];
  for (let f = 0; f < FOLDERS; f++)
    for (let k = 0; k < KEYS_PER_FOLDER; k++) keys.push(`bench/budget-${run}/folder-${f}/key-${k}`);
  const services = Array.from({ length: SERVICES }, (_, j) => `budget-${run}-svc-${j}`);
  return { keys, services };
}

async function seed(writer: HostWriter, workload: WatchWorkload): Promise<void> {
  await HostWriter.each(workload.keys, WRITE_CONCURRENCY, (key) => writer.put(`/v1/kv/${key}`, 'before'));
  await HostWriter.each(workload.services, WRITE_CONCURRENCY, (name) =>
    writer.put(
      '/v1/agent/service/register',
      JSON.stringify({
        Name: name,
        ID: name,
        Port: 8080,
        Check: { CheckID: `${name}-ttl`, TTL: '30m', Status: 'passing' },
      }),
    ),
  );
}

async function measure(
  context: BenchContext,
  subject: WatchSubject,
  protocol: Protocol,
): Promise<Measurement> {
  const agent: ConsulInstance = await startConsul({
    ...(process.env['CONSULKIT_BACKEND'] ? {} : { backend: 'binary' as const }),
    tls: protocol === 'https',
    log: () => undefined,
  });
  const writer = new HostWriter(agent.httpAddress);
  try {
    const workload = workloadFor(randomBytes(3).toString('hex'));
    await seed(writer, workload);
    const port = protocol === 'https' ? (agent.ports.https ?? Number.NaN) : agent.ports.http;
    const target: WatchTarget = {
      address: protocol === 'https' ? agent.address : agent.httpAddress,
      host: '127.0.0.1',
      port,
      secure: protocol === 'https',
      ca: agent.ca,
      serverName: agent.tlsServerName,
    };
    const keyCount = workload.keys.length;
    const total = keyCount + workload.services.length;
    const first = new Uint8Array(total);
    const changedAt = new Float64Array(total);
    const writtenAt = new Float64Array(total);
    const sink = {
      key(i: number, value: string | undefined) {
        first[i] = 1;
        if (value === 'after' && changedAt[i] === 0) changedAt[i] = performance.now();
      },
      service(j: number, states: readonly string[]) {
        const i = keyCount + j;
        first[i] = 1;
        if (states.includes('warning') && changedAt[i] === 0) changedAt[i] = performance.now();
      },
    };

    let maxConnections: number | null = null;
    let sampling = true;
    const sampler = (async () => {
      // Bounded by the run itself: `sampling` is cleared in the finally below.
      while (sampling) {
        const count = await connectionsFrom(port);
        if (count !== null) maxConnections = Math.max(maxConnections ?? 0, count);
        await sleep(SAMPLE_EVERY_MS);
      }
    })();
    const probe = startProbe(agent.httpAddress, `/v1/kv/bench/probe-${randomBytes(3).toString('hex')}`);
    const began = performance.now();
    const running = subject.start(target, workload, sink);
    try {
      context.log(`watch-budget: ${subject.name} over ${protocol}: ${total} watches`);
      await waitFor(() => first.every((flag) => flag === 1), READY_TIMEOUT_MS);
      const readyMs = performance.now() - began;
      const ready = first.reduce((sum, flag) => sum + flag, 0);
      await sleep(SETTLE_MS);
      const settledConnections = await connectionsFrom(port);
      const libraryConnections = running.libraryConnections();

      context.log(`watch-budget: ${subject.name} over ${protocol}: changing every key and check`);
      const writesBegan = performance.now();
      await HostWriter.each(workload.keys, WRITE_CONCURRENCY, async (key, i) => {
        writtenAt[i] = performance.now();
        await writer.put(`/v1/kv/${key}`, 'after');
      });
      await HostWriter.each(workload.services, WRITE_CONCURRENCY, async (name, j) => {
        writtenAt[keyCount + j] = performance.now();
        await writer.put(`/v1/agent/check/warn/${name}-ttl?note=changed`, undefined);
      });
      await waitFor(() => changedAt.every((at) => at !== 0), DELIVERY_TIMEOUT_MS);
      const latencies: number[] = [];
      let last = 0;
      for (let i = 0; i < total; i++) {
        const at = changedAt[i] ?? 0;
        if (at === 0) continue;
        latencies.push(at - (writtenAt[i] ?? at));
        last = Math.max(last, at);
      }
      const delivered = latencies.length;
      return {
        subject: subject.name,
        protocol,
        watches: total,
        ready,
        readyMs,
        maxConnections,
        settledConnections,
        libraryConnections,
        probe: await probe.stop(),
        writerFailures: writer.failures,
        delivered,
        expected: total,
        allSeenMs: delivered === total ? last - writesBegan : null,
        latencies,
        watchErrors: running.errors(),
        logLines: running.logLines(),
      };
    } finally {
      await probe.stop();
      await running.close();
      sampling = false;
      await sampler;
    }
  } finally {
    await writer.close();
    await agent.stop();
  }
}

function row(m: Measurement): BenchRow {
  return {
    subject: `${m.subject} (${m.protocol})`,
    values: {
      watches: m.watches,
      ready: `${m.ready}/${m.watches}`,
      'ready s': m.readyMs / 1000,
      'conns max (ss)': m.maxConnections,
      'conns settled (ss)': m.settledConnections,
      'conns (client)': m.libraryConnections,
      'other client failed': `${m.probe.failed}/${m.probe.requests}`,
      delivered: `${m.delivered}/${m.expected}`,
      'all seen s': m.allSeenMs === null ? null : m.allSeenMs / 1000,
      'p50 ms': percentile(m.latencies, 0.5),
      'p99 ms': percentile(m.latencies, 0.99),
      'max ms': percentile(m.latencies, 1),
      'watch errors': m.watchErrors,
      'log lines': m.logLines,
    },
  };
}

function goalsFor(m: Measurement): BenchGoal[] {
  const limit = TARGET_CONNECTIONS[m.protocol];
  const max = percentile(m.latencies, 1);
  return [
    {
      goal: `${m.protocol}: ≤ ${limit} connections for ${m.watches} watches`,
      met: m.maxConnections !== null && m.maxConnections <= limit,
      actual: `${m.maxConnections ?? '?'} (max over the run)`,
    },
    {
      goal: `${m.protocol}: every change delivered within ${TARGET_DELIVERY_MS / 1000} s`,
      met: m.delivered === m.expected && max !== null && max <= TARGET_DELIVERY_MS,
      actual: `${m.delivered}/${m.expected}, slowest ${max === null ? '-' : `${Math.round(max)} ms`}`,
    },
    {
      goal: `${m.protocol}: another client on the host has 0 failed requests`,
      met: m.probe.failed === 0,
      actual: `${m.probe.failed}/${m.probe.requests}`,
    },
  ];
}

export const watchBudget: BenchScenario = {
  id: 'watch-budget',
  title: `Connection budget: ${FOLDERS * KEYS_PER_FOLDER} keys in ${FOLDERS} folders + ${SERVICES} services watched, agent with default limits (200 per client IP)`,
  async run(context: BenchContext): Promise<ScenarioResult> {
    const measurements: Measurement[] = [];
    const failures: string[] = [];
    for (const protocol of ['http', 'https'] as const) {
      for (const subject of [consulkitSubject, npmSubject]) {
        try {
          measurements.push(await measure(context, subject, protocol));
        } catch (error) {
          // One subject failing outright (its agent would not start…) must not hide the others.
          failures.push(
            `${subject.name} over ${protocol}: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }
    }
    const ours = measurements.filter((m) => m.subject === consulkitSubject.name);
    const ratios: Record<string, number> = {};
    for (const protocol of ['http', 'https'] as const) {
      const a = measurements.find((m) => m.subject === consulkitSubject.name && m.protocol === protocol);
      const b = measurements.find((m) => m.subject === npmSubject.name && m.protocol === protocol);
      if (a && b)
        ratios[`consul npm / consulkit max connections (${protocol})`] =
          (b.maxConnections ?? Number.NaN) / (a.maxConnections ?? Number.NaN);
    }
    if (failures.length > 0 && measurements.length === 0) throw new Error(failures.join('; '));
    return {
      rows: measurements.map(row),
      ratios,
      goals: ours.flatMap(goalsFor),
      notes: [
        'each subject runs against a fresh agent with http_max_conns_per_client left at its default of 200',
        'conns (ss): established connections from 127.0.0.1 to the listener the subject uses; over plain HTTP the other client adds at most 1 while its request runs',
        'other client: a PUT every 200 ms on a fresh connection from 127.0.0.1 during the whole run (refused = connection closed, reset or 429)',
        `the changes are written from 127.0.0.2 (outside the subject's per-IP limit) with ${WRITE_CONCURRENCY} writers; latency runs from just before each write to its notification; "all seen" from the first write to the last notification`,
        `waits are bounded: first values ${READY_TIMEOUT_MS / 1000} s, delivery ${DELIVERY_TIMEOUT_MS / 1000} s after the last write`,
        ...ours.flatMap((m) =>
          m.probe.samples.length > 0
            ? [`${m.protocol}: refusals seen by the other client: ${m.probe.samples.join(' | ')}`]
            : [],
        ),
        ...failures.map((failure) => `FAILED: ${failure}`),
      ],
    };
  },
};
