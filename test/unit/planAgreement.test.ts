// `ksm-flux plan` and the worker agree on every row of the plan table: the observe activity's verdict on each
// service and the plan command's row come from the same planner, for every rule (duplicates, the kubeconfig
// Secret, inputs not there yet, uninstall, bad values and references, the pause, a bad provider config).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { observe } from '../../src/activities/observe';
import type { Deps } from '../../src/activities/deps';
import { planReport, type ServicePlan } from '../../src/commands/plan';
import type { KubeClient, KubeObject } from '../../src/kube/client';
import { paths } from '../../src/kube/paths';
import { ReleaseIndex } from '../../src/ownership/releaseIndex';
import type { Logger } from '../../src/log';
import { PAUSED_ANNOTATION } from '../../src/workflow/constants';
import type { ServiceObservation } from '../../src/workflow/types';
import { SS_NS, helmChartTemplate, helmTemplateNotReady, service } from './fixtures';

/** An API server in a Map: GET by path, LIST by collection path and equality label selector. */
class FakeKube {
  private readonly objects = new Map<string, KubeObject>();

  put(path: string, o: Record<string, unknown>): void {
    this.objects.set(path, structuredClone(o) as KubeObject);
  }

  async get<T = KubeObject>(path: string): Promise<T | undefined> {
    const o = this.objects.get(path);
    return o ? (structuredClone(o) as T) : undefined;
  }

  async list<T = KubeObject>(path: string, labelSelector?: string): Promise<{ items: T[] }> {
    const want = (labelSelector ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => kv.split('='));
    const items = [...this.objects]
      .filter(([p]) => p.startsWith(`${path}/`) && !p.slice(path.length + 1).includes('/'))
      .map(([, o]) => o)
      .filter((o) => want.every(([k, v]) => (o.metadata.labels as Record<string, string> | undefined)?.[k!] === v));
    return { items: structuredClone(items) as T[] };
  }
}

const identity = { name: 'ksm-flux-adapter', namespace: 'kcm-system' };

function world(): FakeKube {
  const kube = new FakeKube();
  kube.put(paths.smp('ksm-flux'), {
    apiVersion: 'k0rdent.mirantis.com/v1beta1',
    kind: 'StateManagementProvider',
    metadata: { name: 'ksm-flux', uid: 'smp-uid' },
    spec: { adapter: { apiVersion: 'apps/v1', kind: 'Deployment', ...identity } },
    status: { ready: true },
  });
  for (const t of [helmChartTemplate('app'), helmTemplateNotReady('not-ready')])
    kube.put(paths.serviceTemplate(SS_NS, t.metadata.name), {
      ...t,
      metadata: { ...t.metadata, resourceVersion: '1' },
    });
  kube.put(paths.secret(SS_NS, 'east-kubeconfig'), {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'east-kubeconfig', namespace: SS_NS, uid: 's1', resourceVersion: '1' },
    data: { value: 'a3ViZWNvbmZpZw==' },
  });
  kube.put(`/api/v1/namespaces/${SS_NS}/configmaps/extra`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'extra', namespace: SS_NS, uid: 'cm1', resourceVersion: '1' },
    data: { 'a.yaml': 'a: 1\n' },
  });
  return kube;
}

function serviceSet(
  name: string,
  o: { cluster?: string; services: Record<string, unknown>[]; annotations?: Record<string, string>; config?: unknown },
): Record<string, unknown> {
  return {
    apiVersion: 'k0rdent.mirantis.com/v1beta1',
    kind: 'ServiceSet',
    metadata: {
      name,
      namespace: SS_NS,
      uid: `uid-${name}`,
      generation: 1,
      resourceVersion: '1',
      creationTimestamp: '2026-01-01T00:00:00Z',
      finalizers: ['k0rdent.mirantis.com/ksm-flux'],
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: {
      cluster: o.cluster ?? 'east',
      provider: { name: 'ksm-flux', ...(o.config !== undefined ? { config: o.config } : {}) },
      services: o.services,
    },
  };
}

const everyRule = [
  service('ok', 'app', { values: 'replicas: 2\n' }),
  service('from-cm', 'app', { valuesFrom: [{ kind: 'ConfigMap', name: 'extra' }] }),
  service('no-template', 'missing'),
  service('not-validated', 'not-ready'),
  service('twice', 'app'),
  service('twice', 'app', { values: 'b: 1\n' }),
  service('gone', 'app', { helmAction: 'Uninstall' }),
  service('bad-values', 'app', { values: 'a: [\n' }),
  service('cm-absent', 'app', { valuesFrom: [{ kind: 'ConfigMap', name: 'absent' }] }),
  service('bad-ref', '../app'),
];

const cases: [string, Record<string, unknown>][] = [
  ['every per-service rule', serviceSet('rules', { services: everyRule })],
  ['the kubeconfig Secret is missing', serviceSet('west', { cluster: 'west', services: everyRule })],
  ['paused', serviceSet('paused', { services: everyRule, annotations: { [PAUSED_ANNOTATION]: 'true' } })],
  ['a bad provider config', serviceSet('bad-config', { services: everyRule, config: { replicas: 3 } })],
];

const workerRow = (s: ServiceObservation): string =>
  s.desired
    ? `planned ${s.desired.ref.kind}/${s.desired.ref.name} ${s.desired.hash}`
    : s.awaiting
      ? `waiting ${s.awaiting.reason}`
      : s.planError
        ? `${s.planError.pending ? 'waiting' : 'fails'} ${s.planError.reason}`
        : s.uninstall
          ? 'uninstall'
          : 'not planned';

const planRow = (s: ServicePlan): string =>
  s.object
    ? `planned ${s.object.kind}/${s.object.metadata.name} ${s.hash}`
    : s.awaiting
      ? `waiting ${s.awaiting.reason}`
      : s.error
        ? `${s.error.pending ? 'waiting' : 'fails'} ${s.error.reason}`
        : s.uninstall
          ? 'uninstall'
          : 'not planned';

describe('ksm-flux plan and the worker agree', () => {
  for (const [name, ss] of cases)
    test(name, async () => {
      const kube = world();
      const md = ss.metadata as { name: string; uid: string };
      kube.put(paths.serviceSet(SS_NS, md.name), ss);
      const deps = {
        client: kube as unknown as KubeClient,
        identity,
        fluxMode: 'kcm',
        serviceSets: { releasesAround: async () => new ReleaseIndex() },
        isOurs: async () => true,
        logger: {} as Logger,
        instance: 'test',
      } satisfies Deps;
      const obs = await observe(deps, { uid: md.uid, namespace: SS_NS, name: md.name });
      const report = await planReport(kube, ss, 'kcm');
      assert.equal(obs.owned, true);
      if (report.configError) {
        assert.equal(obs.providerConfig.valid, false);
        assert.ok(obs.services.every((s) => !s.desired && !s.planError && !s.awaiting));
        assert.deepEqual(report.services, []);
        return;
      }
      const worker = obs.services.map((s) => `${s.key}: ${workerRow(s)}`);
      const plan = report.services.map((s) => `${s.service}: ${planRow(s)}`);
      assert.deepEqual(plan, worker);
      // The table is not trivially equal: every kind of row is there.
      const kinds = new Set(worker.map((r) => r.split(': ')[1]!.split(' ')[0]));
      for (const k of ['planned', 'waiting', 'fails', 'uninstall'])
        if (name !== 'the kubeconfig Secret is missing' || k !== 'planned')
          assert.ok(kinds.has(k), `${name}: no ${k} row in ${worker.join('; ')}`);
    });
});
