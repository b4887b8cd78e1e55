/**
 * KV key watches served by one recursive folder read when the client has fewer blocking
 * slots than loops: each watch keeps the semantics of a single-key watch (issue 11, item 2).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { KVPair, Watch } from '../../src/index.js';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';
import { waitFor } from '../support/wait.js';

const clients = new Clients(sharedConsulAddress());
afterAll(() => clients.closeAll());

type KeyWatch = Watch<KVPair | undefined>;

function record(watch: KeyWatch): (string | undefined)[] {
  const seen: (string | undefined)[] = [];
  watch.on('change', (entry) => seen.push(entry === undefined ? undefined : String(entry.Value)));
  return seen;
}

describe('coalesced KV key watches (2 blocking slots)', () => {
  it('see only their own key: exact match, siblings and deeper keys ignored, deletes reported', async () => {
    const consul = clients.create({ connections: 2, blockingConnections: 2 });
    const writer = clients.create();
    const p = `${uniquePrefix('coalesce')}/`;
    await writer.kv.put(`${p}a`, 'a1');
    await writer.kv.put(`${p}ab`, 'ab1');
    await writer.kv.put(`${p}a/deep`, 'deep1');
    await using a = consul.watch.key(`${p}a`);
    await using ab = consul.watch.key(`${p}ab`);
    await using c = consul.watch.key(`${p}c`);
    const [seenA, seenAb, seenC] = [record(a), record(ab), record(c)];
    await Promise.all([a.ready(), ab.ready(), c.ready()]);
    // Three keys of one folder on two slots: one folder read serves them.
    expect(consul.watch.stats()).toMatchObject({ loops: 1, coalescedGroups: 1, coalescedKeys: 3 });
    await waitFor('first values', () => seenA.length === 1 && seenAb.length === 1 && seenC.length === 1);
    expect([seenA, seenAb, seenC]).toEqual([['a1'], ['ab1'], [undefined]]);

    // The same entry and index a single-key read gives.
    const direct = await writer.kv.get(`${p}a`).withMeta();
    expect(a.current).toEqual(direct.data);
    expect(a.index).toBe(direct.meta.index);

    // Unwatched sibling, a deeper key and a key sharing the string prefix: none is a change
    // for `a`; the change to `c` written last proves the folder read saw all of them.
    await writer.kv.put(`${p}x`, 'x1');
    await writer.kv.put(`${p}a/deep`, 'deep2');
    await writer.kv.put(`${p}ab`, 'ab2');
    await writer.kv.put(`${p}c`, 'c1');
    await waitFor('c created', () => seenC.length === 2);
    expect(seenC).toEqual([undefined, 'c1']);
    expect(seenAb).toEqual(['ab1', 'ab2']);
    expect(seenA).toEqual(['a1']);

    await writer.kv.delete(`${p}a`);
    await waitFor('a deleted', () => seenA.length === 2);
    expect(seenA).toEqual(['a1', undefined]);
    expect(a.current).toBeUndefined();
    expect(seenAb).toEqual(['ab1', 'ab2']);
    expect(seenC).toEqual([undefined, 'c1']);
  });

  it('a watch joining a folder read that already has values gets its first change like any watch', async () => {
    const consul = clients.create({ connections: 2, blockingConnections: 2 });
    const writer = clients.create();
    const p = `${uniquePrefix('coalesce-join')}/`;
    for (const key of ['k1', 'k2', 'k3', 'k4']) await writer.kv.put(`${p}${key}`, `${key}-v1`);
    await using k1 = consul.watch.key(`${p}k1`);
    await using k2 = consul.watch.key(`${p}k2`);
    await using k3 = consul.watch.key(`${p}k3`);
    await Promise.all([k1.ready(), k2.ready(), k3.ready()]);
    expect(consul.watch.stats()).toMatchObject({ coalescedGroups: 1 });
    // Served at once from the folder read's last answer; listeners added after the call.
    await using k4 = consul.watch.key(`${p}k4`);
    const seen4 = record(k4);
    await waitFor('first change of the late watch', () => seen4.length === 1);
    expect(seen4).toEqual(['k4-v1']);
  });

  it('moving between per-key and folder reads is no change by itself, and changes still arrive', async () => {
    const consul = clients.create({ connections: 2, blockingConnections: 2 });
    const writer = clients.create();
    const p = `${uniquePrefix('coalesce-move')}/`;
    for (const key of ['k1', 'k2', 'k3']) await writer.kv.put(`${p}${key}`, `${key}-v1`);
    await using k1 = consul.watch.key(`${p}k1`);
    await using k2 = consul.watch.key(`${p}k2`);
    const [seen1, seen2] = [record(k1), record(k2)];
    await Promise.all([k1.ready(), k2.ready()]);
    // Two loops on two slots: each key has its own read.
    expect(consul.watch.stats()).toMatchObject({ loops: 2, coalescedGroups: 0 });
    await waitFor('first values', () => seen1.length === 1 && seen2.length === 1);

    const k3 = consul.watch.key(`${p}k3`);
    await k3.ready();
    expect(consul.watch.stats()).toMatchObject({ coalescedGroups: 1, coalescedKeys: 3 });
    await waitFor('per-key loops stopped', () => consul.watch.stats().loops === 1);
    await writer.kv.put(`${p}k1`, 'k1-v2');
    await waitFor('k1 changed through the folder read', () => seen1.length === 2);
    expect(seen1).toEqual(['k1-v1', 'k1-v2']);
    expect(seen2).toEqual(['k2-v1']);

    // Down to two keys, the folder read stays (hysteresis: 2 is above 3/4 of 2 slots)...
    await k3.close();
    await writer.kv.put(`${p}k2`, 'k2-v2');
    await waitFor('k2 changed', () => seen2.length === 2);
    // ...and down to one key the folder read saves nothing: the key is read on its own.
    await k2.close();
    await waitFor('back to a per-key read', () => consul.watch.stats().coalescedGroups === 0);
    await writer.kv.put(`${p}k1`, 'k1-v3');
    await waitFor('k1 changed through its own read', () => seen1.length === 3);
    expect(seen1).toEqual(['k1-v1', 'k1-v2', 'k1-v3']);
    expect(seen2).toEqual(['k2-v1', 'k2-v2']);
  });
});
