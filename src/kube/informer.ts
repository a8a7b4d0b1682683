// List + watch with a local store. A relist (first start, 410 Gone, any watch failure) diffs against the
// store, so handlers see every creation, change and deletion that happened while we were not watching.
import type { KubeClient, KubeObject } from './client';
import { KubeError } from './client';
import { nextBackoff, WATCH_BACKOFF } from './reconnect';

export type InformerEvent = 'add' | 'update' | 'delete';
export type Handler<T> = (type: InformerEvent, obj: T, old?: T) => void;

export function objectKey(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly store = new Map<string, T>();
  /** label key → label value → store key → object, for the labels given in `indexLabels`. */
  private readonly indexes = new Map<string, Map<string, Map<string, T>>>();
  private handlers: Handler<T>[] = [];
  private abort = new AbortController();
  private running = false;
  synced = false;
  /** Watch streams (re)opened after the first: a measure of churn for metrics. */
  restarts = 0;
  lastError?: string;
  private syncedWaiters: (() => void)[] = [];

  constructor(
    private readonly client: KubeClient,
    readonly path: string,
    private readonly opts: {
      labelSelector?: string;
      /** Keep only metadata (PartialObjectMetadata): for Secrets, whose data must never sit in our memory. */
      metadataOnly?: boolean;
      name: string;
      watchTimeoutSeconds?: number;
      onError?: (e: unknown) => void;
      /**
       * Labels to index objects by, for `byLabel`: a worker's cache answers "the Flux objects of ServiceSet X"
       * on every pass, and a scan of the store per read grows with every ServiceSet (bench/reports).
       */
      indexLabels?: string[];
    } = { name: 'informer' },
  ) {
    for (const l of opts.indexLabels ?? []) this.indexes.set(l, new Map());
  }

  /** Keeps the store and its label indexes together. */
  private put(k: string, o: T, old: T | undefined): void {
    if (old) this.unindex(k, old);
    this.store.set(k, o);
    for (const [label, idx] of this.indexes) {
      const v = (o.metadata.labels as Record<string, string> | undefined)?.[label];
      if (v === undefined) continue;
      let m = idx.get(v);
      if (!m) idx.set(v, (m = new Map()));
      m.set(k, o);
    }
  }

  private remove(k: string, old: T): void {
    this.unindex(k, old);
    this.store.delete(k);
  }

  private unindex(k: string, old: T): void {
    for (const [label, idx] of this.indexes) {
      const v = (old.metadata.labels as Record<string, string> | undefined)?.[label];
      const m = v === undefined ? undefined : idx.get(v);
      if (!m) continue;
      m.delete(k);
      if (!m.size) idx.delete(v!);
    }
  }

  /** The stored objects whose label `label` is `value`, if that label is indexed (else undefined: scan). */
  byLabel(label: string, value: string): T[] | undefined {
    const idx = this.indexes.get(label);
    if (!idx) return undefined;
    const m = idx.get(value);
    return m ? [...m.values()] : [];
  }

  on(h: Handler<T>): this {
    this.handlers.push(h);
    return this;
  }

  /** Detaches a handler (an informer shared by several users outlives each of them). */
  off(h: Handler<T>): this {
    this.handlers = this.handlers.filter((x) => x !== h);
    return this;
  }

  private emit(type: InformerEvent, obj: T, old?: T) {
    for (const h of this.handlers) {
      try {
        h(type, obj, old);
      } catch (e) {
        this.opts.onError?.(e);
      }
    }
  }

  get name(): string {
    return this.opts.name;
  }

  get labelSelector(): string | undefined {
    return this.opts.labelSelector;
  }

  get metadataOnly(): boolean {
    return !!this.opts.metadataOnly;
  }

  list(): T[] {
    return [...this.store.values()];
  }

  /** Starts the loop; resolves once the first list has been applied to the store. */
  async start(): Promise<void> {
    if (!this.running) {
      this.running = true;
      void this.loop();
    }
    await this.waitSynced();
  }

  waitSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((r) => this.syncedWaiters.push(r));
  }

  stop(): void {
    this.running = false;
    this.abort.abort();
  }

  /**
   * Metadata-only stores keep identity and version only. Annotations go too: a `kubectl apply`-ed Secret
   * carries its whole content in last-applied-configuration; managedFields are most of the size.
   */
  private slim(o: T): T {
    if (!this.opts.metadataOnly || !o?.metadata) return o;
    const md = o.metadata as Record<string, unknown>;
    const keep: Record<string, unknown> = {};
    for (const k of ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp'])
      if (md[k] !== undefined) keep[k] = md[k];
    return { apiVersion: o.apiVersion, kind: o.kind, metadata: keep } as unknown as T;
  }

  private async relist(): Promise<string> {
    const res = await this.client.list<T>(this.path, this.opts.labelSelector, {
      metadataOnly: !!this.opts.metadataOnly,
    });
    const seen = new Set<string>();
    for (const item of res.items) {
      const o = this.slim(item);
      const k = objectKey(o);
      seen.add(k);
      const old = this.store.get(k);
      this.put(k, o, old);
      if (!old) this.emit('add', o);
      else if (old.metadata.resourceVersion !== o.metadata.resourceVersion) this.emit('update', o, old);
    }
    for (const [k, old] of [...this.store]) {
      if (!seen.has(k)) {
        this.remove(k, old);
        this.emit('delete', old);
      }
    }
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncedWaiters.splice(0)) w();
    }
    return res.metadata.resourceVersion;
  }

  private async loop(): Promise<void> {
    let backoff = WATCH_BACKOFF.minMs;
    let rv: string | undefined;
    while (this.running) {
      try {
        if (!rv) {
          rv = await this.relist();
          backoff = WATCH_BACKOFF.minMs; // the apiserver answers again: the next failure starts short
        }
        const before = rv;
        await this.client.watch(
          this.path,
          {
            resourceVersion: rv,
            labelSelector: this.opts.labelSelector,
            // Streams are renewed every 2 min: a silent one is noticed within 2.5 min (the client's idle limit).
            timeoutSeconds: this.opts.watchTimeoutSeconds ?? 120,
            metadataOnly: !!this.opts.metadataOnly,
          },
          (type, obj) => {
            const o = this.slim(obj as T);
            if (o.metadata?.resourceVersion) rv = o.metadata.resourceVersion;
            if (type === 'BOOKMARK') return;
            const k = objectKey(o);
            const old = this.store.get(k);
            if (type === 'DELETED') {
              if (old) this.remove(k, old);
              this.emit('delete', o);
            } else {
              this.put(k, o, old);
              this.emit(old ? 'update' : 'add', o, old);
            }
          },
          this.abort.signal,
        );
        if (!this.running) break;
        this.restarts++;
        if (rv === before) backoff = WATCH_BACKOFF.minMs; // a quiet stream that timed out normally
      } catch (e) {
        if (!this.running) break;
        this.restarts++;
        this.lastError = e instanceof Error ? e.message : String(e);
        if (e instanceof KubeError && e.status === 410) {
          rv = undefined; // too old: relist
          continue;
        }
        this.opts.onError?.(e);
        rv = undefined;
        await new Promise((r) => setTimeout(r, backoff));
        backoff = nextBackoff(backoff, WATCH_BACKOFF);
      }
    }
  }
}
