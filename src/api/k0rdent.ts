// zod schemas for the k0rdent objects we read: the single source of their TypeScript types.
// Objects are validated by the API server's CRD schema already; these schemas keep unknown fields
// (loose) and only assert what ksm-flux relies on.
import { z } from 'zod';
import { SERVICE_STATES, SERVICE_TYPES } from '../workflow/constants';

export const ObjectMeta = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string(),
  generation: z.number().int().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.union([z.string(), z.date()]).optional(),
  deletionTimestamp: z.union([z.string(), z.date()]).optional().nullable(),
  labels: z.record(z.string(), z.string()).optional().nullable(),
  annotations: z.record(z.string(), z.string()).optional().nullable(),
  finalizers: z.array(z.string()).optional().nullable(),
});
export type ObjectMeta = z.infer<typeof ObjectMeta>;

export const Condition = z.looseObject({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().optional(),
  message: z.string().optional(),
  observedGeneration: z.number().int().optional(),
  lastTransitionTime: z.union([z.string(), z.date()]).optional(),
});
export type Condition = z.infer<typeof Condition>;

export const LabelSelectorRequirement = z.looseObject({
  key: z.string(),
  operator: z.string(),
  values: z.array(z.string()).optional().nullable(),
});
export const LabelSelector = z.looseObject({
  matchLabels: z.record(z.string(), z.string()).optional().nullable(),
  matchExpressions: z.array(LabelSelectorRequirement).optional().nullable(),
});
export type LabelSelector = z.infer<typeof LabelSelector>;

const InstallOptions = z.looseObject({
  createNamespace: z.boolean().optional(),
  disableHooks: z.boolean().optional(),
  replace: z.boolean().optional(),
  takeOwnership: z.boolean().optional(),
});
const UpgradeOptions = z.looseObject({
  cleanupOnFail: z.boolean().optional(),
  disableHooks: z.boolean().optional(),
  force: z.boolean().optional(),
  maxHistory: z.number().int().optional(),
  recreate: z.boolean().optional(),
  resetThenReuseValues: z.boolean().optional(),
  resetValues: z.boolean().optional(),
  reuseValues: z.boolean().optional(),
  subNotes: z.boolean().optional(),
  takeOwnership: z.boolean().optional(),
  upgradeCRDs: z.boolean().optional(),
});
const UninstallOptions = z.looseObject({
  deletionPropagation: z.enum(['orphan', 'foreground', 'background']).optional(),
  disableHooks: z.boolean().optional(),
  keepHistory: z.boolean().optional(),
});

export const HelmOptions = z.looseObject({
  atomic: z.boolean().optional().nullable(),
  createNamespace: z.boolean().optional().nullable(),
  dependencyUpdate: z.boolean().optional().nullable(),
  description: z.string().optional().nullable(),
  disableHooks: z.boolean().optional().nullable(),
  disableOpenAPIValidation: z.boolean().optional().nullable(),
  enableClientCache: z.boolean().optional().nullable(),
  installOptions: InstallOptions.optional().nullable(),
  labels: z.record(z.string(), z.string()).optional().nullable(),
  replace: z.boolean().optional().nullable(),
  skipCRDs: z.boolean().optional().nullable(),
  skipSchemaValidation: z.boolean().optional().nullable(),
  timeout: z.string().optional().nullable(),
  uninstallOptions: UninstallOptions.optional().nullable(),
  upgradeOptions: UpgradeOptions.optional().nullable(),
  wait: z.boolean().optional().nullable(),
  waitForJobs: z.boolean().optional().nullable(),
});
export type HelmOptions = z.infer<typeof HelmOptions>;

export const ValuesFrom = z.looseObject({ kind: z.enum(['ConfigMap', 'Secret']), name: z.string() });
export type ValuesFrom = z.infer<typeof ValuesFrom>;

export const Service = z.looseObject({
  name: z.string(),
  namespace: z.string(),
  template: z.string(),
  values: z.string().optional().nullable(),
  valuesFrom: z.array(ValuesFrom).optional().nullable(),
  helmOptions: HelmOptions.optional().nullable(),
  helmAction: z.enum(['Install', 'Uninstall']).optional().nullable(),
  version: z.string().optional().nullable(),
});
export type Service = z.infer<typeof Service>;

export const ObjectReference = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
});
export type ObjectReference = z.infer<typeof ObjectReference>;

export const ServiceStatus = z.looseObject({
  name: z.string(),
  namespace: z.string(),
  template: z.string(),
  type: z.enum(SERVICE_TYPES),
  state: z.enum(SERVICE_STATES),
  version: z.string().optional(),
  failureMessage: z.string().optional(),
  lastDeployedHash: z.string().optional(),
  lastStateTransitionTime: z.union([z.string(), z.date()]),
  conditions: z.array(Condition).optional().nullable(),
});
export type ServiceStatus = z.infer<typeof ServiceStatus>;

export const ServiceSet = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: ObjectMeta,
  spec: z.looseObject({
    cluster: z.string().default(''),
    multiClusterService: z.string().optional().nullable(),
    // kcm is making spec.provider optional (kcm PR #3014): a ServiceSet without one names no SMP, so it is
    // not ours; it must still parse so that nothing downstream trips over it.
    provider: z
      .looseObject({
        name: z.string().default(''),
        selfManagement: z.boolean().optional().nullable(),
        config: z.unknown().optional(),
      })
      .nullish()
      .transform((p) => p ?? { name: '' }),
    services: z.array(Service).optional().nullable(),
  }),
  status: z
    .looseObject({
      deployed: z.boolean().optional(),
      cluster: ObjectReference.optional().nullable(),
      provider: z
        .looseObject({ ready: z.boolean().optional(), suspended: z.boolean().optional() })
        .optional()
        .nullable(),
      services: z.array(ServiceStatus).optional().nullable(),
      conditions: z.array(Condition).optional().nullable(),
    })
    .optional()
    .nullable(),
});
export type ServiceSet = z.infer<typeof ServiceSet>;

const ObjectRefWithRule = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  namespace: z.string().optional(),
  readinessRule: z.string().optional(),
});

export const StateManagementProvider = z.looseObject({
  metadata: ObjectMeta,
  spec: z.looseObject({
    adapter: ObjectRefWithRule,
    provisioner: z.array(ObjectRefWithRule).optional().nullable(),
    provisionerCRDs: z
      .array(z.looseObject({ group: z.string(), version: z.string(), resources: z.array(z.string()) }))
      .optional()
      .nullable(),
    selector: LabelSelector.optional().nullable(),
    suspend: z.boolean().optional().nullable(),
  }),
  status: z
    .looseObject({ ready: z.boolean().optional(), conditions: z.array(Condition).optional().nullable() })
    .optional()
    .nullable(),
});
export type StateManagementProvider = z.infer<typeof StateManagementProvider>;

const SourceRef = z.looseObject({
  kind: z.string(),
  name: z.string(),
  namespace: z.string().optional().nullable(),
  apiVersion: z.string().optional().nullable(),
});
const SourceSpec = z.looseObject({
  deploymentType: z.enum(['Local', 'Remote']).optional().nullable(),
  localSourceRef: z
    .looseObject({ kind: z.string(), name: z.string(), namespace: z.string().optional().nullable() })
    .optional()
    .nullable(),
  remoteSourceSpec: z.record(z.string(), z.unknown()).optional().nullable(),
  path: z.string().optional().nullable(),
});

export const ServiceTemplate = z.looseObject({
  metadata: ObjectMeta,
  spec: z.looseObject({
    helm: z
      .looseObject({
        chartSpec: z.record(z.string(), z.unknown()).optional().nullable(),
        chartRef: SourceRef.optional().nullable(),
        chartSource: SourceSpec.optional().nullable(),
      })
      .optional()
      .nullable(),
    kustomize: SourceSpec.optional().nullable(),
    resources: SourceSpec.optional().nullable(),
    helmOptions: HelmOptions.optional().nullable(),
    version: z.string().optional().nullable(),
  }),
  status: z
    .looseObject({
      valid: z.boolean().optional(),
      validationError: z.string().optional().nullable(),
      chartRef: SourceRef.optional().nullable(),
      chartVersion: z.string().optional().nullable(),
      sourceStatus: z
        .looseObject({
          kind: z.string(),
          name: z.string(),
          namespace: z.string(),
          artifact: z.looseObject({ revision: z.string().optional() }).optional().nullable(),
        })
        .optional()
        .nullable(),
    })
    .optional()
    .nullable(),
});
export type ServiceTemplate = z.infer<typeof ServiceTemplate>;

/** Parses an object read from the API server; the message names the first offending field. */
export function parseObject<T>(schema: z.ZodType<T>, obj: unknown, what: string): T {
  const r = schema.safeParse(obj);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new Error(`${what}: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : r.error.message}`);
}
