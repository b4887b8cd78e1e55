import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { Consul, ValidationError, type UserEvent } from '../../src/index.js';
import { EVENT_MAX_ENCODED_BYTES, eventIdToIndex, userEventSizeLowerBound } from '../../src/api/event.js';
import { sharedConsulAddress } from '../support/consul.js';

function uniqueName(label: string): string {
  return `consulkit-${label}-${randomBytes(4).toString('hex')}`;
}

describe('event', () => {
  let consul: Consul;
  let address: string;
  let nodeName: string;
  let serviceId: string;

  beforeAll(async () => {
    address = sharedConsulAddress();
    consul = new Consul({ address, env: {} });
    // The agent delivers an event to itself only if it passes the filters, so the filter
    // test needs the agent's node name and a local service with a tag (set up over plain
    // HTTP here: this file tests the event group, not the agent group).
    const self = await request(`${address}/v1/agent/self`);
    nodeName = ((await self.body.json()) as { Config: { NodeName: string } }).Config.NodeName;
    serviceId = uniqueName('svc');
    const registered = await request(`${address}/v1/agent/service/register`, {
      method: 'PUT',
      body: JSON.stringify({ ID: serviceId, Name: serviceId, Tags: ['blue', 'v2'] }),
    });
    await registered.body.dump();
    expect(registered.statusCode).toBe(200);
  });

  afterAll(async () => {
    const response = await request(`${address}/v1/agent/service/deregister/${serviceId}`, { method: 'PUT' });
    await response.body.dump();
    await consul.close();
  });

  /** Events arrive through gossip, also at the agent that fired them: poll until one shows up. */
  async function listUntil(name: string, id: string): Promise<UserEvent> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const found = (await consul.event.list({ name })).find((event) => event.ID === id);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`event ${id} never reached the agent's list`);
  }

  it('fires an event with a text payload and lists it by name', async () => {
    const name = uniqueName('text');
    const other = uniqueName('other');
    const fired = await consul.event.fire(name, 'héllo wörld');
    expect(fired).toMatchObject({ Name: name, NodeFilter: '', ServiceFilter: '', TagFilter: '', Version: 1 });
    expect(fired.ID).toMatch(/^[0-9a-f-]{36}$/);
    expect(String(fired.Payload)).toBe('héllo wörld');
    expect(typeof fired.LTime).toBe('bigint');
    const otherFired = await consul.event.fire(other);
    expect(otherFired.Payload).toBeNull();

    const listed = await listUntil(name, fired.ID);
    expect(String(listed.Payload)).toBe('héllo wörld');
    expect(listed.LTime).toBeGreaterThan(0n);
    const byName = await consul.event.list({ name });
    expect(byName.map((event) => event.Name)).toEqual([name]);
    expect((await listUntil(other, otherFired.ID)).Payload).toBeNull();
  });

  it('round-trips every byte value in a binary payload', async () => {
    const name = uniqueName('bin');
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const fired = await consul.event.fire(name, bytes);
    expect([...(fired.Payload ?? [])]).toEqual([...bytes]);
    const listed = await listUntil(name, fired.ID);
    expect(Buffer.isBuffer(listed.Payload)).toBe(true);
    expect([...(listed.Payload ?? [])]).toEqual([...bytes]);
  });

  it('echoes node, service and tag filters, and the agent applies them', async () => {
    const name = uniqueName('filtered');
    const nodeFilter = `^${nodeName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
    const fired = await consul.event.fire(name, 'x', { node: nodeFilter, service: serviceId, tag: '^blue$' });
    expect(fired).toMatchObject({ NodeFilter: nodeFilter, ServiceFilter: serviceId, TagFilter: '^blue$' });
    const listed = await listUntil(name, fired.ID);
    expect(listed).toMatchObject({ NodeFilter: nodeFilter, ServiceFilter: serviceId, TagFilter: '^blue$' });

    // Filters that exclude this agent: Consul accepts the event, but the agent drops it. A
    // matching event fired afterwards proves gossip had time to deliver the excluded one.
    const excluded = uniqueName('excluded');
    await consul.event.fire(excluded, 'x', { service: serviceId, tag: '^no-such-tag$' });
    await consul.event.fire(excluded, 'x', { node: '^no-such-node$' });
    const marker = await consul.event.fire(excluded, 'marker');
    await listUntil(excluded, marker.ID);
    const seen = await consul.event.list({ name: excluded });
    expect(seen.map((event) => event.ID)).toEqual([marker.ID]);
  });

  it('exposes a hash index and wakes a blocking list when a new event is fired', async () => {
    const name = uniqueName('block');
    const empty = await consul.event.list({ name }).withMeta();
    expect(empty.data).toEqual([]);
    // Consul answers an empty list with index 1, so a blocking query does not return at once.
    expect(empty.meta.index).toBe(1n);

    const first = await consul.event.fire(name, 'one');
    await listUntil(name, first.ID);
    const { data, meta } = await consul.event.list({ name }).withMeta();
    expect(data.map((event) => event.ID)).toEqual([first.ID]);
    expect(meta.index).toBe(eventIdToIndex(first.ID));

    const started = Date.now();
    const blocked = consul.event.list({ name, index: meta.index ?? 0n, wait: '30s' }).withMeta();
    let settled = false;
    void blocked.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false); // still held by Consul

    const second = await consul.event.fire(name, 'two');
    const woke = await blocked;
    expect(woke.data.map((event) => event.ID)).toEqual([first.ID, second.ID]);
    expect(woke.meta.index).toBe(eventIdToIndex(second.ID));
    expect(Date.now() - started).toBeLessThan(25_000); // hang guard: woke by the event, not by wait
  });

  it('accepts a payload below the gossip limit and rejects one above it before sending', async () => {
    const name = uniqueName('size');
    let max = 0;
    while (userEventSizeLowerBound(name, max + 1) <= EVENT_MAX_ENCODED_BYTES) max++;
    // The bound assumes the smallest Lamport-time encoding; leave room for a grown clock.
    const fired = await consul.event.fire(name, Buffer.alloc(max - 8, 1));
    expect(fired.Payload?.length).toBe(max - 8);

    const before = consul.stats().requests;
    await expect(consul.event.fire(name, Buffer.alloc(max + 1))).rejects.toThrow(ValidationError);
    await expect(consul.event.fire(name, 'x'.repeat(100 * 1024))).rejects.toThrow(ValidationError);
    expect(consul.stats().requests).toBe(before);
  });

  it('rejects bad input without sending anything', async () => {
    const before = consul.stats().requests;
    const invalid = [
      () => consul.event.fire(''),
      () => consul.event.fire('   '),
      () => consul.event.fire('a/../b'),
      () => consul.event.fire('x', 'p', { tag: 'blue' }),
      () => consul.event.fire('x', 42 as unknown as string),
      () => consul.event.fire('x', 'p', { node: 7 as unknown as string }),
    ];
    for (const call of invalid) await expect(call()).rejects.toThrow(ValidationError);
    expect(() => consul.event.list({ name: '' })).toThrow(ValidationError);
    expect(consul.stats().requests).toBe(before);
  });
});
