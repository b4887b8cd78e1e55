import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consul, ValidationError } from '../../src/index.js';
import { startConsul, type ConsulInstance } from '../../src/testing/index.js';

// A restore replaces the agent's whole state, so this file runs on an agent of its own.
describe('snapshot (dedicated agent)', () => {
  let agent: ConsulInstance;
  let consul: Consul;
  let dir: string;

  beforeAll(async () => {
    agent = await startConsul();
    consul = new Consul({ address: agent.address, env: {} });
    dir = await mkdtemp(join(tmpdir(), 'consulkit-snapshot-'));
  });

  afterAll(async () => {
    await consul?.close();
    await agent?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('saves to a stream and a file, and a restore drops the writes made since', async () => {
    await consul.kv.put('snap/kept', 'before');
    const kept = await consul.kv.get('snap/kept');

    const saved = await consul.snapshot.save();
    expect(saved.index).toBeGreaterThanOrEqual(kept!.ModifyIndex);
    // Not bounded above: the agent's own writes (coordinates, anti-entropy) move the index on.
    const archive = Buffer.concat(await saved.stream.toArray());
    expect(archive.byteLength).toBe(saved.bytes);
    // Consul's snapshot archive is gzip-compressed.
    expect([archive[0], archive[1]]).toEqual([0x1f, 0x8b]);

    const path = join(dir, 'backup.snap');
    const file = await consul.snapshot.saveToFile(path, { stale: true });
    expect(file.path).toBe(path);
    expect((await stat(path)).size).toBe(file.bytes);
    expect(file.index).toBeGreaterThan(0n);

    await consul.kv.put('snap/after', 'written after the snapshot');
    await consul.kv.put('snap/kept', 'changed');

    await consul.snapshot.restore(createReadStream(path));

    expect(await consul.kv.get('snap/after')).toBeUndefined();
    expect(String((await consul.kv.get('snap/kept'))?.Value)).toBe('before');

    // The in-memory archive restores too.
    await consul.kv.put('snap/after', 'again');
    await consul.snapshot.restore(archive);
    expect(await consul.kv.get('snap/after')).toBeUndefined();
  });

  it('refuses what is not a snapshot before sending, and passes on what Consul refuses', async () => {
    const before = consul.stats().requests;
    await expect(consul.snapshot.restore(Buffer.alloc(0))).rejects.toThrow(ValidationError);
    await expect(consul.snapshot.restore('archive' as unknown as Buffer)).rejects.toThrow(ValidationError);
    await expect(consul.snapshot.saveToFile('')).rejects.toThrow(/path/);
    await expect(consul.snapshot.save({ stale: 'yes' as unknown as boolean })).rejects.toThrow(/stale/);
    expect(consul.stats().requests).toBe(before);
    await expect(consul.snapshot.restore(Buffer.from('not a snapshot'))).rejects.toMatchObject({
      status: 500,
    });
    // The failed restore changed nothing.
    expect(String((await consul.kv.get('snap/kept'))?.Value)).toBe('before');
  });
});
