// `npm run bench`: ksm-flux measured on the real control plane (never asserted; not part of npm test). Prints a
// markdown report and writes it with the raw figures (JSON) and charts (SVG) to bench/results/.
// Sections (bench/sections/): pure micro-benchmarks, side by side with a bare server-side-apply loop, latency at
// low load, idle cost, the scale curve per Temporal backend and worker count, and the Temporal ceiling.
// The default is a quick run (a few minutes); --full sets the sizes of issue 12. Every size is a flag:
//   npx tsx bench/run.ts [--full] [--sections pure,side,latency,idle,scale,ceiling] [--backend dev|postgres]
//     [--n 100] [--services 3] [--bare-concurrency 4,16,64] [--workers 1]
//     [--latency-samples 200] [--latency-rate 2]
//     [--idle-sets 300] [--idle-window 2m] [--idle-settle 30s] [--idle-sample 100]
//     [--scale-sizes 100] [--scale-backends dev] [--scale-workers 1]
//     [--ceiling-starts 500] [--ceiling-signals 1000] [--ceiling-concurrency 64] [--ceiling-backends dev]
//     [--adapter-flags max-cached-workflows=2000,signal-concurrency=32] [--timeout 20m] [--out bench/results]
//     [--profile DIR]  (a V8 CPU profile of every watcher and worker process, see bench/profile.ts)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { parseArgs } from '../src/args';
import type { TemporalBackend } from '../src/testenv/testenv';
import { root, startAdapter, startPlane, type Adapter, type Plane } from './lib/plane';
import { lineChart, type Series } from './lib/svg';
import { durationMs, load1, say } from './lib/util';
import { ceilingMarkdown, measureCeiling, type CeilingResult } from './sections/ceiling';
import { idle, idleMarkdown, type IdleResult } from './sections/idle';
import { latency, latencyMarkdown, type LatencyResult } from './sections/latency';
import { pure, pureMarkdown } from './sections/pure';
import { scale, scaleMarkdown, type ScaleResult } from './sections/scale';
import { bareApply, ksmConverge, sideBySideMarkdown, type BareResult, type KsmResult } from './sections/sideBySide';

const SECTIONS = ['pure', 'side', 'latency', 'idle', 'scale', 'ceiling'] as const;
type Section = (typeof SECTIONS)[number];

const { flags } = parseArgs(process.argv.slice(2), { full: 'boolean', profile: 'string' });
if (flags.help) {
  process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(0, 13).join('\n') + '\n');
  process.exit(0);
}
const full = !!flags.full;
const str = (k: string, quick: string, fullValue = quick) => String(flags[k] ?? (full ? fullValue : quick));
const int = (k: string, quick: number, fullValue = quick) => {
  const v = Number(str(k, String(quick), String(fullValue)));
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${k}: expected a whole number, got ${String(flags[k])}`);
  return v;
};
const list = (k: string, quick: string, fullValue = quick) => str(k, quick, fullValue).split(',').filter(Boolean);
const backendsOf = (k: string, quick: string, fullValue: string) => {
  const b = list(k, quick, fullValue);
  for (const x of b) if (x !== 'dev' && x !== 'postgres') throw new Error(`--${k}: dev or postgres, got ${x}`);
  return b as TemporalBackend[];
};

const sections = list('sections', SECTIONS.join(',')) as Section[];
for (const s of sections) if (!SECTIONS.includes(s)) throw new Error(`--sections: unknown section ${s}`);
const o = {
  backend: backendsOf('backend', 'dev', 'dev')[0]!,
  n: int('n', 100, 1000),
  services: int('services', 3),
  bareConcurrency: list('bare-concurrency', '4,16,64', '4,16,64,128').map(Number),
  workers: int('workers', 1),
  latencySamples: int('latency-samples', 200),
  latencyRate: Number(str('latency-rate', '2')),
  idleSets: int('idle-sets', 300, 1000),
  idleWindowMs: durationMs(str('idle-window', '2m', '10m')),
  idleSettleMs: durationMs(str('idle-settle', '30s')),
  idleSample: int('idle-sample', 100),
  scaleSizes: list('scale-sizes', '100', '100,1000,5000').map(Number),
  scaleBackends: backendsOf('scale-backends', 'dev', 'dev,postgres'),
  scaleWorkers: list('scale-workers', '1', '1,2').map(Number),
  ceilingStarts: int('ceiling-starts', 500, 1000),
  ceilingSignals: int('ceiling-signals', 1000, 2000),
  ceilingConcurrency: int('ceiling-concurrency', 64),
  ceilingBackends: backendsOf('ceiling-backends', 'dev', 'dev,postgres'),
  timeoutMs: durationMs(str('timeout', '20m', '40m')),
  // Extra `ksm-flux watcher|worker` options for every adapter process (to try settings; the report names them).
  adapterFlags: Object.fromEntries(
    list('adapter-flags', '').map((kv) => {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new Error(`--adapter-flags: expected name=value pairs, got ${kv}`);
      return [kv.slice(0, eq), kv.slice(eq + 1)];
    }),
  ) as Record<string, string>,
  out: path.resolve(str('out', path.join(root, 'bench', 'results'))),
  profile: flags.profile === undefined ? undefined : path.resolve(String(flags.profile)),
};
if (o.profile) {
  fs.mkdirSync(o.profile, { recursive: true });
  process.env.KSM_BENCH_PROFILE_DIR = o.profile; // read by startAdapter
}

const has = (s: Section) => sections.includes(s);
const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, '');

function gitHead(): string {
  try {
    return execFileSync('git', ['-C', root, 'log', '-1', '--format=%h (%cd)', '--date=format:%Y-%m-%d %H:%M'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const started = new Date();
  const loadStart = load1();
  const md: string[] = [];
  const json: Record<string, unknown> = { date: started.toISOString(), command, options: o, commit: gitHead() };
  const stamp = started.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  fs.mkdirSync(o.out, { recursive: true });
  const charts: string[] = [];

  if (has('pure')) {
    const rows = pure();
    json.pure = rows;
    md.push(pureMarkdown(rows));
  }

  let side: { bare: BareResult[]; ksm: KsmResult } | undefined;
  let lat: LatencyResult | undefined;
  let idleR: IdleResult | undefined;
  if (has('side') || has('latency') || has('idle')) {
    const plane: Plane = await startPlane(o.backend, 'main');
    let adapter: Adapter | undefined;
    try {
      let deployed = 0;
      if (has('side')) {
        // Bare apply first, before ksm-flux runs: nothing else is writing while it is timed.
        const l0 = load1();
        const bare = await bareApply(plane, o.n, o.services, o.bareConcurrency);
        adapter = await startAdapter(plane, { id: 'bench', workers: o.workers, flags: o.adapterFlags });
        const ksm = await ksmConverge(plane, adapter, 'side', o.n, o.services, o.timeoutMs);
        deployed += o.n;
        side = { bare, ksm };
        json.sideBySide = side;
        md.push(sideBySideMarkdown(o.n, o.services, bare, ksm, [l0, load1()]));
      }
      adapter ??= await startAdapter(plane, { id: 'bench', workers: o.workers, flags: o.adapterFlags });
      if (has('latency')) {
        const l0 = load1();
        lat = await latency(plane, adapter, 'latency', o.latencySamples, o.services, o.latencyRate, o.timeoutMs);
        deployed += o.latencySamples;
        json.latency = lat;
        md.push(latencyMarkdown(lat, o.services, [l0, load1()]));
      }
      if (has('idle')) {
        const l0 = load1();
        // Top up to the requested number of Deployed ServiceSets (the earlier sections' stay and count).
        if (o.idleSets > deployed)
          await ksmConverge(plane, adapter, 'idle', o.idleSets - deployed, o.services, o.timeoutMs);
        idleR = await idle(plane, adapter, {
          windowMs: o.idleWindowMs,
          settleMs: o.idleSettleMs,
          sample: o.idleSample,
          quiescentPollMs: durationMs(o.adapterFlags['quiescent-poll'] ?? '1h'), // ksm-flux's default
        });
        json.idle = idleR;
        md.push(idleMarkdown(idleR, [l0, load1()]));
      }
    } finally {
      await adapter?.stop();
      await plane.close();
    }
  }

  let scaleR: ScaleResult[] | undefined;
  if (has('scale')) {
    scaleR = await scale({
      backends: o.scaleBackends,
      workers: o.scaleWorkers,
      sizes: o.scaleSizes,
      services: o.services,
      timeoutMs: o.timeoutMs,
      adapterFlags: o.adapterFlags,
    });
    json.scale = scaleR;
    md.push(scaleMarkdown(scaleR, o.services));
  }

  let ceil: CeilingResult[] | undefined;
  if (has('ceiling')) {
    const l0 = load1();
    ceil = [];
    for (const b of o.ceilingBackends)
      ceil.push(await measureCeiling(b, o.ceilingStarts, o.ceilingSignals, o.ceilingConcurrency));
    json.ceiling = ceil;
    md.push(ceilingMarkdown(ceil, [l0, load1()]));
    md.push(closeness(ceil, side?.ksm, scaleR));
  }

  if (side) {
    const best = side.bare.reduce((a, b) => (b.ms < a.ms ? b : a));
    const series: Series[] = [
      { name: `ksm-flux: HelmReleases applied (${side.ksm.objects})`, points: secondsOf(side.ksm.curve) },
      ...side.bare.map((b) => ({
        name: `bare server-side apply, concurrency ${b.concurrency}${b === best ? ' (best)' : ''}`,
        points: secondsOf(b.curve),
        dashed: b !== best,
      })),
    ];
    const file = path.join(o.out, `bench-${stamp}-convergence.svg`);
    fs.writeFileSync(
      file,
      lineChart({
        title: `${side.ksm.serviceSets} ServiceSets × ${o.services} services: objects applied over time`,
        xLabel: 'seconds since the first write',
        yLabel: 'HelmReleases applied',
        series,
      }),
    );
    charts.push(file);
  }
  if (scaleR?.some((r) => r.curve)) {
    const file = path.join(o.out, `bench-${stamp}-scale.svg`);
    fs.writeFileSync(
      file,
      lineChart({
        title: 'Scale: HelmReleases applied over time per configuration',
        xLabel: 'seconds since the first ServiceSet was created',
        yLabel: 'HelmReleases applied',
        series: scaleR
          .filter((r) => r.curve)
          .map((r) => ({
            name: `${r.backend}, ${r.workers} worker(s), ${r.size} ServiceSets`,
            points: secondsOf(r.curve!),
            dashed: r.backend === 'postgres',
          })),
      }),
    );
    charts.push(file);
  }

  const loadEnd = load1();
  const header = [
    `# ksm-flux benchmark, ${started.toISOString()}`,
    '',
    `\`${command}\` at ${json.commit as string}; node ${process.version}, ${os.cpus().length} CPUs, ` +
      `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB. ksm-flux runs as separate watcher and worker processes ` +
      `(${o.workers} worker(s) outside the scale curve) on the test environment's kube-apiserver + etcd and the Temporal ` +
      `${o.backend === 'dev' ? 'dev server' : 'server on PostgreSQL'}. **1-minute load average ${loadStart.toFixed(1)} at the ` +
      `start, ${loadEnd.toFixed(1)} at the end**: the machine is shared, so figures taken under load are pessimistic.`,
    '',
    ...(charts.length ? [`Charts: ${charts.map((c) => path.relative(root, c)).join(', ')}`, ''] : []),
  ];
  const report = [...header, ...md].join('\n');
  json.loadAverage = { start: loadStart, end: loadEnd };
  json.charts = charts;
  fs.writeFileSync(path.join(o.out, `bench-${stamp}.md`), report);
  fs.writeFileSync(path.join(o.out, `bench-${stamp}.json`), JSON.stringify(json, null, 2));
  process.stdout.write(`\n${report}\n`);
  say(`report, JSON and charts in ${path.relative(process.cwd(), o.out)}/bench-${stamp}*`);
}

const secondsOf = (c: [number, number][]): [number, number][] => c.map(([t, n]) => [t / 1000, n]);

/** How close ksm-flux gets to Temporal alone: ServiceSets converged per second against workflow starts per second. */
function closeness(ceil: CeilingResult[], ksm: KsmResult | undefined, scaleR: ScaleResult[] | undefined): string {
  const lines: string[] = [];
  for (const c of ceil) {
    const rates: string[] = [];
    if (ksm && o.backend === c.backend)
      rates.push(`side by side: ${(ksm.serviceSets / (ksm.appliedMs / 1000)).toFixed(1)} ServiceSets/s`);
    for (const r of scaleR ?? [])
      if (r.ok && r.backend === c.backend)
        rates.push(`${r.size} × ${r.workers} worker(s): ${(r.size / (r.appliedMs! / 1000)).toFixed(1)} ServiceSets/s`);
    if (rates.length)
      lines.push(
        `- ${c.backend}: Temporal alone starts ${c.startsPerSec.toFixed(0)} workflows/s; ksm-flux converges ` +
          `${rates.join('; ')} (each ServiceSet is one workflow start plus its passes).`,
      );
  }
  return lines.length ? ['How close ksm-flux gets to the ceiling:', '', ...lines, ''].join('\n') : '';
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
