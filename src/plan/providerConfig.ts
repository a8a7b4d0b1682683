// spec.provider.config for ksm-flux: validated with zod (the single source of the JSON Schema we publish, see
// configSchema.ts). Two families of keys:
// - ksm-flux's own (interval, timeout, prune, …);
// - the keys users already write for kcm's built-in Sveltos provider (kcm's profileConfig): each one with a Flux
//   meaning is mapped onto Flux (mappedConfig below); each one without is accepted, does nothing, and is named in
//   the ProviderConfigValid condition with the nearest supported alternative (SVELTOS_UNSUPPORTED).
// Unknown keys and wrong types are rejected with a message naming the key: nothing is applied then.
import { z } from 'zod';
import { DEFAULT_PRIORITY } from '../workflow/constants';
import { DURATION_PATTERN, parseDuration } from '../util/duration';

const duration = z.string().regex(DURATION_PATTERN, { message: 'expected a duration such as 30s, 10m or 1h30m' });
const dnsLabel = z
  .string()
  .max(63, { message: 'at most 63 characters' })
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'expected a DNS-1123 label (lower case, digits, "-")' });

/** Sveltos' PatchSelector, which is also Flux's drift-ignore and patch target selector (same fields). */
const PatchSelector = z.strictObject({
  group: z.string().optional(),
  version: z.string().optional(),
  kind: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
  labelSelector: z.string().optional(),
  annotationSelector: z.string().optional(),
});
export type PatchSelector = z.infer<typeof PatchSelector>;

const DriftExclusion = z.strictObject({
  paths: z.array(z.string()).describe('JSON Pointers (RFC 6901) to leave out of drift detection'),
  target: PatchSelector.optional(),
});

const Patch = z.strictObject({
  patch: z.string().min(1).describe('a strategic merge or JSON 6902 patch (YAML or JSON text)'),
  target: PatchSelector.optional(),
});

// Sveltos keys with no Flux meaning: their shape is checked loosely (they do nothing here).
const objectList = z.array(z.record(z.string(), z.unknown()));

export const ProviderConfig = z.strictObject({
  interval: duration.default('10m').describe('Flux reconcile interval of every produced object.'),
  retryInterval: duration.optional().describe('Kustomization retry interval after a failure (Flux default: interval).'),
  timeout: duration.optional().describe('Flux timeout (HelmRelease spec.timeout, Kustomization spec.timeout).'),
  prune: z.boolean().default(true).describe('Kustomization garbage collection.'),
  wait: z.boolean().default(false).describe('Kustomization health-checks every applied object.'),
  force: z.boolean().default(false).describe('Kustomization recreates objects whose immutable fields change.'),
  targetNamespace: dnsLabel
    .optional()
    .describe('Namespace for Kustomize/Resource objects that set none (default: the service namespace).'),
  suspend: z
    .boolean()
    .default(false)
    .describe('Suspend every produced object (like the pause annotation, but from config).'),
  priority: z
    .number()
    .int()
    .min(1)
    .max(2147483646)
    .default(DEFAULT_PRIORITY)
    .describe("Conflict resolution: the higher priority owns a contested Helm release (Sveltos: the Profile's tier)."),
  driftDetection: z
    .enum(['enabled', 'warn', 'disabled'])
    .optional()
    .describe('HelmRelease drift detection mode; wins over syncMode.'),
  deletionTimeout: duration
    .optional()
    .describe('How long deletion waits for Flux to uninstall/prune before it orphans what is left.'),

  // --- keys of kcm's Sveltos provider config ---
  maxConsecutiveFailures: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      'Failed releases are re-driven automatically until this many consecutive failures (then only a manual retry).',
    ),
  syncMode: z
    .enum(['Continuous', 'ContinuousWithDriftDetection', 'OneTime', 'DryRun'])
    .optional()
    .describe(
      "Sveltos sync mode: ContinuousWithDriftDetection → drift detection enabled; Continuous → Flux's default.",
    ),
  driftExclusions: z
    .array(DriftExclusion)
    .optional()
    .describe('Paths of deployed objects left out of drift detection → HelmRelease driftDetection.ignore.'),
  driftIgnore: z
    .array(PatchSelector)
    .optional()
    .describe('Whole objects left out of drift detection → driftDetection.ignore with the root path.'),
  patches: z
    .array(Patch)
    .optional()
    .describe(
      'Patches of rendered objects → HelmRelease postRenderers (Kustomize patches), Kustomization spec.patches.',
    ),
  stopOnConflict: z.boolean().optional().describe('Sveltos: stop at the first conflicting resource.'),
  continueOnError: z.boolean().optional().describe('Sveltos: keep deploying after a failing chart.'),
  stopMatchingBehavior: z
    .enum(['WithdrawPolicies', 'LeavePolicies'])
    .optional()
    .describe('Sveltos: what happens to deployed objects when the cluster stops matching.'),
  templateResourceRefs: objectList
    .optional()
    .describe('Sveltos: extra management-cluster objects for templates (getResource …).'),
  policyRefs: objectList.optional().describe('Sveltos: raw resources from ConfigMaps/Secrets.'),
  reloader: z
    .boolean()
    .optional()
    .describe('Sveltos: deploy Reloader to restart workloads on ConfigMap/Secret changes.'),
});
export type ProviderConfig = z.infer<typeof ProviderConfig>;

/**
 * Sveltos keys that have no Flux meaning, with the nearest supported alternative. A key is reported only when
 * its value asks for something ksm-flux does not do (e.g. `continueOnError: true` is what ksm-flux does anyway).
 */
const SVELTOS_UNSUPPORTED: {
  key: keyof ProviderConfig;
  applies: (c: ProviderConfig) => boolean;
  alternative: string;
}[] = [
  {
    key: 'syncMode',
    applies: (c) => c.syncMode === 'OneTime',
    alternative:
      'syncMode OneTime (deploy once, never update) has no Flux equivalent; nearest: suspend: true once deployed, or the pause annotation',
  },
  {
    key: 'syncMode',
    applies: (c) => c.syncMode === 'DryRun',
    alternative:
      'syncMode DryRun has no Flux equivalent; nearest: `ksm-flux plan <ns>/<name>` shows what would be written',
  },
  {
    key: 'stopOnConflict',
    applies: (c) => c.stopOnConflict === true,
    alternative:
      'stopOnConflict: true has no equivalent: a contested release goes to the higher priority and only that service of the other ServiceSet fails; set priority to decide',
  },
  {
    key: 'continueOnError',
    applies: (c) => c.continueOnError === false,
    alternative:
      'continueOnError: false has no equivalent: every service is its own Flux object and deploys independently (as with true)',
  },
  {
    key: 'stopMatchingBehavior',
    applies: (c) => c.stopMatchingBehavior === 'LeavePolicies',
    alternative:
      'stopMatchingBehavior LeavePolicies has no equivalent: removed services are uninstalled; nearest: helmAction stays Install and the pause annotation holds removals',
  },
  {
    key: 'templateResourceRefs',
    applies: (c) => !!c.templateResourceRefs?.length,
    alternative:
      'templateResourceRefs is not supported: templates see .Cluster only; nearest: put the data in a ConfigMap named in valuesFrom',
  },
  {
    key: 'policyRefs',
    applies: (c) => !!c.policyRefs?.length,
    alternative: 'policyRefs is not supported; nearest: a ServiceTemplate with spec.resources or spec.kustomize',
  },
  {
    key: 'reloader',
    applies: (c) => c.reloader === true,
    alternative:
      'reloader is not supported; nearest: deploy Stakater Reloader as a service, or checksum annotations in the chart',
  },
];

export type ProviderConfigResult =
  { ok: true; config: ProviderConfig; unsupported: string[] } | { ok: false; error: string };

export function parseProviderConfig(raw: unknown): ProviderConfigResult {
  if (raw === undefined || raw === null) return { ok: true, config: ProviderConfig.parse({}), unsupported: [] };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return {
      ok: false,
      error: `provider.config: expected an object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`,
    };
  }
  const r = ProviderConfig.safeParse(raw);
  if (r.success) return { ok: true, config: r.data, unsupported: unsupportedKeys(r.data) };
  const msgs = r.error.issues.map((i) => {
    const where = ['provider.config', ...i.path.map(String)].join('.');
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => `${where}.${k}: unknown key`).join('; ');
    return `${where}: ${i.message}`;
  });
  return { ok: false, error: msgs.join('; ') };
}

/** "provider.config.KEY: why, nearest alternative" for every Sveltos key whose value has no effect here. */
export function unsupportedKeys(c: ProviderConfig): string[] {
  return SVELTOS_UNSUPPORTED.filter((u) => u.applies(c)).map((u) => `provider.config.${u.key}: ${u.alternative}`);
}

export function deletionTimeoutMs(c: ProviderConfig): number | undefined {
  return c.deletionTimeout ? parseDuration(c.deletionTimeout) : undefined;
}

/** HelmRelease drift detection from driftDetection, else syncMode; ignore rules from driftExclusions and driftIgnore. */
export function driftDetectionOf(
  c: ProviderConfig,
): { mode?: 'enabled' | 'warn' | 'disabled'; ignore?: { paths: string[]; target?: PatchSelector }[] } | undefined {
  const mode = c.driftDetection ?? (c.syncMode === 'ContinuousWithDriftDetection' ? 'enabled' : undefined);
  const ignore = [
    ...(c.driftExclusions ?? []).map((e) => ({ paths: e.paths, ...(e.target ? { target: e.target } : {}) })),
    // Flux's root path "" leaves the whole object out, as Sveltos' driftDetectionIgnore annotation does.
    ...(c.driftIgnore ?? []).map((t) => ({ paths: [''], target: t })),
  ];
  if (!mode && !ignore.length) return undefined;
  return { ...(mode ? { mode } : {}), ...(ignore.length ? { ignore } : {}) };
}
