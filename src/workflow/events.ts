// Which Kubernetes Events a pass announces: one per service state transition, and one per edge of the
// ServiceSet-level conditions (provider readiness, invalid config, build/apply failures). Workflow-safe.
import { CONDITION, REASON } from './constants';
import { driftNote } from './drift';
import type { EventSpec, Observation, StateTransition, StatusView } from './types';

/** FNV-1a, 32 bit: a deterministic, dependency-free digest for event names. */
export function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

const TRANSITION_REASON: Record<string, [EventSpec['type'], string]> = {
  Deployed: ['Normal', 'ServiceDeployed'],
  Provisioning: ['Normal', 'ServiceProvisioning'],
  Pending: ['Normal', 'ServicePending'],
  Failed: ['Warning', 'ServiceFailed'],
  Deleting: ['Normal', 'ServiceDeleting'],
  Deleted: ['Normal', 'ServiceDeleted'],
};

export function transitionEvents(
  uid: string,
  transitions: StateTransition[],
  now: string,
  status: StatusView,
): EventSpec[] {
  return transitions.map((t) => {
    const [type, reason] = TRANSITION_REASON[t.to]!;
    const entry = status.services.find((e) => `${e.namespace}/${e.name}` === t.key);
    const version = t.to === 'Deployed' && entry?.version ? ` (version ${entry.version})` : '';
    const msg = t.message ? `: ${t.message}` : '';
    return {
      type,
      reason,
      action: 'Reconcile',
      note: `service ${t.key} ${t.from ? `${t.from} → ` : ''}${t.to}${version}${msg}`.slice(0, 1024),
      dedupKey: fnv1a(`${uid}|${t.key}|${t.to}|${now}`),
    };
  });
}

function cond(s: StatusView, type: string) {
  return s.conditions.find((c) => c.type === type);
}

export function edgeEvents(
  uid: string,
  obs: Observation,
  before: StatusView,
  after: StatusView,
  now: string,
): EventSpec[] {
  const out: EventSpec[] = [];
  const add = (type: EventSpec['type'], reason: string, action: string, note: string) =>
    out.push({ type, reason, action, note: note.slice(0, 1024), dedupKey: fnv1a(`${uid}|${reason}|${now}`) });
  if (before.provider?.ready !== false && after.provider?.ready === false) {
    add(
      'Normal',
      'StateManagementProviderNotReady',
      'Reconcile',
      `StateManagementProvider ${obs.provider.name} is not ready: nothing is applied`,
    );
  }
  if (before.provider?.suspended !== true && after.provider?.suspended === true) {
    add(
      'Normal',
      'StateManagementProviderSuspended',
      'Reconcile',
      `StateManagementProvider ${obs.provider.name} is suspended: nothing is applied`,
    );
  }
  const cfgB = cond(before, CONDITION.providerConfigValid);
  const cfgA = cond(after, CONDITION.providerConfigValid);
  if (cfgA?.status === 'False' && (cfgB?.status !== 'False' || cfgB.message !== cfgA.message)) {
    add('Warning', REASON.providerConfigInvalid, 'ValidateConfig', cfgA.message);
  }
  const apB = cond(before, CONDITION.fluxObjectsApplied);
  const apA = cond(after, CONDITION.fluxObjectsApplied);
  if (
    apA &&
    apA.status === 'False' &&
    apA.reason !== REASON.providerConfigInvalid &&
    (apB?.reason !== apA.reason || apB.message !== apA.message)
  ) {
    // Waiting for an input that is not there yet is normal while a cluster is being created: no Warning.
    if (apA.reason === REASON.waiting) add('Normal', apA.reason, 'WaitForInputs', apA.message);
    else
      add(
        'Warning',
        apA.reason,
        apA.reason === REASON.buildFailed ? 'BuildFluxObjects' : 'ApplyFluxObjects',
        apA.message,
      );
  }
  return out;
}

/** While a ServiceSet is deleted: one Normal Event when its deletion starts waiting for a pause to be lifted. */
export function deletionEdgeEvents(uid: string, before: StatusView, after: StatusView, now: string): EventSpec[] {
  const b = cond(before, CONDITION.paused);
  const a = cond(after, CONDITION.paused);
  if (a?.reason !== REASON.deletionPaused || b?.reason === REASON.deletionPaused) return [];
  return [
    {
      type: 'Normal',
      reason: REASON.deletionPaused,
      action: 'Finalize',
      note: a.message,
      dedupKey: fnv1a(`${uid}|${REASON.deletionPaused}|${now}`),
    },
  ];
}

/**
 * One Warning per Flux object someone else changed (FluxObjectDrift, naming the fields and the field managers)
 * or deleted (FluxObjectDeleted: it had been deployed, and is gone), among the services this pass applies.
 */
export function driftEvents(uid: string, obs: Observation, applied: string[], now: string): EventSpec[] {
  const out: EventSpec[] = [];
  for (const svc of obs.services) {
    if (!applied.includes(svc.key) || !svc.desired) continue;
    const ref = svc.flux ?? svc.desired.ref;
    if (svc.drift) {
      out.push({
        type: 'Warning',
        reason: 'FluxObjectDrift',
        action: 'RestoreFluxObject',
        note: driftNote(ref, svc.drift).slice(0, 1024),
        dedupKey: fnv1a(`${uid}|drift|${svc.key}|${now}`),
      });
      continue;
    }
    const entry = obs.status.services.find((e) => `${e.namespace}/${e.name}` === svc.key);
    if (!svc.flux && entry?.lastDeployedHash) {
      out.push({
        type: 'Warning',
        reason: 'FluxObjectDeleted',
        action: 'RestoreFluxObject',
        note: `${ref.kind} ${ref.namespace}/${ref.name} of service ${svc.key} was deleted by someone else: recreated`,
        dedupKey: fnv1a(`${uid}|deleted|${svc.key}|${now}`),
      });
    }
  }
  return out;
}
