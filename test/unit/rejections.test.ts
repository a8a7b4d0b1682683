import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { afterRetry, standing, withApplyResults, type Rejections } from '../../src/workflow/rejections';
import type { ApplyResult } from '../../src/workflow/types';
import { observation, svcObs } from './fixtures';

const refused = (hash?: string) => ({ reason: 'FluxObjectRejected', message: 'no', ...(hash ? { hash } : {}) });

describe('afterRetry', () => {
  test('a manual retry forgets every refusal', () =>
    assert.deepEqual(afterRetry({ 'apps/a': refused('h1') }, true), {}));
  test('otherwise they stand', () =>
    assert.deepEqual(afterRetry({ 'apps/a': refused('h1') }, false), { 'apps/a': refused('h1') }));
});

describe('withApplyResults', () => {
  const cases: [string, Rejections, ApplyResult[], Rejections][] = [
    ['an accepted apply clears its refusal', { 'apps/a': refused('h1') }, [{ key: 'apps/a', ok: true }], {}],
    [
      'a refused apply is recorded with its input',
      {},
      [{ key: 'apps/a', ok: false, hash: 'h2', error: refused() }],
      { 'apps/a': refused('h2') },
    ],
    [
      'a refusal without a hash stands for any input',
      {},
      [{ key: 'apps/a', ok: false, error: refused() }],
      { 'apps/a': refused() },
    ],
    [
      'a failure without an error leaves the record alone',
      { 'apps/a': refused('h1') },
      [{ key: 'apps/a', ok: false }],
      { 'apps/a': refused('h1') },
    ],
    [
      'other services are untouched',
      { 'apps/b': refused('h9') },
      [{ key: 'apps/a', ok: true }],
      { 'apps/b': refused('h9') },
    ],
  ];
  for (const [name, before, results, want] of cases)
    test(name, () => {
      const copy = structuredClone(before);
      assert.deepEqual(withApplyResults(before, results), want);
      assert.deepEqual(before, copy, 'the input is not changed');
    });
});

describe('standing', () => {
  const obs = observation({ services: [svcObs('a'), svcObs('b', { desired: undefined })] });
  const cases: [string, Rejections, Rejections][] = [
    ['same input: stands', { 'apps/a': refused('h1') }, { 'apps/a': refused('h1') }],
    ['the input changed: goes', { 'apps/a': refused('h0') }, {}],
    ['the service is gone: goes', { 'apps/x': refused('h1') }, {}],
    ['no hash: stands while the service exists', { 'apps/b': refused() }, { 'apps/b': refused() }],
    ['a hash, and the service no longer plans: goes', { 'apps/b': refused('h1') }, {}],
  ];
  for (const [name, before, want] of cases) test(name, () => assert.deepEqual(standing(before, obs), want));
});
