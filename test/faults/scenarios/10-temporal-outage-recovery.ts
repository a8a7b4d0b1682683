// 13.10: recovery is prompt and explained. Temporal is down for 60 s (15 s in --quick) while a ServiceSet is edited
// (the watcher's signals fail and are retried). Once Temporal is back, a ServiceSet created at that moment must be
// handled within seconds (the gRPC client's reconnect backoff once left the watcher failing ~28 s longer), the
// edit made during the outage must land, and every "signal failed" log line must carry its cause (gRPC code and
// the cause chain, not only "Failed to signalWithStart Workflow").
import { sleep } from '../../../src/testenv/proc';
import { awaitConvergence } from '../burst';
import { logLines, probe, runBurst } from '../burstScenario';
import type { Scenario } from '../scenario';

/**
 * Recovery slower than this is a failure: the issue asks for seconds, not tens of seconds. Measured 6.3–7.9 s
 * (the dev server's own start-up and the worker's reconnect included) on idle and loaded machines alike; the old
 * gRPC backoff left the watcher failing ~28 s after a 60 s outage, which the full run still catches.
 */
const RECOVERY_BOUND_S = 15;

export const scenario: Scenario = {
  name: 'temporal-outage-recovery',
  covers: '13.10',
  quick: true,
  async run(ctx) {
    const downMs = ctx.quick ? 15_000 : 60_000;
    const ops = ctx.quick ? 6 : 12;
    let recovery: number | undefined;
    let backAt = 0;
    return runBurst(ctx, {
      name: this.name,
      ops,
      target: ops,
      faults: (_rand, _workers, _watchers, burst) => ({
        describe: () => `Temporal stopped for ${downMs / 1000} s after the burst, with edits made while it was down`,
        count: () => (backAt ? 1 : 0),
        settle: async () => {
          // Settled first: what follows measures the outage alone.
          await awaitConvergence(ctx.kube, burst, 120_000);
          const t = await ctx.stopPlaneProcess('temporal');
          ctx.say('Temporal stopped');
          // Edits while Temporal is down: the watcher's signal-with-starts fail and are retried.
          for (let i = 0; i < 3; i++) {
            await sleep(downMs / 4);
            await burst.step(ops);
          }
          await sleep(downMs / 4);
          await t.restart();
          backAt = Date.now();
          ctx.say('Temporal started again');
          recovery = await probe(ctx.kube, burst);
          return backAt;
        },
      }),
      after: async (row, _ctx, procs) => {
        row.recoveryS = recovery;
        row.notes.push(`a ServiceSet created when Temporal returned was handled ${recovery ?? '(never)'} s later`);
        if (recovery === undefined || recovery > RECOVERY_BOUND_S) {
          row.ok = false;
          row.failures.push(
            `recovery after the Temporal outage took ${recovery ?? '> 120'} s (bound ${RECOVERY_BOUND_S} s)`,
          );
        }
        // Every failure log line names its cause (the gRPC code and the cause chain).
        const lines = procs.watchers.flatMap((w) => logLines(w.log, 'signal failed; retrying'));
        const bare = lines.filter((l) => !l.grpcCode || !/:/.test(String(l.error)));
        row.notes.push(
          `${lines.length} "signal failed; retrying" log lines during the outage, ${lines.length - bare.length} with their cause` +
            (lines[0] ? ` (e.g. ${String(lines[0].grpcCode)}: ${String(lines[0].error).slice(0, 160)})` : ''),
        );
        // A short outage can end inside one call's own gRPC retries (nothing logged); a minute cannot.
        if (!lines.length && !ctx.quick) {
          row.ok = false;
          row.failures.push('no failed signal was logged while Temporal was down');
        }
        if (bare.length) {
          row.ok = false;
          row.failures.push(`${bare.length} failure log lines without a cause, e.g. ${JSON.stringify(bare[0])}`);
        }
      },
    });
  },
};
