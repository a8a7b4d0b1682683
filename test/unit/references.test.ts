import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReferenceIndex, referencesOf } from '../../src/plan/references';
import { makeServiceSet, service, SS_NS } from './fixtures';

describe('referencesOf: the Secrets and ConfigMaps a ServiceSet depends on', () => {
  const table: { name: string; ss: Parameters<typeof makeServiceSet>[0]; want: string[] }[] = [
    {
      name: 'a cluster with no services: its kubeconfig Secret',
      ss: {},
      want: [`Secret/${SS_NS}/dev-cluster-kubeconfig`],
    },
    { name: 'self-management: no kubeconfig Secret', ss: { selfManagement: true }, want: [] },
    {
      name: 'valuesFrom of every service, in the ServiceSet namespace, without duplicates',
      ss: {
        services: [
          service('a', 't', {
            valuesFrom: [
              { kind: 'ConfigMap', name: 'common' },
              { kind: 'Secret', name: 'creds' },
            ],
          }),
          service('b', 't', { valuesFrom: [{ kind: 'ConfigMap', name: 'common' }] }),
        ],
      },
      want: [`Secret/${SS_NS}/dev-cluster-kubeconfig`, `ConfigMap/${SS_NS}/common`, `Secret/${SS_NS}/creds`],
    },
    {
      name: 'a Secret and a ConfigMap of the same name are two references',
      ss: {
        selfManagement: true,
        services: [
          service('a', 't', {
            valuesFrom: [
              { kind: 'ConfigMap', name: 'x' },
              { kind: 'Secret', name: 'x' },
            ],
          }),
        ],
      },
      want: [`ConfigMap/${SS_NS}/x`, `Secret/${SS_NS}/x`],
    },
  ];
  for (const c of table) {
    test(c.name, () => {
      assert.deepEqual(
        referencesOf(makeServiceSet(c.ss)).map((r) => `${r.kind}/${r.namespace}/${r.name}`),
        c.want,
      );
    });
  }

  test('roles say why each is referenced', () => {
    const refs = referencesOf(
      makeServiceSet({ services: [service('a', 't', { valuesFrom: [{ kind: 'Secret', name: 's' }] })] }),
    );
    assert.deepEqual(
      refs.map((r) => r.role),
      ['kubeconfig', 'valuesFrom'],
    );
  });
});

describe('ReferenceIndex', () => {
  test('maps an object to every ServiceSet that references it; set() replaces, undefined forgets', () => {
    const idx = new ReferenceIndex();
    idx.set('u1', [
      { kind: 'Secret', namespace: 'ns', name: 'c1-kubeconfig' },
      { kind: 'ConfigMap', namespace: 'ns', name: 'common' },
    ]);
    idx.set('u2', [{ kind: 'ConfigMap', namespace: 'ns', name: 'common' }]);
    assert.deepEqual(idx.referencing('ConfigMap', 'ns', 'common').sort(), ['u1', 'u2']);
    assert.deepEqual(idx.referencing('Secret', 'ns', 'c1-kubeconfig'), ['u1']);
    assert.deepEqual(idx.referencing('Secret', 'ns', 'common'), [], 'kind matters');
    assert.deepEqual(idx.referencing('ConfigMap', 'other', 'common'), [], 'namespace matters');

    idx.set('u1', [{ kind: 'Secret', namespace: 'ns', name: 'c2-kubeconfig' }]);
    assert.deepEqual(idx.referencing('ConfigMap', 'ns', 'common'), ['u2']);
    assert.deepEqual(idx.referencing('Secret', 'ns', 'c1-kubeconfig'), []);
    assert.deepEqual(idx.referencing('Secret', 'ns', 'c2-kubeconfig'), ['u1']);

    idx.set('u2', undefined);
    idx.set('u1', []);
    assert.equal(idx.size, 0, 'nothing left behind');
  });
});
