import { Context } from '@temporalio/activity';

/** How often a running activity reports that it is alive (the SDK throttles what it sends on). */
export const HEARTBEAT_EVERY_MS = 2_000;

/**
 * Runs an activity body while heartbeating. The workflow gives every activity a heartbeatTimeout, so a
 * task the server handed to a worker that never ran it (a poll cut off by that worker's shutdown, e.g. in
 * a rolling restart) is retried after the heartbeat timeout instead of after startToClose. A long but
 * live call (a slow apply of many services) keeps heartbeating and is not cut short.
 */
export async function withHeartbeat<T>(run: () => Promise<T>, everyMs = HEARTBEAT_EVERY_MS): Promise<T> {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return run(); // called outside a worker (benchmarks, direct calls): nothing to report to
  }
  // A local activity cannot heartbeat: it runs inside the workflow task that the worker keeps alive.
  if (ctx.info.isLocal) return run();
  // No heartbeat at the start: the timeout already counts from the start, and most activities end before the first tick,
  // so they cost the server no heartbeat call at all.
  const timer = setInterval(() => ctx.heartbeat(), everyMs);
  try {
    return await run();
  } finally {
    clearInterval(timer);
  }
}

/** The same activities, each running under withHeartbeat. */
export function heartbeating<T extends object>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, run]) => [
      name,
      (...args: unknown[]) => withHeartbeat(() => (run as (...a: unknown[]) => Promise<unknown>)(...args)),
    ]),
  ) as T;
}
