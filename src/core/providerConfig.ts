// spec.provider.config for ksm-flux: validated with zod; unknown keys and wrong types are rejected with a
// message naming the key, so the ServiceSet shows what to fix and nothing is applied.
import { z } from 'zod';
import { DEFAULT_PRIORITY } from '../api/constants';
import { DURATION_PATTERN, parseDuration } from './duration';

const duration = z.string().regex(DURATION_PATTERN, { message: 'expected a duration such as 30s, 10m or 1h30m' });
const dnsLabel = z
  .string()
  .max(63, { message: 'at most 63 characters' })
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'expected a DNS-1123 label (lower case, digits, "-")' });

export const ProviderConfig = z.strictObject({
  /** Flux reconcile interval of every produced object. */
  interval: duration.default('10m'),
  /** Kustomization retry interval after a failure (Flux default: interval). */
  retryInterval: duration.optional(),
  /** Flux timeout (HelmRelease spec.timeout, Kustomization spec.timeout). */
  timeout: duration.optional(),
  /** Kustomization garbage collection. */
  prune: z.boolean().default(true),
  /** Kustomization health-checks every applied object. */
  wait: z.boolean().default(false),
  /** Kustomization recreates objects whose immutable fields change. */
  force: z.boolean().default(false),
  /** Namespace for Kustomize/Resource objects that set none (default: the service namespace). */
  targetNamespace: dnsLabel.optional(),
  /** Suspend every produced object (like the pause annotation, but from config). */
  suspend: z.boolean().default(false),
  /** Conflict resolution: the higher priority owns a contested Helm release. */
  priority: z.number().int().min(1).max(2147483646).default(DEFAULT_PRIORITY),
  /** HelmRelease drift detection. */
  driftDetection: z.enum(['enabled', 'warn', 'disabled']).optional(),
  /** How long deletion waits for Flux to uninstall/prune before it orphans what is left. */
  deletionTimeout: duration.optional(),
  /** Stop retrying a failed service automatically after this many consecutive failures (Sveltos' key). */
  maxConsecutiveFailures: z.number().int().min(1).optional(),
});
export type ProviderConfig = z.infer<typeof ProviderConfig>;

export type ProviderConfigResult = { ok: true; config: ProviderConfig } | { ok: false; error: string };

export function parseProviderConfig(raw: unknown): ProviderConfigResult {
  if (raw === undefined || raw === null) return { ok: true, config: ProviderConfig.parse({}) };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return {
      ok: false,
      error: `provider.config: expected an object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`,
    };
  }
  const r = ProviderConfig.safeParse(raw);
  if (r.success) return { ok: true, config: r.data };
  const msgs = r.error.issues.map((i) => {
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => `provider.config.${k}: unknown key`).join('; ');
    const where = ['provider.config', ...i.path.map(String)].join('.');
    return `${where}: ${i.message}`;
  });
  return { ok: false, error: msgs.join('; ') };
}

export function deletionTimeoutMs(c: ProviderConfig): number | undefined {
  return c.deletionTimeout ? parseDuration(c.deletionTimeout) : undefined;
}
