import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DURATION_PATTERN, formatDuration, parseDuration } from '../../src/util/duration';

describe('parseDuration', () => {
  const valid: [string, number][] = [
    ['0s', 0],
    ['1ms', 1],
    ['250ms', 250],
    ['1s', 1000],
    ['90s', 90_000],
    ['1.5s', 1500],
    ['5m', 300_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['2h45m30s500ms', 2 * 3_600_000 + 45 * 60_000 + 30_000 + 500],
    ['0.5h', 1_800_000],
    ['10m0s', 600_000],
  ];
  for (const [s, ms] of valid) {
    test(`${s} → ${ms} ms`, () => {
      assert.equal(parseDuration(s), ms);
      assert.ok(DURATION_PATTERN.test(s));
    });
  }

  const invalid = [
    '',
    '5',
    's',
    '1d',
    '1 m',
    '-1s',
    '+1s',
    '1.s',
    '.5s',
    '1m 30s',
    '1H',
    'ms',
    '1us',
    '1ns',
    '10mm',
    'abc',
    '1s ',
  ];
  for (const s of invalid) {
    test(`${JSON.stringify(s)} is rejected`, () => {
      assert.equal(parseDuration(s), undefined);
      assert.equal(DURATION_PATTERN.test(s), false);
    });
  }
});

describe('formatDuration', () => {
  for (const [ms, s] of [
    [3_600_000, '1h'],
    [60_000, '1m'],
    [90_000, '90s'],
    [15_000, '15s'],
    [250, '250ms'],
    [0, '0ms'],
  ] as const)
    test(`${ms} → ${s}, and back`, () => {
      assert.equal(formatDuration(ms), s);
      assert.equal(parseDuration(s), ms);
    });
});
