/**
 * The transport's own exchange with the agent (undici `dispatch` with a collecting handler):
 * abort listeners, queued aborts, bytes of their own and metadata from the raw headers,
 * against a real Consul.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Consul } from '../../src/index.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';

describe('transport exchange', () => {
  it('a signal shared by many calls keeps no abort listener once they are answered', async () => {
    const consul = new Consul({ address: sharedConsulAddress(), env: {} });
    const key = `${uniquePrefix('exchange')}/k`;
    try {
      await consul.kv.put(key, 'v');
      const controller = new AbortController();
      await Promise.all(Array.from({ length: 50 }, () => consul.kv.get(key, { signal: controller.signal })));
      await consul.kv.get('consulkit-test/absent-key', { signal: controller.signal });
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    } finally {
      await consul.kv.delete(key);
      await consul.close();
    }
  });

  it('an abort of a blocking read in flight rejects with its reason and leaves no listener', async () => {
    const consul = new Consul({ address: sharedConsulAddress(), env: {} });
    const key = `${uniquePrefix('exchange')}/blocking`;
    try {
      await consul.kv.put(key, 'v');
      const { meta } = await consul.kv.get(key).withMeta();
      const controller = new AbortController();
      const pending = consul.kv.get(key, { index: meta.index ?? 1n, wait: '30s', signal: controller.signal });
      await new Promise((resolve) => setTimeout(resolve, 200));
      controller.abort(new Error('caller left'));
      await expect(pending).rejects.toThrow('caller left');
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    } finally {
      await consul.kv.delete(key);
      await consul.close();
    }
  });

  it('a read aborted while queued behind a busy connection rejects, and the reads around it are answered', async () => {
    // One short connection: the reads sent before it keep it busy, so this one waits in
    // undici's queue when its signal fires.
    const consul = new Consul({ address: sharedConsulAddress(), env: {}, connections: 1 });
    const key = `${uniquePrefix('exchange')}/queued`;
    try {
      await consul.kv.put(key, 'v');
      const before = Array.from({ length: 20 }, () => consul.kv.get(key));
      const controller = new AbortController();
      const queued = consul.kv.get(key, { signal: controller.signal });
      controller.abort(new Error('no longer wanted'));
      await expect(queued).rejects.toThrow('no longer wanted');
      const answered = await Promise.all(before);
      expect(answered.map((pair) => pair?.Value.toString())).toEqual(Array(20).fill('v'));
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    } finally {
      await consul.kv.delete(key);
      await consul.close();
    }
  });

  it('raw values are bytes of their own, not a view into a socket buffer', async () => {
    const consul = new Consul({ address: sharedConsulAddress(), env: {} });
    const key = `${uniquePrefix('exchange')}/raw`;
    try {
      await consul.kv.put(key, Buffer.from([0, 1, 2, 250, 251, 252]));
      const raw = await consul.kv.getRaw(key);
      expect(raw).toEqual(Buffer.from([0, 1, 2, 250, 251, 252]));
      expect(raw?.byteOffset).toBe(0);
      expect(raw?.buffer.byteLength).toBe(6);
    } finally {
      await consul.kv.delete(key);
      await consul.close();
    }
  });

  it('metadata read from the raw headers matches what the agent sent', async () => {
    const consul = new Consul({ address: sharedConsulAddress(), env: {} });
    const key = `${uniquePrefix('exchange')}/meta`;
    try {
      await consul.kv.put(key, 'v');
      const { data, meta } = await consul.kv.get(key).withMeta();
      const response = await fetch(`${sharedConsulAddress()}/v1/kv/${key}`);
      await response.arrayBuffer();
      expect(meta.knownLeader).toBe(response.headers.get('x-consul-knownleader') === 'true');
      expect(meta.index).toBe(BigInt(response.headers.get('x-consul-index') ?? '-1'));
      expect(meta.index).toBe(data?.ModifyIndex);
      expect(meta.lastContact).toBe(0);
    } finally {
      await consul.kv.delete(key);
      await consul.close();
    }
  });
});
