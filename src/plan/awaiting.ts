// Not there yet, or wrong? kcm creates a ClusterDeployment's ServiceSet right after it starts the cluster, before
// `<cluster>-kubeconfig` exists, and its templates may still be validating. Such a service waits (Pending) with a
// message naming what it waits for; only definitively bad input is Failed. Pure and workflow-safe.
import type { ServiceTemplate } from '../api/k0rdent';
import type { PlanError } from '../workflow/types';

/**
 * kcm's template controllers write these validation errors while something upstream is still being fetched or
 * reconciled (servicetemplate_controller.go sourceNotReadyMessage, helm.ShouldReportStatusOnArtifactReadiness,
 * template_controller.go); they clear by themselves. Any other validation error is the template's own fault.
 */
const TRANSIENT_VALIDATION = [
  /^Source is not ready/i,
  /^HelmChart was not reconciled yet/i,
  /^helm chart artifact is not ready yet/i,
  /^failed to download helm chart artifact/i,
  /^failed to download chart/i,
  /^Waiting for Management/i,
  /^Some of the predeclared Secrets .* are missing/i,
];

export function transientValidationError(message: string | null | undefined): boolean {
  return !!message && TRANSIENT_VALIDATION.some((re) => re.test(message));
}

/** A template whose status describes an older spec is being validated again. */
function statusStale(t: ServiceTemplate): boolean {
  const og = (t.status as { observedGeneration?: number } | undefined)?.observedGeneration;
  return og !== undefined && t.metadata.generation !== undefined && og < t.metadata.generation;
}

/**
 * When a plan error means "an input is not there yet", what the service waits for (reason and message);
 * undefined when the error is bad input that only a change of the input can fix.
 */
export function awaitedInput(err: PlanError, template: ServiceTemplate | undefined): PlanError | undefined {
  switch (err.reason) {
    case 'KubeconfigSecretNotFound':
      return { reason: 'WaitingForKubeconfig', message: `waiting for ${err.message}` };
    case 'TemplateNotFound':
      return {
        reason: 'WaitingForTemplate',
        message: `waiting for ${err.message.replace(/ not found$/, '')} to exist`,
      };
    case 'TemplateNotReady':
      return { reason: 'WaitingForTemplate', message: `waiting for kcm to validate the template: ${err.message}` };
    case 'TemplateInvalid': {
      const why = template?.status?.validationError;
      if (template && (transientValidationError(why) || statusStale(template)))
        return {
          reason: 'WaitingForTemplate',
          message: `waiting for ServiceTemplate ${template.metadata.name} to become valid: ${why || 'being validated'}`,
        };
      return undefined;
    }
    default:
      // Values inputs (src/values/): a valuesFrom object or the cluster object a template reads, not there yet.
      return err.pending ? { reason: err.reason, message: err.message } : undefined;
  }
}
