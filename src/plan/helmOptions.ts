// kcm ServiceHelmOptions → HelmRelease fields. Workflow-safe (types only).
import type { HelmOptions } from '../api/k0rdent';
import type { HelmReleaseSpec } from '../api/flux';

/** Remediation retries used when `atomic` is on (kcm's default): failed actions are rolled back/uninstalled and retried. */
export const ATOMIC_RETRIES = 3;

/**
 * kcm's ServiceHelmOptions fields are all pointers, and its mergeHelmOptions copies every non-nil one: an explicit
 * `false`, `""` or `0s` on the service overrides the template. Only absent (undefined/null) means "not set".
 */
const isSet = (v: unknown) => v !== undefined && v !== null;

/**
 * The template's options are the base; the service's set fields override them (whole option objects such as
 * upgradeOptions are replaced, not merged) and labels merge, as in kcm's built-in adapter.
 */
export function mergeHelmOptions(
  template: HelmOptions | null | undefined,
  service: HelmOptions | null | undefined,
): HelmOptions {
  // No template options: the service's own options stand as given (explicit false included).
  if (!template || !Object.keys(template).length) return { ...(service ?? {}) };
  const base: HelmOptions = { ...template };
  if (!service) return base;
  for (const [k, v] of Object.entries(service)) {
    if (k === 'labels') continue;
    if (isSet(v)) (base as Record<string, unknown>)[k] = v;
  }
  if (service.labels || template?.labels) base.labels = { ...(template?.labels ?? {}), ...(service.labels ?? {}) };
  return base;
}

type HelmActionFields = Pick<
  HelmReleaseSpec,
  'install' | 'upgrade' | 'rollback' | 'uninstall' | 'timeout' | 'maxHistory' | 'persistentClient' | 'commonMetadata'
>;

/** Maps merged options onto HelmRelease fields. `atomic` unset means true, as in kcm. */
export function helmReleaseFields(o: HelmOptions): HelmActionFields {
  const atomic = o.atomic ?? true;
  const out: HelmActionFields = {};
  const install: NonNullable<HelmReleaseSpec['install']> = {
    // Remote namespaces must exist before Helm installs into them; kcm's default is to create them.
    createNamespace: o.installOptions?.createNamespace ?? o.createNamespace ?? true,
  };
  const upgrade: NonNullable<HelmReleaseSpec['upgrade']> = {};
  if (o.wait === false) install.disableWait = upgrade.disableWait = true;
  if (o.waitForJobs === false) install.disableWaitForJobs = upgrade.disableWaitForJobs = true;
  if (o.disableHooks || o.installOptions?.disableHooks) install.disableHooks = true;
  if (o.disableHooks || o.upgradeOptions?.disableHooks) upgrade.disableHooks = true;
  if (o.disableOpenAPIValidation) install.disableOpenAPIValidation = upgrade.disableOpenAPIValidation = true;
  if (o.skipSchemaValidation) install.disableSchemaValidation = upgrade.disableSchemaValidation = true;
  if (o.replace || o.installOptions?.replace) install.replace = true;
  if (o.skipCRDs) install.crds = upgrade.crds = 'Skip';
  else if (o.upgradeOptions?.upgradeCRDs) upgrade.crds = 'CreateReplace';
  if (o.upgradeOptions?.force) upgrade.force = true;
  if (o.upgradeOptions?.cleanupOnFail) upgrade.cleanupOnFail = true;
  if (o.upgradeOptions?.reuseValues || o.upgradeOptions?.resetThenReuseValues) upgrade.preserveValues = true;
  if (atomic) {
    install.remediation = { retries: ATOMIC_RETRIES, remediateLastFailure: true };
    upgrade.remediation = { retries: ATOMIC_RETRIES, remediateLastFailure: true, strategy: 'rollback' };
  }
  out.install = install;
  if (Object.keys(upgrade).length) out.upgrade = upgrade;
  if (o.upgradeOptions?.recreate) out.rollback = { recreate: true };
  const un = o.uninstallOptions;
  if (un && (un.disableHooks || un.keepHistory || un.deletionPropagation)) {
    out.uninstall = {
      ...(un.disableHooks ? { disableHooks: true } : {}),
      ...(un.keepHistory ? { keepHistory: true } : {}),
      ...(un.deletionPropagation ? { deletionPropagation: un.deletionPropagation } : {}),
    };
  }
  // A zero timeout (an explicit "0s" overriding the template's) would fail every wait: Flux's default applies.
  if (o.timeout && !/^(0+(\.0+)?(ms|s|m|h))+$/.test(o.timeout)) out.timeout = o.timeout;
  if (o.upgradeOptions?.maxHistory !== undefined) out.maxHistory = o.upgradeOptions.maxHistory;
  if (o.enableClientCache !== undefined && o.enableClientCache !== null) out.persistentClient = o.enableClientCache;
  if (o.labels && Object.keys(o.labels).length) out.commonMetadata = { labels: { ...o.labels } };
  return out;
}
