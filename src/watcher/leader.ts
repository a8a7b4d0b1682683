// Leader election on a coordination.k8s.io/v1 Lease: one watcher replica acts, the others wait.
import { KubeError, type KubeClient } from '../kube/client';
import { paths } from '../kube/paths';
import type { Logger } from '../log';
import { describeError } from '../util/errorCause';
import { keepLeading } from '../kube/reconnect';

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  onStartedLeading: () => Promise<void> | void;
  onStoppedLeading: () => Promise<void> | void;
}

export class LeaderElector {
  private running = false;
  private leading = false;
  private timer?: NodeJS.Timeout;
  /** When the Lease was last acquired or renewed by us. */
  private renewedAt = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderOptions,
    private readonly log: Logger,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.running = true;
    void this.tick();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.leading) {
      this.leading = false;
      await this.opts.onStoppedLeading();
      await this.release().catch(() => undefined);
    }
  }

  private schedule(ms: number) {
    if (!this.running) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    const renewEvery = Math.max(500, Math.floor(this.opts.leaseDurationMs / 3));
    try {
      // The renewal counts from when it was sent: the Lease's renewTime is set then.
      const sentAt = Date.now();
      const ok = await this.tryAcquireOrRenew();
      if (ok) this.renewedAt = sentAt;
      if (ok && !this.leading) {
        this.leading = true;
        this.log.info(
          { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity },
          'became leader',
        );
        await this.opts.onStartedLeading();
      } else if (!ok && this.leading) {
        this.leading = false;
        this.log.warn({ lease: this.opts.name }, 'lost leadership');
        await this.opts.onStoppedLeading();
      }
    } catch (e) {
      this.log.warn({ lease: this.opts.name, ...describeError(e) }, 'leader election error');
      if (this.leading && !keepLeading(this.renewedAt, Date.now(), this.opts.leaseDurationMs)) {
        // Could not renew by the renew deadline: give up before someone else may take over.
        this.log.warn({ lease: this.opts.name }, 'lost leadership: could not renew the Lease');
        this.leading = false;
        await this.opts.onStoppedLeading();
      }
    }
    this.schedule(renewEvery);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const path = paths.lease(this.opts.namespace, this.opts.name);
    const durationS = Math.max(1, Math.round(this.opts.leaseDurationMs / 1000));
    const lease = await this.client.get<Lease>(path);
    if (!lease) {
      try {
        await this.client.create(paths.leases(this.opts.namespace), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.opts.name, namespace: this.opts.namespace },
          spec: {
            holderIdentity: this.opts.identity,
            leaseDurationSeconds: durationS,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        });
        return true;
      } catch (e) {
        if (e instanceof KubeError && e.conflict) return false;
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewed = spec.renewTime ? Date.parse(spec.renewTime) : 0;
    const expired = !holder || renewed + (spec.leaseDurationSeconds ?? durationS) * 1000 < now.getTime();
    if (holder !== this.opts.identity && !expired) return false;
    const next: Lease = {
      ...lease,
      spec: {
        holderIdentity: this.opts.identity,
        leaseDurationSeconds: durationS,
        acquireTime: holder === this.opts.identity && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === this.opts.identity ? 0 : 1),
      },
    };
    try {
      // PUT with the read resourceVersion: a concurrent writer makes this fail with 409.
      await this.client.update(path, next);
      return true;
    } catch (e) {
      if (e instanceof KubeError && e.conflict) return false;
      throw e;
    }
  }

  private async release(): Promise<void> {
    const path = paths.lease(this.opts.namespace, this.opts.name);
    const lease = await this.client.get<Lease>(path);
    if (!lease || lease.spec?.holderIdentity !== this.opts.identity) return;
    await this.client.update(path, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: '', renewTime: microTime(new Date()) },
    });
  }
}
