// The next actions for one reconcile pass, chosen from an observation by pure functions (the workflow's
// "decide" step; activities carry them out). Workflow-safe.
import { fluxVerdict } from './fluxState';
import type { Rejections } from './rejections';
import type { FluxObservation, FluxRef, Observation } from './types';

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

export interface PassOptions {
  retry: boolean;
  rejected: Rejections;
  /**
   * Replaying a history recorded before pause froze deletions, cluster deletion let go at once and failures
   * healed (the workflow's `patched()` says so): decide as the code did then.
   */
  legacy?: boolean;
}

export function decidePass(obs: Observation, opts: PassOptions): PassPlan {
  const plan: PassPlan = { addFinalizer: false, apply: [], handOver: [], remove: [], reconcileRequest: [] };
  if (!obs.found || obs.deleting || !obs.owned) return plan;
  if (!obs.hasFinalizer) {
    plan.addFinalizer = true; // before any other work; the update re-triggers the pass
    return plan;
  }
  if (!mayApply(obs)) return plan;
  // Paused (kcm's service-set-paused): changes are recorded (applied suspended), but nothing is uninstalled or
  // deleted — not an Uninstall service, not a service removed from the spec, not a release handed over — until
  // the annotation goes; the next pass then does the pending work.
  const frozen = obs.paused && !opts.legacy;
  for (const svc of obs.services) {
    const f = svc.flux;
    // Leave whatever exists untouched until the input is fixed, or is there.
    if (svc.planError || svc.awaiting) continue;
    if (svc.uninstall) {
      if (f && !f.deleting && !frozen) plan.remove.push(ref(f));
      continue;
    }
    if (svc.conflict && !svc.conflict.winner) {
      if (f && !f.deleting && !frozen) plan.handOver.push(ref(f));
      continue;
    }
    if (svc.conflict?.winner && svc.conflict.heldBy.length && !f) continue; // wait for the hand-over
    if (!svc.desired || f?.deleting) continue;
    const rejected = opts.rejected[svc.key];
    if (rejected && rejected.hash === svc.desired.hash && !opts.retry) continue; // same input the API server refused
    // Drift (someone else changed it): the same apply restores it; see src/workflow/drift.ts.
    if (!f || f.appliedHash !== svc.desired.hash || svc.drift) plan.apply.push(svc.key);
  }
  for (const s of obs.stray) {
    if (s.flux.deleting || frozen) continue;
    (s.handOver ? plan.handOver : plan.remove).push(ref(s.flux));
  }
  if (opts.retry) {
    for (const svc of obs.services)
      if (svc.flux && !svc.flux.deleting && !svc.flux.suspended) plan.reconcileRequest.push(ref(svc.flux));
  }
  return plan;
}

/**
 * The ServiceSet is gone, but Flux objects labelled with its uid are left: it was deleted after someone removed
 * our finalizer. Nothing else cleans them up where no garbage collector runs (their ownerReference only helps
 * with one), so they are deleted as its deletion would have (Flux uninstalls).
 */
export function leftoversToDelete(obs: Observation): FluxRef[] {
  return obs.found ? [] : (obs.leftovers ?? []);
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
  /** Paused: deletion waits for the annotation to go (nothing is uninstalled meanwhile). */
  paused?: boolean;
  /** The target cluster is going away: objects are let go (suspended) at once, not uninstalled. */
  clusterGoing?: string;
}

/** Why the target cluster is going away (its ClusterDeployment is being deleted, or its kubeconfig is gone), if it is. */
export function clusterGoingAway(obs: Observation): string | undefined {
  if (obs.target.selfManagement) return undefined;
  if (obs.target.clusterDeleting)
    return `ClusterDeployment ${obs.cluster.namespace}/${obs.cluster.name} is being deleted`;
  if (!obs.target.kubeconfigSecretFound)
    return `kubeconfig Secret ${obs.cluster.namespace}/${obs.target.kubeconfigSecret ?? ''} is gone`;
  return undefined;
}

export function allFluxObjects(obs: Observation): { flux: FluxObservation; handOver: boolean }[] {
  const out: { flux: FluxObservation; handOver: boolean }[] = [];
  // Someone else wants the release (ours waiting, or another provider's): suspend first so it stays installed.
  for (const s of obs.services)
    if (s.flux) out.push({ flux: s.flux, handOver: !!(s.conflict?.waiting.length || s.conflict?.foreign?.length) });
  out.push(...obs.stray);
  return out;
}

export function decideDeletion(
  obs: Observation,
  elapsedMs: number,
  deletionTimeoutMs: number,
  finalizerGraceMs: number,
  opts: { legacy?: boolean } = {},
): DeletionStep {
  const step: DeletionStep = { del: [], suspendFirst: [], orphan: [], stripFinalizer: [], done: false };
  const objs = allFluxObjects(obs);
  if (!objs.length) {
    step.done = true;
    return step;
  }
  const going = clusterGoingAway(obs);
  if (going && !opts.legacy) step.clusterGoing = going;
  // Deleting a paused ServiceSet: uninstalling is work on the cluster, which pause forbids; it waits for the
  // annotation to go — unless the cluster itself is going away, where there is nothing left to protect.
  if (obs.paused && !going && !opts.legacy) {
    step.paused = true;
    return step;
  }
  // A cluster going away is not worth an uninstall (it may never answer): let go at once instead of waiting
  // out the deletion timeout.
  const deadline = step.clusterGoing ? 0 : deletionTimeoutMs;
  for (const { flux, handOver } of objs) {
    if (!flux.deleting) {
      // Suspended objects are skipped by Flux's finalizer (no uninstall, no prune).
      if (handOver || going) step.suspendFirst.push(ref(flux));
      else step.del.push(ref(flux));
      continue;
    }
    if (elapsedMs >= deadline && !flux.suspended) step.orphan.push(ref(flux));
    else if (elapsedMs >= deadline + finalizerGraceMs && flux.fluxFinalizer) step.stripFinalizer.push(ref(flux));
  }
  return step;
}

// ---------------------------------------------------------------------------------------------------------
// Self-healing: a Flux object that gave up (Stalled: helm-controller's RetriesExceeded after its remediation
// retries) stays failed for ever unless someone asks again (kcm#2358). While its input is unchanged, we ask
// again with exponential backoff (requestedAt + resetAt/forceAt), up to an optional maxConsecutiveFailures.

export interface HealPolicy {
  /** Delay before the first automatic retry; doubles per consecutive failure. */
  minBackoffMs: number;
  maxBackoffMs: number;
  /** provider.config maxConsecutiveFailures: after this many failures of one input, stop (manual retry only). */
  maxConsecutiveFailures?: number;
}

/** Per service: the failures of its current input. Carried across continue-as-new. */
export interface HealEntry {
  /** The desired digest these failures belong to; a new input starts a fresh budget. */
  hash: string;
  /** Consecutive failures seen (the first Stalled observation, then one per retry that failed again). */
  failures: number;
  /** The retry (requestedAt token, or "" for Flux's own first attempt) whose failure was counted last. */
  counted?: string;
  /** Our last reconcile request, awaiting Flux's lastHandledReconcileAt. */
  requestedAt?: string;
  /** When the next automatic retry is due (epoch ms); absent when exhausted or not failed. */
  nextAtMs?: number;
  exhausted?: boolean;
}
export type HealMemory = Record<string, HealEntry>;

export interface HealDecision {
  memory: HealMemory;
  /** Objects to re-drive now (each with a reset: they are Stalled). */
  retry: FluxRef[];
  /** Per failed service: when the next automatic retry is, or that the budget is spent. */
  outlook: Record<string, HealOutlook>;
  /** Wake for the earliest due retry (ms from now), if any. */
  wakeInMs?: number;
}

export interface HealOutlook {
  failures: number;
  nextRetryAt?: string;
  exhausted?: { max: number };
}

export function healBackoffMs(failures: number, p: HealPolicy): number {
  return Math.min(p.minBackoffMs * 2 ** Math.max(0, failures - 1), p.maxBackoffMs);
}

const stalled = (f: FluxObservation) => f.conditions.some((c) => c.type === 'Stalled' && c.status === 'True');

export function decideHealing(
  obs: Observation,
  memory: HealMemory,
  now: { ms: number; iso: string },
  policy: HealPolicy,
  opts: { manualRetry?: boolean } = {},
): HealDecision {
  const out: HealDecision = { memory: {}, retry: [], outlook: {} };
  if (!mayApply(obs) || obs.paused) return { ...out, memory };
  for (const svc of obs.services) {
    const f = svc.flux;
    const hash = svc.desired?.hash;
    // Only our own, current, active object: bad input, conflicts and waiting inputs are not Flux failures.
    if (!f || !hash || f.deleting || f.suspended || f.appliedHash !== hash || svc.uninstall || svc.planError) continue;
    if (svc.conflict && !svc.conflict.winner) continue;
    let e: HealEntry | undefined = memory[svc.key]?.hash === hash ? { ...memory[svc.key]! } : undefined;
    // A manual retry re-drives everything now and starts a fresh budget, beginning with that request.
    if (opts.manualRetry) e = { hash, failures: 0, requestedAt: now.iso };
    const v = fluxVerdict(f);
    if (v.state === 'Deployed') continue; // healed (or never failed): forget
    if (!e && !stalled(f)) continue; // Flux is still trying by itself
    e ??= { hash, failures: 0 };
    out.memory[svc.key] = e;
    if (!stalled(f)) continue; // our retry is under way
    if (e.requestedAt && f.lastHandledReconcileAt !== e.requestedAt) continue; // not handled yet
    const token = e.requestedAt ?? '';
    if (e.counted !== token) {
      e.failures++;
      e.counted = token;
      e.nextAtMs = now.ms + healBackoffMs(e.failures, policy);
      delete e.exhausted;
    }
    const max = policy.maxConsecutiveFailures;
    if (max !== undefined && e.failures >= max) {
      e.exhausted = true;
      delete e.nextAtMs;
      out.outlook[svc.key] = { failures: e.failures, exhausted: { max } };
      continue;
    }
    if (e.nextAtMs !== undefined && now.ms >= e.nextAtMs) {
      out.retry.push(ref(f));
      e.requestedAt = now.iso;
      delete e.nextAtMs;
      continue;
    }
    if (e.nextAtMs !== undefined) {
      out.outlook[svc.key] = { failures: e.failures, nextRetryAt: new Date(e.nextAtMs).toISOString() };
      const wait = e.nextAtMs - now.ms;
      out.wakeInMs = out.wakeInMs === undefined ? wait : Math.min(out.wakeInMs, wait);
    }
  }
  return out;
}
