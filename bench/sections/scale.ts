// Scale curve: for each Temporal backend × number of workers × size, a fresh control plane, ksm-flux as separate
// processes, `size` ServiceSets converged (created → every HelmRelease applied; Ready → every ServiceSet Deployed),
// with the CPU and peak memory of every process involved. A size that fails or times out ends that series.
import type { TemporalBackend } from '../../src/testenv/testenv';
import { startAdapter, startPlane } from '../lib/plane';
import { treeCpuSeconds, num, say, secs, table, load1 } from '../lib/util';
import { ksmConverge, type Curve } from './sideBySide';

export interface ScaleResult {
  backend: TemporalBackend;
  workers: number;
  size: number;
  objects: number;
  ok: boolean;
  error?: string;
  appliedMs?: number;
  firstAppliedMs?: number;
  deployedMs?: number;
  objectsPerSec?: number;
  /** CPU seconds during the run (creation to all Deployed), per process group. */
  cpu?: { watcher: number; workers: number; temporal: number; apiserver: number };
  peakRssMiB?: { watcher: number; workers: number[] };
  curve?: Curve;
  historyPerSet?: number;
  timeouts?: { workflowTask: number; activityTask: number };
  load: number[];
}

export async function scale(o: {
  backends: TemporalBackend[];
  workers: number[];
  sizes: number[];
  services: number;
  timeoutMs: number;
  adapterFlags?: Record<string, string>;
}): Promise<ScaleResult[]> {
  const results: ScaleResult[] = [];
  for (const backend of o.backends)
    for (const w of o.workers)
      for (const size of o.sizes) {
        const load = [load1()];
        const label = `scale-${backend}-w${w}-${size}`;
        say(`scale: ${backend}, ${w} worker(s), ${size} ServiceSets`);
        const plane = await startPlane(backend, label);
        let r: ScaleResult;
        try {
          const adapter = await startAdapter(plane, { id: label, workers: w, flags: o.adapterFlags ?? {} });
          try {
            const cpu = () => {
              const f = adapter.figures();
              const s = treeCpuSeconds;
              return {
                watcher: f.watcher?.cpuSeconds ?? 0,
                workers: Object.entries(f)
                  .filter(([k]) => k !== 'watcher')
                  .reduce((a, [, v]) => a + (v?.cpuSeconds ?? 0), 0),
                temporal: s(plane.temporalProcs.map((p) => p.pid)),
                apiserver: s(plane.apiserverProc ? [plane.apiserverProc.pid] : []),
              };
            };
            const c0 = cpu();
            const k = await ksmConverge(plane, adapter, 'scale', size, o.services, o.timeoutMs);
            const c1 = cpu();
            const f = adapter.figures();
            r = {
              backend,
              workers: w,
              size,
              objects: k.objects,
              ok: true,
              appliedMs: k.appliedMs,
              firstAppliedMs: k.firstAppliedMs,
              deployedMs: k.deployedMs,
              objectsPerSec: k.perSec,
              cpu: {
                watcher: c1.watcher - c0.watcher,
                workers: c1.workers - c0.workers,
                temporal: c1.temporal - c0.temporal,
                apiserver: c1.apiserver - c0.apiserver,
              },
              peakRssMiB: {
                watcher: f.watcher?.peakRssMiB ?? NaN,
                workers: Object.entries(f)
                  .filter(([k2]) => k2 !== 'watcher')
                  .map(([, v]) => v?.peakRssMiB ?? NaN),
              },
              curve: k.curve,
              historyPerSet: k.historyPerSet,
              timeouts: k.timeouts,
              load: [...load, load1()],
            };
          } finally {
            await adapter.stop();
          }
        } catch (e) {
          r = {
            backend,
            workers: w,
            size,
            objects: size * o.services,
            ok: false,
            error: (e as Error).message,
            load: [...load, load1()],
          };
          say(`scale: ${label} failed: ${r.error}`);
        } finally {
          await plane.close();
        }
        results.push(r);
        if (!r.ok) break; // bigger sizes of this series would fail the same way, only slower
      }
  return results;
}

/** The smallest size at which the dev server failed, or converged at under 2/3 of PostgreSQL's rate (same workers). */
export function devVerdict(rs: ScaleResult[]): string {
  const dev = rs.filter((r) => r.backend === 'dev');
  const pg = rs.filter((r) => r.backend === 'postgres');
  if (!dev.length) return 'The dev server was not measured in this run.';
  for (const d of [...dev].sort((a, b) => a.size - b.size)) {
    if (!d.ok)
      return `The dev server stops being enough at ${d.size} ServiceSets (${d.workers} worker(s)): ${d.error}.`;
    const p = pg.find((x) => x.workers === d.workers && x.size === d.size && x.ok);
    if (p && d.objectsPerSec! < (p.objectsPerSec! * 2) / 3)
      return (
        `The dev server stops being enough at ${d.size} ServiceSets (${d.workers} worker(s)): ${num(d.objectsPerSec!)} ` +
        `objects/s against PostgreSQL's ${num(p.objectsPerSec!)}.`
      );
  }
  const max = Math.max(...dev.filter((d) => d.ok).map((d) => d.size));
  return (
    `Up to ${max} ServiceSets (the largest measured on it) the dev server converged` +
    (pg.length ? ' at no less than 2/3 of the PostgreSQL server’s rate' : '') +
    `: it is not yet the limit at that size on this machine.`
  );
}

export function scaleMarkdown(rs: ScaleResult[], services: number): string {
  return [
    `## Scale curve (${services} services per ServiceSet, fresh control plane per row)`,
    '',
    `First object: creation of the first ServiceSet → the first HelmRelease applied. Converged: creation (16 in flight) → every HelmRelease applied. Deployed: first Ready written → every ServiceSet ` +
      `Deployed. CPU: seconds used from creation until all Deployed; per object: ksm-flux's CPU (watcher + workers) ` +
      `divided by the HelmReleases written. Peak RSS: the kernel's high-water mark (VmHWM).`,
    '',
    table(
      [
        'backend',
        'workers',
        'ServiceSets',
        'first object',
        'converged',
        'objects/s',
        'Deployed after Ready',
        'ksm-flux CPU ms/object',
        'CPU s: watcher / workers / Temporal / apiserver',
        'peak RSS MiB: watcher / workers',
        'history events / ServiceSet (task timeouts in 20)',
        'load 1m',
      ],
      rs.map((r) =>
        r.ok
          ? [
              r.backend,
              r.workers,
              r.size,
              secs(r.firstAppliedMs!),
              secs(r.appliedMs!),
              num(r.objectsPerSec!),
              secs(r.deployedMs!),
              num(((r.cpu!.watcher + r.cpu!.workers) * 1000) / r.objects, 1),
              `${num(r.cpu!.watcher, 1)} / ${num(r.cpu!.workers, 1)} / ${num(r.cpu!.temporal, 1)} / ${num(r.cpu!.apiserver, 1)}`,
              `${num(r.peakRssMiB!.watcher)} / ${r.peakRssMiB!.workers.map((x) => num(x)).join(', ')}`,
              `${num(r.historyPerSet ?? NaN)} (${(r.timeouts?.workflowTask ?? 0) + (r.timeouts?.activityTask ?? 0)})`,
              r.load.map((l) => num(l, 1)).join(' → '),
            ]
          : [
              r.backend,
              r.workers,
              r.size,
              `failed: ${r.error}`,
              '',
              '',
              '',
              '',
              '',
              '',
              '',
              r.load.map((l) => num(l, 1)).join(' → '),
            ],
      ),
    ),
    '',
    devVerdict(rs),
    '',
  ].join('\n');
}
