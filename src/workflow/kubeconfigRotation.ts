// A rotated kubeconfig Secret (new credentials, CA or endpoint of the target cluster) must be used by the next
// Flux reconcile, and that reconcile must come now: Flux reads the Secret on every reconcile, but reconciles a
// settled object only at its interval (or, failing, after its own backoff). The watcher wakes the workflow when
// the Secret changes (src/plan/references.ts indexes it); this decides which objects to ask to reconcile.
// Pure and workflow-safe.
import { mayApply, type HealMemory } from './decide';
import type { FluxRef, Observation } from './types';

export interface RotationDecision {
  /** The kubeconfig version to remember (carried across continue-as-new). */
  seen?: string;
  /** Objects to ask for a reconcile (requestedAt, + resetAt/forceAt on a failing HelmRelease). */
  reconcile: FluxRef[];
  /** Their service keys. */
  keys: string[];
}

/**
 * `seen` is the kubeconfig Secret version this workflow last saw. The first version seen is only remembered
 * (every object was applied with it, or is applied in this pass); a different one later is a rotation.
 */
export function decideKubeconfigRotation(obs: Observation, seen: string | undefined): RotationDecision {
  const now = obs.target.kubeconfigVersion;
  if (!now || obs.target.selfManagement) return { ...(seen ? { seen } : {}), reconcile: [], keys: [] };
  if (seen === undefined || seen === now) return { seen: now, reconcile: [], keys: [] };
  // Not allowed to act now (provider not ready, …): keep the rotation for when we are.
  if (!mayApply(obs)) return { seen, reconcile: [], keys: [] };
  // Paused: the objects are suspended; lifting the pause applies them again, which makes Flux reconcile.
  if (obs.paused) return { seen: now, reconcile: [], keys: [] };
  const reconcile: FluxRef[] = [];
  const keys: string[] = [];
  for (const svc of obs.services) {
    const f = svc.flux;
    if (!f || f.deleting || f.suspended || svc.uninstall) continue;
    if (svc.conflict && !svc.conflict.winner) continue; // not ours to drive
    reconcile.push({ kind: f.kind, namespace: f.namespace, name: f.name });
    keys.push(svc.key);
  }
  return { seen: now, reconcile, keys };
}

/**
 * Self-healing waits for Flux to handle its own request (lastHandledReconcileAt); a rotation request replaces
 * it (Flux handles only the latest), so the healing entries of those services wait for this one instead.
 */
export function healAfterRotation(memory: HealMemory, keys: string[], requestedAt: string): HealMemory {
  const out: HealMemory = { ...memory };
  for (const k of keys) if (out[k]?.requestedAt) out[k] = { ...out[k], requestedAt };
  return out;
}
