/**
 * Unknown option keys of the low-level API calls, `healthReport()`, `startConsul()` and
 * `startCluster()` are refused before anything is sent or started. The client points at a
 * port nothing listens on: a call that got past the check would fail with an unavailable
 * agent instead, and count a request.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Consul, UnknownOptionError } from '../../src/index.js';
import { startCluster, startConsul } from '../../src/testing/index.js';
import { resolveClusterOptions } from '../../src/testing/cluster-options.js';
import { CALL_OPTION_KEYS, READ_OPTION_KEYS } from '../../src/transport/types.js';

const consul = new Consul({ address: 'http://127.0.0.1:1', env: {}, retry: { retries: 0 } });
afterAll(() => consul.close());

/** The rejection of `run`, or `undefined` when it resolved. */
async function failureOf(run: () => unknown): Promise<unknown> {
  return Promise.resolve()
    .then(run)
    .then(
      () => undefined,
      (error: unknown) => error,
    );
}

describe('transport option keys', () => {
  it('lists each options type once, reads extending calls', () => {
    expect([...CALL_OPTION_KEYS].sort()).toEqual(['datacenter', 'retries', 'signal', 'timeout', 'token']);
    expect(READ_OPTION_KEYS).toEqual(expect.arrayContaining([...CALL_OPTION_KEYS]));
    expect(READ_OPTION_KEYS.length).toBe(CALL_OPTION_KEYS.length + 6);
  });

  it('refuses a misspelt key of a write, with the method its own keys suggest, before sending', async () => {
    const before = consul.stats().requests;
    const error = await failureOf(() => consul.kv.put('a', 'b', { cass: 0 } as never));
    expect(error).toBeInstanceOf(UnknownOptionError);
    expect(error).toMatchObject({ field: 'cass', suggestion: 'cas' });
    expect((error as Error).message).toContain('PUT /v1/kv/a');
    expect(consul.stats().requests).toBe(before);
  });

  it('refuses a misspelt read key, listing the known ones when none is close', async () => {
    const error = await failureOf(() => consul.catalog.services({ zzzzzz: true } as never));
    expect(error).toBeInstanceOf(UnknownOptionError);
    expect((error as UnknownOptionError).suggestion).toBeUndefined();
    expect((error as Error).message).toContain('known: datacenter, token');
    expect(await failureOf(() => consul.kv.get('a', { consistncy: 'stale' } as never))).toMatchObject({
      suggestion: 'consistency',
    });
  });

  it('suggests the own keys of the methods that take options of their own', async () => {
    const probes: [() => unknown, string][] = [
      [() => consul.configEntry.set({ Kind: 'service-defaults', Name: 'web' }, { cass: 0 } as never), 'cas'],
      [() => consul.operator.autopilotSetConfiguration({} as never, { cass: 0 } as never), 'cas'],
      [() => consul.health.service('web', { pasing: true } as never), 'passing'],
      [() => consul.kv.delete('a', { recuse: true } as never), 'recurse'],
      [() => consul.kv.keys('a/', { separtor: '/' } as never), 'separator'],
      [() => consul.agent.members({ wna: true } as never), 'wan'],
      [() => consul.agent.forceLeave('n1', { prnue: true } as never), 'prune'],
      [
        () => consul.agent.service.register({ Name: 'web' }, { replaceExistingCheck: true } as never),
        'replaceExistingChecks',
      ],
      [() => consul.catalog.service('web', { neer: '_agent' } as never), 'near'],
      [() => consul.health.checks('web', { nodeMta: {} } as never), 'nodeMeta'],
      [() => consul.event.fire('e', 'x', { nod: 'n1' } as never), 'node'],
      [() => consul.event.list({ nmae: 'e' } as never), 'name'],
      [() => consul.acl.token.list({ rol: 'r' } as never), 'role'],
      [() => consul.acl.role.list({ polcy: 'p' } as never), 'policy'],
      [() => consul.txn.execute([consul.txn.kv.get('a')], { consistncy: 'stale' } as never), 'consistency'],
      [() => consul.query.execute('web', { limt: 1 } as never), 'limit'],
      [() => consul.coordinate.nodes({ segmnt: 's' } as never), 'segment'],
      [() => consul.operator.keyringList({ relayFactr: 1 } as never), 'relayFactor'],
      [() => consul.operator.raftTransferLeader({ ib: 'x' } as never), 'id'],
      [() => consul.snapshot.save({ stal: true } as never), 'stale'],
    ];
    const failures: string[] = [];
    for (const [run, suggestion] of probes) {
      const before = consul.stats().requests;
      const error = await failureOf(run);
      const sent = consul.stats().requests - before;
      if (!(error instanceof UnknownOptionError) || error.suggestion !== suggestion || sent !== 0)
        failures.push(`${suggestion}: ${String(error)} (${sent} sent)`);
    }
    expect(failures).toEqual([]);
  });

  it('refuses a read key in a write (index means nothing to a write)', async () => {
    const error = await failureOf(() => consul.kv.put('a', 'b', { index: 5 } as never));
    expect(error).toBeInstanceOf(UnknownOptionError);
    expect((error as UnknownOptionError).field).toBe('index');
  });

  it('sends calls with known keys or no options (they fail here only for the absent agent)', async () => {
    for (const run of [
      () => consul.kv.put('a', 'b', { cas: 0, timeout: '2s', retries: 0 }),
      () => consul.kv.get('a', { consistency: 'stale', timeout: '2s', retries: 0 }),
      () => consul.kv.keys('a/', { separator: '/', retries: 0 }),
      () => consul.status.leader(),
    ]) {
      const before = consul.stats().requests;
      const error = await failureOf(run);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(UnknownOptionError);
      expect(consul.stats().requests).toBeGreaterThan(before);
    }
  });
});

describe('healthReport() option keys', () => {
  it('rejects a misspelt key before probing the agent', async () => {
    const before = consul.stats().requests;
    await expect(consul.healthReport({ timeuot: '1s' } as never)).rejects.toMatchObject({
      name: 'UnknownOptionError',
      field: 'timeuot',
      suggestion: 'timeout',
    });
    expect(consul.stats().requests).toBe(before);
  });

  it('probes with its known keys', async () => {
    const report = await consul.healthReport({ timeout: '2s' });
    expect(report.agent.reachable).toBe(false);
  });
});

describe('startConsul() and startCluster() option keys', () => {
  it('startConsul refuses a misspelt key, also of acl and tls, before starting anything', async () => {
    const lines: string[] = [];
    const log = (line: string): void => void lines.push(line);
    await expect(startConsul({ nodeNmae: 'x', log } as never)).rejects.toMatchObject({
      field: 'nodeNmae',
      suggestion: 'nodeName',
    });
    await expect(startConsul({ acl: { defaultPolcy: 'allow' }, log } as never)).rejects.toMatchObject({
      field: 'acl.defaultPolcy',
      suggestion: 'acl.defaultPolicy',
    });
    await expect(startConsul({ tls: { verifyIncomming: true }, log } as never)).rejects.toBeInstanceOf(
      UnknownOptionError,
    );
    // The harness logs the backend it chose as its first step: nothing got that far.
    expect(lines).toEqual([]);
  });

  it('startCluster refuses a misspelt key, also of acl, before starting anything', async () => {
    expect(() => resolveClusterOptions({ server: 1 } as never)).toThrow(UnknownOptionError);
    expect(() => resolveClusterOptions({ acl: { mastrToken: 'x' } } as never)).toThrow(
      "unknown option of startCluster(); did you mean 'acl.masterToken'?",
    );
    await expect(startCluster({ clinets: 0 } as never)).rejects.toMatchObject({ suggestion: 'clients' });
    expect(resolveClusterOptions({ servers: 1, clients: 0, acl: { masterToken: 'x' } }).servers).toBe(1);
  });
});
