// How our processes wait between attempts to reach a dependency that went away (the kube-apiserver for watches,
// the Lease). Two properties the fault suite (test/faults) measures: while it is down the attempts stay few (no hot
// loop), and once it is back work resumes within seconds, whatever the outage's length.

export interface BackoffPolicy {
  minMs: number;
  maxMs: number;
}

/**
 * Watches: a short cap, so that a watch resumes soon after a long outage, yet few attempts per second from a
 * process's informers while the apiserver is down.
 */
export const WATCH_BACKOFF: BackoffPolicy = { minMs: 500, maxMs: 5000 };

/** The wait after `current` failed (doubling, capped). */
export function nextBackoff(current: number, p: BackoffPolicy): number {
  return Math.min(Math.max(current * 2, p.minMs), p.maxMs);
}

/**
 * Whether a leader that could not renew its Lease keeps acting. It may until its renew deadline (2/3 of the lease
 * duration after its last successful renewal, as client-go's leader election): nobody can take the Lease before
 * it expires, and giving up at the first failed request made every apiserver blip stop and restart the watcher
 * (a full relist of everything it watches).
 */
export function keepLeading(lastRenewMs: number, nowMs: number, leaseDurationMs: number): boolean {
  return nowMs - lastRenewMs < (leaseDurationMs * 2) / 3;
}
