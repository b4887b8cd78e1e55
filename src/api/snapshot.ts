/**
 * Snapshots of the servers' state: `/v1/snapshot` (KV, catalog, sessions, ACLs, prepared
 * queries, config entries…, as one gzipped tar archive).
 *
 * @packageDocumentation
 */
import { optionKeys } from '../options-check.js';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ValidationError } from '../errors.js';
import type { Transport } from '../transport/transport.js';
import { CALL_OPTION_KEYS, type CallOptions } from '../transport/types.js';

/** Options of {@link Snapshots.save}. */
export interface SnapshotSaveOptions extends CallOptions {
  /** Let any server answer, not only the leader (e.g. while there is none). Default false. */
  stale?: boolean;
}

/** A snapshot that was taken. */
export interface SavedSnapshot {
  /** The archive, as Consul sent it. */
  stream: Readable;
  /** Size of the archive in bytes. */
  bytes: number;
  /** `X-Consul-Index`: the Raft index the snapshot was taken at. */
  index: bigint | undefined;
}

/** A snapshot written to a file by {@link Snapshots.saveToFile}. */
export interface SnapshotFile {
  /** The file written. */
  path: string;
  /** Size of the archive in bytes. */
  bytes: number;
  /** The Raft index the snapshot was taken at. */
  index: bigint | undefined;
}

/** What {@link Snapshots.restore} accepts: bytes, or a stream of them (e.g. `fs.createReadStream`). */
export type SnapshotSource = Uint8Array | Readable | AsyncIterable<Uint8Array>;

async function collect(source: SnapshotSource): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source === null || typeof source !== 'object' || !(Symbol.asyncIterator in source)) {
    throw new ValidationError('snapshot', 'must be a Buffer, Uint8Array or readable stream');
  }
  const chunks: Uint8Array[] = [];
  for await (const chunk of source as AsyncIterable<unknown>) {
    if (typeof chunk === 'string') throw new ValidationError('snapshot', 'stream must yield bytes, not text');
    chunks.push(chunk as Uint8Array);
  }
  return Buffer.concat(chunks);
}

/** Every key of {@link SnapshotSaveOptions}, for the refusal of a misspelt one. */
const SNAPSHOT_SAVE_OPTION_KEYS = optionKeys<CallOptions & SnapshotSaveOptions>()([
  ...CALL_OPTION_KEYS,
  'stale',
]);

/**
 * The `snapshot` endpoint group: `consul.snapshot`. Both directions hold the whole archive
 * in memory (the transport reads and sends bodies whole); a snapshot is the size of the
 * servers' state, which Consul itself keeps in memory too.
 */
export class Snapshots {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /**
   * Takes a snapshot. Needs a management token when ACLs are on.
   *
   * @example
   * ```ts
   * const { stream, index } = await consul.snapshot.save();
   * await pipeline(stream, fs.createWriteStream('backup.snap'));
   * ```
   */
  async save(options: SnapshotSaveOptions = {}): Promise<SavedSnapshot> {
    const { stale, ...call } = options;
    if (stale !== undefined && typeof stale !== 'boolean')
      throw new ValidationError('stale', 'must be a boolean');
    const response = await this.#transport.request<Buffer>({
      method: 'GET',
      path: '/v1/snapshot',
      query: { stale: stale === true },
      call,
      optionKeys: SNAPSHOT_SAVE_OPTION_KEYS,
      response: 'buffer',
    });
    return {
      stream: Readable.from([response.body]),
      bytes: response.body.byteLength,
      index: response.meta.index,
    };
  }

  /** Takes a snapshot and writes it to `path` (replacing the file). */
  async saveToFile(path: string, options: SnapshotSaveOptions = {}): Promise<SnapshotFile> {
    if (typeof path !== 'string' || path === '')
      throw new ValidationError('path', 'must be a non-empty string');
    const { stream, bytes, index } = await this.save(options);
    await pipeline(stream, createWriteStream(path));
    return { path, bytes, index };
  }

  /**
   * Restores a snapshot, replacing the servers' whole state with it (writes made since are
   * lost). Needs a management token when ACLs are on. Never retried: a restore is not
   * something to repeat after an unclear failure.
   */
  async restore(snapshot: SnapshotSource, options: CallOptions = {}): Promise<void> {
    const bytes = await collect(snapshot);
    if (bytes.byteLength === 0) throw new ValidationError('snapshot', 'is empty');
    await this.#transport.request({
      method: 'PUT',
      path: '/v1/snapshot',
      body: { raw: bytes },
      call: options,
      idempotent: false,
      response: 'none',
    });
  }
}
