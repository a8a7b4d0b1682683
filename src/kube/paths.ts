// REST paths of the resources ksm-flux reads and writes.
import { HELM_API_VERSION, K0RDENT_API_VERSION, KUSTOMIZE_API_VERSION } from '../workflow/constants';
import type { FluxRef } from '../workflow/types';

const enc = encodeURIComponent;

export const paths = {
  serviceSets: (ns?: string) =>
    ns ? `/apis/${K0RDENT_API_VERSION}/namespaces/${enc(ns)}/servicesets` : `/apis/${K0RDENT_API_VERSION}/servicesets`,
  serviceSet: (ns: string, name: string) =>
    `/apis/${K0RDENT_API_VERSION}/namespaces/${enc(ns)}/servicesets/${enc(name)}`,
  serviceSetStatus: (ns: string, name: string) =>
    `/apis/${K0RDENT_API_VERSION}/namespaces/${enc(ns)}/servicesets/${enc(name)}/status`,
  smps: () => `/apis/${K0RDENT_API_VERSION}/statemanagementproviders`,
  smp: (name: string) => `/apis/${K0RDENT_API_VERSION}/statemanagementproviders/${enc(name)}`,
  serviceTemplates: (ns?: string) =>
    ns
      ? `/apis/${K0RDENT_API_VERSION}/namespaces/${enc(ns)}/servicetemplates`
      : `/apis/${K0RDENT_API_VERSION}/servicetemplates`,
  serviceTemplate: (ns: string, name: string) =>
    `/apis/${K0RDENT_API_VERSION}/namespaces/${enc(ns)}/servicetemplates/${enc(name)}`,
  helmReleases: (ns?: string) =>
    ns ? `/apis/${HELM_API_VERSION}/namespaces/${enc(ns)}/helmreleases` : `/apis/${HELM_API_VERSION}/helmreleases`,
  kustomizations: (ns?: string) =>
    ns
      ? `/apis/${KUSTOMIZE_API_VERSION}/namespaces/${enc(ns)}/kustomizations`
      : `/apis/${KUSTOMIZE_API_VERSION}/kustomizations`,
  flux: (r: FluxRef) =>
    r.kind === 'HelmRelease'
      ? `/apis/${HELM_API_VERSION}/namespaces/${enc(r.namespace)}/helmreleases/${enc(r.name)}`
      : `/apis/${KUSTOMIZE_API_VERSION}/namespaces/${enc(r.namespace)}/kustomizations/${enc(r.name)}`,
  secret: (ns: string, name: string) => `/api/v1/namespaces/${enc(ns)}/secrets/${enc(name)}`,
  secrets: () => '/api/v1/secrets',
  configMaps: () => '/api/v1/configmaps',
  clusterDeployment: (ns: string, name: string) =>
    `/apis/${K0RDENT_API_VERSION}/namespaces/${enc(ns)}/clusterdeployments/${enc(name)}`,
  namespace: (name: string) => `/api/v1/namespaces/${enc(name)}`,
  events: (ns: string) => `/apis/events.k8s.io/v1/namespaces/${enc(ns)}/events`,
  lease: (ns: string, name: string) => `/apis/coordination.k8s.io/v1/namespaces/${enc(ns)}/leases/${enc(name)}`,
  leases: (ns: string) => `/apis/coordination.k8s.io/v1/namespaces/${enc(ns)}/leases`,
};
