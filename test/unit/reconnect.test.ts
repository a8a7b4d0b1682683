import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { keepLeading, nextBackoff, WATCH_BACKOFF } from '../../src/kube/reconnect';

describe('reconnect policy', () => {
  test('watch backoff doubles from 0.5 s and never exceeds 5 s', () => {
    const seq: number[] = [];
    let b = WATCH_BACKOFF.minMs;
    for (let i = 0; i < 8; i++) {
      seq.push(b);
      b = nextBackoff(b, WATCH_BACKOFF);
    }
    assert.deepEqual(seq, [500, 1000, 2000, 4000, 5000, 5000, 5000, 5000]);
  });

  test('a zero or tiny backoff starts at the minimum', () => {
    assert.equal(nextBackoff(0, WATCH_BACKOFF), 500);
    assert.equal(nextBackoff(100, WATCH_BACKOFF), 500);
  });

  // Issue 13.10: once the apiserver is back, a watch waits at most the cap (it was 30 s) before trying again.
  test('after an outage of any length the next attempt is at most 5 s away', () => {
    let b = WATCH_BACKOFF.minMs;
    for (let t = 0; t < 600_000; t += b) b = nextBackoff(b, WATCH_BACKOFF);
    assert.ok(b <= 5000);
  });

  const cases: [string, number, boolean][] = [
    ['just renewed', 0, true],
    ['one failed renewal (lease/3 later)', 2000, true],
    ['just before the renew deadline', 3999, true],
    ['at the renew deadline (2/3 of the lease)', 4000, false],
    ['after the lease expired', 6000, false],
  ];
  for (const [name, since, want] of cases)
    test(`keepLeading: ${name}`, () => assert.equal(keepLeading(1000, 1000 + since, 6000), want));
});
