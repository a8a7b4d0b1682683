// Idle cost: K Deployed ServiceSets and nothing changing, for a window. API requests by ksm-flux (its own counters)
// and by everyone (kube-apiserver's apiserver_request_total), Temporal history events of a sample of workflows
// (describe before and after, continue-as-new followed), CPU and memory of the watcher and worker processes.
import { workflowIdFor } from '../../src/workflow/constants';
import { Informer } from '../../src/kube/informer';
import { paths } from '../../src/kube/paths';
import type { Adapter, Plane } from '../lib/plane';
import { diffCounts } from '../lib/plane';
import { num, say, sleep, table } from '../lib/util';

export interface IdleResult {
  serviceSets: number;
  windowMs: number;
  ksmRequests: Record<string, number>;
  apiserverRequests: Record<string, number>;
  historySample: number;
  historyEventsPerSetPerHour: number;
  continueAsNew: number;
  /** Renewals of the watcher's Lease in the window (each is one get and one update by ksm-flux). */
  leaseRenewals: number;
  quiescentPollMs: number;
  processes: Record<string, { cpuPercent: number; rssMiB: number; peakRssMiB: number }>;
}

const WRITES = new Set([
  'create',
  'update',
  'patch',
  'delete',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'APPLY',
  'DELETECOLLECTION',
]);
const isWrite = (verbKey: string) => WRITES.has(verbKey.split(' ')[0]!);

/**
 * ksm-flux's default safety-net poll (--quiescent-poll 1h, jittered up to +20 %). A 10-minute window at that poll
 * sees no timer at all, so the bench may run with a shorter one (--adapter-flags quiescent-poll=5m) and scale the
 * per-pass cost to it.
 */
const PRODUCTION_POLL_MS = 3_600_000;
const PRODUCTION_MEAN_MS = PRODUCTION_POLL_MS * 1.1;

async function historyOf(plane: Plane, uids: string[]): Promise<Map<string, { runId: string; length: number }>> {
  const out = new Map<string, { runId: string; length: number }>();
  for (const uid of uids) {
    const d = await plane.temporal.workflow.getHandle(workflowIdFor(uid)).describe();
    out.set(uid, { runId: d.runId, length: d.historyLength });
  }
  return out;
}

export async function idle(
  plane: Plane,
  adapter: Adapter,
  o: { windowMs: number; settleMs: number; sample: number; quiescentPollMs: number },
): Promise<IdleResult> {
  const all = (await plane.kube.list(paths.serviceSets())).items.filter(
    (s) => (s as { spec?: { provider?: { name?: string } } }).spec?.provider?.name === adapter.smp,
  );
  const step = Math.max(1, Math.floor(all.length / o.sample));
  const uids = all
    .filter((_, i) => i % step === 0)
    .slice(0, o.sample)
    .map((s) => s.metadata.uid!);
  say(`idle: ${all.length} ServiceSets; settling ${o.settleMs / 1000} s, then a ${o.windowMs / 1000} s window`);
  // The watcher's leader election renews its Lease (a get and an update) whatever the load: counted apart.
  let renewals = 0;
  let counting = false;
  const lease = new Informer(plane.kube, paths.leases('kcm-system'), { name: 'bench-leases' }).on((type, l) => {
    if (counting && type === 'update' && l.metadata.name === adapter.leaseName) renewals++;
  });
  await lease.start();
  await sleep(o.settleMs);
  const h0 = await historyOf(plane, uids);
  const api0 = await plane.apiserverRequests();
  const ksm0 = await adapter.kubeRequests();
  const f0 = adapter.figures();
  const t0 = performance.now();
  counting = true;
  await sleep(o.windowMs);
  const windowMs = performance.now() - t0;
  const f1 = adapter.figures();
  const ksm1 = await adapter.kubeRequests();
  counting = false;
  lease.stop();
  const api1 = await plane.apiserverRequests();
  const h1 = await historyOf(plane, uids);
  let events = 0;
  let can = 0;
  for (const uid of uids) {
    const a = h0.get(uid)!;
    const b = h1.get(uid)!;
    if (a.runId === b.runId) events += b.length - a.length;
    else {
      // The run continued as new in the window: the rest of the old run, then the new one.
      can++;
      const old = await plane.temporal.workflow.getHandle(workflowIdFor(uid), a.runId).describe();
      events += old.historyLength - a.length + b.length;
    }
  }
  const processes: IdleResult['processes'] = {};
  for (const [k, b] of Object.entries(f1)) {
    const a = f0[k];
    if (!a || !b) continue;
    processes[k] = {
      cpuPercent: ((b.cpuSeconds - a.cpuSeconds) / (windowMs / 1000)) * 100,
      rssMiB: b.rssMiB,
      peakRssMiB: b.peakRssMiB,
    };
  }
  return {
    serviceSets: all.length,
    windowMs,
    ksmRequests: diffCounts(ksm0, ksm1),
    apiserverRequests: diffCounts(api0, api1),
    historySample: uids.length,
    historyEventsPerSetPerHour: uids.length ? events / uids.length / (windowMs / 3_600_000) : NaN,
    continueAsNew: can,
    leaseRenewals: renewals,
    quiescentPollMs: o.quiescentPollMs,
    processes,
  };
}

export function idleMarkdown(r: IdleResult, load: number[]): string {
  const minutes = r.windowMs / 60_000;
  const sum = (c: Record<string, number>, f: (k: string) => boolean) =>
    Object.entries(c)
      .filter(([k]) => f(k))
      .reduce((a, [, v]) => a + v, 0);
  // ksm-flux's own requests without its leader election (one get and one update per renewal).
  const ksm = { ...r.ksmRequests };
  // A renewal at the window's very edge may fall on the other side of a metrics read: clamp at 0 (±1).
  ksm.update = Math.max(0, (ksm.update ?? 0) - r.leaseRenewals);
  ksm.get = Math.max(0, (ksm.get ?? 0) - r.leaseRenewals);
  for (const k of Object.keys(ksm)) if (!ksm[k]) delete ksm[k];
  const ksmWrites = sum(ksm, isWrite);
  const ksmReads = sum(ksm, (k) => !isWrite(k));
  // The largest counts first, at most eight (all clients' reads list every informer kube-controller-manager runs).
  const pick = (c: Record<string, number>, f: (k: string) => boolean) => {
    const e = Object.entries(c)
      .filter(([k]) => f(k))
      .sort((a, b) => b[1] - a[1]);
    return JSON.stringify(Object.fromEntries(e.slice(0, 8))) + (e.length > 8 ? ` and ${e.length - 8} more` : '');
  };
  // Everyone's requests, minus what the bench itself does to read the metrics.
  const api = Object.fromEntries(Object.entries(r.apiserverRequests).filter(([k]) => !k.endsWith('(non-resource)')));
  const leaseWrites = sum(api, (k) => isWrite(k) && k.endsWith(' leases'));
  const otherWrites = sum(api, (k) => isWrite(k) && !k.endsWith(' leases'));
  const apiReads = sum(api, (k) => !isWrite(k));
  return [
    `## Idle cost: ${r.serviceSets} Deployed ServiceSets, ${num(minutes, 1)}-minute window`,
    '',
    `Production timings (safety-net poll every ${num(r.quiescentPollMs / 60_000, 1)} m). ksm-flux's requests are its own \`ksm_flux_kube_requests_total\` ` +
      `(watcher + workers); "all clients" is kube-apiserver's \`apiserver_request_total\` (also kube-controller-manager; ` +
      `the bench's own /metrics reads left out). History events: ${r.historySample} workflows described before and after ` +
      `(${r.continueAsNew} continued as new in the window, followed), extrapolated linearly to an hour — with a ` +
      `${num(r.quiescentPollMs / 60_000, 1)}-minute poll a short window sees each workflow's timer fire 0 or 1 times, so the sample mean is the honest estimate. ` +
      `1-minute load average ${load.map((l) => num(l, 1)).join(' → ')}.` +
      (r.windowMs < r.quiescentPollMs
        ? ` **The window is shorter than the ${num(r.quiescentPollMs / 60_000, 1)}-minute safety-net poll, and ServiceSets ` +
          `deployed together poll together: it may have seen none of their timers, so the history figure is a lower ` +
          `bound. Use --idle-window ≥ ${num(r.quiescentPollMs / 60_000)}m for a fair figure.**`
        : ''),
    '',
    table(
      ['figure', 'value', 'target'],
      [
        ['API writes by ksm-flux in the window, its Lease aside', `${ksmWrites} ${pick(ksm, isWrite)}`, '0'],
        [
          'API reads by ksm-flux per minute, its Lease aside',
          `${num(ksmReads / minutes, 1)} (${pick(ksm, (k) => !isWrite(k))} in the window)`,
          '',
        ],
        ["ksm-flux watcher's Lease renewals in the window (1 get + 1 update each)", String(r.leaseRenewals), ''],
        [
          'API writes, all clients, not Leases',
          `${otherWrites} ${pick(api, (k) => isWrite(k) && !k.endsWith(' leases'))}`,
          '',
        ],
        ['Lease writes, all clients (ksm-flux watcher, kube-controller-manager)', String(leaseWrites), ''],
        [
          'API reads, all clients, per minute',
          `${num(apiReads / minutes, 1)} (${pick(api, (k) => !isWrite(k))} in the window)`,
          '',
        ],
        ['Temporal history events per ServiceSet per hour', num(r.historyEventsPerSetPerHour, 1), '≤ 10'],
        ...(r.quiescentPollMs < PRODUCTION_POLL_MS
          ? [
              [
                `… the same at the production poll (1 h, jittered +0–20 %: one pass per ${num(PRODUCTION_MEAN_MS / 60_000)} min on average; ` +
                  `measured here at ${num(r.quiescentPollMs / 60_000, 1)} min, scaled by the ratio of the mean intervals)`,
                num(r.historyEventsPerSetPerHour * ((r.quiescentPollMs * 1.1) / PRODUCTION_MEAN_MS), 1),
                '≤ 10',
              ],
            ]
          : []),
        ...Object.entries(r.processes).map(([k, p]) => [
          `${k}: CPU, RSS (peak)`,
          `${num(p.cpuPercent, 2)} % of a core, ${num(p.rssMiB)} MiB (${num(p.peakRssMiB)} MiB)`,
          '',
        ]),
      ],
    ),
    '',
  ].join('\n');
}
