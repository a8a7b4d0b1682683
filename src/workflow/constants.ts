// Strings that form the contracts with kcm and Flux. Workflow-safe: no imports.

export const K0RDENT_GROUP = 'k0rdent.mirantis.com';
export const K0RDENT_VERSION = 'v1beta1';
export const K0RDENT_API_VERSION = `${K0RDENT_GROUP}/${K0RDENT_VERSION}`;

export const HELM_API_VERSION = 'helm.toolkit.fluxcd.io/v2';
export const KUSTOMIZE_API_VERSION = 'kustomize.toolkit.fluxcd.io/v1';
export const SOURCE_API_VERSION = 'source.toolkit.fluxcd.io/v1';

/** Our finalizer on ServiceSets (the built-in adapter uses k0rdent.mirantis.com/service-set). */
export const FINALIZER = 'flux.k0rdent.mirantis.com/serviceset';
/** Flux's own finalizer on HelmRelease/Kustomization. */
export const FLUX_FINALIZER = 'finalizers.fluxcd.io';

/** Presence (any value) pauses a ServiceSet. */
export const PAUSED_ANNOTATION = 'k0rdent.mirantis.com/service-set-paused';
/** The Temporal workflow that reconciles this ServiceSet. */
export const WORKFLOW_ID_ANNOTATION = 'flux.k0rdent.mirantis.com/workflow-id';
/** Digest of what we last applied to a Flux object; compared with the desired digest to skip no-op applies. */
export const APPLIED_HASH_ANNOTATION = 'flux.k0rdent.mirantis.com/applied-hash';

/** On our StateManagementProvider: <namespace>/<name> of the ConfigMap holding the provider config JSON Schema. */
export const CONFIG_SCHEMA_ANNOTATION = 'flux.k0rdent.mirantis.com/provider-config-schema';
export const REQUESTED_AT_ANNOTATION = 'reconcile.fluxcd.io/requestedAt';
export const RESET_AT_ANNOTATION = 'reconcile.fluxcd.io/resetAt';
export const FORCE_AT_ANNOTATION = 'reconcile.fluxcd.io/forceAt';

export const LABEL_MANAGED = 'k0rdent.mirantis.com/managed';
/**
 * On a Deployment that stands for a process the local test environment or demo runs directly (the adapter, kcm):
 * where that process really runs. `doctor` shows it.
 */
export const STAND_IN_ANNOTATION = 'ksm-flux.k0rdent.mirantis.com/runs-locally';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'ksm-flux';
export const LABEL_SERVICESET = 'flux.k0rdent.mirantis.com/serviceset';
export const LABEL_SERVICESET_UID = 'flux.k0rdent.mirantis.com/serviceset-uid';
export const LABEL_SERVICE_NAME = 'flux.k0rdent.mirantis.com/service-name';
export const LABEL_SERVICE_NAMESPACE = 'flux.k0rdent.mirantis.com/service-namespace';
/** Hash of (target cluster, release namespace, release name): contenders for one Helm release share it. */
export const LABEL_RELEASE_KEY = 'flux.k0rdent.mirantis.com/release-key';

export const SERVICE_STATES = ['Pending', 'Provisioning', 'Deployed', 'Failed', 'Deleting', 'Deleted'] as const;
export type ServiceState = (typeof SERVICE_STATES)[number];
export const SERVICE_TYPES = ['Helm', 'Kustomize', 'Resource'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

export const CONDITION = {
  servicesInReadyState: 'ServicesInReadyState',
  providerConfigValid: 'ProviderConfigValid',
  fluxObjectsApplied: 'FluxObjectsApplied',
  paused: 'Paused',
} as const;

export const REASON = {
  servicesInReadyState: 'ServicesInReadyState',
  providerConfigValid: 'ProviderConfigValid',
  providerConfigInvalid: 'ProviderConfigInvalid',
  applied: 'FluxObjectsApplied',
  buildFailed: 'FluxObjectsBuildFailed',
  applyFailed: 'FluxObjectsApplyFailed',
  /** Some input is not there yet (kubeconfig Secret, template being validated): waiting, not failed. */
  waiting: 'FluxObjectsWaiting',
  paused: 'ServiceSetPaused',
  deletionPaused: 'DeletionPaused',
} as const;

/** Flux Ready=False reasons that mean "waiting on something else", not a failure of this release. */
export const FLUX_WAITING_REASONS = [
  'DependencyNotReady',
  'SourceNotReady',
  'ArtifactFailed',
  'HealthCheckCanceled',
] as const;

/** kcm's built-in provider (Sveltos), used by ServiceSets that name none. */
export const DEFAULT_KCM_PROVIDER = 'ksm-projectsveltos';

export const MAX_NAME = 63;
export const MAX_RELEASE_NAME = 53;
export const DEFAULT_PRIORITY = 100;

export const TASK_QUEUE = 'ksm-flux';
export const WORKFLOW_ID_PREFIX = 'ksm-flux/';
export const workflowIdFor = (uid: string) => `${WORKFLOW_ID_PREFIX}${uid}`;
