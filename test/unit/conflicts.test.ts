import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareContenders, pickWinner, releaseOwner, type Contender } from '../../src/ownership/conflicts';

const c = (name: string, o: Partial<Contender> = {}): Contender => ({
  uid: `uid-${name}`,
  namespace: 'kcm-system',
  name,
  priority: 100,
  createdAt: '2026-01-01T00:00:00Z',
  deleting: false,
  ...o,
});

describe('pickWinner', () => {
  test('no contenders → undefined', () => {
    assert.equal(pickWinner([]), undefined);
  });

  test('a single contender wins', () => {
    assert.equal(pickWinner([c('a')])?.name, 'a');
  });

  test('higher priority wins, whatever the age or name', () => {
    const older = c('a', { createdAt: '2020-01-01T00:00:00Z' });
    const higher = c('z', { priority: 101, createdAt: '2026-06-01T00:00:00Z' });
    assert.equal(pickWinner([older, higher])?.name, 'z');
    assert.equal(pickWinner([higher, older])?.name, 'z');
  });

  test('priority tie → the older ServiceSet wins', () => {
    const young = c('a', { createdAt: '2026-02-01T00:00:00Z' });
    const old = c('b', { createdAt: '2026-01-01T00:00:00Z' });
    assert.equal(pickWinner([young, old])?.name, 'b');
    assert.equal(pickWinner([old, young])?.name, 'b');
  });

  test('age is compared as time, not as text', () => {
    const a = c('a', { createdAt: '2026-01-01T10:00:00+02:00' }); // 08:00Z
    const b = c('b', { createdAt: '2026-01-01T09:00:00Z' });
    assert.equal(pickWinner([b, a])?.name, 'a');
  });

  test('priority and age tie → lexically smaller namespace/name', () => {
    assert.equal(pickWinner([c('b'), c('a')])?.name, 'a');
    assert.equal(pickWinner([c('a', { namespace: 'zz' }), c('b', { namespace: 'aa' })])?.name, 'b');
  });

  test('deleting contenders never win, even with a higher priority', () => {
    const leaving = c('a', { priority: 1000, deleting: true, createdAt: '2020-01-01T00:00:00Z' });
    assert.equal(pickWinner([leaving, c('b')])?.name, 'b');
  });

  test('only deleting contenders → undefined', () => {
    assert.equal(pickWinner([c('a', { deleting: true }), c('b', { deleting: true })]), undefined);
  });

  test('the result does not depend on input order', () => {
    const all = [
      c('m', { priority: 50 }),
      c('k', { priority: 200, createdAt: '2026-03-01T00:00:00Z' }),
      c('j', { priority: 200, createdAt: '2026-02-01T00:00:00Z' }),
      c('i', { priority: 200, createdAt: '2026-02-01T00:00:00Z', namespace: 'z' }),
    ];
    const perms = [all, [...all].reverse(), [all[2]!, all[0]!, all[3]!, all[1]!]];
    for (const p of perms) assert.equal(pickWinner(p)?.name, 'j');
  });

  test("does not reorder the caller's array", () => {
    const arr = [c('b'), c('a')];
    pickWinner(arr);
    assert.deepEqual(
      arr.map((x) => x.name),
      ['b', 'a'],
    );
  });
});

describe('compareContenders', () => {
  test('is antisymmetric and 0 for identical keys', () => {
    const a = c('a', { priority: 5 });
    const b = c('b', { priority: 6 });
    assert.ok(compareContenders(a, b) > 0);
    assert.ok(compareContenders(b, a) < 0);
    assert.equal(compareContenders(a, { ...a }), 0);
  });
});

describe('releaseOwner: across providers', () => {
  const me = c('me', { priority: 1 });
  const sveltos = { namespace: 'kcm-system', name: 'cd-sveltos', provider: 'ksm-projectsveltos' };

  test("another provider's claim always stands: we yield, whatever our priority or age", () => {
    assert.deepEqual(
      releaseOwner(c('me', { priority: 2147483646, createdAt: '2020-01-01T00:00:00Z' }), [], [sveltos]),
      {
        owner: 'foreign',
        claims: [sveltos],
      },
    );
  });

  test('foreign claims win over our own contenders too (none of ours deploys it)', () => {
    assert.equal(releaseOwner(me, [c('other', { priority: 500 })], [sveltos]).owner, 'foreign');
  });

  test('only ours: pickWinner decides', () => {
    assert.deepEqual(releaseOwner(me, [c('other', { priority: 500 })], []), {
      owner: 'ours',
      winner: c('other', { priority: 500 }),
    });
    assert.deepEqual(releaseOwner(c('me', { priority: 900 }), [c('other')], []), { owner: 'us' });
  });
});
