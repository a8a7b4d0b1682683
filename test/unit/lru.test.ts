import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Lru } from '../../src/util/lru';

describe('Lru', () => {
  test('a hit becomes the most recently used; the least recently used goes past maxEntries', () => {
    const m = new Lru<number>(2);
    m.add('a', 1);
    m.add('b', 2);
    assert.equal(m.get('a'), 1); // now b is the oldest
    m.add('c', 3);
    assert.equal(m.size, 2);
    assert.equal(m.get('b'), undefined);
    assert.equal(m.get('a'), 1);
    assert.equal(m.get('c'), 3);
  });

  test('bounded in bytes; the newest stays even when it alone is over the bound', () => {
    const m = new Lru<string>(100, 10);
    m.add('a', 'x', 4);
    m.add('b', 'y', 4);
    m.add('c', 'z', 4); // 12 > 10: a goes
    assert.deepEqual([m.get('a'), m.get('b'), m.get('c')], [undefined, 'y', 'z']);
    m.add('big', 'w', 50); // everything else goes, the newest stays
    assert.equal(m.size, 1);
    assert.equal(m.get('big'), 'w');
    m.add('d', 'v', 1); // big's bytes were counted out when it went: d and big fit no more (51 > 10), big goes
    assert.deepEqual([m.get('big'), m.get('d')], [undefined, 'v']);
  });

  test('the first value under a key stands, and its size is counted once', () => {
    const m = new Lru<string>(100, 10);
    m.add('k', 'first', 6);
    m.add('k', 'second', 6);
    assert.equal(m.get('k'), 'first');
    m.add('other', 'o', 4); // 6 + 4 = 10: within the bound, nothing goes
    assert.equal(m.size, 2);
  });
});
