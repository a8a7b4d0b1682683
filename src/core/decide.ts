// The next actions for one reconcile pass, chosen from an observation by pure functions (the workflow's
// "decide" step; activities carry them out). Workflow-safe.
import type { FluxObservation, FluxRef, Observation, PlanError } from './types';

export interface PassPlan {
  addFinalizer: boolean;
  /** Service keys whose Flux object must be created or updated. */
  apply: string[];
  /** Our objects for releases another ServiceSet owns now: suspend first (Flux then skips the uninstall), then delete. */
  handOver: FluxRef[];
  /** Our objects that must go normally (Flux uninstalls/prunes on the target). */
  remove: FluxRef[];
  /** Objects to nudge with reconcile.fluxcd.io/requestedAt (+ resetAt/forceAt for HelmReleases). */
  reconcileRequest: FluxRef[];
}

const ref = (f: FluxObservation): FluxRef => ({ kind: f.kind, namespace: f.namespace, name: f.name });

/** Is this ServiceSet in a state where we may change Flux objects at all? */
export function mayApply(obs: Observation): boolean {
  return (
    obs.found &&
    obs.owned &&
    !obs.deleting &&
    obs.hasFinalizer &&
    obs.provider.ready &&
    !obs.provider.suspended &&
    obs.providerConfig.valid &&
    !obs.invalid
  );
}

export function decidePass(
  obs: Observation,
  opts: { retry: boolean; rejected: Record<string, PlanError & { hash?: string }> },
): PassPlan {
  const plan: PassPlan = { addFinalizer: false, apply: [], handOver: [], remove: [], reconcileRequest: [] };
  if (!obs.found || obs.deleting || !obs.owned) return plan;
  if (!obs.hasFinalizer) {
    plan.addFinalizer = true; // before any other work; the update re-triggers the pass
    return plan;
  }
  if (!mayApply(obs)) return plan;
  for (const svc of obs.services) {
    const f = svc.flux;
    // Leave whatever exists untouched until the input is fixed, or is there.
    if (svc.planError || svc.awaiting) continue;
    if (svc.uninstall) {
      if (f && !f.deleting) plan.remove.push(ref(f));
      continue;
    }
    if (svc.conflict && !svc.conflict.winner) {
      if (f && !f.deleting) plan.handOver.push(ref(f));
      continue;
    }
    if (svc.conflict?.winner && svc.conflict.heldBy.length && !f) continue; // wait for the hand-over
    if (!svc.desired || f?.deleting) continue;
    const rejected = opts.rejected[svc.key];
    if (rejected && rejected.hash === svc.desired.hash && !opts.retry) continue; // same input the API server refused
    if (!f || f.appliedHash !== svc.desired.hash) plan.apply.push(svc.key);
  }
  for (const s of obs.stray) {
    if (s.flux.deleting) continue;
    (s.handOver ? plan.handOver : plan.remove).push(ref(s.flux));
  }
  if (opts.retry) {
    for (const svc of obs.services)
      if (svc.flux && !svc.flux.deleting && !svc.flux.suspended) plan.reconcileRequest.push(ref(svc.flux));
  }
  return plan;
}

export interface DeletionStep {
  /** Objects to delete now (not yet deleting). */
  del: FluxRef[];
  /** Objects to suspend before deleting (hand-over, or the target is gone). */
  suspendFirst: FluxRef[];
  /** Deleting objects Flux could not finish in time: suspend (+ Orphan) so Flux lets go. */
  orphan: FluxRef[];
  /** Objects still held by Flux's finalizer long after being orphaned: remove that finalizer. */
  stripFinalizer: FluxRef[];
  /** Nothing of ours is left: remove the ServiceSet finalizer. */
  done: boolean;
}

export function allFluxObjects(obs: Observation): { flux: FluxObservation; handOver: boolean }[] {
  const out: { flux: FluxObservation; handOver: boolean }[] = [];
  for (const s of obs.services) if (s.flux) out.push({ flux: s.flux, handOver: !!s.conflict?.waiting.length });
  out.push(...obs.stray);
  return out;
}

export function decideDeletion(
  obs: Observation,
  elapsedMs: number,
  deletionTimeoutMs: number,
  finalizerGraceMs: number,
): DeletionStep {
  const step: DeletionStep = { del: [], suspendFirst: [], orphan: [], stripFinalizer: [], done: false };
  const objs = allFluxObjects(obs);
  if (!objs.length) {
    step.done = true;
    return step;
  }
  const targetGone = !obs.target.selfManagement && !obs.target.kubeconfigSecretFound;
  for (const { flux, handOver } of objs) {
    if (!flux.deleting) {
      // Suspended objects are skipped by Flux's finalizer (no uninstall, no prune).
      if (handOver || targetGone) step.suspendFirst.push(ref(flux));
      else step.del.push(ref(flux));
      continue;
    }
    if (elapsedMs >= deletionTimeoutMs && !flux.suspended) step.orphan.push(ref(flux));
    else if (elapsedMs >= deletionTimeoutMs + finalizerGraceMs && flux.fluxFinalizer)
      step.stripFinalizer.push(ref(flux));
  }
  return step;
}
