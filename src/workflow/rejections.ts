// What the API server refused to accept (schema or CEL validation of a Flux object we built), by service. A
// refusal is not retried on the same input — only a new input (another plan hash) or a manual retry tries
// again — and it shows in the status until then. Pure and workflow-safe.
import type { ApplyResult, Observation, PlanError } from './types';

export type Rejections = Record<string, PlanError & { hash?: string }>;

/** A manual retry forgets every refusal: the operator asks to try once more. */
export function afterRetry(r: Rejections, retry: boolean): Rejections {
  return retry ? {} : r;
}

/** An accepted apply clears its service's refusal; a refused one records it with the input it was made for. */
export function withApplyResults(r: Rejections, results: ApplyResult[]): Rejections {
  const out = { ...r };
  for (const x of results) {
    if (x.ok) delete out[x.key];
    else if (x.error) out[x.key] = { ...x.error, ...(x.hash ? { hash: x.hash } : {}) };
  }
  return out;
}

/** A refusal stands only while its service exists and plans to the same input it was made for. */
export function standing(r: Rejections, obs: Observation): Rejections {
  const out: Rejections = {};
  for (const [k, e] of Object.entries(r)) {
    const svc = obs.services.find((s) => s.key === k);
    if (svc && (e.hash === undefined || svc.desired?.hash === e.hash)) out[k] = e;
  }
  return out;
}
