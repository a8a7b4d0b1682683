// Every Kubernetes permission the adapter needs, and why. The Helm chart's ClusterRole/Role grant exactly
// these (a test compares them); `ksm-flux doctor` checks each with a SelfSubjectAccessReview.

export interface Permission {
  group: string;
  resource: string;
  subresource?: string;
  verb: string;
  /** Set for namespaced grants (the Lease); cluster-wide otherwise. */
  namespace?: string;
  /** Set for grants limited to one object (resourceNames). */
  name?: string;
  why: string;
}

const k0 = 'k0rdent.mirantis.com';

export function requiredPermissions(adapterNamespace: string, leaseName = 'ksm-flux-watcher'): Permission[] {
  const p: Permission[] = [];
  const add = (group: string, resource: string, verbs: string[], why: string, extra: Partial<Permission> = {}) =>
    verbs.forEach((verb) => p.push({ group, resource, verb, why, ...extra }));
  add(k0, 'servicesets', ['get', 'list', 'watch'], 'read ServiceSets');
  add(k0, 'servicesets', ['patch'], 'add/remove our finalizer, workflow-id annotation');
  add(k0, 'servicesets', ['patch'], 'write status', { subresource: 'status' });
  add(k0, 'servicesets', ['update'], 'owner references with blockOwnerDeletion', { subresource: 'finalizers' });
  add(k0, 'statemanagementproviders', ['get', 'list', 'watch'], 'ownership and readiness');
  add(k0, 'servicetemplates', ['get', 'list', 'watch'], 'resolve templates');
  for (const [g, r] of [
    ['helm.toolkit.fluxcd.io', 'helmreleases'],
    ['kustomize.toolkit.fluxcd.io', 'kustomizations'],
  ] as const) {
    add(g, r, ['get', 'list', 'watch'], 'observe Flux objects');
    add(g, r, ['patch'], 'server-side apply, suspend, reconcile requests');
    add(g, r, ['create'], 'server-side apply that creates the object');
    add(g, r, ['delete'], 'remove Flux objects');
  }
  add('', 'secrets', ['get'], 'the target kubeconfig Secret exists; key names of valuesFrom Secrets');
  add('', 'secrets', ['list', 'watch'], 'wake ServiceSets when a Secret they reference appears (metadata only)');
  add('', 'configmaps', ['list', 'watch'], 'wake ServiceSets when a ConfigMap they reference changes (metadata only)');
  add(k0, 'clusterdeployments', ['get'], 'a cluster being deleted: let go instead of waiting for an uninstall');
  add('', 'configmaps', ['get'], 'valuesFrom: key names of the ConfigMap, and content of a templated one');
  add('cluster.x-k8s.io', 'clusters', ['get'], 'values templates: the cluster object (.Cluster)');
  add('lib.projectsveltos.io', 'sveltosclusters', ['get'], 'values templates: .Cluster of adopted and mgmt clusters');
  add('events.k8s.io', 'events', ['create'], 'record Events on ServiceSets');
  add('coordination.k8s.io', 'leases', ['get', 'update'], 'watcher leader election', {
    namespace: adapterNamespace,
    name: leaseName,
  });
  // create cannot be limited to a name
  add('coordination.k8s.io', 'leases', ['create'], 'watcher leader election (first start)', {
    namespace: adapterNamespace,
  });
  return p;
}
