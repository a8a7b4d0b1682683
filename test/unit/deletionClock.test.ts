import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clockAfterStep, deletionClock, deletionTimeoutMs } from '../../src/workflow/deletionClock';

describe('deletionTimeoutMs', () => {
  for (const [configured, want] of [
    [undefined, 600_000],
    [30_000, 30_000],
    [0, 0],
  ] as const)
    test(`provider config ${configured}: ${want}`, () =>
      assert.equal(
        deletionTimeoutMs(
          { valid: true, priority: 0, ...(configured !== undefined ? { deletionTimeoutMs: configured } : {}) },
          600_000,
        ),
        want,
      ));
});

describe('deletionClock', () => {
  for (const [startedAt, now, want] of [
    [undefined, 1000, { startedAt: 1000, elapsedMs: 0 }],
    [1000, 5000, { startedAt: 1000, elapsedMs: 4000 }],
  ] as const)
    test(`started ${startedAt}, now ${now}`, () => assert.deepEqual(deletionClock(startedAt, now), want));
});

describe('clockAfterStep', () => {
  test('a paused deletion stops the clock (the deadline counts from the resume)', () =>
    assert.equal(clockAfterStep(1000, { paused: true }), undefined));
  test('otherwise it runs on', () => {
    assert.equal(clockAfterStep(1000, {}), 1000);
    assert.equal(clockAfterStep(1000, { paused: false }), 1000);
  });
});
