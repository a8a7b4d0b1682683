// 13.2: the Temporal server stopped and started again mid-burst on the same database (the dev server's SQLite
// file). Everything converges, nothing is lost, and at the end each live ServiceSet has exactly one open workflow
// and no workflow is left open for a deleted one.
import { sleep } from '../../../src/testenv/proc';
import { runBurst } from '../burstScenario';
import type { Scenario } from '../scenario';

export const scenario: Scenario = {
  name: 'temporal-restart',
  covers: '13.2',
  quick: false,
  async run(ctx) {
    const ops = ctx.quick ? 30 : 120;
    const downMs = ctx.quick ? 5_000 : 20_000;
    let back: Promise<number> | undefined;
    return runBurst(ctx, {
      name: this.name,
      ops,
      target: ctx.quick ? 12 : 40,
      faults: () => ({
        describe: () =>
          `Temporal server stopped at operation ${Math.floor(ops / 3)} and started again ${downMs / 1000} s later`,
        count: () => (back ? 1 : 0),
        onOp: async (i) => {
          if (i !== Math.floor(ops / 3)) return;
          const t = await ctx.stopPlaneProcess('temporal');
          ctx.say('Temporal stopped');
          back = sleep(downMs).then(async () => {
            await t.restart();
            ctx.say('Temporal started again');
            return Date.now();
          });
        },
        settle: () => back ?? Promise.resolve(0),
      }),
    });
  },
};
