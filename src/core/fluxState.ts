// What state a Flux HelmRelease/Kustomization means for a k0rdent service. Pure and workflow-safe.
//
// Order (flux-contract §3): deleting → Deleting; Stalled → Failed; Ready=True at the current generation →
// Deployed; Ready=False waiting on a dependency/source → Provisioning; Ready=False at the current generation
// → Failed (Flux keeps retrying); anything else (Unknown, missing, older generation) → Provisioning.
import type { ServiceState } from '../api/constants';
import { FLUX_WAITING_REASONS } from '../api/constants';
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

export function fluxVerdict(o: FluxObservation): FluxVerdict {
  if (o.deleting) return { state: 'Deleting', message: '', confirmed: false };
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
    // HelmRelease: the failed action must have been attempted for this generation.
    const attempted =
      o.kind === 'Kustomization' ||
      o.lastAttemptedGeneration === undefined ||
      o.lastAttemptedGeneration === o.generation;
    if (readyCurrent && attempted) return { state: 'Failed', message: describe(ready), confirmed: false };
  }
  return { state: 'Provisioning', message: describe(ready), confirmed: false };
}
