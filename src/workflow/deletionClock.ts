// How long a ServiceSet's deletion has waited for Flux, against how long it may. The clock starts at the first
// deleting pass and is carried across continue-as-new; a pause stops it, so the deadline counts from the resume
// (nothing is uninstalled while paused). Pure and workflow-safe.
import type { Observation } from './types';

/** The provider config's deletionTimeout when it sets one, else the worker's. */
export function deletionTimeoutMs(cfg: Observation['providerConfig'], workerDefaultMs: number): number {
  return cfg.deletionTimeoutMs !== undefined ? cfg.deletionTimeoutMs : workerDefaultMs;
}

/** The clock for this pass: started now unless it already runs. */
export function deletionClock(startedAt: number | undefined, nowMs: number): { startedAt: number; elapsedMs: number } {
  const start = startedAt ?? nowMs;
  return { startedAt: start, elapsedMs: nowMs - start };
}

/** After a deletion step: a paused deletion stops the clock. */
export function clockAfterStep(startedAt: number, step: { paused?: boolean }): number | undefined {
  return step.paused ? undefined : startedAt;
}
