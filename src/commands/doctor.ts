// `ksm-flux doctor`: is this installation able to work? Temporal reachable, CRDs served at the versions we
// use, the StateManagementProvider's readiness rules true (evaluated here with a CEL library, naming the
// failing rule), the Flux controllers the --flux-mode needs (src/commands/fluxControllerCheck.ts), and RBAC: a
// SelfSubjectAccessReview per permission the adapter needs.
import { evaluate } from '@marcbachmann/cel-js';
import { LABEL_MANAGED_BY, MANAGED_BY, STAND_IN_ANNOTATION } from '../workflow/constants';
import { StateManagementProvider, parseObject } from '../api/k0rdent';
import { observeFlux } from '../activities/observe';
import { checkFluxControllers, type FluxObjectEvidence, type ProvisionerEvidence } from './fluxControllerCheck';
import { neverReconciled, unclaimedVerdict } from '../workflow/fluxState';
import type { Config } from '../config';
import { KubeClient, type KubeObject } from '../kube/client';
import { paths } from '../kube/paths';
import { requiredPermissions } from '../rbac';
import { connectClient } from '../temporalConn';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** The CRDs (group, version, resource) ksm-flux reads or writes. */
export const requiredCrds = [
  ['k0rdent.mirantis.com', 'v1beta1', 'servicesets'],
  ['k0rdent.mirantis.com', 'v1beta1', 'servicetemplates'],
  ['k0rdent.mirantis.com', 'v1beta1', 'statemanagementproviders'],
  ['helm.toolkit.fluxcd.io', 'v2', 'helmreleases'],
  ['kustomize.toolkit.fluxcd.io', 'v1', 'kustomizations'],
  ['source.toolkit.fluxcd.io', 'v1', 'helmcharts'],
  ['source.toolkit.fluxcd.io', 'v1', 'helmrepositories'],
  ['source.toolkit.fluxcd.io', 'v1', 'gitrepositories'],
  ['source.toolkit.fluxcd.io', 'v1', 'ocirepositories'],
  ['source.toolkit.fluxcd.io', 'v1', 'buckets'],
] as const;

type Discovery = { resources: { name: string; kind: string; namespaced: boolean }[] };

async function discover(kube: KubeClient, apiVersion: string): Promise<Discovery | undefined> {
  return kube.get<Discovery>(apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`);
}

/** Evaluates a readinessRule the way kcm does: CEL over `self`, must give a bool; empty means ready. */
export function evaluateRule(rule: string | undefined, self: unknown): { ok: boolean; detail: string } {
  if (!rule?.trim()) return { ok: true, detail: 'no readiness rule (ready)' };
  try {
    const v = evaluate(rule, { self: self as Record<string, unknown> });
    if (typeof v !== 'boolean')
      return { ok: false, detail: `rule ${JSON.stringify(rule)} gave ${typeof v}, not a bool` };
    return v
      ? { ok: true, detail: `rule ${JSON.stringify(rule)} is true` }
      : { ok: false, detail: `rule ${JSON.stringify(rule)} is false` };
  } catch (e) {
    return { ok: false, detail: `rule ${JSON.stringify(rule)} failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

async function getObject(
  kube: KubeClient,
  ref: { apiVersion: string; kind: string; name: string; namespace?: string },
): Promise<KubeObject | undefined> {
  const d = await discover(kube, ref.apiVersion);
  const r = d?.resources.find((x) => x.kind === ref.kind && !x.name.includes('/'));
  if (!r) throw new Error(`${ref.apiVersion} ${ref.kind} is not served`);
  const base = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
  return kube.get(
    r.namespaced
      ? `${base}/namespaces/${ref.namespace ?? 'default'}/${r.name}/${ref.name}`
      : `${base}/${r.name}/${ref.name}`,
  );
}

function deploymentArgs(d: KubeObject): string[] {
  const spec = d.spec as { template?: { spec?: { containers?: { args?: string[] }[] } } } | undefined;
  return spec?.template?.spec?.containers?.[0]?.args ?? [];
}

/** Our HelmReleases/Kustomizations in every namespace (none when their CRD is not served). */
async function ourFluxObjects(kube: KubeClient): Promise<FluxObjectEvidence[]> {
  const out: FluxObjectEvidence[] = [];
  const now = Date.now();
  for (const [kind, p] of [
    ['HelmRelease', paths.helmReleases()],
    ['Kustomization', paths.kustomizations()],
  ] as const) {
    const items = await kube
      .list(p, `${LABEL_MANAGED_BY}=${MANAGED_BY}`)
      .then((l) => l.items)
      .catch(() => []);
    for (const raw of items) {
      const o = observeFlux(raw, kind, now);
      out.push({
        kind,
        namespace: o.namespace,
        name: o.name,
        reconciled: !neverReconciled(o),
        unclaimed: !!unclaimedVerdict(o),
      });
    }
  }
  return out;
}

export async function runChecks(cfg: Config, opts: { smp?: string } = {}): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });

  // Temporal
  try {
    const client = await connectClient(cfg);
    try {
      const info = await client.connection.workflowService.getSystemInfo({});
      await client.connection.workflowService.describeNamespace({ namespace: cfg.temporalNamespace });
      add(
        'temporal',
        true,
        `${cfg.temporalAddress} namespace ${cfg.temporalNamespace} (server ${info.serverVersion || 'unknown'})`,
      );
    } finally {
      await client.connection.close();
    }
  } catch (e) {
    add('temporal', false, `${cfg.temporalAddress}: ${(e as Error).message}`);
  }

  const kube = KubeClient.fromDefault(cfg.kubeconfig);
  try {
    // CRDs, through discovery (what clients use)
    for (const [g, v, r] of requiredCrds) {
      try {
        const d = await discover(kube, `${g}/${v}`);
        const ok = !!d?.resources.some((x) => x.name === r);
        const hint =
          r === 'kustomizations' && cfg.fluxMode === 'kcm'
            ? " (kcm's chart does not install it: the ksm-flux chart's crds/ has it)"
            : '';
        add(`crd ${r}.${g}`, ok, ok ? `${g}/${v} served` : `${g}/${v} ${r} is not served: install the CRD${hint}`);
      } catch (e) {
        add(`crd ${r}.${g}`, false, (e as Error).message);
      }
    }

    // StateManagementProviders that name this adapter (or the one asked for)
    const provisionerSets: { smp: string; evidence: ProvisionerEvidence[] }[] = [];
    try {
      const smps = (await kube.list(paths.smps())).items
        .map((o) => parseObject(StateManagementProvider, o, `StateManagementProvider ${o.metadata.name}`))
        .filter((s) =>
          opts.smp
            ? s.metadata.name === opts.smp
            : s.spec.adapter.name === cfg.adapterName && (s.spec.adapter.namespace ?? '') === cfg.adapterNamespace,
        );
      if (!smps.length)
        add(
          'smp',
          false,
          opts.smp
            ? `StateManagementProvider ${opts.smp} not found`
            : `no StateManagementProvider names adapter ${cfg.adapterNamespace}/${cfg.adapterName}`,
        );
      for (const smp of smps) {
        const n = `smp ${smp.metadata.name}`;
        const evidence: ProvisionerEvidence[] = [];
        provisionerSets.push({ smp: smp.metadata.name, evidence });
        add(
          `${n} status`,
          smp.status?.ready === true,
          `status.ready=${smp.status?.ready ?? false}${smp.spec.suspend ? ', suspended' : ''}`,
        );
        for (const [role, ref] of [
          ['adapter', smp.spec.adapter] as const,
          ...(smp.spec.provisioner ?? []).map((p) => ['provisioner', p] as const),
        ]) {
          const what = `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
          try {
            const obj = await getObject(kube, ref);
            if (role === 'provisioner' && ref.kind === 'Deployment')
              evidence.push({
                namespace: ref.namespace ?? 'default',
                name: ref.name,
                found: !!obj,
                ...(obj ? { args: deploymentArgs(obj) } : {}),
              });
            if (!obj) {
              add(`${n} ${role}`, false, `${what} not found`);
              continue;
            }
            const r = evaluateRule(ref.readinessRule, obj);
            // In the local test environment and the demo, a Deployment object stands for a process run directly.
            const local = (obj.metadata.annotations as Record<string, string> | undefined)?.[STAND_IN_ANNOTATION];
            add(
              `${n} ${role}`,
              r.ok,
              `${what}: ${r.detail}${local ? ` (stand-in: the process runs locally — ${local})` : ''}`,
            );
          } catch (e) {
            add(`${n} ${role}`, false, `${what}: ${(e as Error).message}`);
          }
        }
        for (const c of smp.spec.provisionerCRDs ?? []) {
          for (const res of c.resources) {
            const d = await discover(kube, `${c.group}/${c.version}`).catch(() => undefined);
            const ok = !!d?.resources.some((x) => x.name === res);
            add(`${n} provisionerCRD`, ok, `${res}.${c.group} ${c.version} ${ok ? 'served' : 'is not served'}`);
          }
        }
      }
    } catch (e) {
      add('smp', false, (e as Error).message);
    }

    // The Flux controllers this mode needs: from the SMPs' provisioners, else from what happened to our objects.
    try {
      const objects = await ourFluxObjects(kube);
      for (const { smp, evidence } of provisionerSets.length ? provisionerSets : [{ smp: '', evidence: [] }])
        for (const f of checkFluxControllers(cfg.fluxMode, evidence, objects))
          add(`flux ${f.controller} (${cfg.fluxMode} mode${smp ? `, smp ${smp}` : ''})`, f.ok, f.detail);
    } catch (e) {
      add(`flux controllers (${cfg.fluxMode} mode)`, false, (e as Error).message);
    }

    // RBAC of the identity this runs as
    for (const p of requiredPermissions(cfg.adapterNamespace, cfg.leaseName)) {
      try {
        const r = await kube.create<{ status?: { allowed?: boolean; reason?: string } }>(
          '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
          {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: {
              resourceAttributes: {
                group: p.group,
                resource: p.resource,
                ...(p.subresource ? { subresource: p.subresource } : {}),
                verb: p.verb,
                ...(p.namespace ? { namespace: p.namespace } : {}),
                ...(p.name ? { name: p.name } : {}),
              },
            },
          },
        );
        const label = `${p.verb} ${p.resource}${p.subresource ? `/${p.subresource}` : ''}${p.group ? `.${p.group}` : ''}${p.namespace ? ` in ${p.namespace}` : ''}`;
        add(
          `rbac ${label}`,
          !!r.status?.allowed,
          r.status?.allowed ? 'allowed' : `denied${r.status?.reason ? `: ${r.status.reason}` : ''} (${p.why})`,
        );
      } catch (e) {
        add(`rbac ${p.verb} ${p.resource}`, false, (e as Error).message);
      }
    }
  } catch (e) {
    add('kubernetes', false, (e as Error).message);
  } finally {
    kube.close();
  }
  return checks;
}

export async function doctor(cfg: Config, opts: { smp?: string; out?: (s: string) => void } = {}): Promise<boolean> {
  const out = opts.out ?? ((s: string) => process.stdout.write(`${s}\n`));
  const checks = await runChecks(cfg, opts);
  const w = Math.max(...checks.map((c) => c.name.length));
  for (const c of checks) out(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(w)}  ${c.detail}`);
  const failed = checks.filter((c) => !c.ok).length;
  out(failed ? `\n${failed} of ${checks.length} checks failed` : `\nall ${checks.length} checks passed`);
  return failed === 0;
}
