// What the state query, the retry update and the pass metrics say about a ServiceSet: the written status seen
// through the observation (which Flux object serves each service) and the self-healing outlook. Pure and
// workflow-safe.
import type { ServiceState } from './constants';
import type { HealDecision } from './decide';
import type { Counters, LiveState, RetryOutcome, ServiceLiveState } from './defs';
import type { Observation, StatusView } from './types';

export function serviceLiveStates(status: StatusView, obs: Observation, heal?: HealDecision): ServiceLiveState[] {
  return status.services.map((e): ServiceLiveState => {
    const key = `${e.namespace}/${e.name}`;
    const svc = obs.services.find((s) => s.key === key);
    const f = svc?.flux ?? svc?.desired?.ref;
    // Only a failure has a retry outlook worth showing.
    const h = e.state === 'Failed' ? heal?.outlook[key] : undefined;
    return {
      key,
      state: e.state,
      ...(e.failureMessage ? { message: e.failureMessage } : {}),
      ...(e.version ? { version: e.version } : {}),
      ...(f ? { flux: `${f.kind}/${f.name}` } : {}),
      ...(h?.nextRetryAt ? { nextRetryAt: h.nextRetryAt } : {}),
      ...(h ? { failures: h.failures } : {}),
    };
  });
}

/** What a retry update answers for the pass that started at `requestedAt`. */
export function passOutcome(requestedAt: string, counters: Counters, live: LiveState): RetryOutcome {
  return {
    requestedAt,
    pass: counters.passes,
    services: live.services,
    ...(live.lastError ? { lastError: live.lastError } : {}),
  };
}

/** Services per state (the pass metric's gauge). */
export function stateCounts(services: ServiceLiveState[]): Partial<Record<ServiceState, number>> {
  const out: Partial<Record<ServiceState, number>> = {};
  for (const s of services) out[s.state] = (out[s.state] ?? 0) + 1;
  return out;
}

/**
 * The workflow's current details in the Temporal Web UI (Markdown): which ServiceSet, in which phase, its services
 * by state, and what went wrong last — so a run is readable without decoding its history.
 */
export function workflowDetails(live: LiveState): string {
  const counts = Object.entries(stateCounts(live.services))
    .map(([state, n]) => `${n} ${state}`)
    .join(', ');
  const lines = [
    `**ServiceSet** ${live.ref.namespace}/${live.ref.name}`,
    `**Phase** ${live.phase}${live.deployed ? ' (deployed)' : ''}`,
    `**Services** ${counts || 'none'}`,
    ...live.services.filter((s) => s.state === 'Failed' && s.message).map((s) => `- ${s.key}: ${s.message}`),
    ...(live.lastError ? [`**Last error** ${live.lastError}`] : []),
  ];
  return lines.join('\n');
}
