// The Cluster API Cluster CRD, from the sigs.k8s.io/cluster-api Go module zip (the version kcm's tests use),
// installed into the test API server: values templates read the CAPI Cluster as `.Cluster`.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { installCrds } from '../../src/testenv/crds';
import type { KubeClient } from '../../src/kube/client';

export const CAPI_VERSION = '1.13.4';
/** The libsveltos version Sveltos' addon-controller uses (its go.mod). */
export const LIBSVELTOS_VERSION = '1.14.0';

async function moduleDir(mod: string): Promise<string> {
  const { stdout } = await promisify(execFile)('go', ['mod', 'download', '-json', mod], {
    env: { ...process.env, GOFLAGS: '-mod=mod', GOWORK: 'off', PATH: `${process.env.PATH}:/usr/local/go/bin` },
    cwd: '/',
  });
  return (JSON.parse(stdout) as { Dir: string }).Dir;
}

export async function installCapiClusterCrd(kube: KubeClient): Promise<void> {
  const dir = await moduleDir(`sigs.k8s.io/cluster-api@v${CAPI_VERSION}`);
  await installCrds(
    kube,
    path.join(dir, 'config', 'crd', 'bases'),
    (c) => c.metadata.name === 'clusters.cluster.x-k8s.io',
  );
}

/** Sveltos' SveltosCluster CRD (libsveltos module zip): adopted clusters and the management cluster mgmt/mgmt. */
export async function installSveltosClusterCrd(kube: KubeClient): Promise<void> {
  const dir = await moduleDir(`github.com/projectsveltos/libsveltos@v${LIBSVELTOS_VERSION}`);
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
