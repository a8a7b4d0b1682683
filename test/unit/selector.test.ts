import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { matchSelector } from '../../src/ownership/selector';

const labels = { env: 'prod', tier: 'web', 'ksm.k0rdent.mirantis.com/adapter': 'ksm-flux' };

describe('matchSelector', () => {
  test('a nil selector matches everything', () => {
    assert.deepEqual(matchSelector(labels, null), { matches: true });
    assert.deepEqual(matchSelector(labels, undefined), { matches: true });
    assert.deepEqual(matchSelector(undefined, undefined), { matches: true });
  });

  test('an empty selector matches everything, even unlabelled objects', () => {
    assert.equal(matchSelector(labels, {}).matches, true);
    assert.equal(matchSelector(null, {}).matches, true);
    assert.equal(matchSelector({}, { matchLabels: {}, matchExpressions: [] }).matches, true);
    assert.equal(matchSelector({}, { matchLabels: null, matchExpressions: null }).matches, true);
  });

  describe('matchLabels', () => {
    test('all pairs present → match', () => {
      assert.equal(matchSelector(labels, { matchLabels: { env: 'prod', tier: 'web' } }).matches, true);
    });
    test('a different value → no match, no error', () => {
      const r = matchSelector(labels, { matchLabels: { env: 'staging' } });
      assert.equal(r.matches, false);
      assert.equal(r.error, undefined);
    });
    test('a missing key → no match', () => {
      assert.equal(matchSelector(labels, { matchLabels: { region: 'eu' } }).matches, false);
      assert.equal(matchSelector(null, { matchLabels: { env: 'prod' } }).matches, false);
    });
    test('an empty-string value requires the label with an empty value', () => {
      assert.equal(matchSelector({ a: '' }, { matchLabels: { a: '' } }).matches, true);
      assert.equal(matchSelector({}, { matchLabels: { a: '' } }).matches, false);
    });
    test('one mismatching pair among several fails the whole selector', () => {
      assert.equal(matchSelector(labels, { matchLabels: { env: 'prod', tier: 'db' } }).matches, false);
    });
  });

  describe('matchExpressions', () => {
    const cases: {
      name: string;
      labels: Record<string, string>;
      op: string;
      key?: string;
      values?: string[] | null;
      want: boolean;
    }[] = [
      { name: 'In: value listed', labels, op: 'In', values: ['staging', 'prod'], want: true },
      { name: 'In: value not listed', labels, op: 'In', values: ['staging', 'dev'], want: false },
      { name: 'In: key absent', labels: {}, op: 'In', values: ['prod'], want: false },
      { name: 'NotIn: value listed', labels, op: 'NotIn', values: ['prod'], want: false },
      { name: 'NotIn: value not listed', labels, op: 'NotIn', values: ['dev'], want: true },
      { name: 'NotIn: key absent matches', labels: { other: 'x' }, op: 'NotIn', values: ['prod'], want: true },
      { name: 'Exists: key present', labels, op: 'Exists', want: true },
      { name: 'Exists: key present with empty value', labels: { env: '' }, op: 'Exists', want: true },
      { name: 'Exists: key absent', labels: { other: 'x' }, op: 'Exists', want: false },
      { name: 'Exists: empty values list is fine', labels, op: 'Exists', values: [], want: true },
      { name: 'DoesNotExist: key absent', labels: { other: 'x' }, op: 'DoesNotExist', want: true },
      { name: 'DoesNotExist: key present', labels, op: 'DoesNotExist', want: false },
      { name: 'DoesNotExist: key present with empty value', labels: { env: '' }, op: 'DoesNotExist', want: false },
    ];
    for (const c of cases) {
      test(c.name, () => {
        const r = matchSelector(c.labels, {
          matchExpressions: [
            { key: c.key ?? 'env', operator: c.op, ...(c.values !== undefined ? { values: c.values } : {}) },
          ],
        });
        assert.equal(r.matches, c.want);
        assert.equal(r.error, undefined);
      });
    }

    test('a key inherited from Object.prototype is not a label', () => {
      assert.equal(matchSelector({}, { matchExpressions: [{ key: 'toString', operator: 'Exists' }] }).matches, false);
      assert.equal(
        matchSelector({}, { matchExpressions: [{ key: 'constructor', operator: 'DoesNotExist' }] }).matches,
        true,
      );
    });

    test('all expressions must hold (AND)', () => {
      const sel = {
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['prod'] },
          { key: 'tier', operator: 'NotIn', values: ['db'] },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      };
      assert.equal(matchSelector(labels, sel).matches, true);
      assert.equal(matchSelector({ ...labels, legacy: 'yes' }, sel).matches, false);
      assert.equal(matchSelector({ ...labels, tier: 'db' }, sel).matches, false);
    });
  });

  test('matchLabels AND matchExpressions', () => {
    const sel = { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] };
    assert.equal(matchSelector(labels, sel).matches, true);
    assert.equal(matchSelector({ ...labels, env: 'dev' }, sel).matches, false, 'matchLabels fails');
    assert.equal(matchSelector({ ...labels, tier: 'api' }, sel).matches, false, 'matchExpressions fails');
  });

  describe('invalid requirements give an error', () => {
    const bad: { name: string; operator: string; values?: string[] | null; mentions: string }[] = [
      { name: 'In without values', operator: 'In', values: [], mentions: 'In' },
      { name: 'In with null values', operator: 'In', values: null, mentions: 'In' },
      { name: 'NotIn without values', operator: 'NotIn', mentions: 'NotIn' },
      { name: 'Exists with values', operator: 'Exists', values: ['x'], mentions: 'Exists' },
      { name: 'DoesNotExist with values', operator: 'DoesNotExist', values: ['x'], mentions: 'DoesNotExist' },
      { name: 'unknown operator', operator: 'Gt', values: ['1'], mentions: 'Gt' },
      { name: 'operator in the wrong case', operator: 'in', values: ['prod'], mentions: 'in' },
    ];
    for (const b of bad) {
      test(b.name, () => {
        const r = matchSelector(labels, {
          matchExpressions: [
            { key: 'env', operator: b.operator, ...(b.values !== undefined ? { values: b.values } : {}) },
          ],
        });
        assert.equal(r.matches, false);
        assert.ok(r.error, 'expected an error');
        assert.match(r.error, new RegExp(b.mentions));
        assert.match(r.error, /env/, 'the error names the key');
      });
    }

    test('an invalid requirement is reported even when labels would match otherwise', () => {
      const r = matchSelector(labels, {
        matchLabels: { env: 'prod' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['web'] },
          { key: 'x', operator: 'Bogus' },
        ],
      });
      assert.equal(r.matches, false);
      assert.match(r.error ?? '', /Bogus/);
    });
  });
});
