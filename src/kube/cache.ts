// Reads answered from informer stores the way the API would answer them, falling back to the API for what the
// stores cannot answer (a kind without an informer, one not synced yet, a selector they do not cover). A store is
// a watch event behind the API: callers use it only where that cannot mislead them (timer-driven safety-net
// passes), never right after their own writes.
import type { KubeObject, ListResult } from './client';
import type { Informer } from './informer';

export interface Reader {
  get<T = KubeObject>(path: string): Promise<T | undefined>;
  list<T = KubeObject>(path: string, labelSelector?: string): Promise<ListResult<T>>;
}

/** `/apis/G/V[/namespaces/NS]/RESOURCE[/NAME]` or `/api/v1/...`. */
const PATH = /^(\/apis\/[^/]+\/[^/]+|\/api\/v1)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/;

interface Parsed {
  collection: string;
  namespace?: string;
  name?: string;
}

export function parsePath(path: string): Parsed | undefined {
  const m = PATH.exec(path);
  if (!m || (m[2] === undefined && m[3] === 'namespaces' && m[4] !== undefined)) return undefined;
  const dec = (s: string | undefined) => (s === undefined ? undefined : decodeURIComponent(s));
  return {
    collection: `${m[1]}/${m[3]}`,
    ...(m[2] !== undefined ? { namespace: dec(m[2]) } : {}),
    ...(m[4] !== undefined ? { name: dec(m[4]) } : {}),
  };
}

/** Equality-only selectors (`a=b,c=d`), the only kind we send; anything else is left to the API. */
export function parseEqualitySelector(sel: string | undefined): Map<string, string> | undefined {
  const out = new Map<string, string>();
  if (!sel) return out;
  for (const term of sel.split(',')) {
    const m = /^\s*([^=!\s(),]+)\s*==?\s*([^=!\s(),]*)\s*$/.exec(term);
    if (!m) return undefined;
    out.set(m[1]!, m[2]!);
  }
  return out;
}

function matches(o: KubeObject, sel: Map<string, string>): boolean {
  const labels = (o.metadata.labels as Record<string, string> | undefined) ?? {};
  for (const [k, v] of sel) if (labels[k] !== v) return false;
  return true;
}

export class CachedReader implements Reader {
  private readonly stores = new Map<string, { informer: Informer; selector: Map<string, string> }>();
  /** Reads answered from a store, and those passed on to the API (for tests and metrics). */
  readonly stats = { hits: 0, misses: 0 };

  constructor(
    private readonly api: Reader,
    informers: Informer[],
  ) {
    for (const i of informers) {
      const p = parsePath(i.path);
      const selector = parseEqualitySelector(i.labelSelector);
      // Metadata-only stores hold no content: they cannot stand in for a get (see head()).
      if (p && !p.namespace && !p.name && selector) this.stores.set(p.collection, { informer: i, selector });
    }
  }

  private storeFor(path: string): { p: Parsed; informer: Informer; selector: Map<string, string> } | undefined {
    const p = parsePath(path);
    const s = p && this.stores.get(p.collection);
    if (!p || !s || !s.informer.synced) return undefined;
    return { p, ...s };
  }

  async get<T = KubeObject>(path: string): Promise<T | undefined> {
    const s = this.storeFor(path);
    if (s && s.p.name && !s.informer.metadataOnly) {
      const key = s.p.namespace ? `${s.p.namespace}/${s.p.name}` : s.p.name;
      const o = s.informer.store.get(key);
      // A filtered store does not hold what its selector leaves out: a miss there says nothing.
      if (o || !s.selector.size) {
        this.stats.hits++;
        return o as T | undefined;
      }
    }
    this.stats.misses++;
    return this.api.get<T>(path);
  }

  async list<T = KubeObject>(path: string, labelSelector?: string): Promise<ListResult<T>> {
    const s = this.storeFor(path);
    const want = parseEqualitySelector(labelSelector);
    const covered =
      s && !s.p.name && !s.informer.metadataOnly && want && [...s.selector].every(([k, v]) => want.get(k) === v);
    if (!s || !covered) {
      this.stats.misses++;
      return this.api.list<T>(path, labelSelector);
    }
    this.stats.hits++;
    // An indexed label in the selector narrows the candidates to its objects (Informer.byLabel).
    let candidates: KubeObject[] | undefined;
    for (const [k, v] of want) if ((candidates = s.informer.byLabel(k, v))) break;
    const items = (candidates ?? s.informer.list()).filter(
      (o) => (s.p.namespace === undefined || o.metadata.namespace === s.p.namespace) && matches(o, want),
    );
    return { metadata: { resourceVersion: '' }, items: items as unknown as T[] };
  }

  /**
   * An object's metadata (identity, resourceVersion; nothing else is promised), from a store (metadata-only
   * ones too) when it can tell, else from the API. Says whether a Secret exists and which version it is.
   */
  async head(path: string): Promise<KubeObject | undefined> {
    const p = parsePath(path);
    const s = p && this.stores.get(p.collection);
    if (p?.name && s?.informer.synced && !s.selector.size) {
      this.stats.hits++;
      const o = s.informer.store.get(p.namespace ? `${p.namespace}/${p.name}` : p.name);
      return o && { metadata: o.metadata };
    }
    this.stats.misses++;
    const o = await this.api.get(path);
    return o && { metadata: o.metadata };
  }
}
