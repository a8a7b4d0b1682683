import { fluxObjectName } from '../../src/plan/names';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../src/workflow/canonicalJson';
import { describe, test } from 'node:test';
import {
  APPLIED_HASH_ANNOTATION,
  REQUESTED_AT_ANNOTATION,
  LABEL_MANAGED,
  LABEL_MANAGED_BY,
  LABEL_RELEASE_KEY,
  LABEL_SERVICESET,
  LABEL_SERVICESET_UID,
  LABEL_SERVICE_NAME,
  LABEL_SERVICE_NAMESPACE,
} from '../../src/workflow/constants';
import type { HelmRelease, Kustomization } from '../../src/api/flux';
import type { ResolvedValues } from '../../src/values/parse';
import type { ServiceSet, ServiceTemplate } from '../../src/api/k0rdent';
import { ATOMIC_RETRIES } from '../../src/plan/helmOptions';
import {
  clusterRefFor,
  fluxRefFor,
  kubeconfigSecretName,
  planService,
  releaseKeyFor,
  serviceKey,
  serviceType,
  type PlanResult,
} from '../../src/plan/plan';
import {
  CLUSTER,
  SS_NAME,
  SS_NS,
  SS_UID,
  firstService,
  helmChartSourceTemplate,
  helmChartTemplate,
  helmTemplateNotReady,
  invalidTemplate,
  kustomizeTemplate,
  makeServiceSet,
  planCtx,
  resourcesTemplate,
  service,
  type ServiceSetOpts,
} from './fixtures';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function helm(r: PlanResult): HelmRelease {
  if (!r.ok) return assert.fail(`expected a HelmRelease, got ${r.error.reason}: ${r.error.message}`);
  assert.equal(r.type, 'Helm');
  if (r.object.kind !== 'HelmRelease') return assert.fail(`expected a HelmRelease, got a ${r.object.kind}`);
  assert.equal(r.object.apiVersion, 'helm.toolkit.fluxcd.io/v2');
  return r.object;
}

function kustomization(r: PlanResult): Kustomization {
  if (!r.ok) return assert.fail(`expected a Kustomization, got ${r.error.reason}: ${r.error.message}`);
  if (r.object.kind !== 'Kustomization') return assert.fail(`expected a Kustomization, got a ${r.object.kind}`);
  assert.equal(r.object.apiVersion, 'kustomize.toolkit.fluxcd.io/v1');
  return r.object;
}

function planError(r: PlanResult, reason: string): string {
  if (r.ok) return assert.fail(`expected ${reason}, got a ${r.object.kind}`);
  assert.equal(r.error.reason, reason, r.error.message);
  return r.error.message;
}

interface Row {
  name: string;
  ss?: ServiceSetOpts;
  svc?: Record<string, unknown>;
  template: ServiceTemplate | undefined;
  config?: unknown;
  paused?: boolean;
  /** Values as the activity resolved them (src/values/); absent: the pure fallback. */
  values?: ResolvedValues;
  check: (r: PlanResult, ss: ServiceSet) => void;
}

const HELM_TPL = 'ingress-nginx-4-11-0';
const helmSvc = (extra: Record<string, unknown> = {}) => service('nginx', HELM_TPL, extra);
const ksSvc = (extra: Record<string, unknown> = {}) => service('app', 'kustomize-app', extra);
const resSvc = (extra: Record<string, unknown> = {}) => service('res', 'resources-app', extra);

const rows: Row[] = [
  // ---- Helm: chart from status.chartRef
  {
    name: 'Helm: status.chartRef HelmChart → spec.chartRef with source API version',
    template: helmChartTemplate(HELM_TPL),
    check: (r) => {
      const hr = helm(r);
      assert.deepEqual(hr.spec.chartRef, {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'HelmChart',
        name: HELM_TPL,
        namespace: SS_NS,
      });
      assert.equal(hr.spec.chart, undefined, 'exactly one of chart/chartRef');
    },
  },
  {
    name: 'Helm: chartRef without namespace defaults to the template namespace',
    template: helmChartTemplate(HELM_TPL, { templateNamespace: 'templates', chartRefNamespace: null }),
    check: (r) => assert.equal(helm(r).spec.chartRef?.namespace, 'templates'),
  },
  {
    name: 'Helm: chartRef with explicit namespace keeps it',
    template: helmChartTemplate(HELM_TPL, { chartRefNamespace: 'charts' }),
    check: (r) => assert.equal(helm(r).spec.chartRef?.namespace, 'charts'),
  },
  {
    name: 'Helm: release name = service name; target and storage namespace = service namespace; createNamespace',
    template: helmChartTemplate(HELM_TPL),
    check: (r) => {
      const hr = helm(r);
      assert.equal(hr.spec.releaseName, 'nginx');
      assert.equal(hr.spec.targetNamespace, 'apps');
      assert.equal(hr.spec.storageNamespace, 'apps');
      assert.equal(hr.spec.install?.createNamespace, true);
      assert.equal(hr.spec.interval, '10m');
      assert.equal(hr.metadata.namespace, SS_NS);
      assert.equal(hr.metadata.name, fluxObjectName(SS_NAME, 'apps', 'nginx'));
    },
  },
  {
    name: 'Helm: atomic by default → remediation retries',
    template: helmChartTemplate(HELM_TPL),
    check: (r) => {
      const hr = helm(r);
      assert.deepEqual(hr.spec.install?.remediation, { retries: ATOMIC_RETRIES, remediateLastFailure: true });
      assert.equal(hr.spec.upgrade?.remediation?.retries, ATOMIC_RETRIES);
    },
  },
  {
    name: 'Helm: non-self-management → kubeConfig.secretRef <cluster>-kubeconfig / value',
    template: helmChartTemplate(HELM_TPL),
    check: (r) =>
      assert.deepEqual(helm(r).spec.kubeConfig, { secretRef: { name: `${CLUSTER}-kubeconfig`, key: 'value' } }),
  },
  {
    name: 'Helm: self-management → no kubeConfig (the management cluster)',
    ss: { selfManagement: true, name: 'management-0a1b2c3d' },
    template: helmChartTemplate(HELM_TPL),
    check: (r) => {
      const hr = helm(r);
      assert.equal(hr.spec.kubeConfig, undefined);
      assert.equal('kubeConfig' in hr.spec, false);
    },
  },
  {
    name: 'Helm: values YAML → JSON object',
    svc: helmSvc({ values: 'controller:\n  replicaCount: 2\n  service:\n    type: NodePort\n' }),
    template: helmChartTemplate(HELM_TPL),
    check: (r) =>
      assert.deepEqual(helm(r).spec.values, { controller: { replicaCount: 2, service: { type: 'NodePort' } } }),
  },
  {
    name: 'Helm: empty values → no spec.values',
    svc: helmSvc({ values: '   \n' }),
    template: helmChartTemplate(HELM_TPL),
    check: (r) => assert.equal('values' in helm(r).spec, false),
  },
  {
    // Regression guard: values.ts once reported every syntax error "at unknown position".
    name: 'Helm: bad values YAML → InvalidValues naming the line',
    svc: helmSvc({ values: 'controller:\n  replicaCount: 2\nservice: [\n' }),
    template: helmChartTemplate(HELM_TPL),
    check: (r) => {
      const m = planError(r, 'InvalidValues');
      assert.match(m, /\bline \d+/, m);
    },
  },
  {
    name: 'Helm: values that are a list → InvalidValues naming the line',
    svc: helmSvc({ values: '# comment\n- a\n- b\n' }),
    template: helmChartTemplate(HELM_TPL),
    check: (r) => assert.match(planError(r, 'InvalidValues'), /line 2\b/),
  },
  {
    name: 'Helm: resolved values → spec.values; valuesFrom one entry per data key, in the resolved order',
    svc: helmSvc({ values: 'ignored: {{ .Cluster.metadata.name }}', valuesFrom: [{ kind: 'ConfigMap', name: 'cm' }] }),
    template: helmChartTemplate(HELM_TPL),
    values: {
      values: { name: 'dev-1' },
      valuesFrom: [
        { kind: 'ConfigMap', name: 'cm', valuesKey: 'a.yaml' },
        { kind: 'ConfigMap', name: 'cm', valuesKey: 'b.yaml' },
        { kind: 'Secret', name: 's', valuesKey: 'values.yaml' },
      ],
      refsDigest: '0123456789abcdef',
    },
    check: (r) => {
      const hr = helm(r);
      assert.deepEqual(hr.spec.values, { name: 'dev-1' });
      assert.deepEqual(hr.spec.valuesFrom, [
        { kind: 'ConfigMap', name: 'cm', valuesKey: 'a.yaml' },
        { kind: 'ConfigMap', name: 'cm', valuesKey: 'b.yaml' },
        { kind: 'Secret', name: 's', valuesKey: 'values.yaml' },
      ]);
      // The digest of the referenced objects is the reconcile request: Flux re-reads them when it changes.
      assert.equal(hr.metadata.annotations[REQUESTED_AT_ANNOTATION], 'valuesFrom-0123456789abcdef');
    },
  },
  {
    name: 'Helm: resolved, no valuesFrom → no reconcile request annotation',
    template: helmChartTemplate(HELM_TPL),
    values: { values: { a: 1 }, valuesFrom: [] },
    check: (r) => {
      const hr = helm(r);
      assert.equal(hr.metadata.annotations[REQUESTED_AT_ANNOTATION], undefined);
      assert.equal('valuesFrom' in hr.spec, false);
    },
  },
  {
    name: 'Kustomize: valuesFrom digest → reconcile request annotation too',
    svc: ksSvc({ valuesFrom: [{ kind: 'ConfigMap', name: 'vars' }] }),
    template: kustomizeTemplate('kustomize-app'),
    values: { valuesFrom: [], refsDigest: 'feedfeedfeedfeed' },
    check: (r) => {
      const ks = kustomization(r);
      assert.equal(ks.metadata.annotations[REQUESTED_AT_ANNOTATION], 'valuesFrom-feedfeedfeedfeed');
      assert.deepEqual(ks.spec.postBuild?.substituteFrom, [{ kind: 'ConfigMap', name: 'vars' }]);
    },
  },
  {
    name: 'Sveltos syncMode ContinuousWithDriftDetection → drift detection enabled',
    template: helmChartTemplate(HELM_TPL),
    config: { syncMode: 'ContinuousWithDriftDetection' },
    check: (r) => assert.deepEqual(helm(r).spec.driftDetection, { mode: 'enabled' }),
  },
  {
    name: 'Sveltos syncMode Continuous → Flux default (no drift detection)',
    template: helmChartTemplate(HELM_TPL),
    config: { syncMode: 'Continuous' },
    check: (r) => assert.equal(helm(r).spec.driftDetection, undefined),
  },
  {
    name: 'driftDetection wins over syncMode',
    template: helmChartTemplate(HELM_TPL),
    config: { syncMode: 'ContinuousWithDriftDetection', driftDetection: 'warn' },
    check: (r) => assert.deepEqual(helm(r).spec.driftDetection, { mode: 'warn' }),
  },
  {
    name: 'Sveltos driftExclusions and driftIgnore → driftDetection.ignore (paths; whole object = root path "")',
    template: helmChartTemplate(HELM_TPL),
    config: {
      syncMode: 'ContinuousWithDriftDetection',
      driftExclusions: [
        { paths: ['/spec/replicas'], target: { kind: 'Deployment', name: 'web' } },
        { paths: ['/data'] },
      ],
      driftIgnore: [{ group: 'apps', version: 'v1', kind: 'StatefulSet', namespace: 'db' }],
    },
    check: (r) =>
      assert.deepEqual(helm(r).spec.driftDetection, {
        mode: 'enabled',
        ignore: [
          { paths: ['/spec/replicas'], target: { kind: 'Deployment', name: 'web' } },
          { paths: ['/data'] },
          { paths: [''], target: { group: 'apps', version: 'v1', kind: 'StatefulSet', namespace: 'db' } },
        ],
      }),
  },
  {
    name: 'Sveltos patches → HelmRelease postRenderers (Kustomize patches)',
    template: helmChartTemplate(HELM_TPL),
    config: { patches: [{ patch: 'kind: Deployment\nmetadata:\n  name: web\n', target: { kind: 'Deployment' } }] },
    check: (r) =>
      assert.deepEqual(helm(r).spec.postRenderers, [
        {
          kustomize: {
            patches: [{ patch: 'kind: Deployment\nmetadata:\n  name: web\n', target: { kind: 'Deployment' } }],
          },
        },
      ]),
  },
  {
    name: 'Sveltos patches → Kustomization spec.patches',
    svc: ksSvc(),
    template: kustomizeTemplate('kustomize-app'),
    config: { patches: [{ patch: '- op: add\n  path: /metadata/labels/x\n  value: y\n' }] },
    check: (r) =>
      assert.deepEqual(kustomization(r).spec.patches, [
        { patch: '- op: add\n  path: /metadata/labels/x\n  value: y\n' },
      ]),
  },
  {
    name: 'Helm: valuesFrom without resolution (pure fallback) passes through (kind and name only)',
    svc: helmSvc({
      valuesFrom: [
        { kind: 'ConfigMap', name: 'nginx-values' },
        { kind: 'Secret', name: 'nginx-secret-values', extra: 'dropped' },
      ],
    }),
    template: helmChartTemplate(HELM_TPL),
    check: (r) =>
      assert.deepEqual(helm(r).spec.valuesFrom, [
        { kind: 'ConfigMap', name: 'nginx-values' },
        { kind: 'Secret', name: 'nginx-secret-values' },
      ]),
  },
  {
    name: 'Helm: empty valuesFrom → no spec.valuesFrom',
    svc: helmSvc({ valuesFrom: [] }),
    template: helmChartTemplate(HELM_TPL),
    check: (r) => assert.equal('valuesFrom' in helm(r).spec, false),
  },
  {
    name: 'Helm: template and service helmOptions merge onto the HelmRelease',
    svc: helmSvc({ helmOptions: { timeout: '9m', labels: { owner: 'svc' } } }),
    template: helmChartTemplate(HELM_TPL, {
      helmOptions: { wait: false, skipCRDs: true, timeout: '3m', labels: { team: 'tpl' } },
    }),
    check: (r) => {
      const hr = helm(r);
      assert.equal(hr.spec.install?.disableWait, true);
      assert.equal(hr.spec.install?.crds, 'Skip');
      assert.equal(hr.spec.timeout, '9m');
      assert.deepEqual(hr.spec.commonMetadata, { labels: { team: 'tpl', owner: 'svc' } });
    },
  },
  {
    name: 'Helm: provider config timeout applies when helmOptions set none',
    template: helmChartTemplate(HELM_TPL),
    config: { timeout: '4m' },
    check: (r) => assert.equal(helm(r).spec.timeout, '4m'),
  },
  {
    name: 'Helm: helmOptions timeout wins over provider config timeout',
    svc: helmSvc({ helmOptions: { timeout: '12m' } }),
    template: helmChartTemplate(HELM_TPL),
    config: { timeout: '4m' },
    check: (r) => assert.equal(helm(r).spec.timeout, '12m'),
  },
  {
    name: 'Helm: provider config interval and driftDetection',
    template: helmChartTemplate(HELM_TPL),
    config: { interval: '1m', driftDetection: 'warn' },
    check: (r) => {
      const hr = helm(r);
      assert.equal(hr.spec.interval, '1m');
      assert.deepEqual(hr.spec.driftDetection, { mode: 'warn' });
    },
  },
  // ---- Template problems
  {
    name: 'template not found → TemplateNotFound naming namespace/template',
    template: undefined,
    check: (r) => {
      assert.match(planError(r, 'TemplateNotFound'), new RegExp(`${SS_NS}/${HELM_TPL}`));
      assert.equal(r.type, 'Helm');
    },
  },
  {
    name: 'template status.valid=false → TemplateInvalid with its validationError',
    template: invalidTemplate(HELM_TPL, 'chart ingress-nginx 4.11.0 not found in repository'),
    check: (r) => {
      const m = planError(r, 'TemplateInvalid');
      assert.match(m, /chart ingress-nginx 4\.11\.0 not found in repository/);
      assert.match(m, new RegExp(HELM_TPL));
    },
  },
  {
    name: 'Helm template without status.chartRef → TemplateNotReady',
    template: helmTemplateNotReady(HELM_TPL),
    check: (r) => assert.match(planError(r, 'TemplateNotReady'), new RegExp(HELM_TPL)),
  },
  // ---- chartSource
  {
    name: 'Helm chartSource with GitRepository sourceStatus → chart.spec with sourceRef and path',
    svc: helmSvc({ template: 'podinfo-git' }),
    template: helmChartSourceTemplate('podinfo-git'),
    check: (r) => {
      const hr = helm(r);
      assert.equal(hr.spec.chartRef, undefined);
      assert.deepEqual(hr.spec.chart?.spec.sourceRef, {
        kind: 'GitRepository',
        name: 'podinfo',
        namespace: 'flux-sources',
      });
      assert.equal(hr.spec.chart?.spec.chart, 'charts/podinfo');
    },
  },
  {
    name: 'Helm chartSource with OCIRepository sourceStatus → chartRef OCIRepository',
    svc: helmSvc({ template: 'podinfo-oci' }),
    template: helmChartSourceTemplate('podinfo-oci', { kind: 'OCIRepository' }),
    check: (r) => {
      const hr = helm(r);
      assert.deepEqual(hr.spec.chartRef, {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'OCIRepository',
        name: 'podinfo',
        namespace: 'flux-sources',
      });
      assert.equal(hr.spec.chart, undefined);
    },
  },
  {
    name: 'Helm chartSource with a ConfigMap source → UnsupportedSource',
    svc: helmSvc({ template: 'podinfo-cm' }),
    template: helmChartSourceTemplate('podinfo-cm', { kind: 'ConfigMap' }),
    check: (r) => assert.match(planError(r, 'UnsupportedSource'), /ConfigMap/),
  },
  // ---- names
  {
    name: 'service name of 54 characters → NameTooLong',
    svc: service('n'.repeat(54), HELM_TPL),
    template: helmChartTemplate(HELM_TPL),
    check: (r) => assert.match(planError(r, 'NameTooLong'), /53/),
  },
  {
    name: 'service name of exactly 53 characters is fine',
    svc: service('n'.repeat(53), HELM_TPL),
    template: helmChartTemplate(HELM_TPL),
    check: (r) => {
      const hr = helm(r);
      assert.equal(hr.spec.releaseName, 'n'.repeat(53));
      assert.ok(hr.metadata.name.length <= 63);
      assert.ok((hr.metadata.labels[LABEL_SERVICE_NAME] ?? '').length <= 63);
    },
  },
  {
    name: 'invalid release name → InvalidName',
    svc: service('Nginx_1', HELM_TPL),
    template: helmChartTemplate(HELM_TPL),
    check: (r) => planError(r, 'InvalidName'),
  },
  {
    name: 'invalid service namespace → InvalidName',
    svc: { name: 'nginx', namespace: 'Apps', template: HELM_TPL },
    template: helmChartTemplate(HELM_TPL),
    check: (r) => assert.match(planError(r, 'InvalidName'), /Apps/),
  },
  {
    name: 'very long ServiceSet name → object name ≤ 63 and label-safe labels',
    ss: { name: `mcs-${'x'.repeat(120)}-abcdef01` },
    template: helmChartTemplate(HELM_TPL),
    check: (r) => {
      const hr = helm(r);
      assert.ok(hr.metadata.name.length <= 63, hr.metadata.name);
      assert.match(hr.metadata.name, DNS1123_SUBDOMAIN);
      for (const [k, v] of Object.entries(hr.metadata.labels)) {
        assert.ok(v.length <= 63, `label ${k} too long`);
        assert.match(v, LABEL_VALUE, `label ${k}=${v}`);
      }
    },
  },
  // ---- labels and owner reference
  {
    name: 'HelmRelease labels and single controller ownerReference',
    template: helmChartTemplate(HELM_TPL),
    check: (r, ss) => {
      const hr = helm(r);
      const l = hr.metadata.labels;
      assert.equal(l[LABEL_MANAGED], 'true');
      assert.equal(l['k0rdent.mirantis.com/managed'], 'true');
      assert.equal(l[LABEL_MANAGED_BY], 'ksm-flux');
      assert.equal(l['app.kubernetes.io/managed-by'], 'ksm-flux');
      assert.equal(l[LABEL_SERVICESET_UID], SS_UID);
      assert.equal(l[LABEL_SERVICESET], SS_NAME);
      assert.equal(l[LABEL_SERVICE_NAME], 'nginx');
      assert.equal(l[LABEL_SERVICE_NAMESPACE], 'apps');
      assert.equal(l[LABEL_RELEASE_KEY], releaseKeyFor(ss, firstService(ss)));
      assert.ok(r.ok && r.releaseKey === l[LABEL_RELEASE_KEY]);
      assert.deepEqual(hr.metadata.ownerReferences, [
        {
          apiVersion: 'k0rdent.mirantis.com/v1beta1',
          kind: 'ServiceSet',
          name: SS_NAME,
          uid: SS_UID,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    },
  },
  {
    name: 'Kustomization labels (no release key) and single controller ownerReference',
    svc: ksSvc(),
    template: kustomizeTemplate('kustomize-app'),
    check: (r) => {
      const ks = kustomization(r);
      const l = ks.metadata.labels;
      assert.equal(l[LABEL_MANAGED], 'true');
      assert.equal(l[LABEL_MANAGED_BY], 'ksm-flux');
      assert.equal(l[LABEL_SERVICESET_UID], SS_UID);
      assert.equal(l[LABEL_RELEASE_KEY], undefined);
      assert.ok(r.ok && r.releaseKey === undefined);
      assert.equal(ks.metadata.ownerReferences.length, 1);
      assert.equal(ks.metadata.ownerReferences.filter((o) => o.controller).length, 1);
      assert.equal(ks.metadata.ownerReferences[0]?.kind, 'ServiceSet');
      assert.equal(ks.metadata.ownerReferences[0]?.uid, SS_UID);
    },
  },
  // ---- pause / suspend
  {
    name: 'paused → HelmRelease spec.suspend true',
    template: helmChartTemplate(HELM_TPL),
    paused: true,
    check: (r) => assert.equal(helm(r).spec.suspend, true),
  },
  {
    name: 'not paused → no spec.suspend',
    template: helmChartTemplate(HELM_TPL),
    check: (r) => assert.equal('suspend' in helm(r).spec, false),
  },
  {
    name: 'provider config suspend → spec.suspend true',
    template: helmChartTemplate(HELM_TPL),
    config: { suspend: true },
    check: (r) => assert.equal(helm(r).spec.suspend, true),
  },
  {
    name: 'paused → Kustomization spec.suspend true',
    svc: ksSvc(),
    template: kustomizeTemplate('kustomize-app'),
    paused: true,
    check: (r) => assert.equal(kustomization(r).spec.suspend, true),
  },
  // ---- Kustomize
  {
    name: 'Kustomize (Remote, GitRepository) → Kustomization with sourceRef, path, targetNamespace, prune, kubeConfig',
    svc: ksSvc(),
    template: kustomizeTemplate('kustomize-app', { deploymentType: 'Remote' }),
    check: (r) => {
      assert.ok(r.ok && r.type === 'Kustomize');
      const ks = kustomization(r);
      assert.deepEqual(ks.spec.sourceRef, { kind: 'GitRepository', name: 'app-source', namespace: SS_NS });
      assert.equal(ks.spec.path, './deploy/overlays/prod');
      assert.equal(ks.spec.targetNamespace, 'apps');
      assert.equal(ks.spec.prune, true);
      assert.equal(ks.spec.wait, false);
      assert.equal(ks.spec.interval, '10m');
      assert.deepEqual(ks.spec.kubeConfig, { secretRef: { name: `${CLUSTER}-kubeconfig`, key: 'value' } });
      assert.equal(ks.metadata.name, fluxObjectName(SS_NAME, 'apps', 'app'));
      assert.equal(ks.metadata.namespace, SS_NS);
    },
  },
  {
    name: 'Kustomize: prune comes from provider config',
    svc: ksSvc(),
    template: kustomizeTemplate('kustomize-app'),
    config: { prune: false, wait: true, force: true, retryInterval: '30s', timeout: '2m' },
    check: (r) => {
      const ks = kustomization(r);
      assert.equal(ks.spec.prune, false);
      assert.equal(ks.spec.wait, true);
      assert.equal(ks.spec.force, true);
      assert.equal(ks.spec.retryInterval, '30s');
      assert.equal(ks.spec.timeout, '2m');
    },
  },
  {
    name: 'Kustomize deploymentType Local → no kubeConfig (management cluster)',
    svc: ksSvc(),
    template: kustomizeTemplate('kustomize-app', { deploymentType: 'Local' }),
    check: (r) => assert.equal('kubeConfig' in kustomization(r).spec, false),
  },
  {
    name: 'Kustomize Remote on a self-management ServiceSet → no kubeConfig',
    ss: { selfManagement: true },
    svc: ksSvc(),
    template: kustomizeTemplate('kustomize-app', { deploymentType: 'Remote' }),
    check: (r) => assert.equal(kustomization(r).spec.kubeConfig, undefined),
  },
  {
    name: 'Kustomize without path → the artifact root',
    svc: ksSvc(),
    template: kustomizeTemplate('kustomize-app', { path: null }),
    check: (r) => assert.equal(kustomization(r).spec.path, './'),
  },
  {
    name: 'Kustomize: provider config targetNamespace overrides the service namespace',
    svc: ksSvc(),
    template: kustomizeTemplate('kustomize-app'),
    config: { targetNamespace: 'shared' },
    check: (r) => assert.equal(kustomization(r).spec.targetNamespace, 'shared'),
  },
  {
    name: 'Kustomize: values are ignored, valuesFrom → postBuild.substituteFrom',
    svc: ksSvc({ values: 'a: 1\n', valuesFrom: [{ kind: 'ConfigMap', name: 'vars' }] }),
    template: kustomizeTemplate('kustomize-app'),
    check: (r) => {
      const ks = kustomization(r);
      assert.equal('values' in ks.spec, false);
      assert.deepEqual(ks.spec.postBuild, { substituteFrom: [{ kind: 'ConfigMap', name: 'vars' }] });
    },
  },
  {
    name: 'Kustomize with OCIRepository source',
    svc: ksSvc(),
    template: kustomizeTemplate('kustomize-app', { sourceKind: 'OCIRepository' }),
    check: (r) => assert.equal(kustomization(r).spec.sourceRef.kind, 'OCIRepository'),
  },
  {
    name: 'Kustomize with a ConfigMap source → UnsupportedSource',
    svc: ksSvc(),
    template: kustomizeTemplate('kustomize-app', { sourceKind: 'ConfigMap' }),
    check: (r) => {
      assert.match(planError(r, 'UnsupportedSource'), /ConfigMap/);
      assert.equal(r.type, 'Kustomize');
    },
  },
  {
    name: 'Kustomize without status.sourceStatus → TemplateNotReady',
    svc: ksSvc(),
    template: kustomizeTemplate('kustomize-app', { noSourceStatus: true }),
    check: (r) => planError(r, 'TemplateNotReady'),
  },
  {
    name: 'Kustomize template with valid=false → TemplateInvalid (type Kustomize)',
    svc: ksSvc(),
    template: (() => {
      const t = kustomizeTemplate('kustomize-app');
      return { ...t, status: { ...t.status, valid: false, validationError: 'Source is not ready' } };
    })(),
    check: (r) => {
      assert.match(planError(r, 'TemplateInvalid'), /Source is not ready/);
      assert.equal(r.type, 'Kustomize');
    },
  },
  // ---- Resources
  {
    name: 'Resources → Kustomization without targetNamespace',
    svc: resSvc(),
    template: resourcesTemplate('resources-app'),
    check: (r) => {
      assert.ok(r.ok && r.type === 'Resource');
      const ks = kustomization(r);
      assert.equal(ks.spec.targetNamespace, undefined);
      assert.equal('targetNamespace' in ks.spec, false);
      assert.deepEqual(ks.spec.sourceRef, { kind: 'GitRepository', name: 'app-source', namespace: SS_NS });
      assert.deepEqual(ks.spec.kubeConfig, { secretRef: { name: `${CLUSTER}-kubeconfig`, key: 'value' } });
    },
  },
  {
    name: 'Resources with provider config targetNamespace → targetNamespace set',
    svc: resSvc(),
    template: resourcesTemplate('resources-app'),
    config: { targetNamespace: 'shared' },
    check: (r) => assert.equal(kustomization(r).spec.targetNamespace, 'shared'),
  },
  {
    name: 'Resources with a ConfigMap source → UnsupportedSource',
    svc: resSvc(),
    template: resourcesTemplate('resources-app', { sourceKind: 'ConfigMap' }),
    check: (r) => {
      planError(r, 'UnsupportedSource');
      assert.equal(r.type, 'Resource');
    },
  },
  {
    name: 'Resources deploymentType Local → no kubeConfig',
    svc: resSvc(),
    template: resourcesTemplate('resources-app', { deploymentType: 'Local' }),
    check: (r) => assert.equal(kustomization(r).spec.kubeConfig, undefined),
  },
];

describe('planService (table)', () => {
  for (const row of rows) {
    test(row.name, () => {
      const ss = makeServiceSet({ ...row.ss, services: [row.svc ?? helmSvc()] });
      const r = planService(
        planCtx(ss, { config: row.config ?? {}, paused: row.paused ?? false }),
        firstService(ss),
        row.template,
        row.values,
      );
      row.check(r, ss);
      if (r.ok) {
        // invariants for every produced object
        assert.equal(r.object.metadata.annotations[APPLIED_HASH_ANNOTATION], r.hash);
        assert.match(r.hash, /^[0-9a-f]{16}$/);
        assert.ok(r.object.metadata.name.length <= 63);
        assert.match(r.object.metadata.name, DNS1123_SUBDOMAIN);
      }
    });
  }
});

describe('planService applied hash', () => {
  const tpl = helmChartTemplate(HELM_TPL);
  const hashOf = (
    svc: Record<string, unknown>,
    o: { paused?: boolean; config?: unknown; ss?: ServiceSetOpts } = {},
  ) => {
    const ss = makeServiceSet({ ...o.ss, services: [svc] });
    const r = planService(planCtx(ss, { config: o.config ?? {}, paused: o.paused ?? false }), firstService(ss), tpl);
    if (!r.ok) return assert.fail(r.error.message);
    return r.hash;
  };

  test('is stable across calls', () => {
    const svc = helmSvc({ values: 'a: 1\nb: [1, 2]\n' });
    assert.equal(hashOf(svc), hashOf(svc));
  });

  test('does not depend on the key order of values', () => {
    assert.equal(hashOf(helmSvc({ values: 'a: 1\nb: 2\n' })), hashOf(helmSvc({ values: 'b: 2\na: 1\n' })));
  });

  test('changes when values change', () => {
    assert.notEqual(hashOf(helmSvc({ values: 'a: 1\n' })), hashOf(helmSvc({ values: 'a: 2\n' })));
    assert.notEqual(hashOf(helmSvc()), hashOf(helmSvc({ values: 'a: 1\n' })));
  });

  test('changes when the referenced valuesFrom objects change (digest), not otherwise', () => {
    const ss = makeServiceSet({ services: [helmSvc({ valuesFrom: [{ kind: 'ConfigMap', name: 'cm' }] })] });
    const plan = (refsDigest: string) => {
      const r = planService(planCtx(ss), firstService(ss), tpl, {
        valuesFrom: [{ kind: 'ConfigMap', name: 'cm', valuesKey: 'values.yaml' }],
        refsDigest,
      });
      if (!r.ok) return assert.fail(r.error.message);
      return r.hash;
    };
    assert.equal(plan('aaaaaaaaaaaaaaaa'), plan('aaaaaaaaaaaaaaaa'));
    assert.notEqual(plan('aaaaaaaaaaaaaaaa'), plan('bbbbbbbbbbbbbbbb'));
  });

  test('changes when pause, config or valuesFrom change', () => {
    const base = hashOf(helmSvc());
    assert.notEqual(hashOf(helmSvc(), { paused: true }), base);
    assert.notEqual(hashOf(helmSvc(), { config: { interval: '1m' } }), base);
    assert.notEqual(hashOf(helmSvc({ valuesFrom: [{ kind: 'Secret', name: 's' }] })), base);
  });

  test('changes when the chart (template) changes', () => {
    const ss = makeServiceSet({ services: [helmSvc()] });
    const svc = firstService(ss);
    const a = planService(planCtx(ss), svc, helmChartTemplate(HELM_TPL));
    const b = planService(
      planCtx(ss),
      { ...svc, template: 'ingress-nginx-4-12-0' },
      helmChartTemplate('ingress-nginx-4-12-0'),
    );
    assert.ok(a.ok && b.ok);
    assert.notEqual(a.hash, b.hash);
  });

  test('ignores the annotation it is stored in', () => {
    const ss = makeServiceSet({ services: [helmSvc()] });
    const r = planService(planCtx(ss), firstService(ss), tpl);
    if (!r.ok) return assert.fail(r.error.message);
    assert.deepEqual(Object.keys(r.object.metadata.annotations), [APPLIED_HASH_ANNOTATION]);
  });
});

describe('plan helpers', () => {
  test('serviceType', () => {
    assert.equal(serviceType(undefined), 'Helm');
    assert.equal(serviceType(helmChartTemplate()), 'Helm');
    assert.equal(serviceType(kustomizeTemplate()), 'Kustomize');
    assert.equal(serviceType(resourcesTemplate()), 'Resource');
  });

  test('kubeconfigSecretName', () => {
    assert.equal(kubeconfigSecretName(makeServiceSet({ cluster: 'c1' })), 'c1-kubeconfig');
    assert.equal(kubeconfigSecretName(makeServiceSet({ selfManagement: true })), undefined);
  });

  test('serviceKey and fluxRefFor', () => {
    const ss = makeServiceSet({ services: [helmSvc()] });
    const s = firstService(ss);
    assert.equal(serviceKey(s), 'apps/nginx');
    assert.deepEqual(fluxRefFor(ss, s, 'Helm'), {
      kind: 'HelmRelease',
      namespace: SS_NS,
      name: fluxObjectName(SS_NAME, 'apps', 'nginx'),
    });
    assert.equal(fluxRefFor(ss, s, 'Kustomize').kind, 'Kustomization');
    assert.equal(fluxRefFor(ss, s, 'Resource').kind, 'Kustomization');
  });

  test('releaseKeyFor: same release on the same cluster from two ServiceSets shares a key', () => {
    const a = makeServiceSet({ name: 'a', uid: 'ua', services: [helmSvc()] });
    const b = makeServiceSet({ name: 'b', uid: 'ub', services: [helmSvc()] });
    const c = makeServiceSet({ name: 'c', uid: 'uc', cluster: 'other', services: [helmSvc()] });
    assert.equal(releaseKeyFor(a, firstService(a)), releaseKeyFor(b, firstService(b)));
    assert.notEqual(releaseKeyFor(a, firstService(a)), releaseKeyFor(c, firstService(c)));
  });

  test('clusterRefFor', () => {
    assert.deepEqual(clusterRefFor(makeServiceSet({ cluster: 'c1' })), {
      apiVersion: 'k0rdent.mirantis.com/v1beta1',
      kind: 'ClusterDeployment',
      name: 'c1',
      namespace: SS_NS,
    });
    assert.deepEqual(clusterRefFor(makeServiceSet({ selfManagement: true })), {
      apiVersion: 'lib.projectsveltos.io/v1beta1',
      kind: 'SveltosCluster',
      name: 'mgmt',
      namespace: 'mgmt',
    });
  });

  test('canonicalJson sorts keys and drops undefined', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }], e: null }), '{"a":[{"d":2}],"b":1,"e":null}');
    assert.equal(canonicalJson({ x: 1, y: 2 }), canonicalJson({ y: 2, x: 1 }));
  });
});

describe('plan: Flux mode decides the watch label (kcm filtered controllers vs a standalone Flux)', () => {
  const ss = makeServiceSet({});
  const rows: {
    mode: 'kcm' | 'standalone';
    what: string;
    svc: Record<string, unknown>;
    template: ServiceTemplate;
    managed: string | undefined;
    chartLabels: Record<string, string> | undefined | 'no chart template';
  }[] = [
    {
      mode: 'kcm',
      what: 'HelmRelease from a HelmChart',
      svc: helmSvc(),
      template: helmChartTemplate(HELM_TPL),
      managed: 'true',
      chartLabels: 'no chart template',
    },
    {
      mode: 'kcm',
      what: 'HelmRelease from a Git chart source (helm-controller generates the HelmChart)',
      svc: helmSvc({ template: 'podinfo-git' }),
      template: helmChartSourceTemplate('podinfo-git'),
      managed: 'true',
      chartLabels: { [LABEL_MANAGED]: 'true' },
    },
    {
      mode: 'kcm',
      what: 'HelmRelease from a Bucket chart source',
      svc: helmSvc({ template: 'podinfo-bucket' }),
      template: helmChartSourceTemplate('podinfo-bucket', { kind: 'Bucket' }),
      managed: 'true',
      chartLabels: { [LABEL_MANAGED]: 'true' },
    },
    {
      mode: 'kcm',
      what: 'Kustomization',
      svc: ksSvc(),
      template: kustomizeTemplate('kustomize-app'),
      managed: 'true',
      chartLabels: 'no chart template',
    },
    {
      mode: 'kcm',
      what: 'Kustomization of a Resources template',
      svc: ksSvc(),
      template: resourcesTemplate('kustomize-app'),
      managed: 'true',
      chartLabels: 'no chart template',
    },
    {
      mode: 'standalone',
      what: 'HelmRelease from a HelmChart',
      svc: helmSvc(),
      template: helmChartTemplate(HELM_TPL),
      managed: undefined,
      chartLabels: 'no chart template',
    },
    {
      mode: 'standalone',
      what: 'HelmRelease from a Git chart source',
      svc: helmSvc({ template: 'podinfo-git' }),
      template: helmChartSourceTemplate('podinfo-git'),
      managed: undefined,
      chartLabels: undefined,
    },
    {
      mode: 'standalone',
      what: 'Kustomization',
      svc: ksSvc(),
      template: kustomizeTemplate('kustomize-app'),
      managed: undefined,
      chartLabels: 'no chart template',
    },
  ];
  for (const row of rows) {
    test(`${row.mode}: ${row.what} → managed label ${row.managed ?? 'absent'}`, () => {
      const r = planService(planCtx(ss, { fluxMode: row.mode }), row.svc as never, row.template);
      if (!r.ok) return assert.fail(r.error.message);
      assert.equal(r.object.metadata.labels[LABEL_MANAGED], row.managed);
      // Our own labels do not depend on the mode.
      assert.equal(r.object.metadata.labels[LABEL_MANAGED_BY], 'ksm-flux');
      assert.equal(r.object.metadata.labels[LABEL_SERVICESET_UID], SS_UID);
      if (r.object.kind === 'HelmRelease') {
        const chart = r.object.spec.chart;
        if (row.chartLabels === 'no chart template') assert.equal(chart, undefined);
        else if (row.chartLabels === undefined) assert.equal(chart?.metadata, undefined);
        else assert.deepEqual(chart?.metadata, { labels: row.chartLabels });
      } else assert.equal(row.chartLabels, 'no chart template');
    });
  }

  test('switching the mode changes the applied hash (the object is re-applied with or without the label)', () => {
    const a = planService(planCtx(ss, { fluxMode: 'kcm' }), helmSvc() as never, helmChartTemplate(HELM_TPL));
    const b = planService(planCtx(ss, { fluxMode: 'standalone' }), helmSvc() as never, helmChartTemplate(HELM_TPL));
    assert.ok(a.ok && b.ok);
    assert.notEqual(a.hash, b.hash);
  });
});
