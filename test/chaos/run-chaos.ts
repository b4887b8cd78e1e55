/**
 * One nemesis run: a cluster, contenders for a lock, a limit-2 semaphore and an election on
 * every node, the nemesis, and the checker's verdict over the recorded history.
 */
import type { LockOptions } from '../../src/index.js';
import type { Cluster } from '../../src/testing/index.js';
import { startCluster } from '../../src/testing/index.js';
import type { CheckResult } from './checker.js';
import { checkHistory } from './checker.js';
import type { ContenderSpec, Recorder } from './contenders.js';
import { runContender } from './contenders.js';
import type { FaultKind, FaultRecord, Hold, PrimitiveKind } from './history.js';
import { FAULT_KINDS, runNemesis } from './nemesis.js';
import { createPrng } from './prng.js';

/** Who contends and which faults are drawn; {@link SAFE_PROFILE} is the real test. */
export interface ChaosProfile {
  primitives: readonly PrimitiveKind[];
  /** Contenders on every node, or on the client agents only. */
  nodes: 'all' | 'clients';
  /** Session options of the lock contenders. */
  lockOptions?: LockOptions;
  /** Hold durations, [min, max] ms. */
  holdMs?: readonly [number, number];
  faultKinds: readonly FaultKind[];
}

/** The real test: every primitive on every node, default options, every fault. */
export const SAFE_PROFILE: ChaosProfile = {
  primitives: ['lock', 'semaphore', 'election'],
  nodes: 'all',
  faultKinds: FAULT_KINDS,
};

/**
 * A deliberately unsafe setup, to show that the checker's 0 means something: locks bound to
 * `serfHealth` with no lock-delay (allowed, with a warning), held long, and a nemesis that
 * freezes a holder's node. Consul invalidates the frozen node's session within seconds and
 * the other contender acquires at once, while the frozen holder can only give up when its
 * TTL runs out.
 */
export const UNSAFE_PROFILE: ChaosProfile = {
  primitives: ['lock'],
  nodes: 'clients',
  lockOptions: { checks: ['serfHealth'], lockDelay: 0 },
  holdMs: [20_000, 30_000],
  faultKinds: ['freeze-holder'],
};

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  seed: number;
  durationMs: number;
  log?: (line: string) => void;
  /** Default {@link SAFE_PROFILE}. */
  profile?: ChaosProfile;
  /** A running 3-server, 2-client cluster to use (left running); default: one of its own. */
  cluster?: Cluster;
}

/** Figures of a run. */
export interface ChaosReport {
  seed: number;
  durationMs: number;
  check: CheckResult;
  faultsByKind: Partial<Record<FaultKind, number>>;
  faults: FaultRecord[];
  nemesisErrors: string[];
  contenderErrors: Record<string, number>;
  holds: Hold[];
  /** The primitives contended for. */
  primitives: readonly PrimitiveKind[];
}

/** Runs the nemesis test and returns its report (the caller asserts on it). */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[chaos] ${line}\n`));
  const rng = createPrng(options.seed);
  const profile = options.profile ?? SAFE_PROFILE;
  await using owned =
    options.cluster === undefined ? await startCluster({ servers: 3, clients: 2, log }) : undefined;
  const cluster = options.cluster ?? owned!;
  const holding = new Set<ContenderSpec>();
  const recorder: Recorder = {
    holds: [],
    errors: new Map(),
    holdingNodes: () => [...new Set([...holding].map((spec) => spec.node))],
  };
  const prefix = `chaos/${options.seed}-${Date.now()}`;
  const specs: ContenderSpec[] = [];
  for (const node of profile.nodes === 'all' ? cluster.nodes : cluster.clients) {
    for (const primitive of profile.primitives) {
      specs.push({
        id: `${primitive}@${node.name}`,
        primitive,
        node: node.name,
        // Through the node's relay, so the nemesis can delay a holder's traffic.
        address: node.proxyAddress,
        key: `${prefix}/${primitive}`,
        ...(profile.lockOptions === undefined ? {} : { lockOptions: profile.lockOptions }),
        ...(profile.holdMs === undefined ? {} : { holdMs: profile.holdMs }),
      });
    }
  }
  const faults: FaultRecord[] = [];
  const nemesisErrors: string[] = [];
  const stop = new AbortController();
  const runStart = performance.now();
  const contenders = specs.map((spec) => runContender(spec, rng.fork(), recorder, stop.signal, holding));
  const nemesis = runNemesis(
    {
      cluster,
      rng: rng.fork(),
      faults,
      errors: nemesisErrors,
      holdingNodes: recorder.holdingNodes,
      log,
      faultKinds: profile.faultKinds,
    },
    stop.signal,
  );
  const timer = setTimeout(() => stop.abort(), options.durationMs);
  try {
    await nemesis;
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
  const runEnd = performance.now();
  await Promise.all(contenders);
  const check = checkHistory(recorder.holds, runStart, runEnd);
  const faultsByKind: Partial<Record<FaultKind, number>> = {};
  for (const fault of faults) faultsByKind[fault.kind] = (faultsByKind[fault.kind] ?? 0) + 1;
  return {
    seed: options.seed,
    durationMs: Math.round(runEnd - runStart),
    check,
    faultsByKind,
    faults,
    nemesisErrors,
    contenderErrors: Object.fromEntries(recorder.errors),
    holds: recorder.holds,
    primitives: profile.primitives,
  };
}

/** A human-readable summary, with the timeline around every overlap. */
export function formatReport(report: ChaosReport): string {
  const lines = [`seed ${report.seed}, ${(report.durationMs / 1000).toFixed(1)} s`];
  for (const [kind, figures] of Object.entries(report.check.perPrimitive)) {
    if (figures.holds === 0 && !report.primitives.includes(kind as PrimitiveKind)) continue;
    lines.push(
      `  ${kind}: ${figures.holds} holds, max ${figures.maxConcurrent} at once, availability ${(figures.availability * 100).toFixed(1)}%`,
    );
  }
  lines.push(`  faults: ${JSON.stringify(report.faultsByKind)} (${report.faults.length} in all)`);
  lines.push(
    `  overlaps: ${report.check.overlaps.length}; fencing violations: ${report.check.fencingViolations.length}`,
  );
  lines.push(
    `  nemesis errors: ${report.nemesisErrors.length}; contender errors: ${JSON.stringify(report.contenderErrors)}`,
  );
  const ms = (t: number | undefined): string => (t === undefined ? 'open' : `${(t / 1000).toFixed(3)}s`);
  for (const overlap of report.check.overlaps.slice(0, 10)) {
    lines.push(`  OVERLAP ${overlap.primitive} at ${ms(overlap.at)}:`);
    for (const hold of overlap.holders) {
      lines.push(
        `    ${hold.contender} ${ms(hold.start)} → ${ms(hold.end)} (${hold.how}, token ${hold.token ?? '-'})`,
      );
    }
    for (const fault of report.faults.filter(
      (f) => f.end >= overlap.at - 30_000 && f.start <= overlap.at + 5_000,
    )) {
      lines.push(
        `    fault ${fault.kind} on ${fault.node} ${ms(fault.start)} → ${ms(fault.end)}: ${fault.detail}`,
      );
    }
  }
  for (const violation of report.check.fencingViolations.slice(0, 10)) {
    lines.push(
      `  FENCING ${violation.previous.contender} token ${violation.previous.token} then ${violation.next.contender} token ${violation.next.token} at ${ms(violation.next.start)}`,
    );
  }
  return lines.join('\n');
}
