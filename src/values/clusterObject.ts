// The cluster object a values template sees as `.Cluster`. Sveltos hands its templates the cluster a
// Profile targets: for kcm that is the CAPI Cluster the ClusterDeployment created (same namespace and name),
// or the SveltosCluster of an adopted cluster; for self-management, the SveltosCluster mgmt/mgmt that stands
// for the management cluster. We read the same objects in the same order of preference.
import type { ServiceSet } from '../api/k0rdent';
import { isSelfManagement, namespaceOf } from '../plan/plan';
import type { KubeObject } from '../kube/client';

export interface ObjectReader {
  get<T = KubeObject>(path: string): Promise<T | undefined>;
}

const enc = encodeURIComponent;

interface Candidate {
  what: string;
  path: string;
}

function candidates(ss: ServiceSet): Candidate[] {
  const sveltos = (ns: string, name: string): Candidate => ({
    what: `SveltosCluster ${ns}/${name}`,
    path: `/apis/lib.projectsveltos.io/v1beta1/namespaces/${enc(ns)}/sveltosclusters/${enc(name)}`,
  });
  if (isSelfManagement(ss)) return [sveltos('mgmt', 'mgmt')];
  const ns = namespaceOf(ss);
  const name = ss.spec.cluster;
  // Sveltos reads the CAPI Cluster at v1beta2 (its typed client); servers without it still serve v1beta1.
  return [
    ...['v1beta2', 'v1beta1'].map((v) => ({
      what: `Cluster ${ns}/${name}`,
      path: `/apis/cluster.x-k8s.io/${v}/namespaces/${enc(ns)}/clusters/${enc(name)}`,
    })),
    sveltos(ns, name),
  ];
}

export type ClusterObjectResult = { found: true; object: KubeObject; what: string } | { found: false; awaited: string };

/** The first of the candidate objects that exists; a missing CRD or version reads as not found. */
export async function readClusterObject(client: ObjectReader, ss: ServiceSet): Promise<ClusterObjectResult> {
  const cs = candidates(ss);
  for (const c of cs) {
    const o = await client.get(c.path);
    if (o) return { found: true, object: o, what: c.what };
  }
  return { found: false, awaited: [...new Set(cs.map((c) => c.what))].join(' or ') };
}
