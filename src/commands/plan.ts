// `ksm-flux plan <ns>/<name>` and `ksm-flux plan --file FILE`: what the worker would write now, for each
// service, printed with a diff against the live object. It runs the worker's own planner (src/plan/planServiceSet.ts,
// with every rule the worker applies) and applies nothing. Secret contents are never printed: the planned
// objects hold only references (kubeConfig.secretRef, valuesFrom), and Secrets are never rendered.
import fs from 'node:fs';
import YAML from 'yaml';
import type { FluxObject } from '../api/flux';
import { ServiceSet, parseObject } from '../api/k0rdent';
import { planServiceSet, templateReader } from '../plan/planServiceSet';
import { isObjectName } from '../plan/names';
import type { ObjectReader } from '../values/clusterObject';
import { DEFAULT_FLUX_MODE, type FluxMode } from '../workflow/fluxMode';
import { kubeconfigSecretName, namespaceOf } from '../plan/plan';
import type { PlanError } from '../workflow/types';
import { KubeClient, type KubeObject } from '../kube/client';
import { paths } from '../kube/paths';
import { parseRef } from './ops';

export interface ServicePlan {
  service: string;
  /** What the worker would write (absent when the service cannot be planned). */
  object?: FluxObject;
  /** Its digest, as the worker records it (the applied-hash annotation). */
  hash?: string;
  /** Why it cannot be planned: `pending` is waiting for an input, anything else makes the ServiceSet fail. */
  error?: PlanError;
  /** An input that is not there yet (kubeconfig Secret, template being validated): the worker waits. */
  awaiting?: PlanError;
  /** helmAction Uninstall: nothing is planned, the worker removes the service's Flux object. */
  uninstall?: boolean;
  /** Line diff of the live object (restricted to what we write) → the planned one; empty when they agree. */
  diff: string[];
  live: boolean;
}

export interface PlanReport {
  serviceSet: string;
  configError?: string;
  unsupported: string[];
  services: ServicePlan[];
  /** True when the ServiceSet would fail (bad config, template, values): the command exits non-zero. */
  fails: boolean;
}

/** A ServiceSet from a file (YAML or JSON; the first ServiceSet document). Objects without a uid get the live one. */
export function serviceSetFromFile(text: string, file: string): unknown {
  const docs = YAML.parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown> | null);
  const ss = docs.find((d) => d && d.kind === 'ServiceSet');
  if (!ss) throw new Error(`${file}: no ServiceSet document`);
  return ss;
}

/** Whether the target's kubeconfig Secret exists, as the observe activity checks it (its content is not kept). */
async function kubeconfigSecretFound(kube: ObjectReader, ss: ServiceSet): Promise<boolean> {
  const name = kubeconfigSecretName(ss);
  if (name === undefined) return true; // self-management: no Secret
  if (!isObjectName(name)) return false; // never read; planning names the bad reference
  return !!(await kube.get(paths.secret(namespaceOf(ss), name)));
}

/**
 * Plans every service of `raw` (a ServiceSet object) with the worker's planner (src/plan/planServiceSet.ts),
 * reading templates, values inputs and the kubeconfig Secret as the worker does, and diffs it against the live
 * objects.
 */
export async function planReport(
  kube: ObjectReader,
  raw: unknown,
  fluxMode: FluxMode = DEFAULT_FLUX_MODE,
): Promise<PlanReport> {
  const pre = raw as { metadata?: { namespace?: string; name?: string; uid?: string } };
  const ns = pre.metadata?.namespace ?? 'default';
  const name = pre.metadata?.name ?? '';
  if (!pre.metadata?.uid) {
    // A file has no uid: take the live object's (labels carry it), else a placeholder.
    const live = name ? await kube.get(paths.serviceSet(ns, name)) : undefined;
    pre.metadata = { ...pre.metadata, namespace: ns, uid: live?.metadata.uid ?? '(new)' };
  }
  const ss = parseObject(ServiceSet, raw, `ServiceSet ${ns}/${name}`);
  const report: PlanReport = { serviceSet: `${ns}/${name}`, unsupported: [], services: [], fails: false };
  const plan = await planServiceSet(ss, {
    templateOf: templateReader(kube),
    values: kube,
    fluxMode,
    kubeconfigSecretFound: await kubeconfigSecretFound(kube, ss),
  });
  if (!plan.ok) {
    report.configError = plan.configError;
    report.fails = true;
    return report;
  }
  report.unsupported = plan.unsupported;
  for (const row of plan.rows) {
    const base = { service: row.key, diff: [], live: false };
    if (row.uninstall) report.services.push({ ...base, uninstall: true });
    else if (row.awaiting) report.services.push({ ...base, awaiting: row.awaiting });
    else if (row.planError) {
      report.services.push({ ...base, error: row.planError });
      if (!row.planError.pending) report.fails = true;
    } else if (row.planned) {
      const o = row.planned.object;
      const live = await kube.get(paths.flux({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name }));
      report.services.push({
        service: row.key,
        object: o,
        hash: row.planned.hash,
        live: !!live,
        diff: live ? diffLines(toYaml(projectLive(live, o)), toYaml(comparable(o))) : [],
      });
    }
  }
  return report;
}

/** The parts of a Flux object we write (metadata we set and the spec). */
function comparable(o: FluxObject | KubeObject): Record<string, unknown> {
  const md = o.metadata as Record<string, unknown>;
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: {
      name: md.name,
      namespace: md.namespace,
      labels: md.labels ?? {},
      annotations: md.annotations ?? {},
      ownerReferences: md.ownerReferences ?? [],
    },
    spec: (o as { spec?: unknown }).spec ?? {},
  };
}

/**
 * The live object seen through the shape of the planned one: maps keep only keys we write, so fields that
 * Flux, the API server or another field manager add do not show as differences; a key we used to write and no
 * longer do shows only at the top of spec (the level where our fields come and go).
 */
function projectLive(live: KubeObject, planned: FluxObject): Record<string, unknown> {
  const l = comparable(live);
  const p = comparable(planned);
  const project = (lv: unknown, pv: unknown, depth: number, keepExtra: boolean): unknown => {
    if (!isMap(lv) || !isMap(pv)) return lv;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(lv)) {
      if (k in pv) out[k] = depth > 0 ? project(lv[k], pv[k], depth - 1, keepExtra && k === 'spec') : lv[k];
      else if (keepExtra) out[k] = lv[k];
    }
    return out;
  };
  const spec = project(l.spec, p.spec, 64, true);
  const meta = l.metadata as Record<string, unknown>;
  const pmeta = p.metadata as Record<string, unknown>;
  return {
    ...l,
    metadata: { ...meta, annotations: project(meta.annotations, pmeta.annotations, 0, false) },
    spec,
  };
}

const isMap = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

function toYaml(v: unknown): string[] {
  return YAML.stringify(sortKeys(v), { lineWidth: 0 }).trimEnd().split('\n');
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isMap(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys(v[k])]),
    );
  return v;
}

/** A line diff (longest common subsequence): "- " live only, "+ " planned only; nothing when equal. */
export function diffLines(a: string[], b: string[]): string[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  let changed = false;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push(`  ${a[i]}`);
      i++;
      j++;
    } else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      out.push(`+ ${b[j++]}`);
      changed = true;
    } else {
      out.push(`- ${a[i++]}`);
      changed = true;
    }
  }
  return changed ? out : [];
}

export function formatReport(r: PlanReport): string {
  const lines: string[] = [`ServiceSet ${r.serviceSet}`];
  if (r.configError) lines.push(`  FAIL provider config: ${r.configError}`);
  for (const u of r.unsupported) lines.push(`  note ${u}`);
  for (const s of r.services) {
    lines.push('');
    if (s.uninstall) {
      lines.push(`--- service ${s.service}: UNINSTALL (its Flux object is removed; Flux uninstalls the release)`);
      continue;
    }
    const why = s.awaiting ?? s.error;
    if (why) {
      lines.push(
        `--- service ${s.service}: ${s.awaiting || why.pending ? 'WAITING' : 'FAIL'} ${why.reason}: ${why.message}`,
      );
      continue;
    }
    const o = s.object!;
    lines.push(`--- service ${s.service} → ${o.kind} ${o.metadata.namespace}/${o.metadata.name}`);
    lines.push(...YAML.stringify(o, { lineWidth: 0 }).trimEnd().split('\n'));
    if (!s.live) lines.push(`(diff: not on the cluster yet; it would be created)`);
    else if (!s.diff.length) lines.push('(diff: the live object already matches)');
    else lines.push('(diff: live → planned)', ...s.diff);
  }
  lines.push('', r.fails ? 'result: the ServiceSet would FAIL (see FAIL above)' : 'result: OK');
  return `${lines.join('\n')}\n`;
}

/** `target` is the worker's own settings (kubeconfig, Flux mode): the plan is what that worker would write. */
export async function plan(
  target: { kubeconfig?: string | undefined; fluxMode?: FluxMode },
  arg: string | undefined,
  opts: { file?: string; json?: boolean; out?: (s: string) => void } = {},
): Promise<number> {
  const out = opts.out ?? ((s: string) => process.stdout.write(s));
  const kube = KubeClient.fromDefault(target.kubeconfig);
  try {
    let raw: unknown;
    if (opts.file) raw = serviceSetFromFile(fs.readFileSync(opts.file, 'utf8'), opts.file);
    else {
      const { namespace, name } = parseRef(arg);
      raw = await kube.get(paths.serviceSet(namespace, name));
      if (!raw) throw new Error(`ServiceSet ${namespace}/${name} not found`);
    }
    const report = await planReport(kube, raw, target.fluxMode);
    out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.fails ? 1 : 0;
  } finally {
    kube.close();
  }
}
