// The demo's k0rdent objects when the real kcm runs: ServiceTemplates validated by kcm, a ClusterDeployment with a
// serviceSpec and a MultiClusterService matching it. kcm turns them into the ServiceSets ksm-flux deploys, and
// reports the services' state back into them; the demo's summary is read from kcm's objects.
import { K0RDENT_API_VERSION, LABEL_MANAGED } from '../workflow/constants';
import type { KubeClient, KubeObject } from '../kube/client';
import { paths } from '../kube/paths';
import { createGitRepository, createKustomizeTemplate } from '../testenv/gitServer';
import { sourcePaths } from '../testenv/helmRepo';
import {
  createManagedHelmRepository,
  createUnprovisionedClusterInputs,
  createValidatedServiceTemplate,
  KCM_NAMESPACE,
  kcmPaths,
} from '../testenv/kcm';

export const DEMO_MCS = 'team-b';
const GROUP_LABEL = 'demo.ksm-flux/group';

type ServiceState = { name: string; namespace: string; state: string; version?: string; failureMessage?: string };
type Condition = { type: string; status: string; message?: string };

/** Templates (validated by kcm) in the demo namespace, and the MultiClusterService's in kcm-system. */
export async function createKcmTemplates(
  kube: KubeClient,
  ns: string,
  o: { repoUrl: string; gitUrl: string },
): Promise<void> {
  for (const n of [ns, KCM_NAMESPACE]) await createManagedHelmRepository(kube, n, 'demo-charts', o.repoUrl);
  await createGitRepository(kube, ns, 'platform', o.gitUrl).catch(ignoreConflict);
  // kcm's Flux (and so the demo's, in kcm mode) only sees sources with the managed label.
  await kube.mergePatch(sourcePaths.gitRepository(ns, 'platform'), {
    metadata: { labels: { [LABEL_MANAGED]: 'true' } },
  });
  const helm = (n: string, name: string, version: string) =>
    createValidatedServiceTemplate(kube, n, { name, chart: 'hello', version, repository: 'demo-charts' });
  await Promise.all([
    helm(ns, 'hello-1-0-0', '1.0.0'),
    helm(ns, 'hello-1-1-0', '1.1.0'),
    // A MultiClusterService's templates are validated in kcm's system namespace (and resolved in the cluster's).
    helm(KCM_NAMESPACE, 'hello-1-1-0', '1.1.0'),
    kube
      .get(paths.serviceTemplate(ns, 'platform-config'))
      .then((t) =>
        t
          ? undefined
          : createKustomizeTemplate(kube, ns, { name: 'platform-config', gitRepository: 'platform', path: './' }),
      ),
  ]);
}

/**
 * ClusterDeployment `<cluster>` (its kubeconfig Secret already exists) with three services, one of them with
 * values that are not YAML (a named failure), and MultiClusterService `team-b` adding a fourth to every cluster of
 * the demo group.
 */
export async function createKcmSamples(
  kube: KubeClient,
  ns: string,
  o: { cluster: string; provider: string },
): Promise<void> {
  await createUnprovisionedClusterInputs(kube, ns, { clusterTemplate: 'demo-cluster', credential: 'demo-credential' });
  const provider = { name: o.provider, config: { interval: '1m' } };
  await kube
    .create(kcmPaths.clusterDeployments(ns), {
      apiVersion: K0RDENT_API_VERSION,
      kind: 'ClusterDeployment',
      metadata: { name: o.cluster, namespace: ns, labels: { [GROUP_LABEL]: 'demo' } },
      spec: {
        template: 'demo-cluster',
        credential: 'demo-credential',
        serviceSpec: {
          provider,
          services: [
            {
              name: 'hello',
              namespace: 'team-a',
              template: 'hello-1-0-0',
              values: 'greeting: hello from team A\ncolor: green\n',
            },
            { name: 'platform', namespace: 'platform', template: 'platform-config' },
            // Bad input on purpose: the service reports a named failure, the others are untouched.
            { name: 'broken', namespace: 'team-c', template: 'hello-1-0-0', values: 'greeting: [unclosed\n' },
          ],
        },
      },
    })
    .catch(ignoreConflict);
  await kube
    .create(kcmPaths.multiClusterServices(), {
      apiVersion: K0RDENT_API_VERSION,
      kind: 'MultiClusterService',
      metadata: { name: DEMO_MCS },
      spec: {
        clusterSelector: { matchLabels: { [GROUP_LABEL]: 'demo' } },
        serviceSpec: { provider, services: [{ name: 'hello', namespace: 'team-b', template: 'hello-1-1-0' }] },
      },
    })
    .catch(ignoreConflict);
}

const conditionOf = (o: KubeObject | undefined, type: string) =>
  ((o as { status?: { conditions?: Condition[] } } | undefined)?.status?.conditions ?? []).find((c) => c.type === type);
const servicesOf = (o: KubeObject | undefined): ServiceState[] =>
  (o as { status?: { services?: ServiceState[] } } | undefined)?.status?.services ?? [];

/** True once kcm reports the healthy services of the sample deployed (the broken one stays Failed). */
export async function kcmSamplesSettled(kube: KubeClient, ns: string, cluster: string): Promise<boolean> {
  const cd = await kube.get(kcmPaths.clusterDeployment(ns, cluster));
  const mcs = await kube.get(kcmPaths.multiClusterService(DEMO_MCS));
  const state = (n: string, svcNs: string) => servicesOf(cd).find((s) => s.name === n && s.namespace === svcNs)?.state;
  return (
    state('hello', 'team-a') === 'Deployed' &&
    state('platform', 'platform') === 'Deployed' &&
    state('hello', 'team-b') === 'Deployed' &&
    conditionOf(mcs, 'ClusterInReadyState')?.status === 'True'
  );
}

/** The summary the demo prints: what kcm says about the ClusterDeployment, the MultiClusterService and the ServiceSets. */
export async function kcmSummary(kube: KubeClient, ns: string, cluster: string): Promise<string[]> {
  const cd = await kube.get(kcmPaths.clusterDeployment(ns, cluster));
  const mcs = await kube.get(kcmPaths.multiClusterService(DEMO_MCS));
  const svc = (e: ServiceState) =>
    `${e.namespace}/${e.name}=${e.state}${e.version ? `@${e.version}` : ''}${e.failureMessage ? ` (${e.failureMessage.slice(0, 80)})` : ''}`;
  const sets = (await kube.list(paths.serviceSets(ns))).items.map(
    (o) =>
      `  ${o.metadata.name.padEnd(22)} deployed=${(o as { status?: { deployed?: boolean } }).status?.deployed ?? false}  ${servicesOf(
        o,
      )
        .map((e) => `${e.namespace}/${e.name}=${e.state}`)
        .join(', ')}`,
  );
  const matching = (mcs as { status?: { matchingClusters?: { name?: string; deployed?: boolean }[] } } | undefined)
    ?.status?.matchingClusters;
  return [
    `ClusterDeployment ${ns}/${cluster}: ServicesInReadyState ${conditionOf(cd, 'ServicesInReadyState')?.message ?? '-'}`,
    ...servicesOf(cd).map((e) => `  ${svc(e)}`),
    `MultiClusterService ${DEMO_MCS}: ClusterInReadyState ${conditionOf(mcs, 'ClusterInReadyState')?.message ?? '-'}, matching clusters ${(matching ?? []).map((m) => `${m.name}${m.deployed ? ' (deployed)' : ''}`).join(', ') || '-'}`,
    `ServiceSets kcm created in namespace ${ns}:`,
    ...sets,
  ];
}

export function ignoreConflict(e: unknown): void {
  if ((e as { status?: number }).status !== 409) throw e;
}
