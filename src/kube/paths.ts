// REST paths of the resources ksm-flux reads and writes.
import type { FluxRef } from '../workflow/types';

const enc = encodeURIComponent;

export const paths = {
  serviceSets: (ns?: string) =>
    ns
      ? `/apis/k0rdent.mirantis.com/v1beta1/namespaces/${enc(ns)}/servicesets`
      : '/apis/k0rdent.mirantis.com/v1beta1/servicesets',
  serviceSet: (ns: string, name: string) =>
    `/apis/k0rdent.mirantis.com/v1beta1/namespaces/${enc(ns)}/servicesets/${enc(name)}`,
  serviceSetStatus: (ns: string, name: string) =>
    `/apis/k0rdent.mirantis.com/v1beta1/namespaces/${enc(ns)}/servicesets/${enc(name)}/status`,
  smps: () => '/apis/k0rdent.mirantis.com/v1beta1/statemanagementproviders',
  smp: (name: string) => `/apis/k0rdent.mirantis.com/v1beta1/statemanagementproviders/${enc(name)}`,
  serviceTemplates: (ns?: string) =>
    ns
      ? `/apis/k0rdent.mirantis.com/v1beta1/namespaces/${enc(ns)}/servicetemplates`
      : '/apis/k0rdent.mirantis.com/v1beta1/servicetemplates',
  serviceTemplate: (ns: string, name: string) =>
    `/apis/k0rdent.mirantis.com/v1beta1/namespaces/${enc(ns)}/servicetemplates/${enc(name)}`,
  helmReleases: (ns?: string) =>
    ns
      ? `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${enc(ns)}/helmreleases`
      : '/apis/helm.toolkit.fluxcd.io/v2/helmreleases',
  kustomizations: (ns?: string) =>
    ns
      ? `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${enc(ns)}/kustomizations`
      : '/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations',
  flux: (r: FluxRef) =>
    r.kind === 'HelmRelease'
      ? `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${enc(r.namespace)}/helmreleases/${enc(r.name)}`
      : `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${enc(r.namespace)}/kustomizations/${enc(r.name)}`,
  secret: (ns: string, name: string) => `/api/v1/namespaces/${enc(ns)}/secrets/${enc(name)}`,
  secrets: () => '/api/v1/secrets',
  configMaps: () => '/api/v1/configmaps',
  clusterDeployment: (ns: string, name: string) =>
    `/apis/k0rdent.mirantis.com/v1beta1/namespaces/${enc(ns)}/clusterdeployments/${enc(name)}`,
  namespace: (name: string) => `/api/v1/namespaces/${enc(name)}`,
  events: (ns: string) => `/apis/events.k8s.io/v1/namespaces/${enc(ns)}/events`,
  lease: (ns: string, name: string) => `/apis/coordination.k8s.io/v1/namespaces/${enc(ns)}/leases/${enc(name)}`,
  leases: (ns: string) => `/apis/coordination.k8s.io/v1/namespaces/${enc(ns)}/leases`,
};
