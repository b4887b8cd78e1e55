/**
 * Network partitions for the binary cluster backend: iptables rules that cut one agent from
 * every other agent (Serf LAN over TCP and UDP, server RPC) while its HTTP API keeps
 * answering the application on the same machine.
 *
 * Every rule carries a comment `consulkit:<pid>:<tag>`, so rules left behind by a process
 * that died without cleaning up are recognised and removed by the next cluster start, and
 * the exit hook of this process removes its own.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { trackExitHook } from './cleanup.js';
import { pidAlive } from './loopback-claims.js';

const execFileAsync = promisify(execFile);
const IPTABLES = 'iptables';
const CHAINS = ['INPUT', 'OUTPUT'] as const;
const COMMENT_PREFIX = 'consulkit:';

/** What the rules need to know about one agent. */
export interface FaultEndpoint {
  ip: string;
  /** Serf LAN and WAN (when any) listen on TCP and UDP; server RPC on TCP. */
  ports: { serfLan: number; serfWan: number | undefined; server: number };
}

/** One rule: its chain and its spec without `-I CHAIN`/`-D CHAIN`. */
export interface RuleSpec {
  chain: 'INPUT' | 'OUTPUT';
  args: string[];
}

/** The packet mark of packets an isolated agent sends (unique per loopback address). */
export function isolationMark(ip: string): string {
  const [, , b = '0', c = '0'] = ip.split('.');
  return `0x${(0x6b000000 | (Number(b) << 8) | Number(c)).toString(16)}`;
}

/**
 * The iptables rules that isolate `node` from `others`.
 *
 * Packets are dropped on INPUT, i.e. after they were sent: a DROP on OUTPUT would make the
 * sender's `sendto` fail with EPERM, and memberlist treats a local send error as "could not
 * probe" rather than "no answer", so the node would never be suspected.
 * - With `cgroupPath`, every packet the agent sends to another agent's address is marked
 *   on OUTPUT (the only place a cgroup match sees the sending socket) and dropped on INPUT,
 *   whichever source address it carries. Without it, packets from the agent's address are
 *   dropped (which misses memberlist's TCP state exchange, dialled from 127.0.0.1).
 * - Packets to the agent's cluster ports from anyone but itself are dropped; its HTTP port
 *   is never matched, so the application on this machine still reaches it.
 */
export function isolationRuleSpecs(
  node: FaultEndpoint,
  others: readonly FaultEndpoint[],
  comment: string,
  cgroupPath: string | undefined,
): RuleSpec[] {
  const tag = ['-m', 'comment', '--comment', comment];
  const mark = isolationMark(node.ip);
  const rules: RuleSpec[] = [];
  for (const other of others) {
    if (other.ip === node.ip) continue;
    if (cgroupPath === undefined) {
      rules.push({ chain: 'INPUT', args: ['-s', node.ip, '-d', other.ip, ...tag, '-j', 'DROP'] });
    } else {
      rules.push({
        chain: 'OUTPUT',
        args: [
          '-m',
          'cgroup',
          '--path',
          cgroupPath,
          '-d',
          other.ip,
          ...tag,
          '-j',
          'MARK',
          '--set-mark',
          mark,
        ],
      });
    }
  }
  if (cgroupPath !== undefined) {
    rules.push({ chain: 'INPUT', args: ['-m', 'mark', '--mark', mark, ...tag, '-j', 'DROP'] });
  }
  const serfPorts = [node.ports.serfLan, ...(node.ports.serfWan === undefined ? [] : [node.ports.serfWan])];
  const tcpPorts = [...serfPorts, node.ports.server].join(',');
  for (const [proto, ports] of [
    ['tcp', tcpPorts],
    ['udp', serfPorts.join(',')],
  ] as const) {
    rules.push({
      chain: 'INPUT',
      args: [
        '!',
        '-s',
        node.ip,
        '-d',
        node.ip,
        '-p',
        proto,
        '-m',
        'multiport',
        '--dports',
        ports,
        ...tag,
        '-j',
        'DROP',
      ],
    });
  }
  return rules;
}

/** The comment for rules of this process: `consulkit:<pid>:<tag>`. */
export function ruleComment(tag: string): string {
  return `${COMMENT_PREFIX}${process.pid}:${tag}`;
}

/** The pid a rule comment names, or undefined when the rule is not one of ours. */
export function commentPid(comment: string): number | undefined {
  if (!comment.startsWith(COMMENT_PREFIX)) return undefined;
  const pid = Number(comment.slice(COMMENT_PREFIX.length).split(':')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Parses `iptables -S` output into the specs (`-A CHAIN …` split into chain and arguments)
 * of the rules whose comment passes `select`.
 */
export function selectRules(listing: string, select: (comment: string) => boolean): RuleSpec[] {
  const out: RuleSpec[] = [];
  for (const line of listing.split('\n')) {
    const words = line.trim().split(/\s+/);
    const chain = words[1];
    if (words[0] !== '-A' || (chain !== 'INPUT' && chain !== 'OUTPUT')) continue;
    const at = words.indexOf('--comment');
    const comment = at < 0 ? undefined : words[at + 1]?.replace(/^"|"$/g, '');
    if (comment === undefined || !select(comment)) continue;
    out.push({ chain, args: words.slice(2).map((word) => word.replace(/^"|"$/g, '')) });
  }
  return out;
}

async function iptables(args: string[]): Promise<void> {
  try {
    await execFileAsync(IPTABLES, ['-w', '5', ...args], { timeout: 20_000 });
  } catch (error) {
    const stderr = ((error as { stderr?: string }).stderr ?? '').trim();
    throw new Error(
      `consulkit/testing: iptables ${args.join(' ')} failed: ${stderr || (error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/** `iptables -S` of both chains the isolation uses. */
async function listRules(): Promise<string> {
  let out = '';
  for (const chain of CHAINS) {
    out += (await execFileAsync(IPTABLES, ['-w', '5', '-S', chain], { timeout: 20_000 })).stdout;
  }
  return out;
}

let probe: Promise<void> | undefined;

/**
 * Checks once per process that iptables can list rules here (root, a working backend);
 * the error explains that isolate() needs it.
 */
export function ensureIptables(): Promise<void> {
  probe ??= iptables(['-S']).catch((error: unknown) => {
    probe = undefined;
    throw new Error(
      'consulkit/testing: isolate() needs iptables usable by this process (root, or CAP_NET_ADMIN): ' +
        (error as Error).message,
      { cause: error },
    );
  });
  return probe;
}

/**
 * Removes rules left behind by processes that no longer run (a test process that was
 * SIGKILLed cannot run its exit hook). Quietly does nothing where iptables is unusable.
 */
export async function sweepStaleRules(): Promise<number> {
  let listing: string;
  try {
    listing = await listRules();
  } catch {
    return 0;
  }
  const stale = selectRules(listing, (comment) => {
    const pid = commentPid(comment);
    return pid !== undefined && !pidAlive(pid);
  });
  for (const rule of stale) await iptables(['-D', rule.chain, ...rule.args]);
  return stale.length;
}

/** A set of rules in force; `remove()` is idempotent and also runs on process exit. */
export interface AppliedRules {
  remove(): Promise<void>;
}

/** Inserts the rules; on any failure the ones already inserted are taken out again. */
export async function applyRules(rules: readonly RuleSpec[]): Promise<AppliedRules> {
  await ensureIptables();
  const inserted: RuleSpec[] = [];
  const removeSync = (): void => {
    for (const rule of inserted) {
      spawnSync(IPTABLES, ['-w', '5', '-D', rule.chain, ...rule.args], { stdio: 'ignore' });
    }
  };
  const forget = trackExitHook(removeSync);
  try {
    for (const rule of rules) {
      await iptables(['-I', rule.chain, ...rule.args]);
      inserted.push(rule);
    }
  } catch (error) {
    removeSync();
    forget();
    throw error;
  }
  let removing: Promise<void> | undefined;
  return {
    remove() {
      removing ??= (async () => {
        for (const rule of inserted) await iptables(['-D', rule.chain, ...rule.args]);
        forget();
      })();
      return removing;
    },
  };
}

/** Rules of this process still in the chain (for tests that check nothing is left behind). */
export async function ownRulesInForce(): Promise<number> {
  return selectRules(await listRules(), (comment) => commentPid(comment) === process.pid).length;
}
