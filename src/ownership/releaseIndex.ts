// Who wants which Helm release: the ServiceSets a process knows, by uid, with the release keys their services
// want (the target cluster, the release namespace and name; src/plan/names.ts). The watcher asks it whom a change
// may concern; the observe activity asks it who contends with a ServiceSet. Pure: whoever holds the ServiceSets
// (an informer, or one API list) feeds it.
import type { Service, ServiceSet } from '../api/k0rdent';
import { namespaceOf, releaseKeyFor } from '../plan/plan';

export interface ReleaseWant {
  ss: ServiceSet;
  service: Service;
}

/** The releases a ServiceSet's services want; an Uninstall service wants none. */
export function wantedReleases(ss: ServiceSet): { key: string; service: Service }[] {
  return (ss.spec.services ?? [])
    .filter((s) => s.helmAction !== 'Uninstall')
    .map((service) => ({ key: releaseKeyFor(ss, service), service }));
}

const nameOf = (ss: ServiceSet) => `${namespaceOf(ss)}/${ss.metadata.name}`;

export class ReleaseIndex {
  private readonly byUid = new Map<string, { ss: ServiceSet; wants: { key: string; service: Service }[] }>();
  private readonly byKey = new Map<string, Set<string>>();

  /** Adds or replaces a ServiceSet (by uid). */
  put(ss: ServiceSet): void {
    this.remove(ss.metadata.uid);
    const wants = wantedReleases(ss);
    this.byUid.set(ss.metadata.uid, { ss, wants });
    for (const { key } of wants) {
      let uids = this.byKey.get(key);
      if (!uids) this.byKey.set(key, (uids = new Set()));
      uids.add(ss.metadata.uid);
    }
  }

  remove(uid: string): void {
    const prev = this.byUid.get(uid);
    if (!prev) return;
    this.byUid.delete(uid);
    for (const { key } of prev.wants) {
      const uids = this.byKey.get(key);
      uids?.delete(uid);
      if (uids && !uids.size) this.byKey.delete(key);
    }
  }

  get(uid: string): ServiceSet | undefined {
    return this.byUid.get(uid)?.ss;
  }

  get size(): number {
    return this.byUid.size;
  }

  serviceSets(): ServiceSet[] {
    return [...this.byUid.values()].map((e) => e.ss);
  }

  /** The release keys a known ServiceSet wants (none for one it does not know). */
  keysOf(uid: string): string[] {
    return (this.byUid.get(uid)?.wants ?? []).map((w) => w.key);
  }

  /** Every service that wants this release, ordered by ServiceSet namespace/name (as the API lists them). */
  wanting(releaseKey: string): ReleaseWant[] {
    const out: ReleaseWant[] = [];
    for (const uid of this.byKey.get(releaseKey) ?? []) {
      const e = this.byUid.get(uid)!;
      for (const w of e.wants) if (w.key === releaseKey) out.push({ ss: e.ss, service: w.service });
    }
    return out.sort((a, b) => (nameOf(a.ss) < nameOf(b.ss) ? -1 : nameOf(a.ss) > nameOf(b.ss) ? 1 : 0));
  }
}
