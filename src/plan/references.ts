// Which Secrets and ConfigMaps a ServiceSet's outcome depends on, and the reverse index the watcher keeps so
// that a change to one of them wakes exactly the ServiceSets that reference it. Pure and workflow-safe.
//
// A ServiceSet references: the target cluster's kubeconfig Secret `<cluster>-kubeconfig` (unless it manages
// the management cluster itself), and every `spec.services[].valuesFrom` entry (always in the ServiceSet's
// namespace, as kcm's built-in adapter forces it).
import type { ServiceSet } from '../api/k0rdent';
import { namespaceOf } from './plan';

export type ReferencedKind = 'Secret' | 'ConfigMap';

export interface ObjectReference {
  kind: ReferencedKind;
  namespace: string;
  name: string;
  /** Why the ServiceSet needs it (for logs and signals). */
  role: 'kubeconfig' | 'valuesFrom';
}

export function referenceKey(r: { kind: string; namespace: string; name: string }): string {
  return `${r.kind}/${r.namespace}/${r.name}`;
}

/** Every Secret/ConfigMap a ServiceSet references, without duplicates, in a stable order. */
export function referencesOf(ss: ServiceSet): ObjectReference[] {
  const ns = namespaceOf(ss);
  const out = new Map<string, ObjectReference>();
  const add = (r: ObjectReference) => {
    if (r.name && !out.has(referenceKey(r))) out.set(referenceKey(r), r);
  };
  if (!ss.spec.provider.selfManagement && ss.spec.cluster)
    add({ kind: 'Secret', namespace: ns, name: `${ss.spec.cluster}-kubeconfig`, role: 'kubeconfig' });
  for (const svc of ss.spec.services ?? [])
    for (const v of svc.valuesFrom ?? []) add({ kind: v.kind, namespace: ns, name: v.name, role: 'valuesFrom' });
  return [...out.values()];
}

/** Reverse index: referenced object → uids of the ServiceSets that reference it. */
export class ReferenceIndex {
  private byKey = new Map<string, Set<string>>();
  private byUid = new Map<string, string[]>();

  /** Replaces what `uid` references (an empty list, or undefined, forgets it). */
  set(uid: string, refs: readonly { kind: string; namespace: string; name: string }[] | undefined): void {
    for (const k of this.byUid.get(uid) ?? []) {
      const s = this.byKey.get(k);
      s?.delete(uid);
      if (s && !s.size) this.byKey.delete(k);
    }
    this.byUid.delete(uid);
    if (!refs?.length) return;
    const keys = [...new Set(refs.map(referenceKey))];
    this.byUid.set(uid, keys);
    for (const k of keys) {
      let s = this.byKey.get(k);
      if (!s) this.byKey.set(k, (s = new Set()));
      s.add(uid);
    }
  }

  /** uids of the ServiceSets referencing this object. */
  referencing(kind: string, namespace: string, name: string): string[] {
    return [...(this.byKey.get(referenceKey({ kind, namespace, name })) ?? [])];
  }

  /** Number of distinct referenced objects (for tests and metrics). */
  get size(): number {
    return this.byKey.size;
  }
}
