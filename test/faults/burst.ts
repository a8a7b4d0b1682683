// A burst of ServiceSet operations (creations, edits of values, versions, services and priority, deletions),
// the Flux stand-in that marks our HelmReleases Ready (as the integration tests do), and the check of the end
// state against what every ServiceSet asks for.
import { Client, Connection } from '@temporalio/client';
import YAML from 'yaml';
import {
  FINALIZER,
  LABEL_MANAGED_BY,
  LABEL_SERVICESET_UID,
  MANAGED_BY,
  workflowIdFor,
} from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import type { KubeClient, KubeObject } from '../../src/kube/client';
import { Informer } from '../../src/kube/informer';
import { paths } from '../../src/kube/paths';
import { sleep } from '../../src/testenv/proc';
import type { TestenvState } from '../../src/testenv/testenv';
import { createHelmTemplate, createKubeconfigSecret, createNamespace, createSmp, setFluxStatus } from '../support/env';
import { percentile, type Row } from './scenario';

const TEMPLATES = ['chart-a', 'chart-b'];
const ours = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;

/** A deterministic pseudo-random sequence, so a failing run can be repeated with its seed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

interface Svc {
  name: string;
  namespace: string;
  template: string;
  version: string;
  values: string;
}

interface Wanted {
  name: string;
  uid: string;
  services: Svc[];
  priority?: number;
  deleted: boolean;
  lastOpAt: number;
  convergedAt?: number;
}

/** The namespace, SMP, templates and kubeconfig Secret a burst runs against. */
export async function stageNamespace(kube: KubeClient, ns: string, adapterName: string): Promise<string> {
  const smp = `smp-${ns}`;
  await createNamespace(kube, ns);
  await createSmp(kube, { name: smp, adapterName, adapterNamespace: 'kcm-system', selector: {} });
  for (const t of TEMPLATES) await createHelmTemplate(kube, ns, t);
  await createKubeconfigSecret(kube, ns, 'cluster1');
  return smp;
}

/** Retries a call while the apiserver is unreachable (the suite's own requests must outlive an outage). */
async function persist<T>(what: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      const status = (e as { status?: number }).status;
      if ((status && status < 500 && status !== 429) || Date.now() > deadline)
        throw new Error(`${what}: ${(e as Error).message}`);
      await sleep(500);
    }
  }
}

export type OpKind = 'create' | 'values' | 'version' | 'add' | 'remove' | 'priority' | 'delete';

export class Burst {
  readonly wanted = new Map<string, Wanted>();
  readonly ops: Record<OpKind, number> = {
    create: 0,
    values: 0,
    version: 0,
    add: 0,
    remove: 0,
    priority: 0,
    delete: 0,
  };
  private seq = 0;
  private readonly rand: () => number;

  constructor(
    private readonly kube: KubeClient,
    readonly ns: string,
    private readonly smp: string,
    seed: number,
  ) {
    this.rand = rng(seed);
  }

  get operations(): number {
    return Object.values(this.ops).reduce((a, b) => a + b, 0);
  }

  private pick<T>(xs: T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  /** Each ServiceSet installs into its own namespace: no two contend for a release (that is drift's scenario). */
  private svc(ss: string, i: number): Svc {
    const template = this.pick(TEMPLATES);
    return {
      name: `svc${i}`,
      namespace: `ns-${ss}`,
      template,
      version: template,
      values: `replicaCount: ${1 + Math.floor(this.rand() * 9)}\n`,
    };
  }

  private live(): Wanted[] {
    return [...this.wanted.values()].filter((w) => !w.deleted);
  }

  private async writeSpec(w: Wanted): Promise<void> {
    w.lastOpAt = Date.now();
    w.convergedAt = undefined;
    await persist(`edit ${w.name}`, () =>
      this.kube.mergePatch(paths.serviceSet(this.ns, w.name), {
        spec: {
          services: w.services,
          provider: { name: this.smp, config: w.priority !== undefined ? { priority: w.priority } : null },
        },
      }),
    );
  }

  async create(): Promise<Wanted> {
    const name = `ss-${++this.seq}`;
    const services = Array.from({ length: 1 + Math.floor(this.rand() * 3) }, (_, i) => this.svc(name, i + 1));
    const at = Date.now();
    const o = await persist(`create ${name}`, () =>
      this.kube.create(paths.serviceSets(this.ns), {
        apiVersion: 'k0rdent.mirantis.com/v1beta1',
        kind: 'ServiceSet',
        metadata: { name, namespace: this.ns },
        spec: { cluster: 'cluster1', provider: { name: this.smp }, services },
      }),
    );
    const w: Wanted = { name, uid: o.metadata.uid!, services, deleted: false, lastOpAt: at };
    this.wanted.set(name, w);
    this.ops.create++;
    return w;
  }

  /** One random operation; creations dominate until there are `target` ServiceSets, deletions stay a minority. */
  async step(target: number): Promise<OpKind> {
    const live = this.live();
    const r = this.rand();
    if (live.length < 2 || (live.length < target && r < 0.35)) {
      await this.create();
      return 'create';
    }
    const w = this.pick(live);
    const kind: OpKind =
      r < 0.5
        ? 'values'
        : r < 0.62
          ? 'version'
          : r < 0.72
            ? 'add'
            : r < 0.8
              ? 'remove'
              : r < 0.88
                ? 'priority'
                : 'delete';
    switch (kind) {
      case 'values': {
        const s = this.pick(w.services);
        s.values = `replicaCount: ${1 + Math.floor(this.rand() * 9)}\nedit: "${this.operations}"\n`;
        break;
      }
      case 'version': {
        const s = this.pick(w.services);
        s.template = s.template === TEMPLATES[0] ? TEMPLATES[1]! : TEMPLATES[0]!;
        s.version = s.template;
        break;
      }
      case 'add': {
        const used = new Set(w.services.map((s) => s.name));
        let i = 1;
        while (used.has(`svc${i}`)) i++;
        w.services.push(this.svc(w.name, i));
        break;
      }
      case 'remove':
        if (w.services.length > 1) w.services.splice(Math.floor(this.rand() * w.services.length), 1);
        break;
      case 'priority':
        w.priority = 50 + Math.floor(this.rand() * 100);
        break;
      case 'delete':
        break;
    }
    this.ops[kind]++;
    if (kind === 'delete') {
      w.deleted = true;
      w.lastOpAt = Date.now();
      w.convergedAt = undefined;
      await persist(`delete ${w.name}`, () => this.kube.delete(paths.serviceSet(this.ns, w.name)));
    } else {
      await this.writeSpec(w);
    }
    return kind;
  }

  /** Runs n operations, `gapMs` apart, calling onOp after each (where a scenario injects its faults). */
  async run(n: number, target: number, gapMs: number, onOp?: (i: number) => Promise<void> | void): Promise<void> {
    for (let i = 0; i < n; i++) {
      await this.step(target);
      await onOp?.(i);
      await sleep(gapMs);
    }
  }
}

/**
 * Plays Flux's helm-controller for our HelmReleases in NS: each generation it has not reported on is marked Ready
 * (observedGeneration current). Errors (an apiserver outage) are ridden out.
 */
export class FluxPlayer {
  private running = true;
  private loop: Promise<void>;
  readyMarks = 0;

  constructor(
    private readonly kube: KubeClient,
    private readonly ns: string,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const hrs = (await this.kube.list(paths.helmReleases(this.ns), ours)).items;
        for (const hr of hrs) {
          if (hr.metadata.deletionTimestamp) continue;
          const gen = hr.metadata.generation as number;
          const st = hr.status as { observedGeneration?: number } | undefined;
          if (st?.observedGeneration === gen) continue;
          await setFluxStatus(
            this.kube,
            { kind: 'HelmRelease', namespace: this.ns, name: hr.metadata.name },
            {
              ready: 'True',
              reason: 'InstallSucceeded',
              message: 'played by the fault suite',
            },
          ).catch(() => undefined);
          this.readyMarks++;
        }
      } catch {
        /* the apiserver may be down: next round */
      }
      await sleep(300);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

type StatusService = { name: string; namespace: string; state: string; failureMessage?: string };

function statusGeneration(o: KubeObject): number {
  const conds = (o.status as { conditions?: { observedGeneration?: number }[] } | undefined)?.conditions ?? [];
  return Math.max(-1, ...conds.map((c) => c.observedGeneration ?? -1));
}

/**
 * Watches ServiceSet status for regressions: a service reported Deployed for a generation and later reported in
 * another state for that same generation (no spec change explains it), or a status written for an older
 * generation after a newer one.
 */
export class RegressionWatch {
  readonly regressions: string[] = [];
  private informer: Informer;
  private deployedAt = new Map<string, number>();
  private lastGen = new Map<string, number>();

  constructor(kube: KubeClient, ns: string) {
    this.informer = new Informer(kube, paths.serviceSets(ns), { name: 'faults-regressions' }).on((t, o) =>
      this.onEvent(t, o),
    );
  }

  async start(): Promise<void> {
    await this.informer.start();
  }

  stop(): void {
    this.informer.stop();
  }

  private onEvent(type: string, o: KubeObject): void {
    if (type === 'delete' || o.metadata.deletionTimestamp) return;
    const uid = o.metadata.uid!;
    const g = statusGeneration(o);
    if (g < 0) return;
    const prevG = this.lastGen.get(uid) ?? -1;
    if (g < prevG) this.regressions.push(`${o.metadata.name}: status for generation ${g} written after ${prevG}`);
    this.lastGen.set(uid, Math.max(g, prevG));
    const services = (o.status as { services?: StatusService[] } | undefined)?.services ?? [];
    for (const s of services) {
      const key = `${uid}/${s.namespace}/${s.name}`;
      if (s.state === 'Deployed') this.deployedAt.set(key, g);
      else if (this.deployedAt.get(key) === g) {
        this.regressions.push(`${o.metadata.name} ${s.namespace}/${s.name}: Deployed → ${s.state} at generation ${g}`);
        this.deployedAt.delete(key);
      }
    }
  }
}

export interface Verdict {
  converged: number;
  total: number;
  lost: number;
  duplicates: number;
  orphans: number;
  problems: string[];
}

/** Key order does not count: the apiserver returns object keys sorted. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  return v;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** Compares the cluster with what the burst asked for. */
export async function judge(kube: KubeClient, burst: Burst): Promise<Verdict> {
  const ns = burst.ns;
  const sets = new Map((await kube.list(paths.serviceSets(ns))).items.map((o) => [o.metadata.name, o] as const));
  const hrs = (await kube.list(paths.helmReleases(ns), ours)).items;
  const byUid = new Map<string, KubeObject[]>();
  for (const hr of hrs) {
    const uid = ((hr.metadata.labels as Record<string, string>) ?? {})[LABEL_SERVICESET_UID] ?? '';
    byUid.set(uid, [...(byUid.get(uid) ?? []), hr]);
  }
  const problems: string[] = [];
  let converged = 0;
  let lost = 0;
  let duplicates = 0;
  let orphans = 0;
  const liveUids = new Set<string>();
  for (const w of burst.wanted.values()) {
    const o = sets.get(w.name);
    const mine = byUid.get(w.uid) ?? [];
    const issues: string[] = [];
    if (w.deleted) {
      if (o && o.metadata.uid === w.uid)
        issues.push(`still there (finalizers ${JSON.stringify(o.metadata.finalizers)})`);
      if (mine.length) issues.push(`${mine.length} HelmRelease(s) left`);
    } else if (!o || o.metadata.uid !== w.uid) {
      issues.push('ServiceSet gone');
    } else {
      liveUids.add(w.uid);
      if (!((o.metadata.finalizers as string[] | undefined) ?? []).includes(FINALIZER)) issues.push('no finalizer');
      const st = (o.status as { deployed?: boolean; services?: StatusService[] } | undefined) ?? {};
      if (statusGeneration(o) !== o.metadata.generation)
        issues.push(`status for generation ${statusGeneration(o)} of ${String(o.metadata.generation)}`);
      for (const s of w.services) {
        const e = st.services?.find((x) => x.name === s.name && x.namespace === s.namespace);
        if (e?.state !== 'Deployed')
          issues.push(
            `${s.name} ${e?.state ?? 'absent from status'}${e?.failureMessage ? ` (${e.failureMessage})` : ''}`,
          );
        const name = fluxObjectName(w.name, s.namespace, s.name);
        const hr = mine.find((h) => h.metadata.name === name);
        if (!hr) {
          issues.push(`${s.name}: no HelmRelease`);
          continue;
        }
        const spec = hr.spec as { values?: unknown; chartRef?: { name?: string } };
        if (!deepEqual(spec.values ?? {}, YAML.parse(s.values) ?? {})) issues.push(`${s.name}: values differ`);
        if (spec.chartRef?.name !== s.template)
          issues.push(`${s.name}: chart ${spec.chartRef?.name} not ${s.template}`);
      }
      if ((st.services?.length ?? 0) > w.services.length) issues.push(`status lists ${st.services?.length} services`);
      const wantedNames = new Set(w.services.map((s) => fluxObjectName(w.name, s.namespace, s.name)));
      const extra = mine.filter((h) => !wantedNames.has(h.metadata.name));
      if (extra.length) {
        orphans += extra.length;
        issues.push(`orphaned HelmRelease(s) ${extra.map((h) => h.metadata.name).join(', ')}`);
      }
    }
    if (issues.length) {
      lost++;
      problems.push(`${w.name}${w.deleted ? ' (deleted)' : ''}: ${issues.join('; ')}`);
      w.convergedAt = undefined;
    } else {
      converged++;
      w.convergedAt ??= Date.now();
    }
  }
  // Flux objects of ServiceSets the burst never made, or whose ServiceSet is gone.
  const known = new Set([...burst.wanted.values()].map((w) => w.uid));
  for (const [uid, list] of byUid) {
    if (!known.has(uid)) {
      orphans += list.length;
      problems.push(`HelmRelease(s) of an unknown ServiceSet ${uid}: ${list.map((h) => h.metadata.name).join(', ')}`);
    } else if (!liveUids.has(uid)) orphans += list.length;
  }
  // Two objects for one release (same target namespace and release name).
  const byRelease = new Map<string, number>();
  for (const hr of hrs) {
    const spec = hr.spec as { targetNamespace?: string; releaseName?: string };
    const uid = ((hr.metadata.labels as Record<string, string>) ?? {})[LABEL_SERVICESET_UID] ?? '';
    const k = `${uid}/${spec.targetNamespace}/${spec.releaseName}`;
    byRelease.set(k, (byRelease.get(k) ?? 0) + 1);
  }
  for (const [k, n] of byRelease)
    if (n > 1) {
      duplicates += n - 1;
      problems.push(`${n} HelmReleases for release ${k}`);
    }
  return { converged, total: burst.wanted.size, lost, duplicates, orphans, problems };
}

/** Open workflows on the task queue against the live ServiceSets: one each, none for a deleted one. */
export async function workflowCheck(
  env: TestenvState,
  taskQueue: string,
  burst: Burst,
): Promise<{ open: number; missing: string[]; orphaned: string[] }> {
  const connection = await Connection.connect({ address: env.temporalAddress });
  try {
    const client = new Client({ connection, namespace: env.temporalNamespace });
    const open = new Map<string, number>();
    for await (const wf of client.workflow.list({
      query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`,
    }))
      open.set(wf.workflowId, (open.get(wf.workflowId) ?? 0) + 1);
    const live = [...burst.wanted.values()].filter((w) => !w.deleted);
    const liveIds = new Set(live.map((w) => workflowIdFor(w.uid)));
    return {
      open: open.size,
      missing: live.filter((w) => !open.has(workflowIdFor(w.uid))).map((w) => w.name),
      orphaned: [...open.keys()].filter((id) => !liveIds.has(id)),
    };
  } finally {
    await connection.close();
  }
}

/**
 * Polls judge() until everything converged (or the deadline); each ServiceSet's convergence time is measured
 * from its last operation (or from `notBefore`, e.g. the end of a fault) to the first check that saw it done.
 */
export async function awaitConvergence(
  kube: KubeClient,
  burst: Burst,
  timeoutMs: number,
  notBefore = 0,
): Promise<Verdict & { p50?: number; max?: number }> {
  const deadline = Date.now() + timeoutMs;
  // Convergence counts from now on: a ServiceSet seen done before (e.g. before the fault) is judged again.
  for (const w of burst.wanted.values()) w.convergedAt = undefined;
  let v: Verdict;
  for (;;) {
    try {
      v = await judge(kube, burst);
      if (v.converged === v.total && !v.orphans && !v.duplicates) break;
    } catch {
      /* apiserver still coming back */
    }
    if (Date.now() > deadline) {
      v = await judge(kube, burst);
      break;
    }
    await sleep(500);
  }
  const times = [...burst.wanted.values()]
    .filter((w) => w.convergedAt)
    .map((w) => w.convergedAt! - Math.max(w.lastOpAt, notBefore));
  return { ...v, p50: percentile(times, 50), max: times.length ? Math.max(...times) : undefined };
}

/** Fills the row's counts from a verdict and fails it with the named problems. */
export function record(r: Row, v: Verdict & { p50?: number; max?: number }): void {
  r.converged = v.converged;
  r.total = v.total;
  r.lost = v.lost;
  r.duplicates = v.duplicates;
  r.orphans = v.orphans;
  r.convergeP50Ms = v.p50;
  r.convergeMaxMs = v.max;
  if (v.problems.length) {
    r.ok = false;
    r.failures.push(...v.problems.slice(0, 20));
    if (v.problems.length > 20) r.failures.push(`… and ${v.problems.length - 20} more`);
  }
}
