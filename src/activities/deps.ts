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
import { ownership } from '../ownership/ownership';
import { ReleaseIndex } from '../ownership/releaseIndex';

export interface Identity {
  name: string;
  namespace: string;
}

export interface ServiceSetSource {
  /** A release index holding at least every ServiceSet that could contend with `ss` for a release. */
  releasesAround(ss: ServiceSet): Promise<ReleaseIndex>;
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

/** The ServiceSets an informer holds, in a release index: each parsed once per resourceVersion. */
export function informerReleaseIndex(informer: Informer): ReleaseIndex {
  const index = new ReleaseIndex();
  const versions = new Map<string, string | undefined>();
  const put = (o: KubeObject) => {
    const uid = o.metadata.uid ?? '';
    if (versions.has(uid) && versions.get(uid) === o.metadata.resourceVersion) return;
    versions.set(uid, o.metadata.resourceVersion);
    const ss = parseServiceSet(o);
    if (ss) index.put(ss);
    else index.remove(uid); // unparsable objects cannot contend
  };
  informer.on((type, o) => {
    if (type !== 'delete') return put(o);
    versions.delete(o.metadata.uid ?? '');
    index.remove(o.metadata.uid ?? '');
  });
  for (const o of informer.list()) put(o);
  return index;
}

function parseServiceSet(o: KubeObject): ServiceSet | undefined {
  try {
    return parseObject(ServiceSet, o, 'ServiceSet');
  } catch {
    return undefined;
  }
}

/**
 * Who wants which release around a ServiceSet: the informer's index when it is synced, else an index of one API
 * list of the ServiceSets that could contend (its namespace, or every ServiceSet for a self-management one).
 */
export function serviceSetSource(client: KubeClient, informer?: Informer): ServiceSetSource {
  const index = informer ? informerReleaseIndex(informer) : undefined;
  return {
    async releasesAround(ss) {
      if (informer?.synced && index) return index;
      const list = await client.list(
        isSelfManagement(ss) ? paths.serviceSets() : paths.serviceSets(ss.metadata.namespace),
      );
      const listed = new ReleaseIndex();
      for (const o of list.items) {
        const other = parseServiceSet(o);
        if (other) listed.put(other);
      }
      return listed;
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
