// When the workflow looks again. Fast while something is in progress (the active poll doubles from its minimum
// up to its maximum, so a slow rollout is not polled at the first rate for ever), slowly once everything is
// settled (the safety-net poll; the watcher's signals carry the changes). Pure and workflow-safe.
import type { ServiceState } from './constants';
import type { Timing } from './defs';

export type PollTiming = Pick<Timing, 'quiescentPollMs' | 'activePollMinMs' | 'activePollMaxMs' | 'flapToleranceMs'>;

/** One step of the active poll's backoff: wait `delay` now, and `activeDelay` the next time. */
export function backOff(
  activeDelay: number,
  t: Pick<Timing, 'activePollMaxMs'>,
): { delay: number; activeDelay: number } {
  return { delay: activeDelay, activeDelay: Math.min(activeDelay * 2, t.activePollMaxMs) };
}

/**
 * The safety-net poll, stretched by up to a fifth when `random` (a draw in [0, 1)) is given: ServiceSets created
 * together would otherwise poll together for ever.
 */
export function quiescentDelay(t: Pick<Timing, 'quiescentPollMs'>, random?: number): number {
  return random === undefined ? t.quiescentPollMs : Math.round(t.quiescentPollMs * (1 + 0.2 * random));
}

/** Nothing left to wait for: every service is Deployed or Deleted, or the provider holds all work back. */
export function isSettled(providerOk: boolean, states: ServiceState[]): boolean {
  return !providerOk || states.every((s) => s === 'Deployed' || s === 'Deleted');
}

export interface OwnedPassFacts {
  /** The pass changed something (Flux objects written, reconciles requested) or wrote status. */
  changed: boolean;
  settled: boolean;
  /** The safety-net poll for this pass (quiescentDelay). */
  quiescentMs: number;
  /** A Deployed verdict is held through a Flux flap: look again when the tolerance runs out. */
  flapPending: boolean;
  /** The next automatic retry of a failed service is due in this long. */
  healWakeInMs?: number;
}

/** The delay before the next pass after an owned pass, and the active poll's next step. */
export function scheduleAfterOwnedPass(
  activeDelay: number,
  f: OwnedPassFacts,
  t: PollTiming,
): { nextDelay: number; activeDelay: number } {
  // A change starts the active poll over: what follows it is worth seeing soon.
  let active = f.changed ? t.activePollMinMs : activeDelay;
  let nextDelay = f.quiescentMs;
  if (!f.settled) ({ delay: nextDelay, activeDelay: active } = backOff(active, t));
  else active = t.activePollMinMs;
  if (f.flapPending) nextDelay = Math.min(nextDelay, t.flapToleranceMs);
  if (f.healWakeInMs !== undefined) nextDelay = Math.min(nextDelay, Math.max(0, f.healWakeInMs));
  return { nextDelay, activeDelay: active };
}
