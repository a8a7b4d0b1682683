// Which Flux installation reconciles our objects, and what that means for what we write. Pure and workflow-safe.
//
// kcm mode (default): a k0rdent install already runs helm-controller and source-controller in kcm-system, both
// started with `--watch-label-selector=k0rdent.mirantis.com/managed=true`, and no kustomize-controller (kcm chart
// templates/provider/kcm/values.yaml, `flux2:`). A filtered controller's cache only holds labelled objects of its
// own kinds, so everything it must reconcile carries the label: our HelmReleases, the HelmChart helm-controller
// generates from a Git/Bucket-sourced chart (through `spec.chart.metadata.labels`; helm-controller copies that
// template metadata onto the HelmChart), and our Kustomizations (for the kustomize-controller our chart ships,
// filtered the same way).
//
// standalone mode: a separately installed, unfiltered Flux reconciles everything. Our objects must then NOT carry
// the label: kcm's helm-controller would reconcile the same HelmRelease as the standalone one, two controllers
// racing on one Helm release.
import { LABEL_MANAGED } from './constants';

export const FLUX_MODES = ['kcm', 'standalone'] as const;
export type FluxMode = (typeof FLUX_MODES)[number];
export const DEFAULT_FLUX_MODE: FluxMode = 'kcm';

/** The label selector kcm's Flux controllers (and the kustomize-controller we ship) are started with. */
export const KCM_WATCH_LABEL_SELECTOR = `${LABEL_MANAGED}=true`;

/** The Flux objects we write or make Flux write. */
export type FluxWrittenKind = 'HelmRelease' | 'Kustomization' | 'HelmChart';

/** Labels that make the mode's controllers see an object of this kind (none in standalone mode). */
export function watchLabels(mode: FluxMode, _kind: FluxWrittenKind): Record<string, string> {
  // Every kind gets the same label in kcm mode: helm-controller filters HelmReleases, source-controller filters
  // HelmCharts (and every source kind), our kustomize-controller filters Kustomizations.
  return mode === 'kcm' ? { [LABEL_MANAGED]: 'true' } : {};
}

/**
 * `spec.chart.metadata` of a HelmRelease that has helm-controller generate a HelmChart (Git/Bucket chart sources),
 * or undefined when nothing is needed. Without it, kcm's source-controller never builds that HelmChart.
 */
export function chartTemplateMetadata(mode: FluxMode): { labels: Record<string, string> } | undefined {
  const labels = watchLabels(mode, 'HelmChart');
  return Object.keys(labels).length ? { labels } : undefined;
}

/** The Flux controllers a mode relies on, and for which kinds of service. */
export interface FluxController {
  name: 'helm-controller' | 'source-controller' | 'kustomize-controller';
  /** What stops working without it. */
  serves: string;
  /** Where it comes from in this mode. */
  providedBy: string;
}

export function controllersFor(mode: FluxMode): FluxController[] {
  const kcm = mode === 'kcm';
  return [
    {
      name: 'helm-controller',
      serves: 'Helm services',
      providedBy: kcm ? "kcm's chart (kcm-system, label-filtered)" : 'the standalone Flux installation',
    },
    {
      name: 'source-controller',
      serves: 'charts and sources of every service',
      providedBy: kcm ? "kcm's chart (kcm-system, label-filtered)" : 'the standalone Flux installation',
    },
    {
      name: 'kustomize-controller',
      serves: 'Kustomize and Resources services',
      providedBy: kcm
        ? "the ksm-flux chart (kustomizeController.enabled=true; kcm's chart ships none)"
        : 'the standalone Flux installation',
    },
  ];
}
