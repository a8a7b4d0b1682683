// Pinned versions of every binary and CRD set the local control plane uses; the cache is keyed by them.
import os from 'node:os';
import path from 'node:path';

export const versions = {
  kubernetes: process.env.K8S_VERSION ?? '1.36.3',
  etcd: process.env.ETCD_VERSION ?? '3.6.16',
  temporalCli: process.env.TEMPORAL_CLI_VERSION ?? '1.5.1',
  /** The standalone server for `--temporal postgres`: the same server the CLI v1.5.1 dev server embeds. */
  temporalServer: process.env.TEMPORAL_SERVER_VERSION ?? '1.29.1',
  helmController: process.env.HELM_CONTROLLER_VERSION ?? '1.6.3',
  kustomizeController: process.env.KUSTOMIZE_CONTROLLER_VERSION ?? '1.9.4',
  sourceController: process.env.SOURCE_CONTROLLER_VERSION ?? '1.9.4',
  kcm: process.env.KCM_VERSION ?? '1.9.0',
  helm: process.env.HELM_VERSION ?? '3.19.0',
  /** kcm's commit: its controller manager is built from the source extract of that commit (../shared/kcm). */
  kcmCommit: process.env.KCM_COMMIT ?? '8373a24',
  /** Cluster API, for the Cluster CRD kcm lists before deleting a ClusterDeployment's ServiceSets. */
  capi: process.env.CAPI_VERSION ?? '1.13.4',
} as const;

export function cacheRoot(): string {
  return (
    process.env.KSM_FLUX_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'ksm-flux')
  );
}

/** Where each built artefact lives; must match scripts/build-tools.sh. */
export function toolPaths() {
  const root = cacheRoot();
  const v = versions;
  return {
    kubeApiserver: path.join(root, `kubernetes-v${v.kubernetes}`, 'kube-apiserver'),
    kubeControllerManager: path.join(root, `kubernetes-v${v.kubernetes}`, 'kube-controller-manager'),
    kubectl: path.join(root, `kubernetes-v${v.kubernetes}`, 'kubectl'),
    etcd: path.join(root, `etcd-v${v.etcd}`, 'etcd'),
    temporal: path.join(root, `temporal-cli-v${v.temporalCli}`, 'temporal'),
    temporalServerDir: path.join(root, `temporal-server-v${v.temporalServer}`),
    crdDir: path.join(
      root,
      `crds-hc${v.helmController}-kc${v.kustomizeController}-sc${v.sourceController}-kcm${v.kcm}`,
    ),
    fluxDir: path.join(root, `flux-hc${v.helmController}-kc${v.kustomizeController}-sc${v.sourceController}`),
    helm: path.join(root, `helm-v${v.helm}`, 'helm'),
    kcmManager: path.join(root, `kcm-${v.kcmCommit}`, 'kcm-manager'),
    /** kcm's 21 CRDs and the Cluster API Cluster CRD. */
    kcmCrdDir: path.join(root, `kcm-${v.kcmCommit}`, 'crds'),
  };
}
