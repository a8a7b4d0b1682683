// 13.1: workers SIGKILLed at random moments during a burst. Every ServiceSet converges; no duplicate, orphaned
// or missing Flux object; deleted ServiceSets leave nothing behind; no Deployed service flips back for the same
// generation (a replayed activity must not regress status); one open workflow per live ServiceSet.
import { sleep } from '../../../src/testenv/proc';
import { runBurst } from '../burstScenario';
import type { AdapterProc, Scenario } from '../scenario';

export const scenario: Scenario = {
  name: 'worker-kills',
  covers: '13.1',
  quick: true,
  async run(ctx) {
    const ops = ctx.quick ? 40 : 200;
    const kills = ctx.quick ? 4 : 20;
    const restarts: Promise<void>[] = [];
    return runBurst(ctx, {
      name: this.name,
      ops,
      target: ctx.quick ? 15 : 60,
      faults: (rand, workers) => {
        // Kill moments: distinct random operation indices.
        const at = new Set<number>();
        while (at.size < kills) at.add(Math.floor(rand() * ops));
        let done = 0;
        return {
          describe: () => `${done} SIGKILLs of a random worker (restarted 0–3 s later)`,
          count: () => done,
          onOp: async (i: number) => {
            if (!at.has(i)) return;
            let alive = workers.filter((w) => w.alive);
            // Both workers may be down (killed moments ago, restarting): wait for one, so that every planned kill
            // happens (a full run once made 16 of its 20).
            for (let waited = 0; !alive.length && waited < 60_000; waited += 250) {
              await sleep(250);
              alive = workers.filter((w) => w.alive);
            }
            const victim: AdapterProc | undefined = alive[Math.floor(rand() * alive.length)];
            if (!victim) return;
            await victim.kill('SIGKILL');
            done++;
            const delay = Math.floor(rand() * 3000);
            restarts.push(sleep(delay).then(() => victim.restart()));
          },
          settle: async () => {
            await Promise.all(restarts);
          },
        };
      },
    });
  },
};
