// Pure micro-benchmarks of the decision code (no servers): planService, computeStatus, decidePass throughput.
import { ServiceSet, ServiceTemplate } from '../../src/api/k0rdent';
import { computeStatus } from '../../src/workflow/status';
import { decidePass } from '../../src/workflow/decide';
import { planService } from '../../src/plan/plan';
import { ProviderConfig } from '../../src/plan/providerConfig';
import type { Observation, ServiceObservation } from '../../src/workflow/types';
import { table } from '../lib/util';

export interface PureRow {
  name: string;
  iterations: number;
  microsPerOp: number;
}

function timeIt(out: PureRow[], name: string, iterations: number, fn: (i: number) => void): void {
  for (let i = 0; i < Math.min(200, iterations); i++) fn(i); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - t0);
  const per = ns / iterations / 1000;
  out.push({ name, iterations, microsPerOp: per });
}

export function pure(): PureRow[] {
  const out: PureRow[] = [];
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
  timeIt(out, 'planService (Helm, 40-key values)', 5000, (i) => {
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
  timeIt(out, 'computeStatus (20 services)', 5000, () => {
    computeStatus({ obs, memory: {}, now: '2026-01-01T00:00:00Z', nowMs: 0, applyErrors: {}, flapToleranceMs: 90_000 });
  });
  timeIt(out, 'decidePass (20 services)', 20000, () => {
    decidePass(obs, { retry: false, rejected: {} });
  });
  return out;
}

export function pureMarkdown(rows: PureRow[]): string {
  return [
    '## Pure decision code (one process, no servers)',
    '',
    table(
      ['function', 'iterations', 'µs/op', 'ops/s'],
      rows.map((r) => [r.name, r.iterations, r.microsPerOp.toFixed(1), Math.round(1e6 / r.microsPerOp)]),
    ),
    '',
  ].join('\n');
}
