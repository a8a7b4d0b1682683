// The watcher decides nothing: it maps events (ServiceSets, SMPs, ServiceTemplates, our HelmReleases and
// Kustomizations, and the Secrets/ConfigMaps ServiceSets reference) to the ServiceSets they concern and
// signal-with-starts their workflows.
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import {
  FINALIZER,
  LABEL_MANAGED_BY,
  LABEL_RELEASE_KEY,
  LABEL_SERVICESET_UID,
  MANAGED_BY,
  WORKFLOW_ID_ANNOTATION,
  workflowIdFor,
} from '../workflow/constants';
import { ServiceSet, StateManagementProvider, parseObject } from '../api/k0rdent';
import { ownership } from '../ownership/ownership';
import { ReleaseIndex } from '../ownership/releaseIndex';
import { clusterRefFor, namespaceOf } from '../plan/plan';
import { ReferenceIndex, referencesOf } from '../plan/references';
import { startSearchAttributes, toPairs } from '../workflow/searchAttributes';
import type { ServiceSetRef } from '../workflow/types';
import type { KubeClient, KubeObject } from '../kube/client';
import { Informer, type Handler, type InformerEvent } from '../kube/informer';
import { paths } from '../kube/paths';
import type { Logger } from '../log';
import { m } from '../metrics';
import { changedSignal, type ServiceSetWorkflowInput, type Timing } from '../workflow/defs';
import { describeError } from '../util/errorCause';

export interface WatcherOptions {
  identity: { name: string; namespace: string };
  taskQueue: string;
  timing?: Partial<Timing>;
  signalConcurrency: number;
}

interface Pending {
  ref: ServiceSetRef;
  kind: string;
  resourceVersion?: string;
  /** Only signal a running workflow; never start one (e.g. the ServiceSet is gone). */
  signalOnly: boolean;
}

function safeParse<T>(schema: Parameters<typeof parseObject<T>>[0], o: KubeObject): T | undefined {
  try {
    return parseObject(schema, o, o.kind ?? 'object');
  } catch {
    return undefined;
  }
}

/**
 * What can change the outcome of a pass; a status-only update (our own writes) leaves it unchanged, and so does
 * our finalizer and workflow-id annotation appearing (the workflow added them and went on). `like` is the
 * object compared with: what it carries of ours is left out of both, so their removal still counts.
 */
export function fingerprint(o: KubeObject, like: KubeObject = o): string {
  const md = o.metadata as Record<string, unknown>;
  const likeMd = like.metadata as { finalizers?: string[]; annotations?: Record<string, string> };
  const ourFinalizer = (likeMd.finalizers ?? []).includes(FINALIZER);
  const ourAnnotation = likeMd.annotations?.[WORKFLOW_ID_ANNOTATION];
  const finalizers = ((md.finalizers as string[] | undefined) ?? []).filter((f) => !ourFinalizer || f !== FINALIZER);
  const annotations = Object.entries((md.annotations as Record<string, string> | undefined) ?? {}).filter(
    ([k, v]) => !(k === WORKFLOW_ID_ANNOTATION && v === ourAnnotation),
  );
  return JSON.stringify([md.generation, md.deletionTimestamp, md.labels ?? {}, annotations, finalizers]);
}

/**
 * Informers another component of the process already runs (the worker, in `ksm-flux run`): the watcher reads
 * their stores and events instead of watching the same resources again. They must watch what the watcher's own
 * would (same paths, label selectors, metadata-only Secrets); the watcher never stops them.
 */
export interface SharedInformers {
  serviceSets?: Informer;
  smps?: Informer;
  templates?: Informer;
  helmReleases?: Informer;
  kustomizations?: Informer;
  secrets?: Informer;
}

export class Watcher {
  readonly serviceSets: Informer;
  readonly smps: Informer;
  readonly templates: Informer;
  readonly helmReleases: Informer;
  readonly kustomizations: Informer;
  /** Metadata only (no Secret data in memory): kubeconfig Secrets and valuesFrom objects appearing or changing. */
  readonly secrets: Informer;
  readonly configMaps: Informer;
  /** Which ServiceSets reference each Secret/ConfigMap (src/plan/references). */
  readonly references = new ReferenceIndex();
  /** Parsed ServiceSets by uid, and which of them want each Helm release. */
  readonly releases = new ReleaseIndex();
  private pending = new Map<string, Pending>();
  private inFlight = 0;
  private running = false;
  private idleWaiters: (() => void)[] = [];
  /** Playing a shared informer's store to our handlers: treated as its first list. */
  private replaying = false;
  /** Our handler on each informer, and whether the informer is shared (then it had synced before we came). */
  private readonly subscriptions = new Map<
    Informer,
    { handler: Handler<KubeObject>; shared: boolean; replay: boolean }
  >();
  /** Signals sent (for tests and metrics). */
  sent = 0;

  constructor(
    private readonly kube: KubeClient,
    private readonly temporal: Client,
    private readonly opts: WatcherOptions,
    private readonly log: Logger,
    shared: SharedInformers = {},
  ) {
    const onError = (name: string) => (e: unknown) =>
      this.log.warn({ resource: name, ...describeError(e) }, 'watch error; relisting');
    const ours = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
    const informer = (
      sharedOne: Informer | undefined,
      path: string,
      name: string,
      o: { labelSelector?: string; metadataOnly?: boolean },
      handler: Handler<KubeObject>,
    ): Informer => {
      const i = sharedOne ?? new Informer(kube, path, { name, ...o, onError: onError(name) });
      // A shared informer that has synced emitted its objects before we listened: start() replays its store.
      this.subscriptions.set(i, { handler, shared: !!sharedOne, replay: !!sharedOne && sharedOne.synced });
      i.on(handler);
      return i;
    };
    this.serviceSets = informer(shared.serviceSets, paths.serviceSets(), 'servicesets', {}, (t, o, old) =>
      this.onServiceSet(t, o, old),
    );
    this.smps = informer(shared.smps, paths.smps(), 'statemanagementproviders', {}, (t, o, old) =>
      this.onSmp(t, o, old),
    );
    this.templates = informer(shared.templates, paths.serviceTemplates(), 'servicetemplates', {}, (t, o) =>
      this.onTemplate(t, o),
    );
    this.helmReleases = informer(
      shared.helmReleases,
      paths.helmReleases(),
      'helmreleases',
      { labelSelector: ours },
      (t, o) => this.onFlux(t, o),
    );
    this.kustomizations = informer(
      shared.kustomizations,
      paths.kustomizations(),
      'kustomizations',
      { labelSelector: ours },
      (t, o) => this.onFlux(t, o),
    );
    this.secrets = informer(shared.secrets, paths.secrets(), 'secrets', { metadataOnly: true }, (t, o, old) =>
      this.onReferenced('Secret', t, o, old),
    );
    this.configMaps = informer(undefined, paths.configMaps(), 'configmaps', { metadataOnly: true }, (t, o, old) =>
      this.onReferenced('ConfigMap', t, o, old),
    );
  }

  private informers(): Informer[] {
    return [
      this.smps,
      this.templates,
      this.helmReleases,
      this.kustomizations,
      this.secrets,
      this.configMaps,
      this.serviceSets,
    ];
  }

  get synced(): boolean {
    return this.informers().every((i) => i.synced);
  }

  /** Starts an informer (a shared one is running already: its store is played to us as additions). */
  private async begin(i: Informer): Promise<void> {
    await i.start();
    const sub = this.subscriptions.get(i);
    if (!sub?.replay) return;
    this.replaying = true;
    try {
      for (const o of i.list()) sub.handler('add', o);
    } finally {
      this.replaying = false;
    }
  }

  /** Starts all informers; SMPs first so the first ServiceSet list can be judged. Resolves when synced. */
  async start(): Promise<void> {
    this.running = true;
    await this.begin(this.smps);
    await Promise.all(
      [this.templates, this.helmReleases, this.kustomizations, this.secrets, this.configMaps].map((i) => this.begin(i)),
    );
    await this.begin(this.serviceSets);
    this.log.info({ serviceSets: this.serviceSets.store.size, smps: this.smps.store.size }, 'watcher synced');
  }

  stop(): void {
    this.running = false;
    for (const [i, sub] of this.subscriptions) {
      if (sub.shared) i.off(sub.handler);
      else i.stop();
    }
    // Not sent: whoever watches next lists every ServiceSet again and signals each of them.
    this.pending.clear();
    if (!this.inFlight) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Watch streams reopened per resource (read by the metrics endpoint), by the watcher's names for them. */
  restartCounts(): Record<string, number> {
    return {
      statemanagementproviders: this.smps.restarts,
      servicetemplates: this.templates.restarts,
      helmreleases: this.helmReleases.restarts,
      kustomizations: this.kustomizations.restarts,
      secrets: this.secrets.restarts,
      configmaps: this.configMaps.restarts,
      servicesets: this.serviceSets.restarts,
    };
  }

  private smpFor(ss: ServiceSet): StateManagementProvider | undefined {
    const raw = this.smps.store.get(ss.spec.provider.name);
    return raw ? safeParse(StateManagementProvider, raw) : undefined;
  }

  /** Ours if our SMP owns it, or if it carries our finalizer (we must finalize it). */
  private relevant(ss: ServiceSet): boolean {
    if ((ss.metadata.finalizers ?? []).includes(FINALIZER)) return true;
    return ownership(this.smpFor(ss), ss, this.opts.identity).owned;
  }

  private refOf(ss: ServiceSet): ServiceSetRef {
    return { uid: ss.metadata.uid, namespace: namespaceOf(ss), name: ss.metadata.name };
  }

  private index(ss: ServiceSet | undefined, uid: string): void {
    this.references.set(uid, ss ? referencesOf(ss) : undefined);
    if (ss) this.releases.put(ss);
    else this.releases.remove(uid);
  }

  /** Other ServiceSets of ours that want one of these releases: a change here may change who owns it. */
  private signalContenders(keys: string[], exceptUid: string | undefined, kind: string): void {
    const others = new Map<string, ServiceSet>();
    for (const k of keys)
      for (const w of this.releases.wanting(k))
        if (w.ss.metadata.uid !== exceptUid) others.set(w.ss.metadata.uid, w.ss);
    for (const other of others.values())
      if (this.relevant(other)) this.enqueue({ ref: this.refOf(other), kind, signalOnly: false });
  }

  private onServiceSet(type: InformerEvent, o: KubeObject, old?: KubeObject): void {
    const uid = o.metadata.uid ?? '';
    // Past the first list (a replayed store is one): a change may concern the contenders.
    const listed = this.serviceSets.synced && !this.replaying;
    const ss = safeParse(ServiceSet, o);
    const before = this.releases.keysOf(uid);
    if (type === 'delete' || !ss) {
      this.index(undefined, uid);
      if (ss) this.enqueue({ ref: this.refOf(ss), kind: 'ServiceSet', signalOnly: true });
      this.signalContenders(before, uid, 'Contender');
      return;
    }
    this.index(ss, uid);
    if (type === 'update' && old && fingerprint(old, o) === fingerprint(o)) return;
    if (this.relevant(ss)) {
      this.enqueue({
        ref: this.refOf(ss),
        kind: 'ServiceSet',
        resourceVersion: o.metadata.resourceVersion,
        signalOnly: false,
      });
      // Its claims (priority, services, deletion) may change who owns a contested release.
      if (listed) this.signalContenders([...before, ...this.releases.keysOf(uid)], uid, 'Contender');
    } else if (listed) {
      // Another provider's ServiceSet claiming (or dropping) a release of ours: ours yield or take it back.
      this.signalContenders([...before, ...this.releases.keysOf(uid)], uid, 'ForeignContender');
    }
  }

  private onSmp(type: InformerEvent, o: KubeObject, old?: KubeObject): void {
    if (type === 'update' && old && JSON.stringify([old.spec, old.status]) === JSON.stringify([o.spec, o.status]))
      return;
    for (const ss of this.releases.serviceSets()) {
      if (ss.spec.provider.name === o.metadata.name && this.relevant(ss)) {
        this.enqueue({
          ref: this.refOf(ss),
          kind: 'StateManagementProvider',
          resourceVersion: o.metadata.resourceVersion,
          signalOnly: false,
        });
      }
    }
  }

  private onTemplate(_type: InformerEvent, o: KubeObject): void {
    for (const ss of this.releases.serviceSets()) {
      if (ss.metadata.namespace !== o.metadata.namespace) continue;
      if ((ss.spec.services ?? []).some((s) => s.template === o.metadata.name) && this.relevant(ss)) {
        this.enqueue({
          ref: this.refOf(ss),
          kind: 'ServiceTemplate',
          resourceVersion: o.metadata.resourceVersion,
          signalOnly: false,
        });
      }
    }
  }

  /** A Secret/ConfigMap a ServiceSet references appeared, changed or went: what it awaited may be there now. */
  private onReferenced(kind: 'Secret' | 'ConfigMap', type: InformerEvent, o: KubeObject, old?: KubeObject): void {
    if (type === 'update' && old?.metadata.resourceVersion === o.metadata.resourceVersion) return;
    for (const uid of this.references.referencing(kind, o.metadata.namespace ?? '', o.metadata.name)) {
      const ss = this.releases.get(uid);
      if (ss && this.relevant(ss))
        this.enqueue({
          ref: this.refOf(ss),
          kind,
          resourceVersion: o.metadata.resourceVersion,
          signalOnly: false,
        });
    }
  }

  private onFlux(type: InformerEvent, o: KubeObject): void {
    const labels = (o.metadata.labels as Record<string, string> | undefined) ?? {};
    const uid = labels[LABEL_SERVICESET_UID];
    const owner = (
      (o.metadata.ownerReferences as { uid: string; name: string; kind: string }[] | undefined) ?? []
    ).find((r) => r.uid === uid);
    // An object appearing is our own apply (we create every object labelled ours): the workflow that applied it
    // knows. Its status changes (Flux taking it up) and its deletion are news.
    if (uid && owner && type !== 'add') {
      this.enqueue({
        ref: { uid, namespace: o.metadata.namespace ?? 'default', name: owner.name },
        kind: o.kind ?? 'Flux',
        resourceVersion: o.metadata.resourceVersion,
        signalOnly: true,
      });
    }
    // A release changing hands: the other ServiceSets that want it may act now.
    const rk = labels[LABEL_RELEASE_KEY];
    if (rk && type === 'delete') this.signalContenders([rk], uid, 'ReleaseReleased');
  }

  private enqueue(p: Pending): void {
    if (!this.running) return;
    const prev = this.pending.get(p.ref.uid);
    // Coalesce: latest wins; a start request is never downgraded to signal-only.
    this.pending.set(p.ref.uid, prev ? { ...p, signalOnly: prev.signalOnly && p.signalOnly } : p);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.opts.signalConcurrency && this.pending.size) {
      const [uid, p] = this.pending.entries().next().value as [string, Pending];
      this.pending.delete(uid);
      this.inFlight++;
      void this.send(p).finally(() => {
        this.inFlight--;
        this.pump();
        if (!this.inFlight && !this.pending.size) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  /** Resolves when every queued signal has been sent (tests). */
  idle(): Promise<void> {
    if (!this.inFlight && !this.pending.size) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** A new run is findable by cluster and state before its first pass (src/workflow/searchAttributes). */
  private startAttributes(ref: ServiceSetRef) {
    const ss = this.releases.get(ref.uid);
    if (!ss) return undefined;
    return toPairs(
      startSearchAttributes({
        ref,
        cluster: clusterRefFor(ss).name,
        provider: ss.spec.provider.name,
        deleting: !!ss.metadata.deletionTimestamp,
        specServices: (ss.spec.services ?? []).length,
        storedStates: (ss.status?.services ?? []).map((e) => e.state),
      }),
    );
  }

  private async send(p: Pending): Promise<void> {
    const workflowId = workflowIdFor(p.ref.uid);
    const signal = { kind: p.kind, ...(p.resourceVersion ? { resourceVersion: p.resourceVersion } : {}) };
    try {
      if (p.signalOnly) {
        await this.temporal.workflow.getHandle(workflowId).signal(changedSignal, signal);
      } else {
        const input: ServiceSetWorkflowInput = {
          ref: p.ref,
          ...(this.opts.timing ? { timing: this.opts.timing } : {}),
        };
        const typedSearchAttributes = this.startAttributes(p.ref);
        await this.temporal.workflow.signalWithStart('serviceSetWorkflow', {
          workflowId,
          taskQueue: this.opts.taskQueue,
          args: [input],
          signal: changedSignal,
          signalArgs: [signal],
          memo: { serviceSet: `${p.ref.namespace}/${p.ref.name}` },
          staticSummary: `ServiceSet ${p.ref.namespace}/${p.ref.name}`,
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          ...(typedSearchAttributes ? { typedSearchAttributes } : {}),
        });
      }
      this.sent++;
      m.workflowStarts.inc({ kind: p.kind });
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return; // signal-only and nothing running: fine
      m.signalErrors.inc();
      this.log.warn(
        { serviceSet: `${p.ref.namespace}/${p.ref.name}`, workflowId, ...describeError(e) },
        'signal failed; retrying',
      );
      // Keep the request: Temporal may be briefly unavailable.
      setTimeout(() => this.enqueue(p), 2000).unref();
    }
  }
}
