// Prometheus metrics of the watcher and worker. Workflows report through a sink (no I/O in workflow code).
import client from 'prom-client';
import type { ServiceState } from './workflow/constants';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'ksm_flux_' });

/** Sources read at scrape time. */
export const hooks: { watchRestarts?: () => Record<string, number> } = {};

export const m = {
  reconciles: new client.Counter({
    name: 'ksm_flux_reconciles_total',
    help: 'Reconcile passes of ServiceSet workflows',
    labelNames: ['outcome'],
    registers: [registry],
  }),
  reconcileDuration: new client.Histogram({
    name: 'ksm_flux_reconcile_duration_seconds',
    help: 'Duration of a reconcile pass (observe → act → status)',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  }),
  applies: new client.Counter({
    name: 'ksm_flux_applies_total',
    help: 'Flux objects applied',
    labelNames: ['kind'],
    registers: [registry],
  }),
  applyErrors: new client.Counter({
    name: 'ksm_flux_apply_errors_total',
    help: 'Flux objects the API server refused, or bad input',
    labelNames: ['reason'],
    registers: [registry],
  }),
  statusWrites: new client.Counter({
    name: 'ksm_flux_status_writes_total',
    help: 'ServiceSet status writes',
    registers: [registry],
  }),
  workflowStarts: new client.Counter({
    name: 'ksm_flux_workflow_signals_total',
    help: 'signal-with-start calls by the watcher, by what changed',
    labelNames: ['kind'],
    registers: [registry],
  }),
  signalErrors: new client.Counter({
    name: 'ksm_flux_signal_errors_total',
    help: 'signal-with-start calls that failed',
    registers: [registry],
  }),
  watchRestarts: new client.Gauge({
    name: 'ksm_flux_watch_restarts',
    help: 'Watch streams reopened, per resource',
    labelNames: ['resource'],
    registers: [registry],
    collect() {
      for (const [resource, n] of Object.entries(hooks.watchRestarts?.() ?? {})) this.set({ resource }, n);
    },
  }),
  kubeRequests: new client.Counter({
    name: 'ksm_flux_kube_requests_total',
    help: 'Kubernetes API requests',
    labelNames: ['verb', 'code'],
    registers: [registry],
  }),
  leader: new client.Gauge({
    name: 'ksm_flux_leader',
    help: '1 while this watcher holds the leader Lease',
    registers: [registry],
  }),
  services: new client.Gauge({
    name: 'ksm_flux_services',
    help: 'Services by state, over ServiceSets reconciled by this worker',
    labelNames: ['state'],
    registers: [registry],
    collect: () => collectServiceStates(),
  }),
};

// Services by state: each workflow reports its latest states; the gauge sums them on scrape.
const serviceStates = new Map<string, Partial<Record<ServiceState, number>>>();
export function reportServiceStates(uid: string, states: Partial<Record<ServiceState, number>> | undefined): void {
  if (states) serviceStates.set(uid, states);
  else serviceStates.delete(uid);
}
export function collectServiceStates(): void {
  const total: Record<string, number> = {
    Pending: 0,
    Provisioning: 0,
    Deployed: 0,
    Failed: 0,
    Deleting: 0,
    Deleted: 0,
  };
  for (const s of serviceStates.values()) for (const [k, v] of Object.entries(s)) total[k] = (total[k] ?? 0) + (v ?? 0);
  for (const [k, v] of Object.entries(total)) m.services.set({ state: k }, v);
}
