// 13.4 (first half): the only watcher is down while ServiceSets are created, edited and deleted. When it starts
// again its informers' first list brings every change: all of it is handled (nothing is missed because no event
// was seen).
import { runBurst } from '../burstScenario';
import type { Scenario } from '../scenario';

export const scenario: Scenario = {
  name: 'watcher-down',
  covers: '13.4',
  quick: false,
  async run(ctx) {
    const ops = ctx.quick ? 30 : 100;
    let back: Promise<number> | undefined;
    return runBurst(ctx, {
      name: this.name,
      ops: ops + 1,
      target: ctx.quick ? 12 : 40,
      faults: (_rand, _workers, watchers) => ({
        describe: () => `the watcher SIGKILLed after the first operation, started again after ${ops} more`,
        count: () => (back ? 1 : 0),
        onOp: async (i) => {
          if (i === 0) {
            await watchers[0]!.kill('SIGKILL');
            ctx.say('watcher killed');
          }
          if (i === ops) {
            back = watchers[0]!.restart().then(() => Date.now());
            await back;
            ctx.say('watcher started again');
          }
        },
        settle: () => back ?? Promise.resolve(0),
      }),
    });
  },
};
