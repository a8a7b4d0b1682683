// The ceiling: Temporal alone, no Kubernetes and no ksm-flux code, on each backend (the dev server on SQLite and
// the production server on PostgreSQL, as testenv runs them), so ksm-flux's figures can be read against it.
//   starts:  N workflows started with signal-with-start (what the watcher does per ServiceSet), C in flight
//   signals: M signals spread over those workflows, C in flight
//   drained: until every workflow has seen all its signals and completed (a worker in this process runs them)
// Bounded counts; prints a markdown table and writes bench/results/ceiling-<time>.json. Not part of npm test.
// Usage: npx tsx bench/ceiling.ts [--starts 1000] [--signals 2000] [--concurrency 64] [--backends dev,postgres]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { parseArgs } from '../src/args';
import { ensureBuilt, type BuildTarget } from '../src/testenv/build';
import { stop, type Started } from '../src/testenv/proc';
import { startTemporal, type TemporalEndpoint } from '../src/testenv/temporal';
import { startTemporalServer, type TemporalServerEndpoint } from '../src/testenv/temporalServer';
import { versions } from '../src/testenv/versions';
import { ceilingEntity, poke } from './ceilingWorkflow';

type Backend = 'dev' | 'postgres';
const { flags } = parseArgs(process.argv.slice(2), new Set());
const N = Number(flags.starts ?? 1000);
const M = Number(flags.signals ?? 2000);
const C = Number(flags.concurrency ?? 64);
const backends = String(flags.backends ?? 'dev,postgres').split(',') as Backend[];
for (const b of backends) if (b !== 'dev' && b !== 'postgres') throw new Error(`unknown backend ${b}`);
if (!(N > 0 && M >= 0 && C > 0)) throw new Error('--starts and --concurrency must be positive, --signals ≥ 0');

const say = (m: string) => process.stderr.write(`[ceiling] ${m}\n`);

/** Runs fn(0..count-1) with at most `limit` calls in flight; resolves with the elapsed milliseconds. */
async function pool(count: number, limit: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await fn(next++);
    }),
  );
  return performance.now() - t0;
}

interface Result {
  backend: Backend;
  server: string;
  starts: number;
  signals: number;
  concurrency: number;
  startMs: number;
  signalMs: number;
  drainedMs: number;
  startsPerSec: number;
  signalsPerSec: number;
  /** Signals handled (the start's own included) per second, from the first start to the last completion. */
  processedPerSec: number;
}

async function measure(backend: Backend, bundle: { code: string }): Promise<Result> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ksm-flux-ceiling-${backend}-`));
  let procs: Started[] = [];
  let cleanupDirs: string[] = [];
  try {
    const t0 = Date.now();
    const ep: TemporalEndpoint | TemporalServerEndpoint =
      backend === 'postgres'
        ? await startTemporalServer(dir, { ui: false, say })
        : await startTemporal(dir, { ui: false });
    procs = 'procs' in ep ? (ep as TemporalServerEndpoint).procs : [ep.proc];
    cleanupDirs = 'cleanupDirs' in ep ? (ep as TemporalServerEndpoint).cleanupDirs : [];
    say(`${backend}: server up in ${Date.now() - t0} ms at ${ep.address}`);
    const connection = await Connection.connect({ address: ep.address });
    const client = new Client({ connection, namespace: ep.namespace });
    const workerConn = await NativeConnection.connect({ address: ep.address });
    const taskQueue = `ceiling-${backend}`;
    const worker = await Worker.create({
      connection: workerConn,
      namespace: ep.namespace,
      taskQueue,
      workflowBundle: bundle,
      maxCachedWorkflows: N + 100,
    });
    const perWorkflow = (i: number) => Math.floor(M / N) + (i < M % N ? 1 : 0);
    const start = (prefix: string, i: number, signals: number) =>
      client.workflow.signalWithStart(ceilingEntity, {
        workflowId: `${prefix}-${i}`,
        taskQueue,
        args: [1 + signals],
        signal: poke,
        signalArgs: [],
      });
    const result = await worker.runUntil(async () => {
      // Warm-up (not counted): connections, the worker's pollers, the server's caches.
      await pool(50, C, (i) => start('warm', i, 0));
      await pool(50, C, (i) => client.workflow.getHandle(`warm-${i}`).result());
      const tStart = performance.now();
      const startMs = await pool(N, C, (i) => start('wf', i, perWorkflow(i)));
      say(`${backend}: ${N} starts in ${startMs.toFixed(0)} ms`);
      const signalMs = await pool(M, C, (j) => client.workflow.getHandle(`wf-${j % N}`).signal(poke));
      say(`${backend}: ${M} signals in ${signalMs.toFixed(0)} ms`);
      await pool(N, C, (i) => client.workflow.getHandle(`wf-${i}`).result());
      const drainedMs = performance.now() - tStart;
      say(`${backend}: all ${N} workflows completed ${drainedMs.toFixed(0)} ms after the first start`);
      return { startMs, signalMs, drainedMs };
    });
    await workerConn.close();
    await connection.close();
    return {
      backend,
      server:
        backend === 'postgres'
          ? `go.temporal.io/server ${versions.temporalServer} on PostgreSQL (fsync off), 4 history shards`
          : `temporal CLI ${versions.temporalCli} dev server (SQLite WAL, synchronous=OFF)`,
      starts: N,
      signals: M,
      concurrency: C,
      ...result,
      startsPerSec: N / (result.startMs / 1000),
      signalsPerSec: M / (result.signalMs / 1000),
      processedPerSec: (N + M) / (result.drainedMs / 1000),
    };
  } finally {
    for (const p of [...procs].reverse()) await stop(p);
    for (const d of [dir, ...cleanupDirs]) fs.rmSync(d, { recursive: true, force: true });
  }
}

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const targets: BuildTarget[] = ['temporal'];
  if (backends.includes('postgres')) targets.push('temporal-server');
  await ensureBuilt(targets);
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./ceilingWorkflow'),
    logger: new DefaultLogger('WARN'),
  });
  // The machine may be shared: the load around the run says how much the figures can be trusted.
  const loadBefore = os.loadavg()[0]!;
  const results: Result[] = [];
  for (const b of backends) results.push(await measure(b, bundle));
  const loadAfter = os.loadavg()[0]!;

  const f = (x: number) => x.toFixed(0);
  const lines = [
    `## Temporal ceiling (${N} signal-with-start, ${M} signals, ${C} in flight; ${os.cpus().length} CPUs)`,
    '',
    `Client and worker in one process beside the server; 1-minute load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after.`,
    '',
    '| backend | starts/s | signals/s | all completed after | signals handled/s (end to end) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...results.map(
      (r) =>
        `| ${r.backend}: ${r.server} | ${f(r.startsPerSec)} | ${f(r.signalsPerSec)} | ${(r.drainedMs / 1000).toFixed(1)} s | ${f(r.processedPerSec)} |`,
    ),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const out = path.join(__dirname, 'results');
  fs.mkdirSync(out, { recursive: true });
  const file = path.join(out, `ceiling-${Date.now()}.json`);
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadAverage: { before: loadBefore, after: loadAfter },
    command: `npx tsx bench/ceiling.ts ${process.argv.slice(2).join(' ')}`.trim(),
    results,
  };
  fs.writeFileSync(file, JSON.stringify(report, null, 2));
  say(`JSON in ${path.relative(process.cwd(), file)}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
