/**
 * One KV write applied as a transaction, so that its answer carries the entry as written and
 * with it the exact index of the write: the fencing token of an acquisition.
 *
 * @packageDocumentation
 */
import type { KVPair } from '../../api/kv.js';
import type { Txn } from '../../api/txn/txn.js';
import type { TxnKVOperation } from '../../api/txn/txn-types.js';
import { ConsulError, TxnError } from '../../errors.js';
import type { CallOptions } from '../../transport/types.js';

/** The outcome of {@link acquireWithIndex}. */
export type IndexedWrite =
  /** Applied; the entry as written (its `ModifyIndex` is the write's index). */
  | { readonly kind: 'written'; readonly entry: KVPair }
  /** Refused by Consul: held by another session, a lock-delay, a stale check-and-set index. */
  | { readonly kind: 'refused' };

/**
 * Applies one KV write (`lock`, or `cas`) as a transaction. An ACL denial rejects with
 * `PermissionDeniedError` (the txn group tells it from a refusal), so it is never retried as
 * if the key were busy.
 */
export async function acquireWithIndex(
  txn: Txn,
  operation: TxnKVOperation,
  call: CallOptions,
): Promise<IndexedWrite> {
  try {
    const { results } = await txn.execute([operation], call);
    const first = results[0];
    if (first === undefined || !('KV' in first)) {
      throw new ConsulError(
        'HTTP_ERROR',
        `Consul answered a ${operation.KV.Verb} transaction without its entry`,
      );
    }
    return { kind: 'written', entry: first.KV };
  } catch (error) {
    if (error instanceof TxnError) return { kind: 'refused' };
    throw error;
  }
}
