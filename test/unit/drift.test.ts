import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decidePass, leftoversToDelete } from '../../src/workflow/decide';
import { detectDrift, driftNote, foreignAdditions, jsonPointer, type LiveShape } from '../../src/workflow/drift';
import { driftEvents } from '../../src/workflow/events';
import { fluxObs, observation, svcObs } from './fixtures';

const planned = {
  metadata: { labels: { 'app.kubernetes.io/managed-by': 'ksm-flux', 'k0rdent.mirantis.com/managed': 'true' } },
  spec: {
    interval: '10m',
    releaseName: 'nginx',
    chart: { spec: { chart: 'nginx', sourceRef: { kind: 'HelmRepository', name: 'repo' } } },
    values: { replicas: 2, nested: { a: 'x' }, gone: null },
    valuesFrom: [{ kind: 'ConfigMap', name: 'cm', valuesKey: 'v' }],
    install: {},
    tags: [],
  },
};

type MF = { manager: string; operation?: string; subresource?: string; fieldsV1: Record<string, unknown> };
function live(o: { spec?: unknown; labels?: Record<string, string>; managedFields?: MF[] } = {}): LiveShape {
  const clone = JSON.parse(JSON.stringify(planned.spec)) as Record<string, any>;
  delete clone.values.gone;
  // What the API server and Flux add: defaults inside our fields, their labels, status.
  clone.chart.spec.reconcileStrategy = 'ChartVersion';
  clone.chart.spec.version = '*';
  return {
    metadata: {
      labels: { ...planned.metadata.labels, 'other/label': 'x', ...(o.labels ?? {}) },
      managedFields: [
        { manager: 'ksm-flux', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:values': { 'f:replicas': {} } } } },
        { manager: 'ksm-flux-control', operation: 'Update', fieldsV1: { 'f:spec': { 'f:suspend': {} } } },
        {
          manager: 'helm-controller',
          operation: 'Update',
          fieldsV1: { 'f:metadata': { 'f:finalizers': { '.': {}, 'v:"finalizers.fluxcd.io"': {} } } },
        },
        {
          manager: 'helm-controller',
          operation: 'Update',
          subresource: 'status',
          fieldsV1: { 'f:status': { 'f:conditions': {} } },
        },
        ...(o.managedFields ?? []),
      ],
    },
    spec: o.spec ?? clone,
    status: { conditions: [] },
  };
}
const mutate = (f: (s: Record<string, any>) => void) => {
  const l = live();
  f(l.spec as Record<string, any>);
  return l;
};

describe('detectDrift', () => {
  test('the object as we applied it (with defaults, Flux finalizer and status, others’ labels) has not drifted', () => {
    assert.equal(detectDrift(planned, live()), undefined);
  });

  const cases: [string, LiveShape, string[], string[]][] = [
    [
      'a value we set changed by another manager',
      {
        ...mutate((s) => (s.values.replicas = 5)),
        metadata: {
          ...live().metadata,
          managedFields: [
            {
              manager: 'kubectl-edit',
              operation: 'Update',
              fieldsV1: { 'f:spec': { 'f:values': { 'f:replicas': {} } } },
            },
          ],
        },
      },
      ['spec.values.replicas'],
      ['kubectl-edit'],
    ],
    ['a nested value removed', mutate((s) => delete s.values.nested.a), ['spec.values.nested.a'], []],
    ['a top-level field we set changed', mutate((s) => (s.interval = '1h')), ['spec.interval'], []],
    ['a field we set removed', mutate((s) => delete s.releaseName), ['spec.releaseName'], []],
    [
      'a list we set changed: the list is named',
      mutate((s) => s.valuesFrom.push({ kind: 'Secret', name: 's' })),
      ['spec.valuesFrom'],
      [],
    ],
    ['a list item changed', mutate((s) => (s.valuesFrom[0].name = 'other')), ['spec.valuesFrom'], []],
    ['a null we set (not set) now has a value', mutate((s) => (s.values.gone = 1)), ['spec.values.gone'], []],
    ['an empty list we set is filled', mutate((s) => (s.tags = ['x'])), ['spec.tags'], []],
    ['an empty map we set is filled', mutate((s) => (s.install = { remediation: {} })), ['spec.install'], []],
    ['a map we set replaced by a scalar', mutate((s) => (s.chart = 'x')), ['spec.chart'], []],
    [
      'a value deeper than 4 levels is named by its first 4',
      mutate((s) => (s.chart.spec.sourceRef.name = 'x')),
      ['spec.chart.spec.sourceRef'],
      [],
    ],
    [
      'our label removed',
      { ...live(), metadata: { ...live().metadata, labels: { 'app.kubernetes.io/managed-by': 'ksm-flux' } } },
      ['metadata.labels.k0rdent.mirantis.com/managed'],
      [],
    ],
    [
      'spec.suspend added by another manager',
      {
        ...mutate((s) => (s.suspend = true)),
        metadata: {
          ...live().metadata,
          managedFields: [{ manager: 'flux', operation: 'Update', fieldsV1: { 'f:spec': { 'f:suspend': {} } } }],
        },
      },
      ['spec.suspend'],
      ['flux'],
    ],
    [
      'a values key added by another manager',
      {
        ...mutate((s) => (s.values.extra = { deep: 1 })),
        metadata: {
          ...live().metadata,
          managedFields: [
            {
              manager: 'kubectl-patch',
              operation: 'Update',
              fieldsV1: { 'f:spec': { 'f:values': { 'f:extra': { '.': {}, 'f:deep': {} } } } },
            },
          ],
        },
      },
      ['spec.values.extra'],
      ['kubectl-patch'],
    ],
    [
      'a list field added by another manager (owning its items)',
      {
        ...mutate((s) => (s.dependsOn = [{ name: 'db' }])),
        metadata: {
          ...live().metadata,
          managedFields: [{ manager: 'ci', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:dependsOn': {} } } }],
        },
      },
      ['spec.dependsOn'],
      ['ci'],
    ],
  ];
  for (const [name, l, paths, managers] of cases) {
    test(name, () => {
      assert.deepEqual(detectDrift(planned, l), { paths, managers });
    });
  }

  test('our own side manager (suspend for hand-over/deletion, resume) is not drift', () => {
    const l = mutate((s) => (s.suspend = false));
    assert.equal(detectDrift(planned, l), undefined);
  });

  test('another manager co-owning a field with our value is not drift (nothing to restore: no apply loop)', () => {
    const l = live({
      managedFields: [
        { manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:values': { 'f:replicas': {} } } } },
      ],
    });
    assert.equal(detectDrift(planned, l), undefined);
  });

  test('a field another manager owned but that is gone again is not drift', () => {
    const l = live({
      managedFields: [{ manager: 'x', operation: 'Update', fieldsV1: { 'f:spec': { 'f:timeout': {} } } }],
    });
    assert.equal(detectDrift(planned, l), undefined);
  });

  test('many drifted paths are capped', () => {
    const p = { metadata: {}, spec: Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`f${i}`, i])) };
    const d = detectDrift(p, { metadata: {}, spec: {} });
    assert.equal(d?.paths.length, 11);
    assert.equal(d?.paths.at(-1), '…');
  });
});

describe('foreignAdditions', () => {
  test('outermost added fields only, as object paths', () => {
    const l = mutate((s) => {
      s.suspend = true;
      s.values.extra = { deep: 1 };
    });
    l.metadata.managedFields = [
      {
        manager: 'm',
        operation: 'Update',
        fieldsV1: {
          'f:spec': { 'f:suspend': {}, 'f:values': { 'f:extra': { '.': {}, 'f:deep': {} }, 'f:replicas': {} } },
        },
      },
    ];
    assert.deepEqual(foreignAdditions(planned, l), [
      ['spec', 'suspend'],
      ['spec', 'values', 'extra'],
    ]);
  });

  test('a changed field we set is not an addition (the apply restores it)', () => {
    const l = mutate((s) => (s.values.replicas = 9));
    l.metadata.managedFields = [
      { manager: 'm', operation: 'Update', fieldsV1: { 'f:spec': { 'f:values': { 'f:replicas': {} } } } },
    ];
    assert.deepEqual(foreignAdditions(planned, l), []);
  });

  test('status and our managers never count', () => {
    assert.deepEqual(
      foreignAdditions(
        planned,
        mutate((s) => (s.suspend = true)),
      ),
      [],
    );
  });
});

describe('jsonPointer and driftNote', () => {
  test('escapes ~ and /', () => {
    assert.equal(jsonPointer(['spec', 'values', 'a/b~c']), '/spec/values/a~1b~0c');
  });
  test('names object, fields and managers', () => {
    assert.equal(
      driftNote(
        { kind: 'HelmRelease', namespace: 'ns', name: 'hr' },
        { paths: ['spec.values.x'], managers: ['kubectl-edit'] },
      ),
      "HelmRelease ns/hr was changed by kubectl-edit (spec.values.x): restored to the ServiceSet's spec",
    );
  });
});

describe('decide with drift', () => {
  test('a drifted object with our hash is applied again', () => {
    const drift = { paths: ['spec.values.replicas'], managers: ['kubectl-edit'] };
    const obs = observation({ services: [svcObs('nginx', { flux: fluxObs(), drift })] });
    assert.deepEqual(decidePass(obs, { retry: false, rejected: {} }).apply, ['apps/nginx']);
    const ev = driftEvents('uid', obs, ['apps/nginx'], '2026-01-01T00:00:00Z');
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.reason, 'FluxObjectDrift');
    assert.match(ev[0]!.note, /dev-cluster-apps-nginx was changed by kubectl-edit \(spec\.values\.replicas\)/);
  });

  test('no drift, same hash: nothing to apply, no event', () => {
    const obs = observation({ services: [svcObs('nginx', { flux: fluxObs() })] });
    assert.deepEqual(decidePass(obs, { retry: false, rejected: {} }).apply, []);
    assert.deepEqual(driftEvents('uid', obs, [], 'now'), []);
  });

  test('a paused ServiceSet still restores drift (paused objects are applied suspended, as planned)', () => {
    const obs = observation({
      paused: true,
      services: [
        svcObs('nginx', { flux: fluxObs({ suspended: true }), drift: { paths: ['spec.suspend'], managers: [] } }),
      ],
    });
    assert.deepEqual(decidePass(obs, { retry: false, rejected: {} }).apply, ['apps/nginx']);
  });

  test('a deployed object deleted by someone: recreated with a FluxObjectDeleted event; a first apply has none', () => {
    const status = observation().status;
    const deployed = observation({
      services: [svcObs('nginx')],
      status: {
        ...status,
        services: [
          {
            name: 'nginx',
            namespace: 'apps',
            template: 'tpl-1-0-0',
            type: 'Helm',
            state: 'Deployed',
            lastDeployedHash: 'h1',
            lastStateTransitionTime: '2026-01-01T00:00:00Z',
          },
        ],
      },
    });
    assert.deepEqual(decidePass(deployed, { retry: false, rejected: {} }).apply, ['apps/nginx']);
    assert.deepEqual(
      driftEvents('uid', deployed, ['apps/nginx'], 'now').map((e) => e.reason),
      ['FluxObjectDeleted'],
    );
    const first = observation({ services: [svcObs('nginx')] });
    assert.deepEqual(driftEvents('uid', first, ['apps/nginx'], 'now'), []);
  });

  test('leftovers are deleted only once the ServiceSet is gone', () => {
    const refs = [{ kind: 'HelmRelease' as const, namespace: 'ns', name: 'x' }];
    assert.deepEqual(leftoversToDelete(observation({ found: false, leftovers: refs })), refs);
    assert.deepEqual(leftoversToDelete(observation({ found: true, leftovers: refs })), []);
    assert.deepEqual(leftoversToDelete(observation({ found: false })), []);
  });
});
