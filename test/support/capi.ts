// The Cluster API Cluster CRD, from the sigs.k8s.io/cluster-api Go module zip pinned in tools/sources (the version kcm requires),
// installed into the test API server: values templates read the CAPI Cluster as `.Cluster`.
import path from 'node:path';
import { installCrds } from '../../src/testenv/crds';
import { pinnedSourceDir } from '../../src/testenv/pinnedSources';
import type { KubeClient } from '../../src/kube/client';

export async function installCapiClusterCrd(kube: KubeClient): Promise<void> {
  const dir = await pinnedSourceDir('sigs.k8s.io/cluster-api');
  await installCrds(
    kube,
    path.join(dir, 'config', 'crd', 'bases'),
    (c) => c.metadata.name === 'clusters.cluster.x-k8s.io',
  );
}

/** Sveltos' SveltosCluster CRD (libsveltos module zip, the version Sveltos' addon-controller uses): adopted clusters and the management cluster mgmt/mgmt. */
export async function installSveltosClusterCrd(kube: KubeClient): Promise<void> {
  const dir = await pinnedSourceDir('github.com/projectsveltos/libsveltos');
  await installCrds(
    kube,
    path.join(dir, 'config', 'crd', 'bases'),
    (c) => c.metadata.name === 'sveltosclusters.lib.projectsveltos.io',
  );
}

/** A CAPI Cluster as kcm's ClusterDeployment creates it (same namespace and name as the ClusterDeployment). */
export async function createCapiCluster(
  kube: KubeClient,
  ns: string,
  name: string,
  labels: Record<string, string>,
): Promise<void> {
  await kube.create(`/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns}/clusters`, {
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Cluster',
    metadata: { name, namespace: ns, labels },
    spec: { clusterNetwork: { pods: { cidrBlocks: ['10.244.0.0/16'] } } },
  });
}
