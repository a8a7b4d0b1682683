// The ceiling: Temporal alone, no Kubernetes and no ksm-flux code, on each backend (the dev server on SQLite and
// the production server on PostgreSQL, as testenv runs them), so ksm-flux's figures can be read against it.
//   starts:  N workflows started with signal-with-start (what the watcher does per ServiceSet), C in flight
//   signals: M signals spread over those workflows, C in flight
//   drained: until every workflow has seen all its signals and completed (a worker in this process runs them)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import { stop, type Started } from '../../src/testenv/proc';
import { startTemporal, type TemporalEndpoint } from '../../src/testenv/temporal';
import { startTemporalServer, type TemporalServerEndpoint } from '../../src/testenv/temporalServer';
import { versions } from '../../src/testenv/versions';
import { ceilingEntity, poke } from '../ceilingWorkflow';
import { num, pool, say } from '../lib/util';

export type Backend = 'dev' | 'postgres';

export interface CeilingResult {
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

let bundle: { code: string } | undefined;

export async function measureCeiling(backend: Backend, N: number, M: number, C: number): Promise<CeilingResult> {
  bundle ??= await bundleWorkflowCode({
    workflowsPath: require.resolve('../ceilingWorkflow'),
    logger: new DefaultLogger('WARN'),
  });
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
    say(`ceiling ${backend}: server up in ${Date.now() - t0} ms at ${ep.address}`);
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
      say(`ceiling ${backend}: ${N} starts in ${startMs.toFixed(0)} ms`);
      const signalMs = await pool(M, C, (j) => client.workflow.getHandle(`wf-${j % N}`).signal(poke));
      say(`ceiling ${backend}: ${M} signals in ${signalMs.toFixed(0)} ms`);
      await pool(N, C, (i) => client.workflow.getHandle(`wf-${i}`).result());
      const drainedMs = performance.now() - tStart;
      say(`ceiling ${backend}: all ${N} workflows completed ${drainedMs.toFixed(0)} ms after the first start`);
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

export function ceilingMarkdown(results: CeilingResult[], load: number[]): string {
  const r0 = results[0];
  if (!r0) return '';
  return [
    `## Temporal ceiling (${r0.starts} signal-with-start, ${r0.signals} signals, ${r0.concurrency} in flight; ${os.cpus().length} CPUs)`,
    '',
    `Temporal alone: a one-line entity workflow, client and worker in the bench process beside the server, no ` +
      `Kubernetes. 1-minute load average ${load.map((l) => num(l, 1)).join(' → ')}.`,
    '',
    '| backend | starts/s | signals/s | all completed after | signals handled/s (end to end) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...results.map(
      (r) =>
        `| ${r.backend}: ${r.server} | ${num(r.startsPerSec)} | ${num(r.signalsPerSec)} | ${(r.drainedMs / 1000).toFixed(1)} s | ${num(r.processedPerSec)} |`,
    ),
    '',
  ].join('\n');
}
