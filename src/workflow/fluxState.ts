// What state a Flux HelmRelease/Kustomization means for a k0rdent service. Pure and workflow-safe.
//
// Order (flux-contract §3): deleting → Deleting; Stalled → Failed; Ready=True at the current generation →
// Deployed; Ready=False waiting on a dependency/source → Provisioning; Ready=False at the current generation
// → Failed (Flux keeps retrying); anything else (Unknown, missing, older generation) → Provisioning.
// One more case first: an object no controller has picked up for UNCLAIMED_AFTER_MS → Pending, naming the missing
// controller (see unclaimedVerdict).
import type { ServiceState } from './constants';
import { FLUX_WAITING_REASONS } from './constants';
import { KCM_WATCH_LABEL_SELECTOR } from './fluxMode';
import type { FluxObservation, ObservedCondition } from './types';

export interface FluxVerdict {
  state: ServiceState;
  message: string;
  /** Ready=True for the object's current generation: the spec we applied has been reconciled. */
  confirmed: boolean;
}

export function condition(o: Pick<FluxObservation, 'conditions'>, type: string): ObservedCondition | undefined {
  return o.conditions.find((c) => c.type === type);
}

function describe(c: ObservedCondition | undefined): string {
  if (!c) return '';
  return c.message ? `${c.reason}: ${c.message}` : c.reason;
}

/** Flux adds its finalizer, conditions or an observed generation on its very first reconcile. */
export function neverReconciled(
  o: Pick<FluxObservation, 'fluxFinalizer' | 'conditions' | 'observedGeneration'>,
): boolean {
  return !o.fluxFinalizer && o.conditions.length === 0 && o.observedGeneration < 1;
}

/**
 * A running controller picks a new object up within seconds; a minute covers a busy queue. After that, no
 * controller that watches this object is running: with kcm's bundled Flux there is no kustomize-controller unless
 * the ksm-flux chart runs one, and in standalone mode kcm's label-filtered controllers never see our objects.
 */
export const UNCLAIMED_AFTER_MS = 60_000;

/**
 * Pending, not Failed: nothing failed, the object waits for a controller and goes on by itself once one runs (kcm's
 * own adapter calls a service "not attempted" Pending too). Not Provisioning: nothing is provisioning it.
 */
export function unclaimedVerdict(o: FluxObservation): FluxVerdict | undefined {
  if (o.unclaimedForMs === undefined || o.unclaimedForMs < UNCLAIMED_AFTER_MS || !neverReconciled(o)) return undefined;
  const what = `${o.kind} ${o.namespace}/${o.name}`;
  const hint =
    o.kind === 'Kustomization'
      ? "kcm's chart runs none: enable the ksm-flux chart's kustomizeController (kcm mode), or install Flux's kustomize-controller (standalone mode)"
      : `in kcm mode kcm's helm-controller (kcm-system) watches ${KCM_WATCH_LABEL_SELECTOR}; in standalone mode install Flux's helm-controller`;
  const controller = o.kind === 'Kustomization' ? 'kustomize-controller' : 'helm-controller';
  return {
    state: 'Pending',
    message: `NoController: no ${controller} has picked up ${what} within ${UNCLAIMED_AFTER_MS / 1000}s; is one running that watches it? (${hint})`,
    confirmed: false,
  };
}

export function fluxVerdict(o: FluxObservation): FluxVerdict {
  if (o.deleting) return { state: 'Deleting', message: '', confirmed: false };
  const unclaimed = unclaimedVerdict(o);
  if (unclaimed) return unclaimed;
  const ready = condition(o, 'Ready');
  const stalled = condition(o, 'Stalled');
  const readyCurrent = !!ready && (ready.observedGeneration ?? o.observedGeneration) === o.generation;
  if (stalled?.status === 'True') {
    return { state: 'Failed', message: describe(ready?.status === 'False' ? ready : stalled), confirmed: false };
  }
  if (ready?.status === 'True' && readyCurrent && o.observedGeneration === o.generation) {
    return { state: 'Deployed', message: '', confirmed: true };
  }
  if (ready?.status === 'False') {
    if ((FLUX_WAITING_REASONS as readonly string[]).includes(ready.reason)) {
      return { state: 'Provisioning', message: describe(ready), confirmed: false };
    }
    // A valuesFrom ConfigMap/Secret that does not exist yet is an input not there yet, not a failure: the
    // watcher wakes the ServiceSet when it appears (src/plan/references).
    if (ready.reason === 'ValuesError' && /not found/i.test(ready.message)) {
      return {
        state: 'Provisioning',
        message: `waiting for a valuesFrom object: ${describe(ready)}`,
        confirmed: false,
      };
    }
    // HelmRelease: the failed action must have been attempted for this generation.
    const attempted =
      o.kind === 'Kustomization' ||
      o.lastAttemptedGeneration === undefined ||
      o.lastAttemptedGeneration === o.generation;
    if (readyCurrent && attempted) return { state: 'Failed', message: describe(ready), confirmed: false };
  }
  return { state: 'Provisioning', message: describe(ready), confirmed: false };
}
