import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { OutlierDetector, resolveOutlierSettings } from '../../src/primitives/balancer/balancer-outliers.js';

const settings = { consecutiveFailures: 3, ejectionTimeMs: 1_000, maxEjectedPercent: 50 };

describe('resolveOutlierSettings', () => {
  it('gives the defaults, turns off with false, and converts durations', () => {
    expect(resolveOutlierSettings(undefined)).toEqual({
      consecutiveFailures: 5,
      ejectionTimeMs: 30_000,
      maxEjectedPercent: 50,
    });
    expect(resolveOutlierSettings(false)).toBeUndefined();
    expect(
      resolveOutlierSettings({ consecutiveFailures: 2, ejectionTime: '2s', maxEjectedPercent: 100 }),
    ).toEqual({
      consecutiveFailures: 2,
      ejectionTimeMs: 2_000,
      maxEjectedPercent: 100,
    });
  });

  it('rejects values out of range with a ValidationError naming the field', () => {
    const bad = [
      { consecutiveFailures: 0 },
      { consecutiveFailures: 1.5 },
      { maxEjectedPercent: 0 },
      { maxEjectedPercent: 101 },
      { maxEjectedPercent: Number.NaN },
      { ejectionTime: 0 },
      { ejectionTime: 'soon' },
    ];
    for (const option of bad) {
      expect(() => resolveOutlierSettings(option as never), JSON.stringify(option)).toThrow(ValidationError);
    }
    expect(() => resolveOutlierSettings({ consecutiveFailures: 0 })).toThrow(/consecutiveFailures/);
    expect(() => resolveOutlierSettings('on' as never)).toThrow(/outlierDetection/);
  });
});

describe('OutlierDetector', () => {
  it('ejects after the threshold of failures in a row, for the ejection time', () => {
    const detector = new OutlierDetector(settings);
    expect(detector.recordFailure('a', 4, 0)).toEqual({ ejected: false, failures: 1 });
    expect(detector.recordFailure('a', 4, 1)).toEqual({ ejected: false, failures: 2 });
    expect(detector.recordFailure('a', 4, 2)).toEqual({ ejected: true, failures: 3, until: 1_002 });
    expect(detector.isEjected('a', 1_001)).toBe(true);
    expect(detector.ejectedKeys(1_001)).toEqual(['a']);
    expect(detector.isEjected('a', 1_002)).toBe(false);
    expect(detector.ejectedKeys(1_002)).toEqual([]);
  });

  it('a success ends the run of failures', () => {
    const detector = new OutlierDetector(settings);
    detector.recordFailure('a', 4, 0);
    detector.recordFailure('a', 4, 0);
    detector.recordSuccess('a');
    expect(detector.recordFailure('a', 4, 0)).toEqual({ ejected: false, failures: 1 });
  });

  it('a readmitted instance needs a full new run of failures to be ejected again', () => {
    const detector = new OutlierDetector(settings);
    for (let i = 0; i < 3; i++) detector.recordFailure('a', 4, 0);
    expect(detector.isEjected('a', 2_000)).toBe(false);
    expect(detector.recordFailure('a', 4, 2_000).ejected).toBe(false);
    expect(detector.recordFailure('a', 4, 2_000).ejected).toBe(false);
    expect(detector.recordFailure('a', 4, 2_000).ejected).toBe(true);
  });

  it('never ejects more than the cap, and never the last instance', () => {
    const detector = new OutlierDetector(settings);
    const failThrice = (key: string, inRotation: number): boolean => {
      detector.recordFailure(key, inRotation, 0);
      detector.recordFailure(key, inRotation, 0);
      return detector.recordFailure(key, inRotation, 0).ejected;
    };
    // 4 in rotation, 50%: two may be out at once.
    expect(failThrice('a', 4)).toBe(true);
    expect(failThrice('b', 4)).toBe(true);
    expect(failThrice('c', 4)).toBe(false);
    expect(detector.ejectedCount(0)).toBe(2);

    const single = new OutlierDetector({ ...settings, maxEjectedPercent: 100 });
    for (let i = 0; i < 10; i++) expect(single.recordFailure('only', 1, 0).ejected).toBe(false);

    const pair = new OutlierDetector({ ...settings, maxEjectedPercent: 10 });
    // 10% of 2 rounds down to 0, but one may always go while another stays.
    for (let i = 0; i < 2; i++) pair.recordFailure('x', 2, 0);
    expect(pair.recordFailure('x', 2, 0).ejected).toBe(true);
    for (let i = 0; i < 2; i++) pair.recordFailure('y', 2, 0);
    expect(pair.recordFailure('y', 2, 0).ejected).toBe(false);
  });

  it('forgets instances that left the rotation', () => {
    const detector = new OutlierDetector(settings);
    for (let i = 0; i < 3; i++) detector.recordFailure('a', 4, 0);
    detector.recordFailure('b', 4, 0);
    detector.recordFailure('b', 4, 0);
    detector.retain(new Set(['c']));
    expect(detector.isEjected('a', 1)).toBe(false);
    expect(detector.recordFailure('b', 4, 1)).toEqual({ ejected: false, failures: 1 });
  });
});

describe('OutlierDetector during and after an ejection', () => {
  it('does not count failures of calls that were running when the instance was ejected', () => {
    const detector = new OutlierDetector(settings);
    for (let i = 0; i < 3; i++) detector.recordFailure('a', 4, 0);
    for (let i = 0; i < 10; i++)
      expect(detector.recordFailure('a', 4, 10)).toEqual({ ejected: false, failures: 0 });
    // Back after the ejection: the first failure starts a new run.
    expect(detector.recordFailure('a', 4, 1_500)).toEqual({ ejected: false, failures: 1 });
  });

  it('forget() clears one instance’s run and ejection', () => {
    const detector = new OutlierDetector(settings);
    for (let i = 0; i < 3; i++) detector.recordFailure('a', 4, 0);
    detector.recordFailure('b', 4, 0);
    detector.forget('a');
    detector.forget('b');
    expect(detector.isEjected('a', 1)).toBe(false);
    expect(detector.recordFailure('b', 4, 1)).toEqual({ ejected: false, failures: 1 });
  });
});
