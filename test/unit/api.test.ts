import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FLUX_WAITING_REASONS, SERVICE_STATES, SERVICE_TYPES, workflowIdFor } from '../../src/workflow/constants';
import { FluxObjectRead } from '../../src/api/flux';
import {
  ServiceSet,
  ServiceStatus,
  ServiceTemplate,
  StateManagementProvider,
  parseObject,
} from '../../src/api/k0rdent';

describe('workflow/constants', () => {
  test('service states and types match the kcm CRD enums', () => {
    assert.deepEqual([...SERVICE_STATES], ['Pending', 'Provisioning', 'Deployed', 'Failed', 'Deleting', 'Deleted']);
    assert.deepEqual([...SERVICE_TYPES], ['Helm', 'Kustomize', 'Resource']);
  });
  test('Flux waiting reasons (flux-contract §3 rule 5)', () => {
    assert.deepEqual([...FLUX_WAITING_REASONS].sort(), [
      'ArtifactFailed',
      'DependencyNotReady',
      'HealthCheckCanceled',
      'SourceNotReady',
    ]);
  });
  test('workflow id is ksm-flux/<uid>', () => {
    assert.equal(workflowIdFor('abc-123'), 'ksm-flux/abc-123');
  });
});

describe('api/k0rdent schemas', () => {
  const minimal = { metadata: { name: 'ss', namespace: 'ns', uid: 'u' }, spec: { provider: {} } };

  test('ServiceSet defaults: cluster "" and provider name ""', () => {
    const ss = ServiceSet.parse(minimal);
    assert.equal(ss.spec.cluster, '');
    assert.equal(ss.spec.provider.name, '');
    assert.equal(ss.spec.services, undefined);
  });

  test('unknown fields are kept (loose objects)', () => {
    const ss = ServiceSet.parse({ ...minimal, extra: 1, spec: { ...minimal.spec, future: { a: 1 } } }) as Record<
      string,
      unknown
    > &
      ServiceSet;
    assert.equal(ss.extra, 1);
    assert.deepEqual((ss.spec as Record<string, unknown>).future, { a: 1 });
  });

  test('a service requires name, namespace and template', () => {
    assert.equal(
      ServiceSet.safeParse({ ...minimal, spec: { provider: {}, services: [{ name: 'a', template: 't' }] } }).success,
      false,
    );
  });

  test('helmAction and valuesFrom kinds are enums', () => {
    const svc = (extra: Record<string, unknown>) => ({
      ...minimal,
      spec: { provider: {}, services: [{ name: 'a', namespace: 'n', template: 't', ...extra }] },
    });
    assert.equal(ServiceSet.safeParse(svc({ helmAction: 'Uninstall' })).success, true);
    assert.equal(ServiceSet.safeParse(svc({ helmAction: 'Delete' })).success, false);
    assert.equal(ServiceSet.safeParse(svc({ valuesFrom: [{ kind: 'Secret', name: 's' }] })).success, true);
    assert.equal(ServiceSet.safeParse(svc({ valuesFrom: [{ kind: 'Pod', name: 's' }] })).success, false);
  });

  test('provider.config may be any JSON', () => {
    for (const config of [{ priority: 5 }, [], 'x', null]) {
      assert.equal(
        ServiceSet.safeParse({ ...minimal, spec: { provider: { config } } }).success,
        true,
        JSON.stringify(config),
      );
    }
  });

  test('ServiceStatus requires a valid type and state (type "" is rejected as by the CRD)', () => {
    const base = {
      name: 'a',
      namespace: 'n',
      template: 't',
      type: 'Helm',
      state: 'Deployed',
      lastStateTransitionTime: '2026-01-01T00:00:00Z',
    };
    assert.equal(ServiceStatus.safeParse(base).success, true);
    assert.equal(ServiceStatus.safeParse({ ...base, type: '' }).success, false);
    assert.equal(ServiceStatus.safeParse({ ...base, state: 'Ready' }).success, false);
    const { lastStateTransitionTime: _t, ...noTime } = base;
    assert.equal(ServiceStatus.safeParse(noTime).success, false);
  });

  test('timestamps may be strings or Dates', () => {
    const d = new Date('2026-01-01T00:00:00Z');
    assert.equal(
      ServiceSet.safeParse({
        ...minimal,
        metadata: { ...minimal.metadata, creationTimestamp: d, deletionTimestamp: '2026-01-02T00:00:00Z' },
      }).success,
      true,
    );
  });

  test('StateManagementProvider requires spec.adapter', () => {
    assert.equal(StateManagementProvider.safeParse({ metadata: { name: 'p', uid: 'u' }, spec: {} }).success, false);
    const smp = StateManagementProvider.parse({
      metadata: { name: 'p', uid: 'u' },
      spec: {
        adapter: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ksm-flux', namespace: 'kcm-system' },
        selector: { matchLabels: { a: 'b' } },
      },
    });
    assert.equal(smp.spec.adapter.name, 'ksm-flux');
  });

  test('ServiceTemplate status.sourceStatus requires kind, name and namespace', () => {
    const t = (sourceStatus: unknown) =>
      ServiceTemplate.safeParse({ metadata: { name: 't', uid: 'u' }, spec: {}, status: { sourceStatus } });
    assert.equal(t({ kind: 'GitRepository', name: 'g', namespace: 'n' }).success, true);
    assert.equal(t({ kind: 'GitRepository', name: 'g' }).success, false);
  });

  test('parseObject names the first offending field', () => {
    assert.throws(
      () =>
        parseObject(
          ServiceSet,
          {
            metadata: { name: 'ss', uid: 'u' },
            spec: { provider: {}, services: [{ name: 1, namespace: 'n', template: 't' }] },
          },
          'ServiceSet ns/ss',
        ),
      (e: unknown) =>
        e instanceof Error && e.message.startsWith('ServiceSet ns/ss: ') && e.message.includes('spec.services.0.name'),
    );
    assert.throws(() => parseObject(ServiceSet, 'nope', 'ServiceSet x'), /ServiceSet x: \(root\)/);
    assert.equal(parseObject(ServiceSet, minimal, 'x').metadata.name, 'ss');
  });

  test('FluxObjectRead accepts a HelmRelease as read from the API server', () => {
    const r = FluxObjectRead.parse({
      apiVersion: 'helm.toolkit.fluxcd.io/v2',
      kind: 'HelmRelease',
      metadata: { name: 'hr', namespace: 'ns', uid: 'u', generation: 2, finalizers: ['finalizers.fluxcd.io'] },
      spec: { suspend: true, interval: '10m' },
      status: {
        observedGeneration: 2,
        lastAttemptedGeneration: 2,
        conditions: [{ type: 'Ready', status: 'True', reason: 'InstallSucceeded', observedGeneration: 2 }],
      },
    });
    assert.equal(r.spec?.suspend, true);
    assert.equal(r.status?.conditions?.[0]?.status, 'True');
    assert.equal(
      FluxObjectRead.safeParse({
        metadata: { name: 'x', uid: 'u' },
        status: { conditions: [{ type: 'Ready', status: 'Maybe' }] },
      }).success,
      false,
    );
  });
});

describe('ServiceSet schema: forward compatibility (kcm PR #3014: spec.provider optional; newer fields)', () => {
  const base = {
    apiVersion: 'k0rdent.mirantis.com/v1beta1',
    kind: 'ServiceSet',
    metadata: { name: 'x', namespace: 'ns', uid: 'u1' },
  };
  test('a ServiceSet without spec.provider parses, names no provider, and is not ours', async () => {
    const { ownership } = await import('../../src/ownership/ownership');
    for (const provider of [undefined, null]) {
      const ss = ServiceSet.parse({ ...base, spec: { cluster: 'c', provider, services: [] } });
      assert.equal(ss.spec.provider.name, '');
      assert.equal(ss.spec.provider.selfManagement, undefined);
      assert.equal(ownership(undefined, ss, { name: 'ksm-flux', namespace: 'kcm-system' }).owned, false);
    }
  });
  test('unknown fields anywhere are kept, not rejected', () => {
    const ss = ServiceSet.parse({
      ...base,
      spec: {
        cluster: 'c',
        futureField: { a: 1 },
        provider: { name: 'p', futureKnob: true },
        services: [{ name: 's', namespace: 'n', template: 't', futureServiceField: 'x' }],
      },
    });
    assert.deepEqual((ss.spec as Record<string, unknown>).futureField, { a: 1 });
    assert.equal((ss.spec.services![0] as Record<string, unknown>).futureServiceField, 'x');
  });
});
