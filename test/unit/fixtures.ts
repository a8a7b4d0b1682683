// Shared fixtures for the unit tests of the pure modules (src/workflow, src/plan, src/api).
// k0rdent objects are built by parsing plain objects with the zod schemas, as the activities do.
import { ServiceSet, ServiceTemplate, type Service } from '../../src/api/k0rdent';
import { parseProviderConfig, type ProviderConfig } from '../../src/plan/providerConfig';
import type { FluxMode } from '../../src/workflow/fluxMode';
import type { PlanContext } from '../../src/plan/plan';
import type {
  ConflictInfo,
  FluxObservation,
  Observation,
  ObservedCondition,
  ServiceObservation,
  ServiceStatusEntry,
  StatusCondition,
  StatusView,
} from '../../src/workflow/types';

export const SS_NS = 'kcm-system';
export const SS_NAME = 'dev-cluster';
export const SS_UID = '11111111-2222-3333-4444-555555555555';
export const CLUSTER = 'dev-cluster';

export interface ServiceSetOpts {
  name?: string;
  namespace?: string;
  uid?: string;
  cluster?: string;
  selfManagement?: boolean;
  config?: unknown;
  services?: Record<string, unknown>[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function makeServiceSet(o: ServiceSetOpts = {}): ServiceSet {
  return ServiceSet.parse({
    apiVersion: 'k0rdent.mirantis.com/v1beta1',
    kind: 'ServiceSet',
    metadata: {
      name: o.name ?? SS_NAME,
      namespace: o.namespace ?? SS_NS,
      uid: o.uid ?? SS_UID,
      generation: 1,
      creationTimestamp: '2026-01-01T00:00:00Z',
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: {
      cluster: o.selfManagement ? '' : (o.cluster ?? CLUSTER),
      provider: {
        name: 'ksm-flux',
        ...(o.selfManagement !== undefined ? { selfManagement: o.selfManagement } : {}),
        ...(o.config !== undefined ? { config: o.config } : {}),
      },
      services: o.services ?? [],
    },
  });
}

/** The first spec service of a ServiceSet (fails loudly when there is none). */
export function firstService(ss: ServiceSet): Service {
  const s = ss.spec.services?.[0];
  if (!s) throw new Error('fixture ServiceSet has no services');
  return s;
}

export function service(name: string, template: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, namespace: 'apps', template, ...extra };
}

function templateMeta(name: string, namespace = SS_NS) {
  return { name, namespace, uid: `uid-${name}`, generation: 1 };
}

/** A chartSpec Helm template that kcm has reconciled: status.chartRef points to its HelmChart. */
export function helmChartTemplate(
  name = 'ingress-nginx-4-11-0',
  o: {
    chartRefNamespace?: string | null;
    templateNamespace?: string;
    helmOptions?: Record<string, unknown>;
    chartRefKind?: string;
  } = {},
): ServiceTemplate {
  return ServiceTemplate.parse({
    metadata: templateMeta(name, o.templateNamespace),
    spec: {
      helm: { chartSpec: { chart: 'ingress-nginx', version: '4.11.0' } },
      ...(o.helmOptions ? { helmOptions: o.helmOptions } : {}),
    },
    status: {
      valid: true,
      chartRef: {
        kind: o.chartRefKind ?? 'HelmChart',
        name,
        ...(o.chartRefNamespace === null ? {} : { namespace: o.chartRefNamespace ?? o.templateNamespace ?? SS_NS }),
      },
      chartVersion: '4.11.0',
    },
  });
}

/** A Helm template kcm has not reconciled yet (no status.chartRef). */
export function helmTemplateNotReady(name = 'ingress-nginx-4-11-0'): ServiceTemplate {
  return ServiceTemplate.parse({
    metadata: templateMeta(name),
    spec: { helm: { chartSpec: { chart: 'ingress-nginx', version: '4.11.0' } } },
    status: { valid: true },
  });
}

export function invalidTemplate(name: string, validationError: string): ServiceTemplate {
  return ServiceTemplate.parse({
    metadata: templateMeta(name),
    spec: { helm: { chartSpec: { chart: 'x', version: '1.0.0' } } },
    status: { valid: false, validationError },
  });
}

/** A Helm template with chartSource (a Flux source published in status.sourceStatus). */
export function helmChartSourceTemplate(
  name = 'podinfo-git',
  o: { kind?: string; path?: string } = {},
): ServiceTemplate {
  return ServiceTemplate.parse({
    metadata: templateMeta(name),
    spec: {
      helm: {
        chartSource: {
          deploymentType: 'Remote',
          localSourceRef: { kind: o.kind ?? 'GitRepository', name: 'podinfo' },
          path: o.path ?? 'charts/podinfo',
        },
      },
    },
    status: {
      valid: true,
      sourceStatus: { kind: o.kind ?? 'GitRepository', name: 'podinfo', namespace: 'flux-sources' },
    },
  });
}

/** What a Kustomize or Resources template fixture may vary. */
interface SourceTemplateOptions {
  deploymentType?: 'Local' | 'Remote' | null;
  sourceKind?: string;
  path?: string | null;
  noSourceStatus?: boolean;
}

export function kustomizeTemplate(name = 'kustomize-app', o: SourceTemplateOptions = {}): ServiceTemplate {
  return sourceTemplate('kustomize', name, o);
}

export function resourcesTemplate(name = 'resources-app', o: SourceTemplateOptions = {}): ServiceTemplate {
  return sourceTemplate('resources', name, o);
}

function sourceTemplate(key: 'kustomize' | 'resources', name: string, o: SourceTemplateOptions): ServiceTemplate {
  const kind = o.sourceKind ?? 'GitRepository';
  return ServiceTemplate.parse({
    metadata: templateMeta(name),
    spec: {
      [key]: {
        ...(o.deploymentType !== null ? { deploymentType: o.deploymentType ?? 'Remote' } : {}),
        localSourceRef: { kind, name: 'app-source' },
        ...(o.path !== null ? { path: o.path ?? './deploy/overlays/prod' } : {}),
      },
      version: '1.2.3',
    },
    status: {
      valid: true,
      ...(o.noSourceStatus ? {} : { sourceStatus: { kind, name: 'app-source', namespace: SS_NS } }),
    },
  });
}

export function defaultConfig(raw: unknown = {}): ProviderConfig {
  const r = parseProviderConfig(raw);
  if (!r.ok) throw new Error(`fixture provider config is invalid: ${r.error}`);
  return r.config;
}

export function planCtx(
  ss: ServiceSet,
  o: { config?: unknown; paused?: boolean; fluxMode?: FluxMode } = {},
): PlanContext {
  return {
    serviceSet: ss,
    config: defaultConfig(o.config ?? ss.spec.provider.config ?? {}),
    paused: o.paused ?? false,
    fluxMode: o.fluxMode ?? 'kcm',
  };
}

// ---------------------------------------------------------------------------------------------------
// Observations (the workflow/activity boundary types)

export function cond(
  type: string,
  status: ObservedCondition['status'],
  reason = '',
  message = '',
  observedGeneration?: number,
): ObservedCondition {
  return { type, status, reason, message, ...(observedGeneration !== undefined ? { observedGeneration } : {}) };
}

export const readyTrue = (gen = 1) => cond('Ready', 'True', 'InstallSucceeded', 'Helm install succeeded', gen);

/** A HelmRelease observation that Flux reports Ready=True at generation 1, applied with hash h1. */
export function fluxObs(o: Partial<FluxObservation> = {}): FluxObservation {
  const generation = o.generation ?? 1;
  return {
    kind: 'HelmRelease',
    namespace: SS_NS,
    name: 'dev-cluster-apps-nginx',
    uid: 'flux-uid-1',
    generation,
    observedGeneration: generation,
    deleting: false,
    suspended: false,
    fluxFinalizer: true,
    appliedHash: 'h1',
    conditions: [readyTrue(generation)],
    ownerUid: SS_UID,
    serviceKey: 'apps/nginx',
    ...o,
  };
}

export function svcObs(name: string, o: Partial<ServiceObservation> = {}): ServiceObservation {
  const namespace = o.namespace ?? 'apps';
  return {
    key: `${namespace}/${name}`,
    name,
    namespace,
    template: 'tpl-1-0-0',
    type: 'Helm',
    specVersion: '1.0.0',
    uninstall: false,
    desired: { ref: { kind: 'HelmRelease', namespace: SS_NS, name: `dev-cluster-${namespace}-${name}` }, hash: 'h1' },
    ...o,
  };
}

export function conflict(o: Partial<ConflictInfo> = {}): ConflictInfo {
  return { winner: true, heldBy: [], waiting: [], ...o };
}

export function emptyStatus(o: Partial<StatusView> = {}): StatusView {
  return { deployed: false, services: [], conditions: [], ...o };
}

export function entry(name: string, o: Partial<ServiceStatusEntry> = {}): ServiceStatusEntry {
  return {
    name,
    namespace: 'apps',
    template: 'tpl-1-0-0',
    type: 'Helm',
    state: 'Deployed',
    lastStateTransitionTime: '2026-01-01T00:00:00.000Z',
    ...o,
  };
}

export function statusCond(
  type: string,
  status: StatusCondition['status'],
  o: Partial<StatusCondition> = {},
): StatusCondition {
  return { type, status, reason: type, message: '', lastTransitionTime: '2026-01-01T00:00:00.000Z', ...o };
}

/** An owned, finalized ServiceSet whose provider is ready and whose config is valid. */
export function observation(o: Partial<Observation> = {}): Observation {
  return {
    found: true,
    generation: 1,
    deleting: false,
    hasFinalizer: true,
    paused: false,
    owned: true,
    provider: { name: 'ksm-flux', found: true, ready: true, suspended: false },
    cluster: { apiVersion: 'k0rdent.mirantis.com/v1beta1', kind: 'ClusterDeployment', name: CLUSTER, namespace: SS_NS },
    providerConfig: { valid: true, priority: 100 },
    target: { selfManagement: false, kubeconfigSecret: `${CLUSTER}-kubeconfig`, kubeconfigSecretFound: true },
    services: [],
    stray: [],
    status: emptyStatus(),
    ...o,
  };
}

export const T0 = '2026-03-01T10:00:00.000Z';
export const T0_MS = Date.parse(T0);
export const at = (ms: number) => new Date(ms).toISOString();
