// Shared helpers for integration tests: the real control plane started by test/run.ts (global setup),
// object fixtures written through the real API, and waiting helpers.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { K0RDENT_API_VERSION } from '../../src/workflow/constants';
import { KubeClient, type KubeObject } from '../../src/kube/client';
import { paths } from '../../src/kube/paths';
import { pollFor, sleep } from '../../src/testenv/proc';

export interface TestEnv {
  kubeconfig: string;
  temporalAddress: string;
  temporalNamespace: string;
  temporalUiUrl: string;
  kube: KubeClient;
}

let cached: TestEnv | undefined;

/** The control plane of this test run; fails clearly when the tests are not started through `npm test`. */
export function testEnv(): TestEnv {
  if (cached) return cached;
  const { KUBECONFIG, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_UI_URL } = process.env;
  assert.ok(
    KUBECONFIG && TEMPORAL_ADDRESS,
    'integration tests need the control plane: run them with `npm test` (test/run.ts starts it)',
  );
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(KUBECONFIG);
  cached = {
    kubeconfig: KUBECONFIG,
    temporalAddress: TEMPORAL_ADDRESS,
    temporalNamespace: TEMPORAL_NAMESPACE ?? 'default',
    temporalUiUrl: TEMPORAL_UI_URL ?? '',
    kube: new KubeClient(kc),
  };
  return cached;
}

export { sleep };

export function uniqueName(prefix: string): string {
  return `${prefix}-${crypto.randomBytes(3).toString('hex')}`;
}

/** pollFor with a failed assertion on timeout: the message says what was awaited and the last value seen. */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  try {
    return await pollFor(what, fn, timeoutMs, intervalMs);
  } catch (e) {
    assert.fail((e as Error).message);
  }
}

export async function createNamespace(kube: KubeClient, name: string): Promise<void> {
  await kube.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

export interface SmpOptions {
  name: string;
  adapterName: string;
  adapterNamespace: string;
  selector?: {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  };
  ready?: boolean;
  suspend?: boolean;
}

export async function createSmp(kube: KubeClient, o: SmpOptions): Promise<KubeObject> {
  const smp = await kube.create(paths.smps(), {
    apiVersion: K0RDENT_API_VERSION,
    kind: 'StateManagementProvider',
    metadata: { name: o.name },
    spec: {
      adapter: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: o.adapterName,
        namespace: o.adapterNamespace,
        readinessRule: 'true',
      },
      provisioner: [],
      provisionerCRDs: [],
      selector: o.selector ?? { matchLabels: { 'ksm.k0rdent.mirantis.com/adapter': o.adapterName } },
      suspend: o.suspend ?? false,
    },
  });
  if (o.ready !== false) await setSmpReady(kube, o.name, true);
  return smp;
}

export async function setSmpReady(kube: KubeClient, name: string, ready: boolean): Promise<void> {
  await kube.mergePatch(`${paths.smp(name)}/status`, { status: { ready } });
}

/** A Helm ServiceTemplate as kcm's template controller leaves it: status.chartRef names a HelmChart. */
export async function createHelmTemplate(
  kube: KubeClient,
  ns: string,
  name: string,
  opts: { valid?: boolean; validationError?: string; chartRef?: boolean; helmOptions?: Record<string, unknown> } = {},
): Promise<void> {
  await kube.create(paths.serviceTemplates(ns), {
    apiVersion: K0RDENT_API_VERSION,
    kind: 'ServiceTemplate',
    metadata: { name, namespace: ns },
    spec: {
      helm: {
        chartSpec: {
          chart: name,
          version: '1.0.0',
          interval: '10m',
          sourceRef: { kind: 'HelmRepository', name: 'repo' },
        },
      },
      ...(opts.helmOptions ? { helmOptions: opts.helmOptions } : {}),
    },
  });
  await kube.mergePatch(`${paths.serviceTemplate(ns, name)}/status`, {
    status: {
      valid: opts.valid ?? true,
      ...(opts.validationError ? { validationError: opts.validationError } : {}),
      ...(opts.chartRef === false
        ? {}
        : { chartRef: { kind: 'HelmChart', name, namespace: ns }, chartVersion: '1.0.0' }),
    },
  });
}

/** A Kustomize (or Resources) ServiceTemplate whose Flux source is ready. */
export async function createKustomizeTemplate(
  kube: KubeClient,
  ns: string,
  name: string,
  opts: { resources?: boolean; deploymentType?: 'Local' | 'Remote'; sourceKind?: string; path?: string } = {},
): Promise<void> {
  const field = opts.resources ? 'resources' : 'kustomize';
  await kube.create(paths.serviceTemplates(ns), {
    apiVersion: K0RDENT_API_VERSION,
    kind: 'ServiceTemplate',
    metadata: { name, namespace: ns },
    spec: {
      [field]: {
        deploymentType: opts.deploymentType ?? 'Remote',
        localSourceRef: { kind: opts.sourceKind ?? 'GitRepository', name: `${name}-src` },
        path: opts.path ?? './deploy',
      },
    },
  });
  await kube.mergePatch(`${paths.serviceTemplate(ns, name)}/status`, {
    status: {
      valid: true,
      sourceStatus: { kind: opts.sourceKind ?? 'GitRepository', name: `${name}-src`, namespace: ns },
    },
  });
}

export interface SvcSpec {
  name: string;
  namespace?: string;
  template: string;
  values?: string;
  version?: string;
  helmAction?: 'Install' | 'Uninstall';
  valuesFrom?: { kind: 'ConfigMap' | 'Secret'; name: string }[];
  helmOptions?: Record<string, unknown>;
}

export async function createServiceSet(
  kube: KubeClient,
  o: {
    namespace: string;
    name: string;
    provider: string;
    cluster?: string;
    selfManagement?: boolean;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    config?: unknown;
    services: SvcSpec[];
  },
): Promise<KubeObject> {
  return kube.create(paths.serviceSets(o.namespace), {
    apiVersion: K0RDENT_API_VERSION,
    kind: 'ServiceSet',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      labels: o.labels ?? {},
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: {
      cluster: o.cluster ?? 'cluster1',
      provider: {
        name: o.provider,
        ...(o.selfManagement ? { selfManagement: true } : {}),
        ...(o.config !== undefined ? { config: o.config } : {}),
      },
      services: o.services.map((s) => ({ namespace: 'default', version: s.template, ...s })),
    },
  });
}

export async function getServiceSet(kube: KubeClient, ns: string, name: string): Promise<any> {
  return kube.get(paths.serviceSet(ns, name));
}

export async function createKubeconfigSecret(kube: KubeClient, ns: string, cluster: string): Promise<void> {
  await kube.create(`/api/v1/namespaces/${ns}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `${cluster}-kubeconfig`, namespace: ns },
    stringData: { value: 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n' },
  });
}

type Cond = { type: string; status: 'True' | 'False' | 'Unknown'; reason: string; message?: string };

/** Writes the status Flux's controllers would write, through the real API (status subresource). */
export async function setFluxStatus(
  kube: KubeClient,
  ref: { kind: 'HelmRelease' | 'Kustomization'; namespace: string; name: string },
  o: {
    ready: 'True' | 'False' | 'Unknown';
    reason?: string;
    message?: string;
    stalled?: boolean;
    reconciling?: boolean;
    observedCurrent?: boolean;
    extra?: Record<string, unknown>;
  },
): Promise<void> {
  const obj = await kube.get(paths.flux(ref));
  assert.ok(obj, `${ref.kind} ${ref.namespace}/${ref.name} exists`);
  const gen = (obj.metadata.generation as number) ?? 1;
  const observed = o.observedCurrent === false ? gen - 1 : gen;
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const conds: Cond[] = [
    {
      type: 'Ready',
      status: o.ready,
      reason: o.reason ?? (o.ready === 'True' ? 'InstallSucceeded' : 'Progressing'),
      message: o.message ?? '',
    },
  ];
  if (o.stalled)
    conds.push({ type: 'Stalled', status: 'True', reason: o.reason ?? 'RetriesExceeded', message: o.message ?? '' });
  if (o.reconciling)
    conds.push({ type: 'Reconciling', status: 'True', reason: 'Progressing', message: 'reconciliation in progress' });
  await kube.mergePatch(`${paths.flux(ref)}/status`, {
    status: {
      observedGeneration: observed,
      ...(ref.kind === 'HelmRelease' ? { lastAttemptedGeneration: gen } : {}),
      conditions: conds.map((c) => ({ ...c, observedGeneration: observed, lastTransitionTime: now })),
      ...(o.extra ?? {}),
    },
  });
}

export async function listFlux(
  kube: KubeClient,
  kind: 'HelmRelease' | 'Kustomization',
  ns: string,
  labelSelector?: string,
): Promise<KubeObject[]> {
  return (await kube.list(kind === 'HelmRelease' ? paths.helmReleases(ns) : paths.kustomizations(ns), labelSelector))
    .items;
}

export type TestEvent = { reason: string; type: string; note: string; regarding: { name: string } };

export async function events(kube: KubeClient, ns: string): Promise<TestEvent[]> {
  return (await kube.list(paths.events(ns))).items as never;
}

/**
 * Waits for an Event matching pred and returns all events of the namespace. A pass records its events after its
 * status write, so a test that has just seen the status must wait for them.
 */
export async function eventsWith(
  kube: KubeClient,
  ns: string,
  what: string,
  pred: (e: TestEvent) => boolean,
): Promise<TestEvent[]> {
  return eventually(what, async () => {
    const evs = await events(kube, ns);
    return evs.some(pred) && evs;
  });
}

/**
 * Deletes every ServiceSet of a namespace without waiting for finalization (our finalizer is removed). For
 * test files that leave heavy ServiceSets behind: every later adapter on the shared control plane carries a
 * workflow for each ServiceSet with our finalizer, and the hostile table's (500 services, 1 MiB values, runaway
 * templates) slowed the files after it enough to time them out.
 */
export async function dropServiceSets(kube: KubeClient, ns: string): Promise<void> {
  const list = await kube.list(paths.serviceSets(ns));
  for (const o of list.items) {
    const p = paths.serviceSet(ns, o.metadata.name);
    // Deleting first: a deleting object takes no new finalizer, so the adapter cannot add ours back in between.
    await kube.delete(p).catch(() => undefined);
    await kube.mergePatch(p, { metadata: { finalizers: null } }, 'test-cleanup').catch(() => undefined);
  }
}
