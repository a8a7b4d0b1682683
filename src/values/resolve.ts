// The values pipeline of one service, activity side: Go templates rendered with Sveltos' engine and context →
// YAML parsed with line-precise errors → valuesFrom expanded to one Flux entry per data key. The result feeds
// the pure plan (src/plan/plan.ts); it holds rendered values, so it stays inside the activity (the workflow
// only ever sees the plan's digest).
import crypto from 'node:crypto';
import type { ServiceType } from '../workflow/constants';
import type { Service, ServiceSet } from '../api/k0rdent';
import { namespaceOf, serviceKey } from '../plan/plan';
import type { PlanError } from '../workflow/types';
import { mergeOver, type ResolvedValues, type ValuesFromKey } from './parse';
import { parseValuesCached } from './parseCache';
import { readClusterObject, type ClusterObjectResult, type ObjectReader } from './clusterObject';
import { isTemplate, renderTemplate, type RenderContext } from './render';
import { readValuesFrom, type ValuesFromSource } from './valuesFrom';

export type ResolveResult = { ok: true; resolved: ResolvedValues } | { ok: false; error: PlanError };

/** Go's "template: NAME:LINE:COL: executing "NAME" at <X>: cause" → "at <X>: cause" (the line is said apart). */
export function templateCause(name: string, error: string): string {
  let s = error;
  const prefix = `template: ${name}:`;
  if (s.startsWith(prefix)) s = s.slice(prefix.length).replace(/^\d+(:\d+)?: /, '');
  return s.replace(`executing "${name}" `, '');
}

/** Resolves the values of the services of one ServiceSet; the cluster object is read once per resolver. */
export class ValuesResolver {
  private cluster?: Promise<ClusterObjectResult>;
  private sources = new Map<string, Promise<ValuesFromSource>>();

  constructor(
    private readonly client: ObjectReader,
    private readonly ss: ServiceSet,
  ) {}

  private get namespace(): string {
    return namespaceOf(this.ss);
  }

  private context(): Promise<ClusterObjectResult> {
    this.cluster ??= readClusterObject(this.client, this.ss);
    return this.cluster;
  }

  private source(kind: 'ConfigMap' | 'Secret', name: string): Promise<ValuesFromSource> {
    const k = `${kind}/${name}`;
    if (!this.sources.has(k)) this.sources.set(k, readValuesFrom(this.client, this.namespace, { kind, name }));
    return this.sources.get(k)!;
  }

  /** Renders `text` as a template of service `svc`, or says why it cannot be rendered (yet). */
  private async render(
    svc: Service,
    text: string,
    what: string,
  ): Promise<{ ok: true; output: string } | { ok: false; error: PlanError }> {
    if (!isTemplate(text)) return { ok: true, output: text };
    const cluster = await this.context();
    if (!cluster.found) {
      return {
        ok: false,
        error: {
          reason: 'ClusterObjectNotFound',
          message: `${what} of service ${serviceKey(svc)} is a template: waiting for ${cluster.awaited} (.Cluster)`,
          pending: true,
        },
      };
    }
    const name = serviceKey(svc);
    const context: RenderContext = { Cluster: cluster.object };
    const r = await renderTemplate({ name, template: text, context });
    if (r.ok) return r;
    const line = r.line ? `, line ${r.line}` : '';
    return {
      ok: false,
      error: {
        reason: 'InvalidValuesTemplate',
        message: `${what} of service ${name}${line}: template error: ${templateCause(name, r.error)}`,
      },
    };
  }

  async resolve(svc: Service, type: ServiceType): Promise<ResolveResult> {
    const ns = this.namespace;
    // valuesFrom: every referenced object must exist (else we wait for it, as Sveltos does).
    const sources: ValuesFromSource[] = [];
    for (const ref of svc.valuesFrom ?? []) sources.push(await this.source(ref.kind, ref.name));
    const missing = sources.filter((s) => !s.found);
    if (missing.length) {
      return {
        ok: false,
        error: {
          reason: 'ValuesFromNotFound',
          message: `waiting for ${missing.map((s) => `${s.ref.kind} ${ns}/${s.ref.name}`).join(', ')} (valuesFrom of service ${serviceKey(svc)})`,
          pending: true,
        },
      };
    }
    const refsDigest = sources.length ? digestOf(sources) : undefined;
    // Kustomize and Resources services ignore values (as kcm's Sveltos adapter does); their valuesFrom objects
    // are substituted whole by Flux (postBuild.substituteFrom).
    if (type !== 'Helm') return { ok: true, resolved: { valuesFrom: [], ...(refsDigest ? { refsDigest } : {}) } };

    const text = svc.values ?? '';
    const rendered = await this.render(svc, text, 'values');
    if (!rendered.ok) return rendered;
    // The service is named by its status entry and in the condition ("web/x: values: …").
    const parsed = parseValuesCached(rendered.output, { what: isTemplate(text) ? 'rendered values' : 'values' });
    if (!parsed.ok) return { ok: false, error: { reason: 'InvalidValues', message: parsed.message } };
    let values = parsed.values;

    const entries: ValuesFromKey[] = [];
    const templated: Record<string, unknown>[] = [];
    for (const s of sources) {
      if (!s.found) continue;
      const label = `${s.ref.kind} ${ns}/${s.ref.name}`;
      if (s.invalid) return { ok: false, error: { reason: 'InvalidValuesFrom', message: s.invalid } };
      if (!s.template) {
        for (const k of s.keys) entries.push({ kind: s.ref.kind, name: s.ref.name, valuesKey: k });
        continue;
      }
      if (s.ref.kind === 'Secret') {
        // Rendering would put the Secret's content into the HelmRelease in clear text.
        return {
          ok: false,
          error: {
            reason: 'ValuesFromTemplateInSecret',
            message: `${label} is annotated ${'projectsveltos.io/template'}: ksm-flux renders valuesFrom templates only in ConfigMaps (a rendered Secret would be written into the HelmRelease in clear); move the template to a ConfigMap or drop the annotation`,
          },
        };
      }
      for (const k of s.keys) {
        const r = await this.render(svc, s.content?.[k] ?? '', `${label} key ${k}`);
        if (!r.ok) return r;
        const p = parseValuesCached(r.output, { what: `rendered ${label} key ${k}` });
        if (!p.ok) return { ok: false, error: { reason: 'InvalidValuesFrom', message: p.message } };
        if (p.values) templated.push(p.values);
      }
    }
    // Sveltos merges templated valuesFrom content last, over the values; Flux gets the result inline.
    for (const t of templated) values = mergeOver(values ?? {}, t);
    return {
      ok: true,
      resolved: { ...(values ? { values } : {}), valuesFrom: entries, ...(refsDigest ? { refsDigest } : {}) },
    };
  }
}

function digestOf(sources: ValuesFromSource[]): string {
  const parts = sources.map((s) => (s.found ? [s.ref.kind, s.ref.name, s.uid, s.resourceVersion] : [s.ref.kind]));
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}
