// One planner: every service of a ServiceSet planned the way the worker plans it, with every rule the worker
// applies — the provider config, the pause, duplicate services, the target's kubeconfig Secret, inputs that are
// not there yet. The observe activity takes its verdicts from it, applyServices writes what it plans, and
// `ksm-flux plan` prints it, so the three cannot disagree.
import type { FluxObject } from '../api/flux';
import { ServiceTemplate, parseObject, type Service, type ServiceSet } from '../api/k0rdent';
import { paths } from '../kube/paths';
import type { ObjectReader } from '../values/clusterObject';
import type { ServiceType } from '../workflow/constants';
import type { FluxMode } from '../workflow/fluxMode';
import type { PlanError } from '../workflow/types';
import { awaitedInput } from './awaiting';
import { isObjectName } from './names';
import {
  duplicateServiceError,
  duplicateServices,
  isPaused,
  kubeconfigSecretName,
  namespaceOf,
  serviceKey,
  serviceType,
} from './plan';
import { ServicePlanner } from './planCache';
import { parseProviderConfig, type ProviderConfig } from './providerConfig';

export type TemplateOf = (namespace: string, name: string) => Promise<ServiceTemplate | undefined>;

/** Each ServiceTemplate read once per reader; a name that can be no object's is never read (planning names it). */
export function templateReader(reader: ObjectReader): TemplateOf {
  const templates = new Map<string, Promise<ServiceTemplate | undefined>>();
  return (namespace, name) => {
    if (!isObjectName(name)) return Promise.resolve(undefined);
    const k = `${namespace}/${name}`;
    let t = templates.get(k);
    if (!t) {
      t = reader
        .get(paths.serviceTemplate(namespace, name))
        .then((raw) => (raw ? parseObject(ServiceTemplate, raw, `ServiceTemplate ${k}`) : undefined));
      templates.set(k, t);
    }
    return t;
  };
}

export interface PlanSources {
  templateOf: TemplateOf;
  /** Values inputs (valuesFrom objects, the cluster object): read from the API, never from a cache. */
  values: ObjectReader;
  fluxMode: FluxMode;
  /**
   * Whether the target's kubeconfig Secret exists, where the caller looked. Unset: not checked (applyServices
   * writes what the observation that just checked it decided).
   */
  kubeconfigSecretFound?: boolean;
}

/** One row of the plan: a service and the planner's verdict on it (at most one of planned, planError, awaiting). */
export interface ServicePlanRow {
  key: string;
  service: Service;
  template: ServiceTemplate | undefined;
  type: ServiceType;
  /** helmAction Uninstall: nothing is planned; the worker removes the service's Flux object. */
  uninstall: boolean;
  /** What the worker writes. */
  planned?: { object: FluxObject; hash: string };
  /** Bad input: the service fails (or waits, when `pending`). */
  planError?: PlanError;
  /** An input that is not there yet: the service waits. */
  awaiting?: PlanError;
}

export type ServiceSetPlanner =
  | { ok: false; configError: string }
  | {
      ok: true;
      config: ProviderConfig;
      unsupported: string[];
      /** Plans one spec service. */
      plan(service: Service): Promise<ServicePlanRow>;
    };

/** The planner of one ServiceSet; values inputs and templates are read once however many services ask. */
export function serviceSetPlanner(ss: ServiceSet, sources: PlanSources): ServiceSetPlanner {
  const cfg = parseProviderConfig(ss.spec.provider.config);
  if (!cfg.ok) return { ok: false, configError: cfg.error };
  const ns = namespaceOf(ss);
  const planner = new ServicePlanner(sources.values, {
    serviceSet: ss,
    config: cfg.config,
    paused: isPaused(ss),
    fluxMode: sources.fluxMode,
  });
  const duplicates = duplicateServices(ss.spec.services ?? []);
  const plan = async (service: Service): Promise<ServicePlanRow> => {
    const template = await sources.templateOf(ns, service.template);
    const type = serviceType(template);
    const key = serviceKey(service);
    const row: ServicePlanRow = {
      key,
      service,
      template,
      type,
      uninstall: type === 'Helm' && service.helmAction === 'Uninstall',
    };
    // Both copies name the same release and object: which one is meant cannot be known.
    const dup = duplicates.get(key);
    if (dup) return { ...row, planError: duplicateServiceError(key, dup) };
    if (row.uninstall) return row;
    const p = await planner.plan(service, template);
    let error = p.ok ? undefined : p.error;
    // Flux reads the target's kubeconfig from this Secret; without it nothing can be deployed there.
    if (p.ok && p.object.spec.kubeConfig && sources.kubeconfigSecretFound === false)
      error = {
        reason: 'KubeconfigSecretNotFound',
        message: `kubeconfig Secret ${ns}/${kubeconfigSecretName(ss)} of cluster ${ss.spec.cluster} not found (key "value")`,
      };
    if (!error && p.ok) return { ...row, planned: { object: p.object, hash: p.hash } };
    const awaited = error && awaitedInput(error, template);
    return awaited ? { ...row, awaiting: awaited } : { ...row, ...(error ? { planError: error } : {}) };
  };
  return { ok: true, config: cfg.config, unsupported: cfg.unsupported, plan };
}

export type ServiceSetPlan =
  | { ok: false; configError: string }
  | { ok: true; config: ProviderConfig; unsupported: string[]; rows: ServicePlanRow[] };

/** Every spec service of `ss`, planned in spec order. */
export async function planServiceSet(ss: ServiceSet, sources: PlanSources): Promise<ServiceSetPlan> {
  const planner = serviceSetPlanner(ss, sources);
  if (!planner.ok) return planner;
  const rows: ServicePlanRow[] = [];
  for (const s of ss.spec.services ?? []) rows.push(await planner.plan(s));
  return { ok: true, config: planner.config, unsupported: planner.unsupported, rows };
}
