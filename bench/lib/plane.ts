// The real control plane a section measures on (testenv: etcd, kube-apiserver, kube-controller-manager and a
// Temporal backend), and ksm-flux on it as separate processes: one watcher and W workers, started the way a
// deployment runs them (`ksm-flux watcher` / `ksm-flux worker`, production timings), each with its own /metrics.
import fs from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { K0RDENT_API_VERSION } from '../../src/workflow/constants';
import { KubeClient, KubeError } from '../../src/kube/client';
import { paths } from '../../src/kube/paths';
import { kubeGet } from '../../src/testenv/kube';
import { freePorts, startDetached, stop, waitUntil, type Started } from '../../src/testenv/proc';
import { down, up, type TemporalBackend, type TestenvState } from '../../src/testenv/testenv';
import { bundleTo } from '../../scripts/bundle-workflows';
import { pool, procFigures, say, type ProcFigures } from './util';

export const root = path.resolve(__dirname, '..', '..');

export interface Plane {
  backend: TemporalBackend;
  state: TestenvState;
  kube: KubeClient;
  temporal: Client;
  /** kube-apiserver's own request counters (apiserver_request_total), summed by "VERB resource". */
  apiserverRequests(): Promise<Record<string, number>>;
  /** The Temporal server's processes (and PostgreSQL's), for their CPU and memory. */
  temporalProcs: Started[];
  apiserverProc?: Started;
  close(): Promise<void>;
}

let bundlePath: string | undefined;
/** One workflow bundle per run: each worker process loads it instead of bundling the sources again. */
export async function workflowBundle(): Promise<string> {
  if (!bundlePath) {
    const p = path.join(root, 'test-artifacts', 'bench-workflow-bundle.js');
    await bundleTo(p);
    bundlePath = p;
  }
  return bundlePath;
}

export async function startPlane(backend: TemporalBackend, label: string): Promise<Plane> {
  const dir = path.join(root, '.testenv', `bench-${label}-${process.pid}`);
  const t0 = Date.now();
  const state = await up({ dir, quiet: true, temporal: backend });
  say(`control plane (${backend}) up in ${Date.now() - t0} ms (${dir})`);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  const kube = new KubeClient(kc);
  const connection = await Connection.connect({ address: state.temporalAddress });
  const temporal = new Client({ connection, namespace: state.temporalNamespace });
  const caPem = fs.readFileSync(path.join(state.dir, 'ca.crt'), 'utf8');
  return {
    backend,
    state,
    kube,
    temporal,
    temporalProcs: state.procs.filter((p) => /temporal|postgres/i.test(p.name)),
    apiserverProc: state.procs.find((p) => p.name === 'kube-apiserver'),
    async apiserverRequests() {
      const [code, body] = await kubeGet({ server: state.server, token: state.token, caPem }, '/metrics');
      if (code !== 200) throw new Error(`kube-apiserver /metrics: HTTP ${code}`);
      return sumMetric(body, 'apiserver_request_total', (l) => `${l.verb ?? '?'} ${l.resource || '(non-resource)'}`);
    },
    async close() {
      await connection.close();
      kube.close();
      await down({ dir, quiet: true });
    },
  };
}

/** Sums a Prometheus counter's samples by a key made of their labels. */
export function sumMetric(
  text: string,
  name: string,
  key: (labels: Record<string, string>) => string,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const brace = line.indexOf('{');
    const close = line.lastIndexOf('}');
    const labels: Record<string, string> = {};
    if (brace > 0)
      for (const m of line.slice(brace + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
    const value = Number(
      line
        .slice((close > 0 ? close : name.length) + 1)
        .trim()
        .split(' ')[0],
    );
    const k = key(labels);
    out[k] = (out[k] ?? 0) + value;
  }
  return out;
}

export function diffCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (b[k] ?? 0) - (a[k] ?? 0);
    if (d) out[k] = d;
  }
  return out;
}

export interface AdapterProc {
  role: 'watcher' | 'worker';
  started: Started;
  port: number;
}

export interface Adapter {
  name: string;
  smp: string;
  taskQueue: string;
  /** The watcher's leader-election Lease in kcm-system. */
  leaseName: string;
  procs: AdapterProc[];
  /** CPU and memory of each process, keyed watcher, worker1, worker2… */
  figures(): Record<string, ProcFigures | undefined>;
  /** ksm_flux_kube_requests_total of all adapter processes, by verb (what ksm-flux itself asked the API). */
  kubeRequests(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** Starts `ksm-flux watcher` and `workers` × `ksm-flux worker` as child processes, and waits until all are ready. */
export async function startAdapter(
  plane: Plane,
  o: { id: string; workers: number; flags?: Record<string, string> },
): Promise<Adapter> {
  const bundle = await workflowBundle();
  const cli = path.join(root, 'src', 'cli.ts');
  const common: Record<string, string> = {
    kubeconfig: plane.state.kubeconfig,
    'temporal-address': plane.state.temporalAddress,
    'temporal-namespace': plane.state.temporalNamespace,
    'task-queue': `tq-${o.id}`,
    'adapter-name': o.id,
    'adapter-namespace': 'kcm-system',
    'lease-name': `lease-${o.id}`,
    'log-level': 'warn',
    'temporal-metrics-addr': '0',
    ...o.flags,
  };
  const roles: AdapterProc['role'][] = ['watcher', ...Array.from({ length: o.workers }, () => 'worker' as const)];
  const ports = await freePorts(roles.length);
  const procs: AdapterProc[] = roles.map((role, i) => {
    const port = ports[i]!;
    const flags = { ...common, 'metrics-addr': `127.0.0.1:${port}`, 'health-addr': `127.0.0.1:${port}` };
    const name = role === 'watcher' ? `bench-${o.id}-watcher` : `bench-${o.id}-worker${i}`;
    // `--profile DIR` (bench/run.ts): V8 CPU profiles written when the process exits, one per thread (the
    // workflow threads and tsx's loader thread each write their own), in a directory per process. Node refuses
    // --cpu-prof in NODE_OPTIONS, so it goes on the command line.
    const prof = process.env.KSM_BENCH_PROFILE_DIR
      ? ['--cpu-prof', `--cpu-prof-dir=${path.join(process.env.KSM_BENCH_PROFILE_DIR, name)}`]
      : [];
    const args = [...prof, '--import', 'tsx', cli, role, ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v])];
    const started = startDetached(plane.state.dir, name, process.execPath, args, {
      ...process.env,
      KSM_FLUX_WORKFLOW_BUNDLE: bundle,
    });
    return { role, started, port };
  });
  const stopAll = async () => {
    // Workers first (they finish their tasks), then the watcher; each gets the grace a Deployment would give.
    for (const p of [...procs].reverse()) await stop(p.started, 15_000);
  };
  try {
    for (const p of procs)
      await waitUntil(`${p.started.name} /readyz`, async () => (await httpGet(p.port, '/readyz'))[0] === 200, {
        timeoutMs: 120_000,
        intervalMs: 250,
        proc: p.started,
      });
  } catch (e) {
    await stopAll();
    throw e;
  }
  let workerNo = 0;
  const keys = procs.map((p) => (p.role === 'watcher' ? 'watcher' : `worker${++workerNo}`));
  return {
    name: o.id,
    smp: `smp-${o.id}`,
    taskQueue: common['task-queue']!,
    leaseName: common['lease-name']!,
    procs,
    figures: () => Object.fromEntries(procs.map((p, i) => [keys[i]!, procFigures(p.started.pid)])),
    async kubeRequests() {
      const total: Record<string, number> = {};
      for (const p of procs) {
        const [, body] = await httpGet(p.port, '/metrics');
        for (const [k, v] of Object.entries(sumMetric(body, 'ksm_flux_kube_requests_total', (l) => l.verb ?? '?')))
          total[k] = (total[k] ?? 0) + v;
      }
      return total;
    },
    stop: stopAll,
  };
}

async function httpGet(port: number, p: string): Promise<[number, string]> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${p}`, { signal: AbortSignal.timeout(5000) });
    return [res.status, await res.text()];
  } catch {
    return [0, ''];
  }
}

const ignoreExists = (e: unknown) => {
  if (!(e instanceof KubeError && e.status === 409)) throw e;
};

/** The bench's ServiceTemplate `chart`: staged on the plane, and planned by the bare-apply side (sideBySide). */
export const templateSpec = {
  helm: {
    chartSpec: {
      chart: 'chart',
      version: '1.0.0',
      interval: '10m',
      sourceRef: { kind: 'HelmRepository', name: 'repo' },
    },
  },
};
export const templateStatus = (ns: string) => ({
  valid: true,
  chartRef: { kind: 'HelmChart', name: 'chart', namespace: ns },
  chartVersion: '1.0.0',
});

/**
 * What a ServiceSet needs to be deployed: its namespace, a ready SMP naming the adapter, a valid Helm
 * ServiceTemplate (as kcm's template controller leaves it) and one kubeconfig Secret per cluster. Idempotent.
 */
export async function stage(kube: KubeClient, ns: string, adapter: Adapter, clusters: number): Promise<void> {
  await kube
    .create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } })
    .catch(ignoreExists);
  await kube
    .create(paths.smps(), {
      apiVersion: K0RDENT_API_VERSION,
      kind: 'StateManagementProvider',
      metadata: { name: adapter.smp },
      spec: {
        adapter: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: adapter.name,
          namespace: 'kcm-system',
          readinessRule: 'true',
        },
        provisioner: [],
        provisionerCRDs: [],
        selector: {},
        suspend: false,
      },
    })
    .catch(ignoreExists);
  await kube.mergePatch(`${paths.smp(adapter.smp)}/status`, { status: { ready: true } });
  await kube
    .create(paths.serviceTemplates(ns), {
      apiVersion: K0RDENT_API_VERSION,
      kind: 'ServiceTemplate',
      metadata: { name: 'chart', namespace: ns },
      spec: templateSpec,
    })
    .catch(ignoreExists);
  await kube.mergePatch(`${paths.serviceTemplate(ns, 'chart')}/status`, { status: templateStatus(ns) });
  await pool(clusters, 16, (c) =>
    kube
      .create(`/api/v1/namespaces/${ns}/secrets`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `c${c}-kubeconfig` },
        stringData: { value: 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n' },
      })
      .catch(ignoreExists),
  );
}

/** A ServiceSet of `services` Helm services on cluster c<cluster>, as kcm writes them. */
export function serviceSetObject(ns: string, name: string, smp: string, cluster: number, services: number) {
  return {
    apiVersion: K0RDENT_API_VERSION,
    kind: 'ServiceSet',
    metadata: { name, namespace: ns },
    spec: {
      cluster: `c${cluster}`,
      provider: { name: smp },
      services: Array.from({ length: services }, (_, j) => ({
        name: `svc${j}`,
        namespace: 'apps',
        template: 'chart',
        version: '1.0.0',
        values: `replicas: ${(j % 3) + 1}\nimage:\n  tag: v${j}\n`,
      })),
    },
  };
}
