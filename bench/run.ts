// Benchmarks that print a report (never timed assertions):
//   pure:  planService, computeStatus, decidePass throughput
//   live:  N ServiceSets × S services on the real control plane with an in-process adapter:
//          creation → all Flux objects applied; Flux Ready → all Deployed; API requests while quiescent;
//          worker memory.
// Usage: npx tsx bench/run.ts [--n 100] [--services 3] [--pure-only]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from '../src/args';
import { ServiceSet, ServiceTemplate } from '../src/api/k0rdent';
import { computeStatus } from '../src/core/status';
import { decidePass } from '../src/core/decide';
import { planService } from '../src/core/plan';
import { ProviderConfig } from '../src/core/providerConfig';
import type { Observation, ServiceObservation } from '../src/core/types';
import { bundleTo } from '../scripts/bundle-workflows';
import { ensureBuilt } from '../src/testenv/build';
import { down, envOf, up } from '../src/testenv/testenv';

const root = path.resolve(__dirname, '..');
const { flags } = parseArgs(process.argv.slice(2), new Set(['pure-only']));
const N = Number(flags.n ?? process.env.BENCH_N ?? 100);
const S = Number(flags.services ?? 3);
const report: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  n: N,
  servicesPerSet: S,
};
const rows: [string, string][] = [];
const row = (k: string, v: string) => {
  rows.push([k, v]);
  process.stderr.write(`[bench] ${k}: ${v}\n`);
};

function timeIt(name: string, iterations: number, fn: (i: number) => void): void {
  for (let i = 0; i < Math.min(200, iterations); i++) fn(i); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - t0);
  const per = ns / iterations / 1000;
  report[name] = { iterations, microsPerOp: per };
  row(name, `${per.toFixed(1)} µs/op (${Math.round(1e6 / per)} ops/s)`);
}

function pure(): void {
  const ss = ServiceSet.parse({
    metadata: { name: 'bench', namespace: 'ns', uid: 'u' },
    spec: { cluster: 'c', provider: { name: 'p' }, services: [] },
  });
  const t = ServiceTemplate.parse({
    metadata: { name: 't', namespace: 'ns', uid: 'u' },
    spec: { helm: { chartSpec: {} }, helmOptions: { labels: { a: 'b' } } },
    status: { valid: true, chartRef: { kind: 'HelmChart', name: 't', namespace: 'ns' } },
  });
  const config = ProviderConfig.parse({});
  const values = Array.from({ length: 40 }, (_, i) => `key${i}:\n  nested: ${i}\n  list: [a, b, c]`).join('\n');
  timeIt('planService (Helm, 40-key values)', 5000, (i) => {
    planService(
      { serviceSet: ss, config, paused: false, fluxMode: 'kcm' },
      { name: `svc${i % 50}`, namespace: 'apps', template: 't', values },
      t,
    );
  });
  const services: ServiceObservation[] = Array.from({ length: 20 }, (_, i) => ({
    key: `apps/s${i}`,
    name: `s${i}`,
    namespace: 'apps',
    template: 't',
    type: 'Helm',
    specVersion: '1',
    uninstall: false,
    desired: { ref: { kind: 'HelmRelease', namespace: 'ns', name: `s${i}` }, hash: 'h' },
    flux: {
      kind: 'HelmRelease',
      namespace: 'ns',
      name: `s${i}`,
      uid: `f${i}`,
      generation: 1,
      observedGeneration: 1,
      deleting: false,
      suspended: false,
      fluxFinalizer: true,
      appliedHash: 'h',
      conditions: [{ type: 'Ready', status: 'True', reason: 'InstallSucceeded', message: '', observedGeneration: 1 }],
      ownerUid: 'u',
      serviceKey: `apps/s${i}`,
    },
  }));
  const obs: Observation = {
    found: true,
    generation: 1,
    deleting: false,
    hasFinalizer: true,
    paused: false,
    owned: true,
    provider: { name: 'p', found: true, ready: true, suspended: false },
    cluster: { apiVersion: 'v', kind: 'ClusterDeployment', name: 'c', namespace: 'ns' },
    providerConfig: { valid: true, priority: 100 },
    target: { selfManagement: false, kubeconfigSecret: 'c-kubeconfig', kubeconfigSecretFound: true },
    services,
    stray: [],
    status: { deployed: false, services: [], conditions: [] },
  };
  timeIt('computeStatus (20 services)', 5000, () => {
    computeStatus({ obs, memory: {}, now: '2026-01-01T00:00:00Z', nowMs: 0, applyErrors: {}, flapToleranceMs: 90_000 });
  });
  timeIt('decidePass (20 services)', 20000, () => {
    decidePass(obs, { retry: false, rejected: {} });
  });
}

async function live(): Promise<void> {
  // Imported lazily: the pure part needs no servers.
  const { startAdapter } = await import('../src/commands/adapter');
  const { loadConfig } = await import('../src/config');
  const { createLogger } = await import('../src/log');
  const { KubeClient } = await import('../src/kube/client');
  const { paths } = await import('../src/kube/paths');
  const { fluxObjectName } = await import('../src/core/names');
  const k8s = await import('@kubernetes/client-node');

  await ensureBuilt();
  const dir = path.join(root, '.testenv', `bench-${process.pid}`);
  const s = await up({ dir, quiet: true });
  try {
    const env = envOf(s);
    const bundle = path.join(root, 'test-artifacts', 'bench-workflow-bundle.js');
    await bundleTo(bundle);
    process.env.KSM_FLUX_WORKFLOW_BUNDLE = bundle;
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(env.KUBECONFIG!);
    const kube = new KubeClient(kc);
    const cfg = loadConfig(
      {
        kubeconfig: env.KUBECONFIG!,
        'temporal-address': env.TEMPORAL_ADDRESS!,
        'adapter-name': 'bench',
        'log-level': 'warn',
        'quiescent-poll': '30s',
        'active-poll-min': '1s',
        'active-poll-max': '10s',
      },
      {},
    );
    const adapter = await startAdapter('run', cfg, createLogger('warn'));
    const ns = 'bench';
    await kube.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await kube.create(paths.smps(), {
      apiVersion: 'k0rdent.mirantis.com/v1beta1',
      kind: 'StateManagementProvider',
      metadata: { name: 'bench' },
      spec: {
        adapter: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: 'bench',
          namespace: 'kcm-system',
          readinessRule: 'true',
        },
        provisioner: [],
        provisionerCRDs: [],
        selector: {},
        suspend: false,
      },
    });
    await kube.mergePatch(`${paths.smp('bench')}/status`, { status: { ready: true } });
    await kube.create(paths.serviceTemplates(ns), {
      apiVersion: 'k0rdent.mirantis.com/v1beta1',
      kind: 'ServiceTemplate',
      metadata: { name: 'chart', namespace: ns },
      spec: { helm: { chartSpec: { chart: 'c', interval: '10m', sourceRef: { kind: 'HelmRepository', name: 'r' } } } },
    });
    await kube.mergePatch(`${paths.serviceTemplate(ns, 'chart')}/status`, {
      status: { valid: true, chartRef: { kind: 'HelmChart', name: 'chart', namespace: ns } },
    });
    for (let c = 0; c < N; c++) {
      await kube.create(`/api/v1/namespaces/${ns}/secrets`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `c${c}-kubeconfig` },
        stringData: { value: 'x' },
      });
    }
    const rss0 = process.memoryUsage().rss;

    const t0 = Date.now();
    for (let i = 0; i < N; i++) {
      await kube.create(paths.serviceSets(ns), {
        apiVersion: 'k0rdent.mirantis.com/v1beta1',
        kind: 'ServiceSet',
        metadata: { name: `ss${i}`, namespace: ns },
        spec: {
          cluster: `c${i}`,
          provider: { name: 'bench' },
          services: Array.from({ length: S }, (_, j) => ({
            name: `svc${j}`,
            namespace: 'apps',
            template: 'chart',
            version: '1',
          })),
        },
      });
    }
    const created = Date.now() - t0;
    row('create N ServiceSets (API)', `${created} ms`);
    const waitCount = async (what: string, pred: () => Promise<number>, target: number, timeoutMs: number) => {
      const start = Date.now();
      for (;;) {
        const n = await pred();
        if (n >= target) return Date.now() - start;
        if (Date.now() - start > timeoutMs) throw new Error(`${what}: ${n}/${target} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    const applied = await waitCount(
      'HelmReleases applied',
      async () => (await kube.list(paths.helmReleases(ns))).items.length,
      N * S,
      600_000,
    );
    const toApplied = Date.now() - t0;
    row(
      `creation → all ${N * S} HelmReleases applied`,
      `${toApplied} ms (${((N * S) / (toApplied / 1000)).toFixed(1)} objects/s)`,
    );
    report.createToApplyMs = toApplied;
    void applied;

    // Flux reports Ready for every object; measure until every ServiceSet says deployed.
    const t1 = Date.now();
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < S; j++) {
        const name = fluxObjectName(`ss${i}`, 'apps', `svc${j}`);
        const p = `${paths.flux({ kind: 'HelmRelease', namespace: ns, name })}/status`;
        await kube.mergePatch(p, {
          status: {
            observedGeneration: 1,
            lastAttemptedGeneration: 1,
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'InstallSucceeded',
                message: '',
                observedGeneration: 1,
                lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
              },
            ],
          },
        });
      }
    }
    const deployedMs = await waitCount(
      'ServiceSets deployed',
      async () => (await kube.list(paths.serviceSets(ns))).items.filter((o: any) => o.status?.deployed === true).length,
      N,
      600_000,
    );
    const toDeployed = Date.now() - t1;
    row(`Flux Ready → all ${N} ServiceSets Deployed`, `${toDeployed} ms`);
    report.readyToDeployedMs = toDeployed;
    void deployedMs;

    // Quiescence: API requests of the worker over a window with nothing changing.
    await new Promise((r) => setTimeout(r, 5000));
    const stats = adapter.worker!.client.stats.byVerb;
    const before = { ...stats };
    const windowMs = 35_000;
    await new Promise((r) => setTimeout(r, windowMs));
    const delta = Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, v - (before[k] ?? 0)]));
    const writes = (delta.patch ?? 0) + (delta.create ?? 0) + (delta.update ?? 0) + (delta.delete ?? 0);
    row(`quiescent ${windowMs / 1000}s: API requests by the worker`, JSON.stringify(delta));
    row('quiescent writes', String(writes));
    report.quiescent = { windowMs, requests: delta, writes };
    const mem = process.memoryUsage();
    row(
      'process RSS after the run (adapter + bench client)',
      `${(mem.rss / 2 ** 20).toFixed(0)} MiB (+${((mem.rss - rss0) / 2 ** 20).toFixed(0)} MiB during the run)`,
    );
    report.memory = { rssMiB: mem.rss / 2 ** 20, heapUsedMiB: mem.heapUsed / 2 ** 20 };

    await adapter.stop();
    kube.close();
  } finally {
    await down({ dir, quiet: true });
  }
}

async function main() {
  pure();
  if (!flags['pure-only']) await live();
  const w = Math.max(...rows.map(([k]) => k.length));
  const out = [
    `ksm-flux benchmark ${report.date as string} (node ${process.version}, N=${N}, services per set=${S})`,
    ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`),
  ].join('\n');
  process.stdout.write(`\n${out}\n`);
  const dir = path.join(root, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `bench-${Date.now()}.json`), JSON.stringify(report, null, 2));
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
