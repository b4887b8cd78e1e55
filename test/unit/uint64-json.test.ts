import { describe, expect, it } from 'vitest';
import { parseConsulJson, stringifyConsulJson } from '../../src/transport/uint64-json.js';

describe('parseConsulJson', () => {
  it('keeps the lock flag exact, where JSON.parse rounds it', () => {
    const text = '[{"Key":"a","Flags":3304740253564472344,"ModifyIndex":7,"Value":null}]';
    expect((JSON.parse(text) as [{ Flags: number }])[0].Flags).not.toBe(3304740253564472344n);
    const parsed = parseConsulJson(text) as [{ Flags: bigint; ModifyIndex: bigint }];
    expect(parsed[0].Flags).toBe(3304740253564472344n);
    expect(parsed[0].ModifyIndex).toBe(7n);
  });

  it('keeps the semaphore flag (above 2^63) exact', () => {
    const parsed = parseConsulJson('{"Flags":16210313421097356768}') as { Flags: bigint };
    expect(parsed.Flags).toBe(16210313421097356768n);
  });

  it('returns uint64 fields as bigint even when small', () => {
    const parsed = parseConsulJson('{"CreateIndex":1,"LockIndex":0,"Other":5}') as Record<string, unknown>;
    expect(parsed).toEqual({ CreateIndex: 1n, LockIndex: 0n, Other: 5 });
  });

  it('gives other huge integers exactly as JSON.parse does (only uint64 fields are lifted)', () => {
    const text = '{"Big":18446744073709551615,"Small":12}';
    expect(parseConsulJson(text)).toStrictEqual(JSON.parse(text));
  });

  it('parses network coordinates: floats with 16 or more decimal digits (issue 10, item 1)', () => {
    const text =
      '{"Coord":{"Vec":[0.0005246854734420745,-0.00012345678901234567,1.2345678901234567e-5],"Error":1.5,"Adjustment":-0.00000123456789012345,"Height":0.0000102345678901234},"Index":12}';
    expect(parseConsulJson(text)).toStrictEqual({ ...(JSON.parse(text) as object), Index: 12n });
  });

  it('does not touch digits inside strings, escaped quotes, floats or negatives', () => {
    const text =
      '{"Key":"1234567890123456789","Note":"say \\"99999999999999999\\"","F":12345678901234567.5,"N":-12345678901234567,"Flags":12345678901234567890}';
    const parsed = parseConsulJson(text) as Record<string, unknown>;
    expect(parsed.Key).toBe('1234567890123456789');
    expect(parsed.Note).toBe('say "99999999999999999"');
    // These literals lose precision on purpose: the parser must behave exactly like JSON.parse for them.
    // eslint-disable-next-line no-loss-of-precision
    expect(parsed.F).toBe(12345678901234567.5);
    // eslint-disable-next-line no-loss-of-precision
    expect(parsed.N).toBe(-12345678901234567);
    expect(parsed.Flags).toBe(12345678901234567890n);
  });

  it('returns undefined for an empty body', () => {
    expect(parseConsulJson('')).toBeUndefined();
  });
});

describe('stringifyConsulJson', () => {
  it('writes bigints as exact bare integers', () => {
    const json = stringifyConsulJson({ Flags: 16210313421097356768n, Name: 'x', Nested: [{ Index: 1n }] });
    expect(json).toBe('{"Flags":16210313421097356768,"Name":"x","Nested":[{"Index":1}]}');
    expect(parseConsulJson(json)).toEqual({
      Flags: 16210313421097356768n,
      Name: 'x',
      Nested: [{ Index: 1n }],
    });
  });
});
