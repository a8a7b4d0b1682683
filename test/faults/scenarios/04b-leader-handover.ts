// 13.4 (second half): two watcher replicas; the leader is SIGKILLed mid-burst. The standby takes the Lease once
// it expires (lease duration, plus at most one retry period) and handles what happened meanwhile: nothing missed.
import { paths } from '../../../src/kube/paths';
import { sleep } from '../../../src/testenv/proc';
import { runBurst } from '../burstScenario';
import type { Scenario } from '../scenario';

const LEASE_S = 6;

export const scenario: Scenario = {
  name: 'leader-handover',
  covers: '13.4',
  quick: true,
  async run(ctx) {
    const ops = ctx.quick ? 30 : 80;
    let handover: Promise<number | undefined> | undefined;
    let adapterName = '';
    const lease = async () =>
      (await ctx.kube.get<{ spec?: { holderIdentity?: string } }>(paths.lease('kcm-system', `lease-${adapterName}`)))
        ?.spec?.holderIdentity ?? '';
    return runBurst(ctx, {
      name: this.name,
      ops,
      target: ctx.quick ? 12 : 30,
      watchers: 2,
      watcherFlags: { 'lease-duration': `${LEASE_S}s` },
      faults: (_rand, _workers, watchers) => ({
        describe: () => 'the leading watcher (of 2) SIGKILLed mid-burst',
        count: () => (handover ? 1 : 0),
        onOp: async (i) => {
          if (i !== Math.floor(ops / 3)) return;
          adapterName = watchers[0]!.adapterName;
          const holder = await lease();
          const leader = watchers.find((w) => holder.includes(`-${w.pid}-`));
          if (!leader) throw new Error(`no watcher holds the Lease (holder ${holder})`);
          await leader.kill('SIGKILL');
          const killedAt = Date.now();
          ctx.say(`leader ${leader.name} killed`);
          handover = (async () => {
            while (Date.now() - killedAt < 60_000) {
              const h = await lease().catch(() => holder);
              if (h && h !== holder) return (Date.now() - killedAt) / 1000;
              await sleep(100);
            }
            return undefined;
          })();
        },
        settle: async () => {
          await handover;
          return 0;
        },
      }),
      after: async (row) => {
        const s = await handover;
        row.recoveryS = s;
        // The standby sees the Lease expire at its next retry (every lease/3): at most lease + lease/3 after the kill.
        const bound = LEASE_S + LEASE_S / 3 + 1;
        row.notes.push(
          `handover ${s === undefined ? 'never happened' : `${s.toFixed(1)} s`} after the kill (Lease ${LEASE_S} s, bound ${bound} s)`,
        );
        if (s === undefined || s > bound) {
          row.ok = false;
          row.failures.push(`leader handover took ${s ?? '> 60'} s (bound ${bound} s)`);
        }
      },
    });
  },
};
