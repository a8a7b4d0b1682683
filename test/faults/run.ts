// `npm run test:faults [-- --quick] [--only a,b] [--seed N]`: the fault suite. Starts its own control plane
// (kube-apiserver + etcd, Temporal dev server on a SQLite file) in test-artifacts/faults/plane, runs every scenario
// of test/faults/scenarios against our adapter run as separate processes, prints the report table, writes it as
// JSON (test-artifacts/faults/report.json) and exits non-zero when a scenario failed. --quick is CI's short
// version: smaller bursts, fewer faults, the same checks.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { bundleTo } from '../../scripts/bundle-workflows';
import { KubeClient } from '../../src/kube/client';
import { down, up } from '../../src/testenv/testenv';
import { Fleet, KubeProxy, proxiedKubeconfig, stopPlaneProcess } from './fleet';
import { loadScenarios, row, type FaultContext, type Row } from './scenario';
import { uniqueName } from '../support/env';

const root = path.resolve(__dirname, '..', '..');

function fmtMs(ms?: number): string {
  return ms === undefined ? '-' : ms >= 10_000 ? `${(ms / 1000).toFixed(0)}s` : `${(ms / 1000).toFixed(1)}s`;
}

export function table(rows: Row[]): string {
  const head = [
    'scenario',
    'ops',
    'faults',
    'converged',
    'lost',
    'dup',
    'orphans',
    'converge p50/max',
    'req/s outage',
    'recovery',
    'peak RSS',
    'result',
  ];
  const lines = rows.map((r) => [
    r.scenario,
    String(r.operations),
    String(r.faults),
    `${r.converged}/${r.total}`,
    String(r.lost),
    String(r.duplicates),
    String(r.orphans),
    `${fmtMs(r.convergeP50Ms)}/${fmtMs(r.convergeMaxMs)}`,
    r.outageRequestsPerS === undefined ? '-' : r.outageRequestsPerS.toFixed(2),
    r.recoveryS === undefined ? '-' : `${r.recoveryS.toFixed(1)}s`,
    r.peakRssMiB === undefined ? '-' : `${r.peakRssMiB} MiB`,
    r.ok ? 'ok' : 'FAIL',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (l: string[]) => `| ${l.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  const out = [fmt(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...lines.map(fmt)];
  for (const r of rows) {
    if (r.faultsDescription) out.push(`${r.scenario} faults: ${r.faultsDescription}`);
    for (const n of r.notes) out.push(`${r.scenario}: ${n}`);
    for (const f of r.failures) out.push(`${r.scenario} FAILED: ${f}`);
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string', default: path.join(root, 'test-artifacts', 'faults') },
    },
  });
  const quick = !!values.quick;
  const outDir = path.resolve(values.out);
  const say = (m: string) => process.stderr.write(`[faults] ${m}\n`);
  const only = values.only?.split(',').filter(Boolean);
  const scenarios = loadScenarios().filter((s) => (only ? only.includes(s.name) : !quick || s.quick));
  if (only) {
    const unknown = only.filter((n) => !scenarios.some((s) => s.name === n));
    if (unknown.length) throw new Error(`no scenario named ${unknown.join(', ')}`);
  }
  if (values.seed) process.env.FAULTS_SEED = values.seed;
  const dir = path.join(outDir, 'plane');
  fs.mkdirSync(outDir, { recursive: true });
  const t0 = Date.now();
  const bundle = path.join(outDir, 'workflow-bundle.js');
  await bundleTo(bundle);
  const env = await up({ dir, flux: scenarios.some((s) => s.flux), quiet: false });
  const proxy = new KubeProxy(Number(new URL(env.server).port));
  await proxy.start();
  const kubeconfig = proxiedKubeconfig(env, proxy.port, path.join(dir, 'proxied-kubeconfig'));
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.kubeconfig);
  const kube = new KubeClient(kc);
  const fleet = new Fleet({ dir, env, kubeconfig, workflowBundle: bundle, say });
  const rows: Row[] = [];
  try {
    for (const s of scenarios) {
      const since = fleet.procs.length;
      const ctx: FaultContext = {
        quick,
        env,
        kube,
        kubeProxy: proxy,
        stopPlaneProcess: (name) => stopPlaneProcess(env, name),
        startAdapter: (mode, o = {}) =>
          fleet.startAdapter(mode, {
            adapterName: o.adapterName ?? uniqueName(`f-${s.name}`).slice(0, 40),
            taskQueue: o.taskQueue ?? `tq-${s.name}`,
            ...(o.flags ? { flags: o.flags } : {}),
            ...(o.name ? { name: `${s.name}-${o.name}` } : {}),
          }),
        peakRssMiB: () => fleet.peakRssMiB(since),
        say: (m) => say(`${s.name}: ${m}`),
      };
      say(`scenario ${s.name} (${s.covers})${quick ? ' --quick' : ''}`);
      const start = Date.now();
      let r: Row;
      try {
        r = await s.run(ctx);
      } catch (e) {
        r = row(s.name);
        r.ok = false;
        r.failures.push(`threw: ${(e as Error).stack ?? String(e)}`);
      }
      r.peakRssMiB ??= fleet.peakRssMiB(since);
      const exits = fleet.unexpectedExits(since);
      if (exits) {
        r.ok = false;
        r.failures.push(`${exits} of our processes exited by themselves`);
      }
      await fleet.stopAll(since);
      r.wallMs = Date.now() - start;
      rows.push(r);
      say(`scenario ${s.name}: ${r.ok ? 'ok' : 'FAILED'} in ${fmtMs(r.wallMs)}`);
      for (const f of r.failures) say(`  ${f}`);
    }
  } finally {
    await fleet.stopAll();
    fleet.close();
    proxy.close();
    kube.close();
    fs.cpSync(path.join(dir, 'logs'), path.join(outDir, 'logs'), { recursive: true });
    await down({ dir, quiet: true });
  }
  const report = { quick, at: new Date().toISOString(), wallMs: Date.now() - t0, rows };
  fs.writeFileSync(path.join(outDir, 'report.json'), JSON.stringify(report, null, 2));
  process.stdout.write(
    `\n${table(rows)}\n\nfault suite: ${fmtMs(report.wallMs)}; report in ${path.relative(root, path.join(outDir, 'report.json'))}; logs in ${path.relative(root, path.join(outDir, 'logs'))}\n`,
  );
  const failed = rows.filter((r) => !r.ok).length;
  process.stdout.write(`${rows.length - failed} passed, ${failed} failed\n`);
  process.exit(failed ? 1 : 0);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
