// The observe activity: read the ServiceSet and everything its services depend on (the facts), then judge them —
// plan each service (keeping only digests), check drift, resolve release conflicts (the verdicts) — and return a
// small, secret-free summary whose type says which is which (src/workflow/types.ts).
import {
  DEFAULT_KCM_PROVIDER,
  FINALIZER,
  FLUX_FINALIZER,
  APPLIED_HASH_ANNOTATION,
  LABEL_MANAGED_BY,
  LABEL_RELEASE_KEY,
  LABEL_SERVICESET_UID,
  MANAGED_BY,
} from '../workflow/constants';
import { FluxObjectRead } from '../api/flux';
import { ServiceSet, StateManagementProvider, parseObject, type Service, type ServiceStatus } from '../api/k0rdent';
import { detectDrift } from '../workflow/drift';
import { truncate } from '../workflow/truncate';
import { releaseOwner, type Contender } from '../ownership/conflicts';
import { isObjectName } from '../plan/names';
import {
  fluxRefFor,
  isSelfManagement,
  kubeconfigSecretName,
  releaseKeyFor,
  serviceKey,
  serviceType,
  clusterRefFor,
  isPaused,
  namespaceOf,
} from '../plan/plan';
import { deletionTimeoutMs, parseProviderConfig } from '../plan/providerConfig';
import { ownership } from '../ownership/ownership';
import type { ReleaseIndex } from '../ownership/releaseIndex';
import type {
  ConflictInfo,
  FluxObservation,
  FluxRef,
  Observation,
  ObservationFacts,
  ObservationVerdicts,
  ObservedCondition,
  ServiceFacts,
  ServiceObservation,
  StrayObject,
  ServiceSetRef,
  StatusCondition,
  StatusView,
} from '../workflow/types';
import type { CachedReader, Reader } from '../kube/cache';
import type { KubeObject } from '../kube/client';
import { paths } from '../kube/paths';
import { neverReconciled } from '../workflow/fluxState';
import { serviceSetPlanner, templateReader, type TemplateOf } from '../plan/planServiceSet';
import type { Deps } from './deps';
import type { ObserveOptions } from '../workflow/activities';

const MAX_MESSAGE = 2048;

function iso(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  return typeof v === 'string' ? v : '';
}

export function observeFlux(raw: KubeObject, kind: FluxRef['kind'], nowMs = Date.now()): FluxObservation {
  const o = parseObject(FluxObjectRead, raw, `${kind} ${raw.metadata.namespace}/${raw.metadata.name}`);
  const labels = o.metadata.labels ?? {};
  const conditions: ObservedCondition[] = (o.status?.conditions ?? [])
    .filter((c) => ['Ready', 'Stalled', 'Reconciling', 'Released', 'Healthy'].includes(c.type))
    .map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason ?? '',
      message: truncate(c.message ?? '', MAX_MESSAGE),
      ...(c.observedGeneration !== undefined ? { observedGeneration: c.observedGeneration } : {}),
    }));
  const obs: FluxObservation = {
    kind,
    namespace: o.metadata.namespace ?? '',
    name: o.metadata.name,
    uid: o.metadata.uid,
    generation: o.metadata.generation ?? 0,
    observedGeneration: o.status?.observedGeneration ?? -1,
    ...(o.status?.lastAttemptedGeneration !== undefined
      ? { lastAttemptedGeneration: o.status.lastAttemptedGeneration }
      : {}),
    deleting: !!o.metadata.deletionTimestamp,
    suspended: !!o.spec?.suspend,
    fluxFinalizer: (o.metadata.finalizers ?? []).includes(FLUX_FINALIZER),
    appliedHash: o.metadata.annotations?.[APPLIED_HASH_ANNOTATION] ?? '',
    conditions,
    ...(o.status?.lastHandledReconcileAt ? { lastHandledReconcileAt: o.status.lastHandledReconcileAt } : {}),
    ownerUid: labels[LABEL_SERVICESET_UID] ?? '',
    serviceKey: '',
    ...(labels[LABEL_RELEASE_KEY] ? { releaseKey: labels[LABEL_RELEASE_KEY] } : {}),
  };
  // Only while no controller has touched it (so settled observations stay unchanged from pass to pass).
  const created = Date.parse(String(raw.metadata.creationTimestamp ?? ''));
  if (neverReconciled(obs) && !obs.deleting && Number.isFinite(created))
    obs.unclaimedForMs = Math.max(0, nowMs - created);
  return obs;
}

function statusView(ss: ServiceSet): StatusView {
  const st = ss.status ?? {};
  return {
    deployed: st.deployed ?? false,
    ...(st.cluster
      ? {
          cluster: {
            apiVersion: st.cluster.apiVersion ?? '',
            kind: st.cluster.kind ?? '',
            name: st.cluster.name ?? '',
            ...(st.cluster.namespace ? { namespace: st.cluster.namespace } : {}),
          },
        }
      : {}),
    ...(st.provider
      ? { provider: { ready: st.provider.ready ?? false, suspended: st.provider.suspended ?? false } }
      : {}),
    services: (st.services ?? []).map((e: ServiceStatus) => ({
      name: e.name,
      namespace: e.namespace,
      template: e.template,
      type: e.type,
      state: e.state,
      ...(e.version ? { version: e.version } : {}),
      ...(e.failureMessage ? { failureMessage: e.failureMessage } : {}),
      ...(e.lastDeployedHash ? { lastDeployedHash: e.lastDeployedHash } : {}),
      lastStateTransitionTime: iso(e.lastStateTransitionTime),
    })),
    conditions: (st.conditions ?? []).map((c): StatusCondition => ({
      type: c.type,
      status: c.status,
      reason: c.reason ?? '',
      message: c.message ?? '',
      lastTransitionTime: iso(c.lastTransitionTime),
      ...(c.observedGeneration !== undefined ? { observedGeneration: c.observedGeneration } : {}),
    })),
  };
}

const notFound = (ref: ServiceSetRef): Observation => ({
  found: false,
  generation: 0,
  deleting: false,
  hasFinalizer: false,
  paused: false,
  owned: false,
  provider: { name: '', found: false, ready: false, suspended: false },
  cluster: { apiVersion: '', kind: '', name: ref.name },
  providerConfig: { valid: true, priority: 0 },
  target: { selfManagement: false, kubeconfigSecretFound: false },
  services: [],
  stray: [],
  status: { deployed: false, services: [], conditions: [] },
});

/**
 * Flux objects still labelled with the uid of a ServiceSet that is gone (deleted without our finalizer). Not
 * when the name was taken by a new ServiceSet: that one adopts the objects its services name (same names).
 */
async function leftoversOf(deps: Deps, ref: ServiceSetRef): Promise<FluxRef[]> {
  const sel = `${LABEL_SERVICESET_UID}=${ref.uid}`;
  const [hrs, kss] = await Promise.all([
    deps.client.list(paths.helmReleases(ref.namespace), sel),
    deps.client.list(paths.kustomizations(ref.namespace), sel),
  ]);
  const refs = (items: KubeObject[], kind: FluxRef['kind']) =>
    items
      .filter((o) => !o.metadata.deletionTimestamp)
      .map((o): FluxRef => ({ kind, namespace: ref.namespace, name: o.metadata.name }));
  return [...refs(hrs.items, 'HelmRelease'), ...refs(kss.items, 'Kustomization')];
}

export async function observe(deps: Deps, ref: ServiceSetRef, opts: ObserveOptions = {}): Promise<Observation> {
  // Our own reads from the worker's caches when asked (values inputs are always read from the API, by the planner).
  const cache = opts.cached ? deps.cache : undefined;
  const reader: Reader = cache ?? deps.client;
  const raw = await reader.get<KubeObject>(paths.serviceSet(ref.namespace, ref.name));
  if (!raw) {
    const leftovers = await leftoversOf(deps, ref);
    return leftovers.length ? { ...notFound(ref), leftovers } : notFound(ref);
  }
  if (raw.metadata.uid !== ref.uid) return notFound(ref);
  let ss: ServiceSet;
  try {
    ss = parseObject(ServiceSet, raw, `ServiceSet ${ref.namespace}/${ref.name}`);
  } catch (e) {
    return {
      ...notFound(ref),
      found: true,
      invalid: (e as Error).message,
      hasFinalizer: ((raw.metadata.finalizers as string[] | undefined) ?? []).includes(FINALIZER),
    };
  }
  const smpRaw = ss.spec.provider.name ? await reader.get(paths.smp(ss.spec.provider.name)) : undefined;
  const smp = smpRaw
    ? parseObject(StateManagementProvider, smpRaw, `StateManagementProvider ${ss.spec.provider.name}`)
    : undefined;
  const own = ownership(smp, ss, deps.identity);
  const facts = serviceSetFacts(ss, smp);
  const verdicts: ObservationVerdicts = { owned: own.owned, ...(own.reason ? { notOwnedReason: own.reason } : {}) };
  if (!own.owned && !facts.hasFinalizer) return { ...facts, ...verdicts, services: [], stray: [] }; // not ours: read nothing else

  const objects = await readFluxObjects(deps, ss, facts, cache);
  const templateOf = templateReader(reader);
  const services = await serviceFactsOf(ss, objects.ours, templateOf);
  const judged = await judge(deps, ss, facts, own.owned, services, objects, templateOf);
  return { ...facts, ...verdicts, ...judged };
}

/** What the ServiceSet object itself says, and its StateManagementProvider. */
function serviceSetFacts(ss: ServiceSet, smp: StateManagementProvider | undefined): ObservationFacts {
  const meta = ss.metadata;
  const cfg = parseProviderConfig(ss.spec.provider.config);
  const selfManagement = isSelfManagement(ss);
  const secretName = kubeconfigSecretName(ss);
  return {
    found: true,
    generation: meta.generation ?? 0,
    deleting: !!meta.deletionTimestamp,
    hasFinalizer: (meta.finalizers ?? []).includes(FINALIZER),
    paused: isPaused(ss),
    provider: {
      name: ss.spec.provider.name,
      found: !!smp,
      ready: smp?.status?.ready ?? false,
      suspended: !!smp?.spec.suspend,
    },
    cluster: clusterRefFor(ss),
    providerConfig: cfg.ok
      ? {
          valid: true,
          priority: cfg.config.priority,
          ...(deletionTimeoutMs(cfg.config) !== undefined ? { deletionTimeoutMs: deletionTimeoutMs(cfg.config)! } : {}),
          ...(cfg.config.maxConsecutiveFailures !== undefined
            ? { maxConsecutiveFailures: cfg.config.maxConsecutiveFailures }
            : {}),
          ...(cfg.unsupported.length ? { unsupported: cfg.unsupported } : {}),
        }
      : { valid: false, error: cfg.error, priority: 0 },
    target: {
      selfManagement,
      ...(secretName ? { kubeconfigSecret: secretName } : {}),
      kubeconfigSecretFound: selfManagement,
    },
    status: statusView(ss),
  };
}

interface FluxObjects {
  ours: FluxObservation[];
  /** The live objects, for the drift check against the plan (read here, never returned: only field paths are). */
  live: Map<string, KubeObject>;
}

/** Our Flux objects of this ServiceSet, and what the target's state adds to the facts (kubeconfig, deletion). */
async function readFluxObjects(
  deps: Deps,
  ss: ServiceSet,
  facts: ObservationFacts,
  cache: CachedReader | undefined,
): Promise<FluxObjects> {
  const { client } = deps;
  const reader: Reader = cache ?? client;
  const meta = ss.metadata;
  const ns = namespaceOf(ss);
  // The caches hold only our Flux objects (labelled managed-by): ask for exactly those.
  const ownedBy = `${cache ? `${LABEL_MANAGED_BY}=${MANAGED_BY},` : ''}${LABEL_SERVICESET_UID}=${meta.uid}`;
  const [hrs, kss] = await Promise.all([
    reader.list(paths.helmReleases(ns), ownedBy),
    reader.list(paths.kustomizations(ns), ownedBy),
  ]);
  const ours = [
    ...hrs.items.map((o) => observeFlux(o, 'HelmRelease')),
    ...kss.items.map((o) => observeFlux(o, 'Kustomization')),
  ];
  const live = new Map<string, KubeObject>(
    [...hrs.items, ...kss.items].map((o, i) => [`${ours[i]!.kind}/${o.metadata.name}`, o]),
  );
  const secretName = facts.target.kubeconfigSecret;
  // A name that can be no Secret's (cluster "../x") is never read; planning names it (invalidReference).
  if (secretName && isObjectName(secretName) && (ss.spec.services?.length || ours.length)) {
    const p = paths.secret(ns, secretName);
    const secret = cache ? await cache.head(p) : await client.get(p);
    facts.target.kubeconfigSecretFound = !!secret;
    // Which version of it (never its content): a rotation makes the workflow ask Flux to reconcile now.
    if (secret)
      facts.target.kubeconfigVersion = `${secret.metadata.uid ?? ''}/${secret.metadata.resourceVersion ?? ''}`;
  }
  // Deleting with objects to clean up: is the whole cluster going away (then there is nothing to uninstall from)?
  // A missing ClusterDeployment says nothing (ServiceSets need not come from one); only its deletion does.
  if (facts.deleting && !facts.target.selfManagement && isObjectName(ss.spec.cluster) && ours.length) {
    const cd = await client.get(paths.clusterDeployment(ns, ss.spec.cluster));
    if (cd?.metadata.deletionTimestamp) facts.target.clusterDeleting = true;
  }
  return { ours, live };
}

/** Per spec service: what it is, and which of our Flux objects serves it (claimed objects get its key). */
async function serviceFactsOf(
  ss: ServiceSet,
  ours: FluxObservation[],
  templateOf: TemplateOf,
): Promise<{ svc: Service; facts: ServiceFacts }[]> {
  const ns = namespaceOf(ss);
  const out: { svc: Service; facts: ServiceFacts }[] = [];
  for (const svc of ss.spec.services ?? []) {
    const template = await templateOf(ns, svc.template);
    const type = serviceType(template);
    const key = serviceKey(svc);
    const fref = fluxRefFor(ss, svc, type);
    const flux = ours.find((o) => o.kind === fref.kind && o.name === fref.name);
    if (flux) flux.serviceKey = key;
    out.push({
      svc,
      facts: {
        key,
        name: svc.name,
        namespace: svc.namespace,
        template: svc.template,
        type,
        specVersion: svc.version ?? '',
        uninstall: type === 'Helm' && svc.helmAction === 'Uninstall',
        ...(flux ? { flux } : {}),
      },
    });
  }
  return out;
}

/** The verdicts: each service planned (and checked for drift and release conflicts), each stray object judged. */
async function judge(
  deps: Deps,
  ss: ServiceSet,
  facts: ObservationFacts,
  owned: boolean,
  services: { svc: Service; facts: ServiceFacts }[],
  objects: FluxObjects,
  templateOf: TemplateOf,
): Promise<Pick<Observation, 'services' | 'stray'>> {
  const planner = serviceSetPlanner(ss, {
    templateOf,
    values: deps.client,
    fluxMode: deps.fluxMode,
    kubeconfigSecretFound: facts.target.kubeconfigSecretFound,
  });
  const config = planner.ok ? planner.config : undefined;
  // Who else wants a release is asked at most once per observation, and only when a release is in question.
  let releases: Promise<ReleaseIndex> | undefined;
  const look: Lookups = { templateOf, releases: () => (releases ??= deps.serviceSets.releasesAround(ss)) };
  const out: ServiceObservation[] = [];
  for (const { svc, facts: sf } of services) {
    const { type, flux } = sf;
    const so: ServiceObservation = { ...sf };
    if (planner.ok) {
      const row = await planner.plan(svc);
      if (row.planError) so.planError = row.planError;
      if (row.awaiting) so.awaiting = row.awaiting;
      const p = row.planned;
      if (p) {
        so.desired = {
          ref: { kind: p.object.kind, namespace: p.object.metadata.namespace, name: p.object.metadata.name },
          hash: p.hash,
        };
        // Only an object that claims to be this plan can have drifted from it (else it is re-applied anyway).
        const raw = flux && objects.live.get(`${flux.kind}/${flux.name}`);
        if (raw && flux && !flux.deleting && flux.appliedHash === p.hash) {
          const d = detectDrift(p.object, raw);
          if (d) so.drift = d;
        }
      }
    }
    if (type === 'Helm' && !so.uninstall && !facts.deleting && owned && config) {
      const c = await conflictFor(deps, ss, svc, config.priority, look);
      if (c) so.conflict = c;
    } else if (facts.deleting && type === 'Helm' && flux) {
      const c = await conflictFor(deps, ss, svc, config?.priority ?? 0, look);
      if (c) so.conflict = c;
    }
    out.push(so);
  }
  const stray: StrayObject[] = [];
  for (const o of objects.ours) {
    if (o.serviceKey) continue; // claimed by a spec service
    const handOver = o.kind === 'HelmRelease' && !!o.releaseKey && (await othersWaitFor(deps, ss, o.releaseKey, look));
    stray.push({ flux: o, handOver });
  }
  return { services: out, stray };
}

/** What the release-conflict verdicts read: templates (for the other services' type) and who wants what. */
interface Lookups {
  templateOf: TemplateOf;
  releases: () => Promise<ReleaseIndex>;
}

interface ContenderSs {
  ss: ServiceSet;
  service: Service;
  /** Reconciled by us (else by another provider, e.g. kcm's built-in ksm-projectsveltos). */
  ours: boolean;
}

/**
 * Other ServiceSets that want the same Helm release (same target, namespace and release name): ours, and those
 * of another provider. A ServiceSet naming our provider whose labels do not match its selector is nobody's.
 */
async function contendersFor(deps: Deps, ss: ServiceSet, releaseKey: string, look: Lookups): Promise<ContenderSs[]> {
  const out: ContenderSs[] = [];
  for (const { ss: other, service: svc } of (await look.releases()).wanting(releaseKey)) {
    if (other.metadata.uid === ss.metadata.uid) continue;
    if (serviceType(await look.templateOf(namespaceOf(other), svc.template)) !== 'Helm') continue;
    const ours = await deps.isOurs(other);
    if (!ours && other.spec.provider.name === ss.spec.provider.name) continue;
    out.push({ ss: other, service: svc, ours });
  }
  return out;
}

function priorityOf(ss: ServiceSet): number {
  const c = parseProviderConfig(ss.spec.provider.config);
  return c.ok ? c.config.priority : 0;
}

function asContender(ss: ServiceSet, priority: number): Contender {
  return {
    uid: ss.metadata.uid,
    namespace: namespaceOf(ss),
    name: ss.metadata.name,
    priority,
    createdAt: iso(ss.metadata.creationTimestamp),
    deleting: !!ss.metadata.deletionTimestamp,
  };
}

async function conflictFor(
  deps: Deps,
  ss: ServiceSet,
  svc: Service,
  priority: number,
  look: Lookups,
): Promise<ConflictInfo | undefined> {
  const rk = releaseKeyFor(ss, svc);
  const all = await contendersFor(deps, ss, rk, look);
  // No other ServiceSet wants it (a deleting one still counts until its objects are gone): no conflict,
  // and no API call for the common case.
  if (!all.length) return undefined;
  const others = all.filter((o) => o.ours);
  const waitingOf = (l: ContenderSs[]) =>
    l
      .filter((o) => !o.ss.metadata.deletionTimestamp)
      .map((o) => ({ namespace: namespaceOf(o.ss), name: o.ss.metadata.name }));
  const waiting = waitingOf(others);
  const me = asContender(ss, priority);
  const decided = releaseOwner(
    me,
    others.map((o) => asContender(o.ss, priorityOf(o.ss))),
    all
      .filter((o) => !o.ours)
      .map((o) => ({
        namespace: namespaceOf(o.ss),
        name: o.ss.metadata.name,
        provider: o.ss.spec.provider.name || DEFAULT_KCM_PROVIDER,
      })),
  );
  // Another provider deploys it too: we let go (hand over without uninstalling) and say who deploys it.
  if (decided.owner === 'foreign') return { winner: false, foreign: decided.claims, heldBy: [], waiting };
  if (decided.owner === 'ours') {
    const w = decided.winner;
    return {
      winner: false,
      owner: { namespace: w.namespace, name: w.name, priority: w.priority },
      heldBy: [],
      waiting,
    };
  }
  // Flux objects of other ServiceSets that hold this release right now.
  const scope = isSelfManagement(ss) ? undefined : ss.metadata.namespace;
  const holders = (await deps.client.list(paths.helmReleases(scope), `${LABEL_RELEASE_KEY}=${rk}`)).items
    .map((o) => observeFlux(o, 'HelmRelease'))
    .filter((o) => o.ownerUid !== ss.metadata.uid);
  return {
    winner: true,
    heldBy: holders.map((h) => ({ kind: h.kind, namespace: h.namespace, name: h.name })),
    waiting,
  };
}

async function othersWaitFor(deps: Deps, ss: ServiceSet, releaseKey: string, look: Lookups): Promise<boolean> {
  return (await contendersFor(deps, ss, releaseKey, look)).some((c) => c.ours && !c.ss.metadata.deletionTimestamp);
}
