// Side by side on the same control plane, in the same run: a bare @kubernetes/client-node server-side-apply loop
// writing the HelmReleases ksm-flux would write (planned by ksm-flux's own planService), at a few concurrencies,
// against ksm-flux converging the same number of ServiceSets (creation → every HelmRelease applied), then
// Flux Ready → every ServiceSet Deployed.
import * as k8s from '@kubernetes/client-node';
import { workflowIdFor } from '../../src/workflow/constants';
import { ServiceSet, ServiceTemplate } from '../../src/api/k0rdent';
import { planService } from '../../src/plan/plan';
import { ProviderConfig } from '../../src/plan/providerConfig';
import type { Adapter, Plane } from '../lib/plane';
import { serviceSetObject, stage, templateSpec, templateStatus } from '../lib/plane';
import { playReady, Tracker } from '../lib/track';
import { num, pool, say, secs, table } from '../lib/util';

export type Curve = [number, number][];

// temporal.api.enums.v1.EventType values.
const EVENT_WORKFLOW_TASK_TIMED_OUT = 8;
const EVENT_ACTIVITY_TASK_TIMED_OUT = 14;

/** Cumulative count over time (ms since t0) of completion instants, thinned to at most ~200 points. */
export function curveOf(instants: number[], t0: number): Curve {
  const s = instants.map((t) => t - t0).sort((a, b) => a - b);
  const step = Math.max(1, Math.floor(s.length / 200));
  // Flat at 0 until the first completion, so the chart does not draw a slope before anything happened.
  const out: Curve = [[0, 0], ...(s.length ? ([[s[0]!, 0]] as Curve) : [])];
  for (let i = 0; i < s.length; i++) if (i % step === 0 || i === s.length - 1) out.push([s[i]!, i + 1]);
  return out;
}

export interface BareResult {
  concurrency: number;
  objects: number;
  ms: number;
  perSec: number;
  curve: Curve;
}

/** The HelmReleases ksm-flux would write for `n` ServiceSets of `services` services in namespace ns. */
function plannedReleases(ns: string, n: number, services: number): k8s.KubernetesObject[] {
  const template = ServiceTemplate.parse({
    metadata: { name: 'chart', namespace: ns, uid: 'bench' },
    spec: templateSpec,
    status: templateStatus(ns),
  });
  const config = ProviderConfig.parse({});
  const out: k8s.KubernetesObject[] = [];
  for (let i = 0; i < n; i++) {
    const raw = serviceSetObject(ns, `ss${i}`, 'bench', i, services);
    const ss = ServiceSet.parse({
      ...raw,
      metadata: { ...raw.metadata, uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` },
    });
    for (const svc of ss.spec.services ?? []) {
      const p = planService({ serviceSet: ss, config, paused: false, fluxMode: 'kcm' }, svc, template);
      if (!p.ok) throw new Error(`plan: ${p.error.message}`);
      // No owner here: the ServiceSet does not exist, and the garbage collector would delete an orphan.
      const obj = structuredClone(p.object) as k8s.KubernetesObject;
      delete obj.metadata!.ownerReferences;
      out.push(obj);
    }
  }
  return out;
}

export async function bareApply(
  plane: Plane,
  n: number,
  services: number,
  concurrencies: number[],
): Promise<BareResult[]> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kubeConfigOf(plane));
  const apply = (o: k8s.KubernetesObject) =>
    api.patch(o, undefined, undefined, 'bench-bare-apply', true, k8s.PatchStrategy.ServerSideApply);
  // Warm-up (not timed): discovery of the HelmRelease resource, connections.
  await plane.kube.create('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'bare-warm' },
  });
  const warm = plannedReleases('bare-warm', 10, services);
  await pool(warm.length, 8, (i) => apply(warm[i]!));
  const results: BareResult[] = [];
  for (const c of concurrencies) {
    const ns = `bare-c${c}`;
    await plane.kube.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const objs = plannedReleases(ns, n, services);
    const done: number[] = [];
    const t0 = performance.now();
    const elapsed = await pool(objs.length, c, async (i) => {
      await apply(objs[i]!);
      done.push(performance.now());
    });
    const r = {
      concurrency: c,
      objects: objs.length,
      ms: elapsed,
      perSec: objs.length / (elapsed / 1000),
      curve: curveOf(done, t0),
    };
    say(
      `bare apply: ${objs.length} HelmReleases at concurrency ${c} in ${elapsed.toFixed(0)} ms (${r.perSec.toFixed(0)}/s)`,
    );
    results.push(r);
  }
  return results;
}

function kubeConfigOf(plane: Plane): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(plane.state.kubeconfig);
  return kc;
}

export interface KsmResult {
  serviceSets: number;
  objects: number;
  createMs: number;
  appliedMs: number;
  /** Until the first HelmRelease appeared: the start-up cost before the steady rate. */
  firstAppliedMs: number;
  perSec: number;
  readyWrittenMs: number;
  deployedMs: number;
  curve: Curve;
  deployedCurve: Curve;
  /** Mean history length of a sample of the workflows once Deployed: the Temporal work one ServiceSet took. */
  historyPerSet: number;
  historySample: number;
  /** Task timeouts in the sampled histories. */
  timeouts: { workflowTask: number; activityTask: number };
  /**
   * ksm-flux's Kubernetes API requests by verb from the first creation until every ServiceSet was Deployed
   * (watcher + workers; `create` is Events, `patch` is applies, finalizers and status).
   */
  requests: Record<string, number>;
}

/** ksm-flux converging n ServiceSets created as fast as the API takes them (16 in flight). */
export async function ksmConverge(
  plane: Plane,
  adapter: Adapter,
  ns: string,
  n: number,
  services: number,
  timeoutMs: number,
): Promise<KsmResult> {
  await stage(plane.kube, ns, adapter, n);
  const tr = new Tracker(plane.kube, ns, services);
  await tr.start();
  try {
    const requestsBefore = await adapter.kubeRequests();
    const t0 = performance.now();
    const createMs = await pool(n, 16, (i) =>
      plane.kube.create(
        `/apis/k0rdent.mirantis.com/v1beta1/namespaces/${ns}/servicesets`,
        serviceSetObject(ns, `ss${i}`, adapter.smp, i, services),
      ),
    );
    say(`ksm-flux: ${n} ServiceSets created in ${createMs.toFixed(0)} ms`);
    const total = n * services;
    await tr.until(
      'every HelmRelease applied',
      () => tr.appliedAt.size >= total,
      timeoutMs,
      () => `${tr.appliedAt.size}/${total}`,
    );
    const appliedMs = Math.max(...tr.appliedAt.values()) - t0;
    const firstAppliedMs = Math.min(...tr.appliedAt.values()) - t0;
    say(`ksm-flux: ${total} HelmReleases applied ${appliedMs.toFixed(0)} ms after the first creation`);
    // Play helm-controller for every release, then wait for every ServiceSet to say Deployed.
    const t1 = performance.now();
    const hrs = [...tr.hr.store.values()];
    const readyWrittenMs = await pool(hrs.length, 16, (i) => playReady(plane.kube, hrs[i]!));
    await tr.until(
      'every ServiceSet Deployed',
      () => tr.deployedAt.size >= n,
      timeoutMs,
      () => `${tr.deployedAt.size}/${n}`,
    );
    const deployedMs = Math.max(...tr.deployedAt.values()) - t1;
    say(`ksm-flux: ${n} ServiceSets Deployed ${deployedMs.toFixed(0)} ms after the first Ready was written`);
    const requestsAfter = await adapter.kubeRequests();
    const requests = Object.fromEntries(
      Object.entries(requestsAfter)
        .map(([k, v]) => [k, v - (requestsBefore[k] ?? 0)] as const)
        .filter(([, v]) => v > 0),
    );
    // The Temporal work of one ServiceSet from creation to Deployed: history events of a sample of workflows.
    // Timeouts in them say the worker could not keep up (e.g. a workflow task not done within its 10 s).
    const sample = [...tr.ss.store.values()].slice(0, 20);
    let events = 0;
    const timeouts = { workflowTask: 0, activityTask: 0 };
    for (const o of sample) {
      const h = await plane.temporal.workflow.getHandle(workflowIdFor(o.metadata.uid!)).fetchHistory();
      for (const e of h.events ?? []) {
        events++;
        if (Number(e.eventType) === EVENT_WORKFLOW_TASK_TIMED_OUT) timeouts.workflowTask++;
        if (Number(e.eventType) === EVENT_ACTIVITY_TASK_TIMED_OUT) timeouts.activityTask++;
      }
    }
    return {
      requests,
      historyPerSet: sample.length ? events / sample.length : NaN,
      historySample: sample.length,
      timeouts,
      serviceSets: n,
      objects: total,
      createMs,
      appliedMs,
      firstAppliedMs,
      perSec: total / (appliedMs / 1000),
      readyWrittenMs,
      deployedMs,
      curve: curveOf([...tr.appliedAt.values()], t0),
      deployedCurve: curveOf([...tr.deployedAt.values()], t1),
    };
  } finally {
    tr.stop();
  }
}

export function sideBySideMarkdown(
  n: number,
  services: number,
  bare: BareResult[],
  ksm: KsmResult,
  load: number[],
): string {
  const best = bare.reduce((a, b) => (b.ms < a.ms ? b : a));
  const ratio = ksm.appliedMs / best.ms;
  return [
    `## Side by side: ${n} ServiceSets × ${services} services = ${n * services} HelmReleases`,
    '',
    `Same control plane, same run. Bare apply: a \`@kubernetes/client-node\` server-side-apply loop writing the HelmReleases ` +
      `ksm-flux plans for these ServiceSets (without the owner reference: their owner does not exist there). ` +
      `ksm-flux: the ServiceSets created 16 at a time; the clock runs from the first creation until the bench's ` +
      `watch has seen every HelmRelease. 1-minute load average ${load.map((l) => num(l, 1)).join(' → ')}.`,
    '',
    table(
      ['writer', 'concurrency', 'time', 'objects/s'],
      [
        ...bare.map((b) => [`bare apply${b === best ? ' (best)' : ''}`, b.concurrency, secs(b.ms), num(b.perSec)]),
        ['ksm-flux (watcher + worker processes)', '16 creations', secs(ksm.appliedMs), num(ksm.perSec)],
      ],
    ),
    '',
    `**Ratio ksm-flux / best bare apply: ${num(ratio, 1)}×** (target ≤ 2× at 1,000 × 3).`,
    '',
    `ksm-flux's first HelmRelease appeared ${secs(ksm.firstAppliedMs)} after the first creation. ` +
      `Then Flux Ready written for all ${ksm.objects} HelmReleases (${secs(ksm.readyWrittenMs)} to write them, 16 in flight) → ` +
      `all ${n} ServiceSets Deployed ${secs(ksm.deployedMs)} after the first Ready. A ServiceSet's workflow history held ` +
      `${num(ksm.historyPerSet)} events once Deployed (mean of ${ksm.historySample}; ${ksm.timeouts.workflowTask} workflow-task and ` +
      `${ksm.timeouts.activityTask} activity-task timeouts among them).`,
    '',
    `ksm-flux's Kubernetes API requests from the first creation until all were Deployed, per ServiceSet: ` +
      `${requestsPerSet(ksm)} (bare apply: 3 applies).`,
    '',
  ].join('\n');
}

/** "get 2.0, patch 6.0, …" per ServiceSet, watches left out (they are streams, not per-object work). */
export function requestsPerSet(ksm: KsmResult): string {
  return (
    Object.entries(ksm.requests ?? {})
      .filter(([k]) => k !== 'watch')
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k} ${num(v / ksm.serviceSets, 1)}`)
      .join(', ') || 'not measured'
  );
}
