// Timestamps from watches (never polling): when each HelmRelease first appears (applied) and when each ServiceSet
// first reports all its services Deployed. Also plays Flux: writes a HelmRelease's Ready status for the
// generation it holds, as helm-controller would after an install.
import { LABEL_SERVICESET } from '../../src/workflow/constants';
import type { KubeClient, KubeObject } from '../../src/kube/client';
import { Informer } from '../../src/kube/informer';
import { paths } from '../../src/kube/paths';

export class Tracker {
  /** HelmRelease name → ms (performance.now()) when first seen. */
  readonly appliedAt = new Map<string, number>();
  /** ServiceSet name → ms when it first had `services` services, all Deployed. */
  readonly deployedAt = new Map<string, number>();
  /** ServiceSet name → its HelmReleases seen so far. */
  readonly releasesOf = new Map<string, string[]>();
  readonly hr: Informer;
  readonly ss: Informer;
  private waiters: (() => void)[] = [];

  constructor(
    kube: KubeClient,
    readonly ns: string,
    private readonly services: number,
  ) {
    this.hr = new Informer(kube, paths.helmReleases(ns), { name: `bench-hr-${ns}` }).on((type, o) => {
      if (type !== 'add' || this.appliedAt.has(o.metadata.name)) return;
      this.appliedAt.set(o.metadata.name, performance.now());
      const owner = (o.metadata.labels as Record<string, string> | undefined)?.[LABEL_SERVICESET] ?? '';
      this.releasesOf.set(owner, [...(this.releasesOf.get(owner) ?? []), o.metadata.name]);
      this.wake();
    });
    this.ss = new Informer(kube, paths.serviceSets(ns), { name: `bench-ss-${ns}` }).on((type, o) => {
      if (type === 'delete' || this.deployedAt.has(o.metadata.name)) return;
      if (allDeployed(o, this.services)) {
        this.deployedAt.set(o.metadata.name, performance.now());
        this.wake();
      }
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.hr.start(), this.ss.start()]);
  }

  stop(): void {
    this.hr.stop();
    this.ss.stop();
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when pred() holds (checked on every event), rejects after timeoutMs with what it saw. */
  async until(what: string, pred: () => boolean, timeoutMs: number, progress?: () => string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`${what}: not reached after ${timeoutMs} ms (${progress?.() ?? ''})`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 5000));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  releases(ss: string): KubeObject[] {
    return (this.releasesOf.get(ss) ?? []).map((n) => this.hr.store.get(`${this.ns}/${n}`)).filter((o) => !!o);
  }
}

export function allDeployed(o: KubeObject, services: number): boolean {
  const st = (o as { status?: { services?: { state?: string }[] } }).status?.services ?? [];
  return st.length === services && st.every((s) => s.state === 'Deployed');
}

/** helm-controller's verdict after a successful install, for the generation the object holds. */
export async function playReady(kube: KubeClient, hr: KubeObject): Promise<void> {
  const gen = (hr.metadata.generation as number | undefined) ?? 1;
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await kube.mergePatch(
    `${paths.flux({ kind: 'HelmRelease', namespace: hr.metadata.namespace!, name: hr.metadata.name })}/status`,
    {
      status: {
        observedGeneration: gen,
        lastAttemptedGeneration: gen,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'InstallSucceeded',
            message: 'Helm install succeeded',
            observedGeneration: gen,
            lastTransitionTime: now,
          },
        ],
      },
    },
    'helm-controller',
  );
}
