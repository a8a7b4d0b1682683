// What activities need from the process: a Kubernetes client, our adapter identity, a view of all
// ServiceSets (for release conflicts), and a logger.
import { ServiceSet, StateManagementProvider, parseObject } from '../api/k0rdent';
import type { FluxMode } from '../workflow/fluxMode';
import { isSelfManagement } from '../plan/plan';
import type { CachedReader } from '../kube/cache';
import type { KubeClient, KubeObject } from '../kube/client';
import type { Informer } from '../kube/informer';
import { paths } from '../kube/paths';
import type { Logger } from '../log';
import { ownership } from './observe';

export interface Identity {
  name: string;
  namespace: string;
}

export interface ServiceSetSource {
  /** ServiceSets that could contend with `ss` for a release: same namespace, or every self-management one. */
  inNamespaceOrSelf(ss: ServiceSet): Promise<ServiceSet[]>;
}

export interface Deps {
  client: KubeClient;
  /** The worker's informer caches, for reads that may be a watch event behind (timer-driven passes). */
  cache?: CachedReader;
  identity: Identity;
  /** Which Flux reconciles what we write (--flux-mode): planning labels objects for it. */
  fluxMode: FluxMode;
  serviceSets: ServiceSetSource;
  /** Is this ServiceSet ours (SMP adapter identity and selector)? */
  isOurs(ss: ServiceSet): Promise<boolean>;
  logger: Logger;
  /** reportingInstance of our Events. */
  instance: string;
}

function parseAll(items: KubeObject[]): ServiceSet[] {
  const out: ServiceSet[] = [];
  for (const i of items) {
    try {
      out.push(parseObject(ServiceSet, i, 'ServiceSet'));
    } catch {
      /* unparsable objects cannot contend */
    }
  }
  return out;
}

function filterContenders(all: ServiceSet[], ss: ServiceSet): ServiceSet[] {
  const self = isSelfManagement(ss);
  return all.filter((o) =>
    self
      ? isSelfManagement(o)
      : !isSelfManagement(o) && o.metadata.namespace === ss.metadata.namespace && o.spec.cluster === ss.spec.cluster,
  );
}

/** Where a ServiceSet finds its contenders: its namespace and cluster, or every self-management one. */
function contenderGroup(ss: ServiceSet): string {
  return isSelfManagement(ss) ? '\0self' : `${ss.metadata.namespace ?? ''}\0${ss.spec.cluster ?? ''}`;
}

/**
 * The informer's ServiceSets parsed once per resourceVersion and grouped as contenders: a pass asks for the
 * few that share its cluster, not for every ServiceSet (parsing all of them per service made a pass O(N)).
 */
export class ContenderIndex {
  private readonly byKey = new Map<string, { rv?: string; uid: string; group: string; ss: ServiceSet }>();
  private readonly groups = new Map<string, Map<string, ServiceSet>>();

  constructor(informer: Informer) {
    informer.on((type, o) => (type === 'delete' ? this.remove(o) : this.put(o)));
    for (const o of informer.list()) this.put(o);
  }

  private put(o: KubeObject): void {
    const key = `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const prev = this.byKey.get(key);
    if (prev && prev.rv === o.metadata.resourceVersion && prev.uid === o.metadata.uid) return;
    this.remove(o);
    let ss: ServiceSet;
    try {
      ss = parseObject(ServiceSet, o, 'ServiceSet');
    } catch {
      return; // unparsable objects cannot contend
    }
    const group = contenderGroup(ss);
    this.byKey.set(key, { rv: o.metadata.resourceVersion, uid: ss.metadata.uid, group, ss });
    if (!this.groups.has(group)) this.groups.set(group, new Map());
    this.groups.get(group)!.set(key, ss);
  }

  private remove(o: KubeObject): void {
    const key = `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const prev = this.byKey.get(key);
    if (!prev) return;
    this.byKey.delete(key);
    const g = this.groups.get(prev.group);
    g?.delete(key);
    if (g && !g.size) this.groups.delete(prev.group);
  }

  contendersOf(ss: ServiceSet): ServiceSet[] {
    return [...(this.groups.get(contenderGroup(ss))?.values() ?? [])];
  }
}

/** Reads ServiceSets from an informer's store when it is synced, else lists them from the API. */
export function serviceSetSource(client: KubeClient, informer?: Informer): ServiceSetSource {
  const index = informer ? new ContenderIndex(informer) : undefined;
  return {
    async inNamespaceOrSelf(ss) {
      if (informer?.synced && index) return index.contendersOf(ss);
      const list = await client.list(
        isSelfManagement(ss) ? paths.serviceSets() : paths.serviceSets(ss.metadata.namespace),
      );
      return filterContenders(parseAll(list.items), ss);
    },
  };
}

/** SMP ownership with a short cache: contender checks ask it for many ServiceSets in one pass. */
export function ownershipChecker(
  client: KubeClient,
  identity: Identity,
  ttlMs = 5000,
): (ss: ServiceSet) => Promise<boolean> {
  const cache = new Map<string, { at: number; smp?: StateManagementProvider }>();
  return async (ss) => {
    const name = ss.spec.provider.name;
    let hit = cache.get(name);
    if (!hit || Date.now() - hit.at > ttlMs) {
      const raw = name ? await client.get(paths.smp(name)) : undefined;
      hit = {
        at: Date.now(),
        ...(raw ? { smp: parseObject(StateManagementProvider, raw, `StateManagementProvider ${name}`) } : {}),
      };
      cache.set(name, hit);
    }
    return ownership(hit.smp, ss, identity).owned;
  };
}
