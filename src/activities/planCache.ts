// Planning parses values YAML and hashes the result: not free (milliseconds for large values), and every
// observation of a settled ServiceSet would repeat it. Results are memoised by a digest of every input.
import crypto from 'node:crypto';
import type { Service, ServiceTemplate } from '../api/k0rdent';
import { planService, type PlanContext, type PlanResult } from '../core/plan';

const MAX_ENTRIES = 20_000;
const cache = new Map<string, PlanResult>();
export const planCacheStats = { hits: 0, misses: 0 };

function keyOf(ctx: PlanContext, service: Service, template: ServiceTemplate | undefined): string {
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
      ]),
    )
    .digest('base64');
}

/** planService, memoised. Results are shared: callers must not mutate them. */
export function planServiceCached(
  ctx: PlanContext,
  service: Service,
  template: ServiceTemplate | undefined,
): PlanResult {
  // Without a resourceVersion the template's content is not pinned down: do not cache.
  if (template && !template.metadata.resourceVersion) return planService(ctx, service, template);
  const key = keyOf(ctx, service, template);
  const hit = cache.get(key);
  if (hit) {
    planCacheStats.hits++;
    cache.delete(key); // refresh its place in the LRU order
    cache.set(key, hit);
    return hit;
  }
  planCacheStats.misses++;
  const r = planService(ctx, service, template);
  cache.set(key, r);
  if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  return r;
}
