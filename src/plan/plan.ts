// What we write to Flux for one service of a ServiceSet: a pure function from (ServiceSet, service,
// ServiceTemplate, provider config, pause) to a HelmRelease or Kustomization, or a named error.
import crypto from 'node:crypto';
import {
  APPLIED_HASH_ANNOTATION,
  HELM_API_VERSION,
  K0RDENT_API_VERSION,
  KUSTOMIZE_API_VERSION,
  SOURCE_API_VERSION,
  LABEL_MANAGED_BY,
  LABEL_RELEASE_KEY,
  LABEL_SERVICESET,
  LABEL_SERVICESET_UID,
  LABEL_SERVICE_NAME,
  LABEL_SERVICE_NAMESPACE,
  MANAGED_BY,
  MAX_RELEASE_NAME,
  REQUESTED_AT_ANNOTATION,
  type ServiceType,
  PAUSED_ANNOTATION,
} from '../workflow/constants';
import { canonicalJson } from '../workflow/canonicalJson';
import type {
  FluxObject,
  HelmRelease,
  HelmReleaseSpec,
  Kustomization,
  KustomizationSpec,
  WrittenMeta,
} from '../api/flux';
import type { Service, ServiceSet, ServiceTemplate } from '../api/k0rdent';
import { chartTemplateMetadata, watchLabels, type FluxMode } from '../workflow/fluxMode';
import { helmReleaseFields, mergeHelmOptions } from './helmOptions';
import { fluxObjectName, isNamespaceName, isObjectName, releaseKey, shortenName, targetKey } from './names';
import { driftDetectionOf, type ProviderConfig } from './providerConfig';
import type { FluxRef, PlanError } from '../workflow/types';
import { parseValues, type ResolvedValues } from '../values/parse';

export interface PlanContext {
  serviceSet: ServiceSet;
  config: ProviderConfig;
  paused: boolean;
  /** Which Flux reconciles what we write (a process setting, chosen at the boundary): decides the watch label. */
  fluxMode: FluxMode;
}

export type PlanResult =
  | { ok: true; type: ServiceType; object: FluxObject; hash: string; releaseKey?: string }
  | { ok: false; type: ServiceType; error: PlanError };

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const FLUX_SOURCE_KINDS = ['GitRepository', 'OCIRepository', 'Bucket', 'ExternalArtifact'];

export function serviceType(t: ServiceTemplate | undefined): ServiceType {
  if (t?.spec.kustomize) return 'Kustomize';
  if (t?.spec.resources) return 'Resource';
  return 'Helm';
}

export function kubeconfigSecretName(ss: ServiceSet): string | undefined {
  return ss.spec.provider.selfManagement ? undefined : `${ss.spec.cluster}-kubeconfig`;
}

export function isSelfManagement(ss: ServiceSet): boolean {
  return !!ss.spec.provider.selfManagement;
}

/** A ServiceSet's namespace; one read from a file may leave it out, which means "default" (as for kubectl). */
export function namespaceOf(ss: { metadata: { namespace?: string | undefined } }): string {
  return ss.metadata.namespace ?? 'default';
}

/** kcm's service-set-paused annotation (any value): changes are recorded, nothing is rolled out or removed. */
export function isPaused(ss: ServiceSet): boolean {
  const a = ss.metadata.annotations;
  return !!a && Object.prototype.hasOwnProperty.call(a, PAUSED_ANNOTATION);
}

export function serviceKey(s: { namespace: string; name: string }): string {
  return `${s.namespace}/${s.name}`;
}

export function fluxRefFor(ss: ServiceSet, s: Service, type: ServiceType): FluxRef {
  return {
    kind: type === 'Helm' ? 'HelmRelease' : 'Kustomization',
    namespace: namespaceOf(ss),
    name: fluxObjectName(ss.metadata.name, s.namespace, s.name),
  };
}

export function releaseKeyFor(ss: ServiceSet, s: Service): string {
  return releaseKey(targetKey(namespaceOf(ss), ss.spec.cluster, isSelfManagement(ss)), s.namespace, s.name);
}

/**
 * What a service references by name must be a possible object name in the ServiceSet's namespace: a template
 * "other-ns/x", a valuesFrom "..", or a cluster whose kubeconfig Secret name would be "../victim/x-kubeconfig"
 * is bad input (Failed), not something to wait for, and is never read.
 */
export function invalidReference(ss: ServiceSet, service: Service): string | undefined {
  if (!isObjectName(service.template))
    return `ServiceTemplate name ${JSON.stringify(service.template)} is not a valid object name (a template is referenced by name in the ServiceSet's namespace)`;
  for (const v of service.valuesFrom ?? []) {
    if (!isObjectName(v.name))
      return `valuesFrom ${v.kind} name ${JSON.stringify(v.name)} is not a valid object name (valuesFrom objects are read from the ServiceSet's namespace)`;
  }
  const secret = kubeconfigSecretName(ss);
  if (secret !== undefined && !isObjectName(secret))
    return `cluster ${JSON.stringify(ss.spec.cluster)} does not name a valid kubeconfig Secret (${JSON.stringify(secret)})`;
  return undefined;
}

/**
 * Service keys (namespace/name) that appear more than once in spec.services, with their count. Both entries
 * name the same release and the same Flux object: which one is meant cannot be known, so every copy fails.
 */
export function duplicateServices(services: readonly { namespace: string; name: string }[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const s of services) n.set(serviceKey(s), (n.get(serviceKey(s)) ?? 0) + 1);
  return new Map([...n].filter(([, c]) => c > 1));
}

export function duplicateServiceError(key: string, count: number): PlanError {
  return {
    reason: 'DuplicateService',
    message: `service ${key} appears ${count} times in spec.services; each (namespace, name) may appear once`,
  };
}

function err(type: ServiceType, reason: string, message: string): PlanResult {
  return { ok: false, type, error: { reason, message } };
}

/**
 * `values` is the service's values as the activity resolved them (src/values/: templates rendered, valuesFrom
 * expanded per data key). Without it (pure callers: unit tests, bench) the values text is parsed as it is and
 * valuesFrom objects pass through whole.
 */
export function planService(
  ctx: PlanContext,
  service: Service,
  template: ServiceTemplate | undefined,
  values?: ResolvedValues,
): PlanResult {
  const ss = ctx.serviceSet;
  const type = serviceType(template);
  const badRef = invalidReference(ss, service);
  if (badRef) return err(type, 'InvalidName', badRef);
  if (!template) {
    return err(type, 'TemplateNotFound', `ServiceTemplate ${ss.metadata.namespace}/${service.template} not found`);
  }
  if (template.status?.valid === false) {
    const why = template.status.validationError || 'template is not valid';
    return err(type, 'TemplateInvalid', `ServiceTemplate ${service.template} is invalid: ${why}`);
  }
  if (!isNamespaceName(service.namespace)) {
    const len = service.namespace.length > 63 ? ` (${service.namespace.length} characters; at most 63)` : '';
    return err(
      type,
      'InvalidName',
      `service namespace ${JSON.stringify(service.namespace)} is not a valid namespace name${len}`,
    );
  }
  // Kustomize services name only our objects (Helm services are checked as release names).
  if (type !== 'Helm' && !isObjectName(service.name)) {
    return err(
      type,
      'InvalidName',
      `service name ${JSON.stringify(service.name)} is not a valid object name (lower case letters, digits, "-" and ".")`,
    );
  }
  if (type === 'Helm') return planHelm(ctx, service, template, values);
  return planKustomization(ctx, service, template, type, values);
}

function meta(
  ctx: PlanContext,
  kind: FluxObject['kind'],
  service: Service,
  extraLabels: Record<string, string>,
): WrittenMeta {
  const ss = ctx.serviceSet;
  return {
    name: fluxObjectName(ss.metadata.name, service.namespace, service.name),
    namespace: namespaceOf(ss),
    labels: {
      ...watchLabels(ctx.fluxMode, kind),
      [LABEL_MANAGED_BY]: MANAGED_BY,
      [LABEL_SERVICESET]: shortenName(ss.metadata.name),
      [LABEL_SERVICESET_UID]: ss.metadata.uid,
      [LABEL_SERVICE_NAME]: shortenName(service.name),
      [LABEL_SERVICE_NAMESPACE]: service.namespace,
      ...extraLabels,
    },
    annotations: {},
    ownerReferences: [
      {
        apiVersion: K0RDENT_API_VERSION,
        kind: 'ServiceSet',
        name: ss.metadata.name,
        uid: ss.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
}

function kubeConfigRef(ss: ServiceSet, remote: boolean) {
  const secret = remote ? kubeconfigSecretName(ss) : undefined;
  return secret ? { kubeConfig: { secretRef: { name: secret, key: 'value' } } } : {};
}

function planHelm(
  ctx: PlanContext,
  service: Service,
  template: ServiceTemplate,
  resolved: ResolvedValues | undefined,
): PlanResult {
  const ss = ctx.serviceSet;
  const t = template;
  if (service.name.length > MAX_RELEASE_NAME) {
    return err(
      'Helm',
      'NameTooLong',
      `release name ${service.name} is ${service.name.length} characters; Helm allows at most ${MAX_RELEASE_NAME}`,
    );
  }
  if (!DNS1123_SUBDOMAIN.test(service.name)) {
    return err('Helm', 'InvalidName', `release name ${JSON.stringify(service.name)} is not a valid Helm release name`);
  }
  // Chart: kcm's template controller publishes a HelmChart in status.chartRef (chartSpec/chartRef templates);
  // chartSource templates publish their Flux source in status.sourceStatus.
  let chartFields: Pick<HelmReleaseSpec, 'chartRef' | 'chart'>;
  const ref = t.status?.chartRef;
  const src = t.status?.sourceStatus;
  if (ref) {
    chartFields = {
      chartRef: {
        ...(ref.kind === 'HelmChart' || ref.kind === 'OCIRepository'
          ? { apiVersion: ref.apiVersion || SOURCE_API_VERSION }
          : {}),
        kind: ref.kind,
        name: ref.name,
        namespace: ref.namespace || t.metadata.namespace || ss.metadata.namespace,
      },
    };
  } else if (t.spec.helm?.chartSource && src) {
    if (src.kind === 'OCIRepository') {
      chartFields = {
        chartRef: { apiVersion: SOURCE_API_VERSION, kind: 'OCIRepository', name: src.name, namespace: src.namespace },
      };
    } else if (src.kind === 'GitRepository' || src.kind === 'Bucket') {
      const chartPath = t.spec.helm.chartSource.path || '.';
      // helm-controller generates a HelmChart from this template; in kcm mode it must carry the watch label, or
      // kcm's label-filtered source-controller never builds it.
      const metadata = chartTemplateMetadata(ctx.fluxMode);
      chartFields = {
        chart: {
          ...(metadata ? { metadata } : {}),
          spec: {
            chart: chartPath,
            sourceRef: { kind: src.kind, name: src.name, namespace: src.namespace },
            reconcileStrategy: 'Revision',
          },
        },
      };
    } else {
      return err(
        'Helm',
        'UnsupportedSource',
        `ServiceTemplate ${t.metadata.name}: a Helm chart cannot come from a ${src.kind}`,
      );
    }
  } else {
    return err(
      'Helm',
      'TemplateNotReady',
      `ServiceTemplate ${t.metadata.name} has no status.chartRef yet (kcm has not reconciled it)`,
    );
  }

  let values: Record<string, unknown> | undefined;
  let valuesFrom: NonNullable<HelmReleaseSpec['valuesFrom']> = [];
  if (resolved) {
    values = resolved.values;
    valuesFrom = resolved.valuesFrom.map((v) => ({ kind: v.kind, name: v.name, valuesKey: v.valuesKey }));
  } else {
    const parsed = parseValues(service.values);
    if (!parsed.ok) return err('Helm', 'InvalidValues', parsed.message);
    values = parsed.values;
    valuesFrom = (service.valuesFrom ?? []).map((v) => ({ kind: v.kind, name: v.name }));
  }

  const opts = mergeHelmOptions(t.spec.helmOptions, service.helmOptions);
  const fields = helmReleaseFields(opts);
  const rk = releaseKeyFor(ss, service);
  const suspend = ctx.paused || ctx.config.suspend;
  const drift = driftDetectionOf(ctx.config);
  const spec: HelmReleaseSpec = {
    interval: ctx.config.interval,
    ...(ctx.config.timeout && !fields.timeout ? { timeout: ctx.config.timeout } : {}),
    ...(suspend ? { suspend: true } : {}),
    releaseName: service.name,
    targetNamespace: service.namespace,
    // The release record lives beside the release: the ServiceSet's namespace need not exist on the target.
    storageNamespace: service.namespace,
    ...chartFields,
    ...kubeConfigRef(ss, true),
    ...(values ? { values } : {}),
    ...(valuesFrom.length ? { valuesFrom } : {}),
    ...fields,
    ...(drift ? { driftDetection: drift } : {}),
    ...(ctx.config.patches?.length ? { postRenderers: [{ kustomize: { patches: fluxPatches(ctx.config) } }] } : {}),
  };
  const object: HelmRelease = {
    apiVersion: HELM_API_VERSION,
    kind: 'HelmRelease',
    metadata: withRefsDigest(meta(ctx, 'HelmRelease', service, { [LABEL_RELEASE_KEY]: rk }), resolved),
    spec,
  };
  return {
    ok: true,
    type: 'Helm',
    object: stampHash(object),
    hash: object.metadata.annotations[APPLIED_HASH_ANNOTATION]!,
    releaseKey: rk,
  };
}

function planKustomization(
  ctx: PlanContext,
  service: Service,
  template: ServiceTemplate,
  type: ServiceType,
  resolved: ResolvedValues | undefined,
): PlanResult {
  const ss = ctx.serviceSet;
  const source = type === 'Kustomize' ? template.spec.kustomize : template.spec.resources;
  const src = template.status?.sourceStatus;
  if (!src) {
    return err(
      type,
      'TemplateNotReady',
      `ServiceTemplate ${template.metadata.name} has no status.sourceStatus yet (its source is not ready)`,
    );
  }
  if (!FLUX_SOURCE_KINDS.includes(src.kind)) {
    return err(
      type,
      'UnsupportedSource',
      `ServiceTemplate ${template.metadata.name}: a Flux Kustomization needs a GitRepository, OCIRepository, Bucket or ExternalArtifact source, not a ${src.kind}`,
    );
  }
  const remote = (source?.deploymentType ?? 'Remote') === 'Remote';
  const targetNamespace =
    type === 'Kustomize' ? (ctx.config.targetNamespace ?? service.namespace) : ctx.config.targetNamespace;
  const suspend = ctx.paused || ctx.config.suspend;
  const spec: KustomizationSpec = {
    interval: ctx.config.interval,
    ...(ctx.config.retryInterval ? { retryInterval: ctx.config.retryInterval } : {}),
    ...(ctx.config.timeout ? { timeout: ctx.config.timeout } : {}),
    ...(suspend ? { suspend: true } : {}),
    prune: ctx.config.prune,
    wait: ctx.config.wait,
    ...(ctx.config.force ? { force: true } : {}),
    path: source?.path || './',
    sourceRef: { kind: src.kind, name: src.name, namespace: src.namespace },
    ...(targetNamespace ? { targetNamespace } : {}),
    ...kubeConfigRef(ss, remote),
    ...(ctx.config.patches?.length ? { patches: fluxPatches(ctx.config) } : {}),
    ...(service.valuesFrom?.length
      ? { postBuild: { substituteFrom: service.valuesFrom.map((v) => ({ kind: v.kind, name: v.name })) } }
      : {}),
  };
  const object: Kustomization = {
    apiVersion: KUSTOMIZE_API_VERSION,
    kind: 'Kustomization',
    metadata: withRefsDigest(meta(ctx, 'Kustomization', service, {}), resolved),
    spec,
  };
  return { ok: true, type, object: stampHash(object), hash: object.metadata.annotations[APPLIED_HASH_ANNOTATION]! };
}

/** Sveltos' `patches` (patch text + PatchSelector target) are Flux's Kustomize patches as they are. */
function fluxPatches(c: ProviderConfig) {
  return (c.patches ?? []).map((p) => ({ patch: p.patch, ...(p.target ? { target: { ...p.target } } : {}) }));
}

/**
 * Flux reads valuesFrom/substituteFrom objects only at its interval. A digest of their resourceVersions as the
 * reconcile request makes a change to them a change of the object we apply, and Flux reconciles at once
 * (the digest is in the applied hash, so a new one is applied). No data goes into it.
 */
function withRefsDigest(m: WrittenMeta, resolved: ResolvedValues | undefined): WrittenMeta {
  if (resolved?.refsDigest) m.annotations[REQUESTED_AT_ANNOTATION] = `valuesFrom-${resolved.refsDigest}`;
  return m;
}

function withoutHash(a: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(a).filter(([k]) => k !== APPLIED_HASH_ANNOTATION));
}

function stampHash<T extends FluxObject>(o: T): T {
  const hash = crypto
    .createHash('sha256')
    .update(canonicalJson({ ...o, metadata: { ...o.metadata, annotations: withoutHash(o.metadata.annotations) } }))
    .digest('hex')
    .slice(0, 16);
  o.metadata.annotations[APPLIED_HASH_ANNOTATION] = hash;
  return o;
}

export function clusterRefFor(ss: ServiceSet) {
  // Self-management targets the management cluster; kcm's built-in adapter names it this way and kcm keys on it.
  return isSelfManagement(ss)
    ? { apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'SveltosCluster', name: 'mgmt', namespace: 'mgmt' }
    : {
        apiVersion: K0RDENT_API_VERSION,
        kind: 'ClusterDeployment',
        name: ss.spec.cluster,
        namespace: namespaceOf(ss),
      };
}
