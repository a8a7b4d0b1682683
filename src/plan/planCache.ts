// Planning one service on the activity side: resolve its values (templates rendered, valuesFrom read; see
// src/values/), then plan. Planning parses values YAML and hashes the result: not free (milliseconds for large
// values), and every observation of a settled ServiceSet would repeat it, so plans are memoised by a digest of
// every input. Rendered values live only here, in the activity: the workflow gets digests.
import crypto from 'node:crypto';
import type { Service, ServiceTemplate } from '../api/k0rdent';
import { Lru } from '../util/lru';
import { planService, serviceType, type PlanContext, type PlanResult } from './plan';
import type { ResolvedValues } from '../values/parse';
import type { ObjectReader } from '../values/clusterObject';
import { ValuesResolver } from '../values/resolve';

const cache = new Lru<PlanResult>(20_000);

function keyOf(
  ctx: PlanContext,
  service: Service,
  template: ServiceTemplate | undefined,
  values: ResolvedValues | undefined,
): string {
  const ss = ctx.serviceSet;
  return crypto
    .createHash('sha256')
    .update(
      JSON.stringify([
        ss.metadata.uid,
        ss.metadata.name,
        ss.metadata.namespace,
        ss.spec.cluster,
        ss.spec.provider.selfManagement ?? false,
        ctx.config,
        ctx.paused,
        ctx.fluxMode,
        service,
        template ? [template.metadata.uid, template.metadata.resourceVersion, template.metadata.generation] : null,
        values ?? null,
      ]),
    )
    .digest('base64');
}

/** planService, memoised. Results are shared: callers must not mutate them. */
export function planServiceCached(
  ctx: PlanContext,
  service: Service,
  template: ServiceTemplate | undefined,
  values?: ResolvedValues,
): PlanResult {
  // Without a resourceVersion the template's content is not pinned down: do not cache.
  if (template && !template.metadata.resourceVersion) return planService(ctx, service, template, values);
  const key = keyOf(ctx, service, template, values);
  const hit = cache.get(key);
  if (hit) return hit;
  const r = planService(ctx, service, template, values);
  cache.add(key, r);
  return r;
}

/** Plans the services of one ServiceSet pass, resolving values first; reads shared inputs once. */
export class ServicePlanner {
  private readonly resolver: ValuesResolver;

  constructor(
    client: ObjectReader,
    private readonly ctx: PlanContext,
  ) {
    this.resolver = new ValuesResolver(client, ctx.serviceSet);
  }

  async plan(service: Service, template: ServiceTemplate | undefined): Promise<PlanResult> {
    const type = serviceType(template);
    // Template problems come first (they say what to fix before values matter).
    const bare = planServiceCached(this.ctx, service, template, { valuesFrom: [] });
    if (!bare.ok) return bare;
    const v = await this.resolver.resolve(service, type);
    if (!v.ok) return { ok: false, type, error: v.error };
    return planServiceCached(this.ctx, service, template, v.resolved);
  }
}
