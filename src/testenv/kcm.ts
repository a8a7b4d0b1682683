// The real k0rdent controller manager (kcm, built from source by `scripts/build-tools.sh kcm`) against the local
// control plane, so that ClusterDeployments and MultiClusterServices become ServiceSets the way they do in a
// k0rdent cluster, and kcm reads our ServiceSet status back into them.
//
// kcm runs with the flags found to work without webhooks, cert-manager, Cluster API, Sveltos or network access
// (../shared/kcm/README.md). Its ClusterDeployment and MultiClusterService controllers start only once its own
// installation is ready: a Management naming a Release whose three ProviderTemplates are valid, and kcm's
// HelmReleases `kcm`, `capi` and `projectsveltos` reporting installed. Those objects stand for kcm's own Helm
// install here, so we create them, suspend the HelmReleases (a running helm-controller must not try to install
// charts that do not exist) and write the status an installed release has.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { HELM_API_VERSION, K0RDENT_API_VERSION, LABEL_MANAGED } from '../workflow/constants';
import type { KubeClient, KubeObject } from '../kube/client';
import { installCrds } from './crds';
import { ensureStandInDeployment } from './standIn';
import { isAlive, sleep, startDetached, tail, type Started } from './proc';
import { toolPaths, versions } from './versions';

export const KCM_NAMESPACE = 'kcm-system';
/** kcm's own Deployment name (env KCM_NAME): the built-in Sveltos SMP names it as its adapter. */
export const KCM_NAME = 'kcm-controller-manager';
/** The one Management kcm knows. */
export const MANAGEMENT_NAME = 'kcm';

const RELEASE_VERSION = versions.kcm;
const dashed = RELEASE_VERSION.replace(/\./g, '-');
export const RELEASE_NAME = `kcm-${dashed}`;
/** Component → ProviderTemplate; the keys are also the names of the HelmReleases kcm creates in kcm-system. */
const PROVIDER_TEMPLATES = {
  kcm: `kcm-${dashed}`,
  capi: `cluster-api-${dashed}`,
  projectsveltos: `projectsveltos-${dashed}`,
} as const;

/** Touched on the Management to make kcm reconcile it at once (see installKcm). */
const POKE_ANNOTATION = 'ksm-flux.k0rdent.mirantis.com/testenv-reported';

/** The log line kcm writes once both service controllers are set up (management_controller.go). */
const CONTROLLERS_STARTED = 'Setup for MultiClusterService controller successful';

const api = `/apis/${K0RDENT_API_VERSION}`;
export const kcmPaths = {
  management: (name = MANAGEMENT_NAME) => `${api}/managements/${name}`,
  managements: () => `${api}/managements`,
  release: (name: string) => `${api}/releases/${name}`,
  releases: () => `${api}/releases`,
  providerTemplate: (name: string) => `${api}/providertemplates/${name}`,
  providerTemplates: () => `${api}/providertemplates`,
  clusterTemplates: (ns: string) => `${api}/namespaces/${ns}/clustertemplates`,
  clusterTemplate: (ns: string, name: string) => `${api}/namespaces/${ns}/clustertemplates/${name}`,
  credentials: (ns: string) => `${api}/namespaces/${ns}/credentials`,
  clusterDeployments: (ns: string) => `${api}/namespaces/${ns}/clusterdeployments`,
  clusterDeployment: (ns: string, name: string) => `${api}/namespaces/${ns}/clusterdeployments/${name}`,
  multiClusterServices: () => `${api}/multiclusterservices`,
  multiClusterService: (name: string) => `${api}/multiclusterservices/${name}`,
  helmRelease: (ns: string, name: string) => `/apis/${HELM_API_VERSION}/namespaces/${ns}/helmreleases/${name}`,
};

/** Installs kcm's 21 CRDs and the Cluster API Cluster CRD (kcm lists Clusters when deleting a ClusterDeployment). */
export function installKcmCrds(client: KubeClient): Promise<string[]> {
  return installCrds(client, toolPaths().kcmCrdDir);
}

/** Starts kcm's controller manager against KUBECONFIG; it logs to DIR/logs/kcm-manager.log. */
export function launchKcm(dir: string, kubeconfig: string): Started {
  const bin = toolPaths().kcmManager;
  if (!fs.existsSync(bin))
    throw new Error(`kcm is not built (${bin}); run \`ksm-flux testenv build --kcm\` (scripts/build-tools.sh kcm)`);
  const args = [
    // No admission webhooks (no serving certificate), and kcm then validates in its controllers instead.
    '--enable-webhook=false',
    // Its own installation objects are ours to create (they stand for a Helm install of kcm): see installKcm.
    '--create-management=false',
    '--create-release=false',
    '--create-templates=false',
    '--create-access-management=false',
    // ksm-flux is the state management provider under test; the built-in Sveltos adapter stays off.
    '--enable-sveltos-ctrl=false',
    // No Cluster API controllers run: nothing to poll.
    '--capi-cluster-poll-interval=0',
    // Leader election cannot be turned off; its Lease lives in kcm-system.
    `--leader-election-namespace=${KCM_NAMESPACE}`,
    '--metrics-bind-address=0',
    '--health-probe-bind-address=0',
    '--zap-devel=false',
  ];
  const env = { ...process.env, KUBECONFIG: kubeconfig, POD_NAMESPACE: KCM_NAMESPACE, KCM_NAME };
  return startDetached(dir, 'kcm-manager', bin, args, env);
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const digest = (s: string) => `sha256:${crypto.createHash('sha256').update(s).digest('hex')}`;

async function createIfMissing(kube: KubeClient, collection: string, obj: KubeObject): Promise<KubeObject> {
  try {
    return await kube.create(collection, obj);
  } catch (e) {
    if ((e as { status?: number }).status !== 409) throw e;
    return (await kube.get(`${collection}/${obj.metadata.name}`))!;
  }
}

/** The status helm-controller leaves on an installed release, at the object's current generation. */
function installedStatus(hr: KubeObject): Record<string, unknown> {
  const gen = (hr.metadata.generation as number | undefined) ?? 1;
  const name = hr.metadata.name;
  const config = digest(JSON.stringify((hr as { spec?: { values?: unknown } }).spec?.values ?? {}));
  const t = now();
  return {
    observedGeneration: gen,
    lastAttemptedGeneration: gen,
    lastAttemptedRevision: RELEASE_VERSION,
    lastAttemptedConfigDigest: config,
    lastAttemptedReleaseAction: 'install',
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'InstallSucceeded',
        message: `Helm install succeeded for release ${KCM_NAMESPACE}/${name}.v1 (reported by the ksm-flux test environment: kcm runs as a local process)`,
        observedGeneration: gen,
        lastTransitionTime: t,
      },
      {
        type: 'Released',
        status: 'True',
        reason: 'InstallSucceeded',
        message: `Helm install succeeded for release ${KCM_NAMESPACE}/${name}.v1`,
        observedGeneration: gen,
        lastTransitionTime: t,
      },
    ],
    history: [
      {
        name,
        namespace: KCM_NAMESPACE,
        version: 1,
        status: 'deployed',
        chartName: name,
        chartVersion: RELEASE_VERSION,
        appVersion: RELEASE_VERSION,
        configDigest: config,
        digest: digest(`${name}-${RELEASE_VERSION}`),
        firstDeployed: t,
        lastDeployed: t,
      },
    ],
  };
}

interface HelmReleaseStatus {
  observedGeneration?: number;
  lastAttemptedConfigDigest?: string;
  conditions?: { type: string; status: string; observedGeneration?: number }[];
  history?: { status: string; configDigest: string }[];
}

/** What kcm checks before it counts a component installed (components/reconciler.go checkProviderStatus). */
function isReportedInstalled(hr: KubeObject): boolean {
  const gen = hr.metadata.generation;
  const st = (hr as { status?: HelmReleaseStatus }).status;
  const ready = st?.conditions?.find((c) => c.type === 'Ready');
  const latest = st?.history?.[0];
  return (
    ready?.status === 'True' &&
    ready.observedGeneration === gen &&
    st?.observedGeneration === gen &&
    latest?.status === 'deployed' &&
    latest.configDigest === st?.lastAttemptedConfigDigest
  );
}

/**
 * Creates kcm's installation objects and reports them installed until kcm has started its ClusterDeployment and
 * MultiClusterService controllers; resolves with the time that took from the kcm process start.
 */
export async function installKcm(
  kube: KubeClient,
  proc: Started,
  /** startedAt: what the returned time counts from (testenv: the start of `up`). */
  o: { startedAt: number; timeoutMs?: number; say?: (m: string) => void },
): Promise<number> {
  const say = o.say ?? (() => undefined);
  const launchedAt = Date.now();
  // kcm itself runs as a local process; its Deployment object is what the built-in SMP names as adapter.
  await ensureStandInDeployment(kube, KCM_NAMESPACE, KCM_NAME, `kcm-manager, pid ${proc.pid} (ksm-flux testenv)`);
  await createIfMissing(kube, kcmPaths.releases(), {
    apiVersion: K0RDENT_API_VERSION,
    kind: 'Release',
    metadata: { name: RELEASE_NAME },
    spec: {
      version: RELEASE_VERSION,
      kcm: { template: PROVIDER_TEMPLATES.kcm },
      capi: { template: PROVIDER_TEMPLATES.capi },
      providers: [{ name: 'projectsveltos', template: PROVIDER_TEMPLATES.projectsveltos }],
    },
  });
  for (const name of Object.values(PROVIDER_TEMPLATES)) {
    // The chartRef names a HelmChart that does not exist: kcm then leaves the status we write alone.
    await createIfMissing(kube, kcmPaths.providerTemplates(), {
      apiVersion: K0RDENT_API_VERSION,
      kind: 'ProviderTemplate',
      metadata: { name },
      spec: { helm: { chartRef: { kind: 'HelmChart', name, namespace: KCM_NAMESPACE } } },
    });
  }
  await createIfMissing(kube, kcmPaths.managements(), {
    apiVersion: K0RDENT_API_VERSION,
    kind: 'Management',
    metadata: { name: MANAGEMENT_NAME },
    spec: { release: RELEASE_NAME, providers: [{ name: 'projectsveltos' }] },
  });

  const deadline = Date.now() + (o.timeoutMs ?? 180_000);
  const steps = new Set<string>();
  const step = (s: string) => {
    if (steps.has(s)) return;
    steps.add(s);
    say(`kcm: ${s} (${Date.now() - o.startedAt} ms)`);
  };
  for (;;) {
    if (!isAlive(proc.pid)) throw new Error(`kcm-manager exited while starting.\n${tail(proc.log)}`);
    if (tail(proc.log, 400).includes(CONTROLLERS_STARTED)) {
      step(
        `ClusterDeployment and MultiClusterService controllers running, ${Date.now() - launchedAt} ms after kcm started`,
      );
      return Date.now() - o.startedAt;
    }
    // Valid templates, written after the Management exists (before it, kcm marks them "waiting for Management").
    for (const name of Object.values(PROVIDER_TEMPLATES)) {
      const pt = await kube.get(kcmPaths.providerTemplate(name));
      const st = (pt as { status?: { valid?: boolean; observedGeneration?: number } } | undefined)?.status;
      if (pt && (st?.valid !== true || st.observedGeneration !== pt.metadata.generation)) {
        await kube.mergePatch(`${kcmPaths.providerTemplate(name)}/status`, {
          status: {
            valid: true,
            observedGeneration: pt.metadata.generation,
            chartRef: { kind: 'HelmChart', name, namespace: KCM_NAMESPACE },
            chartVersion: RELEASE_VERSION,
            description: `${name} (stands for kcm's own installation in the ksm-flux test environment)`,
          },
        });
      }
    }
    // kcm creates its HelmReleases one after the other, each once the previous one is installed.
    for (const name of Object.keys(PROVIDER_TEMPLATES)) {
      const path = kcmPaths.helmRelease(KCM_NAMESPACE, name);
      let hr = await kube.get(path);
      if (!hr) continue;
      if (!(hr as { spec?: { suspend?: boolean } }).spec?.suspend) {
        hr = await kube.mergePatch<KubeObject>(path, { spec: { suspend: true } });
      }
      if (!isReportedInstalled(hr)) {
        await kube.mergePatch(`${path}/status`, { status: installedStatus(hr) });
        step(`HelmRelease ${KCM_NAMESPACE}/${name} reported installed`);
        // kcm's Management controller does not watch its HelmReleases (it polls every 10 s); an update of the
        // Management itself makes it look now, which saves ~10 s per component.
        await kube.mergePatch(kcmPaths.management(), {
          metadata: { annotations: { [POKE_ANNOTATION]: `${name} ${now()}` } },
        });
      }
    }
    if (Date.now() > deadline) {
      throw new Error(
        `kcm's ClusterDeployment/MultiClusterService controllers did not start within ${o.timeoutMs ?? 180_000} ms.\n${tail(proc.log)}`,
      );
    }
    await sleep(300);
  }
}

/** A HelmRepository kcm's Flux sees: its source-controller only watches objects with the managed label. */
export async function createManagedHelmRepository(
  kube: KubeClient,
  namespace: string,
  name: string,
  url: string,
): Promise<void> {
  await createIfMissing(kube, `/apis/source.toolkit.fluxcd.io/v1/namespaces/${namespace}/helmrepositories`, {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'HelmRepository',
    metadata: { name, namespace, labels: { [LABEL_MANAGED]: 'true' } },
    spec: { url, interval: '30s', timeout: '20s' },
  });
}

/**
 * A Helm ServiceTemplate as a user writes it (only `spec.helm.chartSpec`), left to kcm's template controller: it
 * creates the HelmChart, waits for source-controller's artifact, downloads and checks the chart and marks the
 * template valid. The managed label tells kcm the template brings its own HelmRepository (otherwise kcm adds its
 * default `kcm-templates` repository, which points at the internet). Resolves once kcm says the template is valid.
 */
export async function createValidatedServiceTemplate(
  kube: KubeClient,
  namespace: string,
  o: { name: string; chart: string; version: string; repository: string; timeoutMs?: number },
): Promise<KubeObject> {
  await createIfMissing(kube, `${api}/namespaces/${namespace}/servicetemplates`, {
    apiVersion: K0RDENT_API_VERSION,
    kind: 'ServiceTemplate',
    metadata: { name: o.name, namespace, labels: { [LABEL_MANAGED]: 'true' } },
    spec: {
      helm: {
        chartSpec: {
          chart: o.chart,
          version: o.version,
          interval: '30s',
          sourceRef: { kind: 'HelmRepository', name: o.repository },
        },
      },
    },
  });
  return waitTemplateValid(
    kube,
    'ServiceTemplate',
    `${api}/namespaces/${namespace}/servicetemplates/${o.name}`,
    o.timeoutMs,
  );
}

/** Waits until kcm marks a template valid; on timeout the error carries kcm's validationError. */
export async function waitTemplateValid(
  kube: KubeClient,
  kind: string,
  objectPath: string,
  timeoutMs = 180_000,
): Promise<KubeObject> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const o = await kube.get(objectPath);
    const st = (o as { status?: { valid?: boolean; validationError?: string } } | undefined)?.status;
    if (o && st?.valid === true) return o;
    if (Date.now() > deadline)
      throw new Error(
        `${kind} ${objectPath} not valid after ${timeoutMs} ms: ${st?.validationError ?? 'no status yet'}`,
      );
    await sleep(500);
  }
}

/**
 * What a ClusterDeployment needs before kcm reconciles it, for a cluster that is not provisioned here (no Cluster
 * API runs): a ClusterTemplate and a Credential. The template's chartRef names a HelmChart that does not exist, so
 * kcm reports it invalid and creates no cluster HelmRelease — and still manages the cluster's services, as it
 * does while a real cluster is being provisioned. The Credential's identity is a Secret (kind Secret is the
 * identity kcm's built-in `infrastructure-internal` provider takes).
 */
export async function createUnprovisionedClusterInputs(
  kube: KubeClient,
  namespace: string,
  o: { clusterTemplate: string; credential: string },
): Promise<void> {
  await createIfMissing(kube, kcmPaths.clusterTemplates(namespace), {
    apiVersion: K0RDENT_API_VERSION,
    kind: 'ClusterTemplate',
    metadata: { name: o.clusterTemplate, namespace },
    spec: { helm: { chartRef: { kind: 'HelmChart', name: `${o.clusterTemplate}-not-served`, namespace } } },
  });
  await createIfMissing(kube, `/api/v1/namespaces/${namespace}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `${o.credential}-identity`, namespace },
    stringData: { note: 'identity of the infrastructure provider; unused: no cluster is provisioned' },
  });
  await createIfMissing(kube, kcmPaths.credentials(namespace), {
    apiVersion: K0RDENT_API_VERSION,
    kind: 'Credential',
    metadata: { name: o.credential, namespace },
    spec: { identityRef: { apiVersion: 'v1', kind: 'Secret', name: `${o.credential}-identity`, namespace } },
  });
}
