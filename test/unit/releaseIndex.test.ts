import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReleaseIndex, wantedReleases } from '../../src/ownership/releaseIndex';
import { releaseKeyFor } from '../../src/plan/plan';
import { makeServiceSet, service } from './fixtures';

const ss = (name: string, o: Parameters<typeof makeServiceSet>[0] = {}) =>
  makeServiceSet({ name, uid: `uid-${name}`, services: [service('web', 't')], ...o });
const keyOf = (s: ReturnType<typeof ss>) => releaseKeyFor(s, s.spec.services![0]!);

describe('wantedReleases', () => {
  test('every service but an Uninstall one wants its release', () => {
    const s = ss('a', { services: [service('web', 't'), service('db', 't', { helmAction: 'Uninstall' })] });
    assert.deepEqual(
      wantedReleases(s).map((w) => w.service.name),
      ['web'],
    );
  });
});

describe('ReleaseIndex', () => {
  const a = ss('a');
  const b = ss('b');
  const otherCluster = ss('c', { cluster: 'west' });
  const otherNs = ss('d', { namespace: 'elsewhere' });
  const selfA = ss('s1', { selfManagement: true });
  const selfB = ss('s2', { selfManagement: true, namespace: 'elsewhere' });
  const cases: [string, ReturnType<typeof ss>[], ReturnType<typeof ss>, string[]][] = [
    ['the same release on the same cluster', [b, a, otherCluster, otherNs], a, ['a', 'b']],
    ['another cluster: another release', [a, otherCluster], otherCluster, ['c']],
    ['another namespace: another cluster', [a, otherNs], otherNs, ['d']],
    ['self-management across namespaces (by namespace, then name)', [selfA, selfB, a], selfA, ['s2', 's1']],
  ];
  for (const [name, all, asker, want] of cases)
    test(name, () => {
      const idx = new ReleaseIndex();
      for (const s of all) idx.put(s);
      assert.deepEqual(
        idx.wanting(keyOf(asker)).map((w) => w.ss.metadata.name),
        want,
      );
    });

  test('a replaced ServiceSet wants only what it wants now; a removed one nothing', () => {
    const idx = new ReleaseIndex();
    idx.put(a);
    idx.put(ss('a', { services: [service('api', 't')] }));
    assert.deepEqual(idx.wanting(keyOf(a)), []);
    assert.equal(idx.keysOf(a.metadata.uid).length, 1);
    idx.remove(a.metadata.uid);
    assert.equal(idx.size, 0);
    assert.deepEqual(idx.keysOf(a.metadata.uid), []);
    assert.equal(idx.get(a.metadata.uid), undefined);
  });

  test('a ServiceSet naming a service twice wants the release twice', () => {
    const idx = new ReleaseIndex();
    const twice = ss('t', { services: [service('web', 't'), service('web', 'u')] });
    idx.put(twice);
    assert.deepEqual(
      idx.wanting(keyOf(twice)).map((w) => w.service.template),
      ['t', 'u'],
    );
  });
});
