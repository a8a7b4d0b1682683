// `ksm-flux doctor`: do the Flux controllers this mode needs run, and do they see our objects? Pure: the command
// gathers the evidence (the SMP's provisioner Deployments and their arguments, our Flux objects), this decides.
//
// Evidence, best first: a provisioner Deployment named for the controller (its readiness rule is checked on its
// own); its --watch-label-selector (kcm mode needs kcm's label, standalone mode an unfiltered controller); and,
// where the SMP names no provisioners (the local demo runs Flux as processes), our own Flux objects: one a
// controller has reconciled proves it runs, one nobody picked up for a minute proves none watches it.
import { KCM_WATCH_LABEL_SELECTOR, controllersFor, type FluxController, type FluxMode } from '../workflow/fluxMode';

export interface ProvisionerEvidence {
  namespace: string;
  name: string;
  /** The Deployment exists. */
  found: boolean;
  /** Its first container's arguments, when found. */
  args?: string[];
}

export interface FluxObjectEvidence {
  kind: 'HelmRelease' | 'Kustomization';
  namespace: string;
  name: string;
  /** A controller has reconciled it at least once. */
  reconciled: boolean;
  /** Not reconciled, and older than the unclaimed bound (src/workflow/fluxState.ts). */
  unclaimed: boolean;
}

export interface ControllerFinding {
  controller: FluxController['name'];
  ok: boolean;
  detail: string;
}

const kindOf: Partial<Record<FluxController['name'], FluxObjectEvidence['kind']>> = {
  'helm-controller': 'HelmRelease',
  'kustomize-controller': 'Kustomization',
};

function selectorOf(args: string[] | undefined): string | undefined {
  const a = args?.find((x) => x.startsWith('--watch-label-selector='));
  return a?.slice('--watch-label-selector='.length);
}

export function checkFluxControllers(
  mode: FluxMode,
  provisioners: ProvisionerEvidence[],
  objects: FluxObjectEvidence[],
): ControllerFinding[] {
  return controllersFor(mode).map((c) => {
    const missing = `no ${c.name} (${c.serves} need it; in ${mode} mode it comes from ${c.providedBy})`;
    if (provisioners.length) {
      const p = provisioners.find((x) => x.name === c.name || x.name.endsWith(`-${c.name}`));
      if (!p) return { controller: c.name, ok: false, detail: `${missing}: the SMP names no ${c.name} provisioner` };
      const where = `Deployment ${p.namespace}/${p.name}`;
      if (!p.found) return { controller: c.name, ok: false, detail: `${missing}: ${where} not found` };
      const sel = selectorOf(p.args);
      if (mode === 'kcm' && sel !== KCM_WATCH_LABEL_SELECTOR && sel !== undefined)
        return {
          controller: c.name,
          ok: false,
          detail: `${where} watches ${sel}, not ${KCM_WATCH_LABEL_SELECTOR}: it does not see what kcm mode labels`,
        };
      if (mode === 'standalone' && sel !== undefined)
        return {
          controller: c.name,
          ok: false,
          detail: `${where} only watches ${sel}: standalone mode writes no such label, so it never sees our objects (use --flux-mode kcm, or an unfiltered Flux)`,
        };
      return { controller: c.name, ok: true, detail: `${where}${sel ? ` (watches ${sel})` : ' (unfiltered)'}` };
    }
    const kind = kindOf[c.name];
    const mine = objects.filter((o) => o.kind === kind);
    const stuck = mine.filter((o) => o.unclaimed);
    if (stuck.length)
      return {
        controller: c.name,
        ok: false,
        detail: `${missing}: ${stuck
          .slice(0, 3)
          .map((o) => `${o.kind} ${o.namespace}/${o.name}`)
          .join(', ')}${stuck.length > 3 ? ` and ${stuck.length - 3} more` : ''} never picked up`,
      };
    const seen = mine.find((o) => o.reconciled);
    if (seen)
      return {
        controller: c.name,
        ok: true,
        detail: `running: it reconciled ${seen.kind} ${seen.namespace}/${seen.name}`,
      };
    return {
      controller: c.name,
      ok: true,
      detail: kind
        ? `not checked: the SMP names no provisioners and no ${kind} of ours exists yet`
        : 'not checked: the SMP names no provisioners',
    };
  });
}
