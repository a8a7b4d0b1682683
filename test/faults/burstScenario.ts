// The shape most scenarios share: a watcher and two workers of one adapter (separate processes), a staged
// namespace, a burst of operations with faults injected between them, then the end state judged.
import fs from 'node:fs';
import { FINALIZER } from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import type { KubeClient } from '../../src/kube/client';
import { paths } from '../../src/kube/paths';
import { sleep } from '../../src/testenv/proc';
import {
  awaitConvergence,
  Burst,
  FluxPlayer,
  record,
  RegressionWatch,
  rng,
  stageNamespace,
  workflowCheck,
} from './burst';
import { row, type AdapterProc, type FaultContext, type Row } from './scenario';

/**
 * How long until the pipeline works again: creates a ServiceSet now and waits for its finalizer and HelmRelease
 * (watcher signal → workflow → activities). Seconds, or undefined when it did not happen within the timeout.
 */
export async function probe(kube: KubeClient, burst: Burst, timeoutMs = 120_000): Promise<number | undefined> {
  const t0 = Date.now();
  const w = await burst.create();
  const deadline = t0 + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const o = await kube.get(paths.serviceSet(burst.ns, w.name));
      const hr = await kube.get(
        paths.flux({
          kind: 'HelmRelease',
          namespace: burst.ns,
          name: fluxObjectName(w.name, w.services[0]!.namespace, w.services[0]!.name),
        }),
      );
      if (hr && ((o?.metadata.finalizers as string[] | undefined) ?? []).includes(FINALIZER))
        return (Date.now() - t0) / 1000;
    } catch {
      /* still coming back */
    }
    await sleep(100);
  }
  return undefined;
}

/** JSON log lines of a process with the given message. */
export function logLines(file: string, msg: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const l of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!l.includes(msg)) continue;
    try {
      const o = JSON.parse(l) as Record<string, unknown>;
      if (o.msg === msg) out.push(o);
    } catch {
      /* not JSON */
    }
  }
  return out;
}

export interface Faults {
  describe(): string;
  count(): number;
  onOp?(i: number): Promise<void>;
  /** After the burst: wait for the fault to be over (processes restarted, dependency back); returns when. */
  settle?(): Promise<number | void>;
}

export interface BurstOptions {
  name: string;
  ops: number;
  /** How many live ServiceSets the burst aims for. */
  target: number;
  gapMs?: number;
  convergeTimeoutMs?: number;
  watchers?: number;
  workers?: number;
  watcherFlags?: Record<string, string>;
  faults(rand: () => number, workers: AdapterProc[], watchers: AdapterProc[], burst: Burst): Faults;
  /** Extra checks after convergence. */
  after?(r: Row, ctx: FaultContext, procs: { watchers: AdapterProc[]; workers: AdapterProc[] }): Promise<void>;
}

export async function runBurst(ctx: FaultContext, o: BurstOptions): Promise<Row> {
  const r = row(o.name);
  const seed = Number(process.env.FAULTS_SEED ?? Date.now() % 100_000);
  r.notes.push(`seed ${seed} (--seed ${seed} repeats the operations and fault moments)`);
  const rand = rng(seed + 7);
  // Processes start in parallel (each loads the TypeScript sources: seconds on a busy machine).
  const first = await ctx.startAdapter('watcher', {
    name: 'watcher-1',
    ...(o.watcherFlags ? { flags: o.watcherFlags } : {}),
  });
  const id = { adapterName: first.adapterName, taskQueue: first.taskQueue };
  const [more, workers] = await Promise.all([
    Promise.all(
      Array.from({ length: (o.watchers ?? 1) - 1 }, (_, i) =>
        ctx.startAdapter('watcher', {
          ...id,
          name: `watcher-${i + 2}`,
          ...(o.watcherFlags ? { flags: o.watcherFlags } : {}),
        }),
      ),
    ),
    Promise.all(
      Array.from({ length: o.workers ?? 2 }, (_, i) => ctx.startAdapter('worker', { ...id, name: `worker-${i + 1}` })),
    ),
  ]);
  const watchers: AdapterProc[] = [first, ...more];
  const ns = `faults-${o.name}-${seed}`.slice(0, 63);
  const smp = await stageNamespace(ctx.kube, ns, id.adapterName);
  const regressions = new RegressionWatch(ctx.kube, ns);
  await regressions.start();
  const flux = new FluxPlayer(ctx.kube, ns);
  const burst = new Burst(ctx.kube, ns, smp, seed);
  const faults = o.faults(rand, workers, watchers, burst);
  try {
    await burst.run(o.ops, o.target, o.gapMs ?? 100, (i) => faults.onOp?.(i));
    const faultEnd = (await faults.settle?.()) ?? 0;
    r.operations = burst.operations;
    r.faults = faults.count();
    r.faultsDescription = faults.describe();
    const v = await awaitConvergence(
      ctx.kube,
      burst,
      o.convergeTimeoutMs ?? (ctx.quick ? 120_000 : 240_000),
      faultEnd || 0,
    );
    record(r, v);
    r.notes.push(`operations: ${JSON.stringify(burst.ops)}; Flux stand-in marked ${flux.readyMarks} generations Ready`);
    // Workflows are closed asynchronously after the finalizer goes: give visibility a moment.
    let wf = await workflowCheck(ctx.env, id.taskQueue, burst);
    for (let i = 0; i < 20 && (wf.missing.length || wf.orphaned.length); i++) {
      await sleep(500);
      wf = await workflowCheck(ctx.env, id.taskQueue, burst);
    }
    r.notes.push(
      `open workflows ${wf.open} for ${[...burst.wanted.values()].filter((w) => !w.deleted).length} live ServiceSets`,
    );
    if (wf.missing.length) {
      r.ok = false;
      r.lost += wf.missing.length;
      r.failures.push(`no open workflow for ${wf.missing.join(', ')}`);
    }
    if (wf.orphaned.length) {
      r.ok = false;
      r.orphans += wf.orphaned.length;
      r.failures.push(`open workflows without a live ServiceSet: ${wf.orphaned.join(', ')}`);
    }
    if (regressions.regressions.length) {
      r.ok = false;
      r.failures.push(`status regressions: ${regressions.regressions.slice(0, 10).join('; ')}`);
    }
    r.notes.push(`status regressions: ${regressions.regressions.length}`);
    await o.after?.(r, ctx, { watchers, workers });
  } finally {
    regressions.stop();
    await flux.stop();
  }
  return r;
}
