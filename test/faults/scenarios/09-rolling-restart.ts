// 13.9: a running fleet restarted worker by worker onto a new build (SIGTERM: the graceful stop a Deployment
// rollout sends; the new process loads a freshly built workflow bundle) mid-burst. No workflow is stuck:
// everything converges and every live ServiceSet keeps exactly one open workflow. (Replay of histories recorded
// with earlier releases against the current code runs in CI: test/replay.)
import path from 'node:path';
import { bundleTo } from '../../../scripts/bundle-workflows';
import { runBurst } from '../burstScenario';
import type { Scenario } from '../scenario';

export const scenario: Scenario = {
  name: 'rolling-restart',
  covers: '13.9',
  quick: false,
  async run(ctx) {
    const ops = ctx.quick ? 30 : 90;
    const bundle = path.join(ctx.env.dir, 'workflow-bundle-next.js');
    await bundleTo(bundle);
    let restarted = 0;
    return runBurst(ctx, {
      name: this.name,
      ops,
      target: ctx.quick ? 12 : 30,
      faults: (_rand, workers) => ({
        describe: () => `${restarted} workers restarted one at a time (SIGTERM, new workflow bundle)`,
        count: () => restarted,
        onOp: async (i) => {
          const k = [Math.floor(ops / 3), Math.floor((2 * ops) / 3)].indexOf(i);
          if (k < 0) return;
          await workers[k]!.restart({ signal: 'SIGTERM', workflowBundle: bundle });
          restarted++;
          ctx.say(`${workers[k]!.name} on the new build`);
        },
      }),
    });
  },
};
