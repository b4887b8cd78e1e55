import { describe, expect, it } from 'vitest';
import { MAX_KV_VALUE_BYTES } from '../../src/api/kv.js';
import { MAX_TXN_OPERATIONS, parseTxnErrors, prepareTxn, txnKV } from '../../src/api/txn/txn.js';
import type { TxnOperation } from '../../src/api/txn/txn-types.js';
import { TxnError, ValidationError } from '../../src/errors.js';

const kv = txnKV;
const SESSION = 'adf4238a-882b-9ddc-4a9d-5b6758e4159e';

function expectInvalid(build: () => unknown, field?: string): void {
  let thrown: unknown;
  try {
    build();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ValidationError);
  if (field !== undefined) expect((thrown as ValidationError).field).toBe(field);
}

describe('txnKV builders', () => {
  it('build Consul wire forms with base64 values and bigint indexes', () => {
    expect(kv.set('a/b', 'hi', { flags: 42 })).toEqual({
      KV: { Verb: 'set', Key: 'a/b', Value: 'aGk=', Flags: 42n },
    });
    expect(kv.cas('a', Buffer.from([0, 255]), '18446744073709551615')).toEqual({
      KV: { Verb: 'cas', Key: 'a', Value: 'AP8=', Index: 18446744073709551615n },
    });
    expect(kv.lock('a', '', SESSION)).toEqual({
      KV: { Verb: 'lock', Key: 'a', Value: '', Session: SESSION },
    });
    expect(kv.unlock('a', 'x', SESSION).KV).toMatchObject({ Verb: 'unlock', Session: SESSION });
    expect(kv.get('a')).toEqual({ KV: { Verb: 'get', Key: 'a' } });
    expect(kv.getTree('p/')).toEqual({ KV: { Verb: 'get-tree', Key: 'p/' } });
    expect(kv.checkIndex('a', 7)).toEqual({ KV: { Verb: 'check-index', Key: 'a', Index: 7n } });
    expect(kv.checkSession('a', SESSION)).toEqual({
      KV: { Verb: 'check-session', Key: 'a', Session: SESSION },
    });
    expect(kv.checkNotExists('a')).toEqual({ KV: { Verb: 'check-not-exists', Key: 'a' } });
    expect(kv.delete('a')).toEqual({ KV: { Verb: 'delete', Key: 'a' } });
    expect(kv.deleteTree('p/')).toEqual({ KV: { Verb: 'delete-tree', Key: 'p/' } });
    expect(kv.deleteCas('a', 3n)).toEqual({ KV: { Verb: 'delete-cas', Key: 'a', Index: 3n } });
  });

  it('encode a Uint8Array view without the bytes around it', () => {
    const backing = new Uint8Array([9, 1, 2, 9]);
    expect(kv.set('a', backing.subarray(1, 3)).KV).toMatchObject({
      Value: Buffer.from([1, 2]).toString('base64'),
    });
  });

  it('reject bad input at once', () => {
    expectInvalid(() => kv.set('', 'x'), 'key');
    expectInvalid(() => kv.set('/a', 'x'), 'key');
    expectInvalid(() => kv.getTree(''), 'prefix');
    expectInvalid(() => kv.set('a', Buffer.alloc(MAX_KV_VALUE_BYTES + 1)), 'value');
    expectInvalid(() => kv.set('a', 5 as unknown as string), 'value');
    expectInvalid(() => kv.cas('a', 'x', -1), 'index');
    expectInvalid(() => kv.cas('a', 'x', 2 ** 60), 'index');
    expectInvalid(() => kv.checkIndex('a', 'abc'), 'index');
    expectInvalid(() => kv.lock('a', 'x', ''), 'session');
    expectInvalid(() => kv.checkSession('a', undefined as unknown as string), 'session');
    expectInvalid(() => kv.set('a', 'x', { flags: -2 }), 'flags');
  });

  it('accept a value of exactly the limit', () => {
    expect(() => kv.set('a', Buffer.alloc(MAX_KV_VALUE_BYTES))).not.toThrow();
  });
});

describe('prepareTxn', () => {
  it('marks transactions with only reads and checks as read-only', () => {
    expect(prepareTxn([kv.get('a'), kv.checkIndex('b', 1), kv.checkNotExists('c')]).readOnly).toBe(true);
    expect(prepareTxn([kv.get('a'), kv.delete('b')]).readOnly).toBe(false);
    expect(prepareTxn([{ Node: { Verb: 'get', Node: { Node: 'n1' } } }]).readOnly).toBe(true);
    expect(prepareTxn([{ Node: { Verb: 'set', Node: { Node: 'n1', Address: '10.0.0.1' } } }]).readOnly).toBe(
      false,
    );
  });

  it('normalises hand-written operations', () => {
    const { body } = prepareTxn([
      { KV: { Verb: 'set', Key: 'a' } } as unknown as TxnOperation,
      { KV: { Verb: 'cas', Key: 'a', Value: '', Index: 5 } } as unknown as TxnOperation,
    ]);
    expect(body).toEqual([
      { KV: { Verb: 'set', Key: 'a', Value: '' } },
      { KV: { Verb: 'cas', Key: 'a', Value: '', Index: 5n } },
    ]);
  });

  it('rejects empty and oversized lists', () => {
    expectInvalid(() => prepareTxn([]), 'operations');
    const ops = Array.from({ length: MAX_TXN_OPERATIONS }, (_, i) => kv.get(`k${i}`));
    expect(() => prepareTxn(ops)).not.toThrow();
    expectInvalid(() => prepareTxn([...ops, kv.get('one-more')]), 'operations');
    expectInvalid(() => prepareTxn('nope' as unknown as TxnOperation[]), 'operations');
  });

  it('rejects malformed operations', () => {
    const bad = (op: unknown) => () => prepareTxn([kv.get('ok'), op as TxnOperation]);
    expectInvalid(bad(null), 'operations[1]');
    expectInvalid(bad({}), 'operations[1]');
    expectInvalid(
      bad({ KV: { Verb: 'get', Key: 'a' }, Node: { Verb: 'get', Node: { Node: 'n' } } }),
      'operations[1]',
    );
    expectInvalid(bad({ KV: { Verb: 'bogus', Key: 'a' } }), 'operations[1].KV.Verb');
    expectInvalid(bad({ KV: { Verb: 'get', Key: '' } }), 'operations[1].KV.Key');
    expectInvalid(bad({ KV: { Verb: 'get', Key: '/a' } }), 'operations[1].KV.Key');
    expectInvalid(bad({ KV: { Verb: 'cas', Key: 'a', Value: '' } }), 'operations[1].KV.Index');
    expectInvalid(bad({ KV: { Verb: 'check-index', Key: 'a' } }), 'operations[1].KV.Index');
    expectInvalid(bad({ KV: { Verb: 'delete-cas', Key: 'a' } }), 'operations[1].KV.Index');
    expectInvalid(bad({ KV: { Verb: 'lock', Key: 'a', Value: '' } }), 'operations[1].KV.Session');
    expectInvalid(bad({ KV: { Verb: 'unlock', Key: 'a', Value: '' } }), 'operations[1].KV.Session');
    expectInvalid(bad({ KV: { Verb: 'check-session', Key: 'a' } }), 'operations[1].KV.Session');
    expectInvalid(bad({ KV: { Verb: 'set', Key: 'a', Value: 'not base64!' } }), 'operations[1].KV.Value');
    const tooBig = Buffer.alloc(MAX_KV_VALUE_BYTES + 3).toString('base64');
    expectInvalid(bad({ KV: { Verb: 'set', Key: 'a', Value: tooBig } }), 'operations[1].KV.Value');
    expectInvalid(bad({ Node: { Verb: 'frob', Node: { Node: 'n' } } }), 'operations[1].Node.Verb');
    expectInvalid(bad({ Node: { Verb: 'get', Node: {} } }), 'operations[1].Node.Node.Node');
    expectInvalid(bad({ Service: { Verb: 'get', Service: { ID: 's' } } }), 'operations[1].Service.Node');
    expectInvalid(
      bad({ Check: { Verb: 'cas', Check: { Node: 'n', CheckID: 'c' } } }),
      'operations[1].Check.Check.ModifyIndex',
    );
  });
});

describe('parseTxnErrors', () => {
  const body = JSON.stringify(
    {
      Results: null,
      Errors: [
        { OpIndex: 1, What: 'failed to set key "t/a", index is stale' },
        { OpIndex: 3, What: 'unknown KV verb "bogus"' },
      ],
    },
    null,
    4,
  );

  it('reads Consul 409 bodies', () => {
    expect(parseTxnErrors(body)).toEqual([
      { opIndex: 1, what: 'failed to set key "t/a", index is stale' },
      { opIndex: 3, what: 'unknown KV verb "bogus"' },
    ]);
  });

  it('recovers the complete entries of a body cut short', () => {
    const cut = body.slice(0, body.indexOf('unknown KV'));
    expect(parseTxnErrors(cut)).toEqual([{ opIndex: 1, what: 'failed to set key "t/a", index is stale' }]);
  });

  it('feeds TxnError', () => {
    const error = new TxnError(parseTxnErrors(body));
    expect(error.code).toBe('TXN_FAILED');
    expect(error.errors.map((e) => e.opIndex)).toEqual([1, 3]);
    expect(error.message).toContain('operation 1: failed to set key');
  });
});
