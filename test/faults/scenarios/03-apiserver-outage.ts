// 13.3 (and 13.10 for the apiserver): the kube-apiserver stopped for 30 s mid-burst (etcd keeps its data). None of
// our processes exits; the connection attempts they make while it is down are counted at the proxy in front of it
// (no hot loop); once it is back the pipeline works again within seconds and everything converges.
import { paths } from '../../../src/kube/paths';
import { sleep } from '../../../src/testenv/proc';
import { probe, runBurst } from '../burstScenario';
import type { Scenario } from '../scenario';

/** Connection attempts per second (all our processes together) above which a retry loop counts as hot. */
const HOT_LOOP_PER_S = 20;

export const scenario: Scenario = {
  name: 'apiserver-outage',
  covers: '13.3, 13.10',
  quick: true,
  async run(ctx) {
    const ops = ctx.quick ? 30 : 120;
    const downMs = ctx.quick ? 10_000 : 30_000;
    let window: { from: number; to: number } | undefined;
    let back: Promise<number> | undefined;
    let recovery: Promise<number | undefined> | undefined;
    const r = await runBurst(ctx, {
      name: this.name,
      ops,
      target: ctx.quick ? 12 : 40,
      faults: (_rand, _workers, _watchers, burst) => ({
        describe: () => `kube-apiserver stopped at operation ${Math.floor(ops / 3)} for ${downMs / 1000} s`,
        count: () => (back ? 1 : 0),
        onOp: async (i) => {
          if (i !== Math.floor(ops / 3)) return;
          const api = await ctx.stopPlaneProcess('kube-apiserver');
          const from = Date.now();
          ctx.say('kube-apiserver stopped');
          back = sleep(downMs).then(async () => {
            const to = Date.now();
            window = { from, to };
            await api.restart();
            // Back means serving our resources again (its storage takes a while after the port opens): our
            // recovery is measured from there, not the apiserver's own start.
            while (
              !(await ctx.kube.list(paths.serviceSets(burst.ns)).then(
                () => true,
                () => false,
              ))
            )
              await sleep(100);
            const at = Date.now();
            ctx.say('kube-apiserver started again');
            recovery = probe(ctx.kube, burst);
            return at;
          });
        },
        settle: async () => {
          const at = (await back) ?? 0;
          return at;
        },
      }),
      after: async (row) => {
        const rec = await recovery;
        row.recoveryS = rec;
        if (rec === undefined) {
          row.ok = false;
          row.failures.push('a ServiceSet created when the apiserver returned was not handled within 120 s');
        }
        if (window) {
          // The first second holds the reconnects every cut connection makes once; the steady rate is what counts.
          const from = window.from + 1000;
          const n = ctx.kubeProxy.attempts(from, window.to);
          const perS = n / ((window.to - from) / 1000);
          row.outageRequestsPerS = perS;
          row.notes.push(
            `${n} connection attempts to the apiserver in ${((window.to - from) / 1000).toFixed(0)} s of outage (3 processes)`,
          );
          if (perS > HOT_LOOP_PER_S) {
            row.ok = false;
            row.failures.push(`${perS.toFixed(1)} connection attempts/s while the apiserver was down (hot loop)`);
          }
        }
      },
    });
    return r;
  },
};
