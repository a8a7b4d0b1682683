// The Flux objects ksm-flux writes (HelmRelease v2, Kustomization v1) and the status fields it reads.
import { z } from 'zod';
import { Condition, ObjectMeta } from './k0rdent';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface WrittenMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ownerReferences: OwnerReference[];
}

export interface KubeConfigRef {
  secretRef: { name: string; key: string };
}

export interface CrossNamespaceRef {
  apiVersion?: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface HelmRemediation {
  retries?: number;
  remediateLastFailure?: boolean;
  strategy?: 'rollback' | 'uninstall';
}

export interface HelmReleaseSpec {
  interval: string;
  timeout?: string;
  suspend?: boolean;
  releaseName: string;
  targetNamespace: string;
  storageNamespace: string;
  chartRef?: CrossNamespaceRef;
  chart?: {
    /** Labels/annotations helm-controller puts on the HelmChart it generates from this template. */
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec: {
      chart: string;
      version?: string;
      sourceRef: CrossNamespaceRef;
      interval?: string;
      reconcileStrategy?: string;
    };
  };
  kubeConfig?: KubeConfigRef;
  values?: Record<string, unknown>;
  valuesFrom?: { kind: 'ConfigMap' | 'Secret'; name: string; valuesKey?: string; optional?: boolean }[];
  install?: {
    createNamespace?: boolean;
    disableWait?: boolean;
    disableWaitForJobs?: boolean;
    disableHooks?: boolean;
    disableOpenAPIValidation?: boolean;
    disableSchemaValidation?: boolean;
    disableTakeOwnership?: boolean;
    replace?: boolean;
    crds?: 'Skip' | 'Create' | 'CreateReplace';
    timeout?: string;
    remediation?: HelmRemediation;
  };
  upgrade?: {
    disableWait?: boolean;
    disableWaitForJobs?: boolean;
    disableHooks?: boolean;
    disableOpenAPIValidation?: boolean;
    disableSchemaValidation?: boolean;
    disableTakeOwnership?: boolean;
    force?: boolean;
    preserveValues?: boolean;
    cleanupOnFail?: boolean;
    crds?: 'Skip' | 'Create' | 'CreateReplace';
    timeout?: string;
    remediation?: HelmRemediation;
  };
  rollback?: {
    disableWait?: boolean;
    disableHooks?: boolean;
    cleanupOnFail?: boolean;
    recreate?: boolean;
    force?: boolean;
  };
  uninstall?: {
    disableHooks?: boolean;
    keepHistory?: boolean;
    disableWait?: boolean;
    deletionPropagation?: 'orphan' | 'foreground' | 'background';
  };
  maxHistory?: number;
  persistentClient?: boolean;
  driftDetection?: { mode?: 'enabled' | 'warn' | 'disabled'; ignore?: { paths: string[]; target?: PatchTarget }[] };
  postRenderers?: { kustomize: { patches: FluxPatch[] } }[];
  commonMetadata?: { labels?: Record<string, string> };
}

/** Flux's kustomize Selector (also Sveltos' PatchSelector). */
export interface PatchTarget {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  labelSelector?: string;
  annotationSelector?: string;
}

export interface FluxPatch {
  patch: string;
  target?: PatchTarget;
}

export interface HelmRelease {
  apiVersion: 'helm.toolkit.fluxcd.io/v2';
  kind: 'HelmRelease';
  metadata: WrittenMeta;
  spec: HelmReleaseSpec;
}

export interface KustomizationSpec {
  interval: string;
  retryInterval?: string;
  timeout?: string;
  suspend?: boolean;
  prune: boolean;
  wait?: boolean;
  force?: boolean;
  path?: string;
  sourceRef: CrossNamespaceRef;
  targetNamespace?: string;
  kubeConfig?: KubeConfigRef;
  deletionPolicy?: 'MirrorPrune' | 'Delete' | 'WaitForTermination' | 'Orphan';
  patches?: FluxPatch[];
  postBuild?: { substituteFrom?: { kind: 'ConfigMap' | 'Secret'; name: string; optional?: boolean }[] };
}

export interface Kustomization {
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1';
  kind: 'Kustomization';
  metadata: WrittenMeta;
  spec: KustomizationSpec;
}

export type FluxObject = HelmRelease | Kustomization;
export type FluxKind = FluxObject['kind'];

/** What we read back from a HelmRelease or Kustomization (status written by Flux). */
export const FluxObjectRead = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: ObjectMeta,
  spec: z.looseObject({ suspend: z.boolean().optional().nullable() }).optional(),
  status: z
    .looseObject({
      observedGeneration: z.number().int().optional(),
      lastAttemptedGeneration: z.number().int().optional(),
      lastHandledReconcileAt: z.string().optional(),
      lastAttemptedRevision: z.string().optional(),
      lastAppliedRevision: z.string().optional(),
      conditions: z.array(Condition).optional().nullable(),
      history: z
        .array(z.looseObject({ chartVersion: z.string().optional(), status: z.string().optional() }))
        .optional()
        .nullable(),
    })
    .optional()
    .nullable(),
});
export type FluxObjectRead = z.infer<typeof FluxObjectRead>;
