// 13.5: someone else edits our objects, against our adapter run as separate processes (a watcher, two workers).
// Every ServiceSet, once Deployed, gets one foreign act at a random moment:
//   edit    another field manager changes a value we set, adds one of its own and suspends a HelmRelease;
//   delete  a user deletes a HelmRelease;
//   strip   a user removes our finalizer from the ServiceSet;
//   gone    a user removes our finalizer and deletes the ServiceSet at once (no garbage collector runs here).
// Converged: the edit undone (values ours again, nothing suspended, their key gone), the HelmRelease back (new
// uid), the finalizer back, the deleted ServiceSet's HelmReleases gone (else they are orphans). Flux is played
// (Ready per generation) as in the integration tests.
import { FINALIZER, LABEL_SERVICESET_UID } from '../../../src/workflow/constants';
import { fluxObjectName } from '../../../src/plan/names';
import type { KubeObject } from '../../../src/kube/client';
import { paths } from '../../../src/kube/paths';
import { sleep } from '../../../src/testenv/proc';
import { FluxPlayer, rng, stageNamespace } from '../burst';
import { percentile, row, type Scenario } from '../scenario';

type Act = 'edit' | 'delete' | 'strip' | 'gone';
const ACTS: Act[] = ['edit', 'delete', 'strip', 'gone'];

interface Case {
  ss: string;
  uid: string;
  act: Act;
  hr: { kind: 'HelmRelease'; namespace: string; name: string };
  hrUid?: string;
  at?: number;
  /** The act's request has returned (before that, the old state would look restored). */
  acted?: boolean;
  doneAt?: number;
}

export const scenario: Scenario = {
  name: 'foreign-edits',
  covers: '13.5',
  quick: true,
  async run(ctx) {
    const r = row(this.name);
    const seed = Number(process.env.FAULTS_SEED ?? Date.now() % 100_000);
    r.notes.push(`seed ${seed}`);
    const rand = rng(seed + 5);
    const n = ctx.quick ? 8 : 40;
    const watcher = await ctx.startAdapter('watcher', { name: 'watcher-1' });
    const id = { adapterName: watcher.adapterName, taskQueue: watcher.taskQueue };
    await Promise.all([1, 2].map((i) => ctx.startAdapter('worker', { ...id, name: `worker-${i}` })));
    const ns = `faults-foreign-${seed}`;
    const smp = await stageNamespace(ctx.kube, ns, id.adapterName);
    const flux = new FluxPlayer(ctx.kube, ns);
    const { kube } = ctx;
    const get = (p: string) => kube.get<KubeObject & Record<string, any>>(p);
    try {
      const cases: Case[] = [];
      for (let i = 0; i < n; i++) {
        const ss = `fe-${i}`;
        const o = await kube.create(paths.serviceSets(ns), {
          apiVersion: 'k0rdent.mirantis.com/v1beta1',
          kind: 'ServiceSet',
          metadata: { name: ss, namespace: ns },
          spec: {
            cluster: 'cluster1',
            provider: { name: smp },
            services: ['a', 'b'].map((s) => ({
              name: s,
              namespace: `ns-${ss}`,
              template: 'chart-a',
              version: 'chart-a',
              values: 'replicaCount: 2\n',
            })),
          },
        });
        r.operations++;
        cases.push({
          ss,
          uid: o.metadata.uid!,
          act: ACTS[Math.floor(rand() * ACTS.length)]!,
          hr: { kind: 'HelmRelease', namespace: ns, name: fluxObjectName(ss, `ns-${ss}`, 'a') },
        });
      }
      const deployed = async (c: Case) => (await get(paths.serviceSet(ns, c.ss)))?.status?.deployed === true;
      const until = Date.now() + 120_000;
      while (Date.now() < until && !(await Promise.all(cases.map(deployed))).every(Boolean)) await sleep(500);
      ctx.say(`${n} ServiceSets Deployed; foreign acts: ${cases.map((c) => c.act).join(' ')}`);

      const settled = async (c: Case): Promise<boolean> => {
        if (c.act === 'edit') {
          const o = await get(paths.flux(c.hr));
          const v = o?.spec?.values ?? {};
          return !!o && o.spec.suspend !== true && v.replicaCount === 2 && v.injected === undefined;
        }
        if (c.act === 'delete') {
          const o = await get(paths.flux(c.hr));
          return !!o && o.metadata.uid !== c.hrUid;
        }
        if (c.act === 'strip')
          return (((await get(paths.serviceSet(ns, c.ss)))?.metadata.finalizers ?? []) as string[]).includes(FINALIZER);
        const left = await kube.list(paths.helmReleases(ns), `${LABEL_SERVICESET_UID}=${c.uid}`);
        return left.items.length === 0;
      };
      // Watched from the first act on, so each restore is timed from its own act.
      const deadline = Date.now() + (ctx.quick ? 60_000 : 120_000);
      const watching = (async () => {
        while (Date.now() < deadline && cases.some((c) => !c.doneAt)) {
          for (const c of cases.filter((x) => x.acted && !x.doneAt)) if (await settled(c)) c.doneAt = Date.now();
          await sleep(100);
        }
      })();
      // The acts, at random moments over a few seconds.
      for (const c of cases) {
        await sleep(Math.floor(rand() * 400));
        c.at = Date.now();
        if (c.act === 'edit') {
          await kube.mergePatch(
            paths.flux(c.hr),
            { spec: { suspend: true, values: { replicaCount: 9, injected: 'yes' } } },
            'kubectl-edit',
          );
        } else if (c.act === 'delete') {
          c.hrUid = (await get(paths.flux(c.hr)))?.metadata.uid;
          await kube.delete(paths.flux(c.hr));
        } else {
          await kube.mergePatch(paths.serviceSet(ns, c.ss), { metadata: { finalizers: null } }, 'kubectl-edit');
          if (c.act === 'gone') {
            await kube.delete(paths.serviceSet(ns, c.ss));
            r.operations++;
          }
        }
        c.acted = true;
        r.faults++;
      }
      await watching;
      r.faultsDescription = `${cases.length} foreign acts (${ACTS.map((a) => `${cases.filter((c) => c.act === a).length} ${a}`).join(', ')})`;

      const times = cases.filter((c) => c.doneAt).map((c) => c.doneAt! - c.at!);
      r.total = cases.length;
      r.converged = times.length;
      r.convergeP50Ms = percentile(times, 50);
      r.convergeMaxMs = percentile(times, 100);
      for (const a of ACTS) {
        const ts = cases.filter((c) => c.act === a && c.doneAt).map((c) => c.doneAt! - c.at!);
        if (ts.length) r.notes.push(`${a}: restored in ${ts.sort((x, y) => x - y).join(', ')} ms`);
      }
      const open = cases.filter((c) => !c.doneAt);
      for (const c of open.filter((x) => x.act === 'gone')) {
        r.orphans += (await kube.list(paths.helmReleases(ns), `${LABEL_SERVICESET_UID}=${c.uid}`)).items.length;
      }
      r.lost = open.filter((c) => c.act !== 'gone').length;
      if (open.length) {
        r.ok = false;
        r.failures.push(`not restored: ${open.map((c) => `${c.ss} (${c.act})`).join(', ')}`);
      }
      // Every restore is announced, and only those: one FluxObjectDrift per edit, one FluxObjectDeleted per deletion.
      // The Event is written at the end of the restoring pass, just after the restore itself: allow it a moment.
      const want = (act: Act) => cases.filter((c) => c.act === act).length;
      const count = (evs: { reason: string }[], reason: string) => evs.filter((e) => e.reason === reason).length;
      let evs: { reason: string }[] = [];
      for (let i = 0; i < 50; i++) {
        evs = (await kube.list(paths.events(ns))).items as unknown as { reason: string }[];
        if (count(evs, 'FluxObjectDrift') >= want('edit') && count(evs, 'FluxObjectDeleted') >= want('delete')) break;
        await sleep(200);
      }
      for (const [reason, act] of [
        ['FluxObjectDrift', 'edit'],
        ['FluxObjectDeleted', 'delete'],
      ] as const) {
        const got = count(evs, reason);
        r.notes.push(`${reason} events: ${got} for ${want(act)} ${act}s`);
        if (got !== want(act)) {
          r.ok = false;
          r.failures.push(`${got} ${reason} events for ${want(act)} ${act}s`);
        }
      }
      r.peakRssMiB = ctx.peakRssMiB();
    } finally {
      await flux.stop();
    }
    return r;
  },
};
