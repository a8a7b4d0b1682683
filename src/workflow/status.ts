// From an observation to the ServiceSet status kcm reads: per-service states (debounced against Flux's
// periodic Reconciling flaps, generation-aware), `deployed`, conditions and the transitions to announce.
// Pure and workflow-safe: time comes in as an argument.
import { CONDITION, REASON, type ServiceState } from './constants';
import type { HealOutlook } from './decide';
import { canonicalJson } from './canonicalJson';
import { fluxVerdict, type FluxVerdict } from './fluxState';
import { truncate } from './truncate';
import type {
  Observation,
  PlanError,
  ServiceObservation,
  ServiceStatusEntry,
  StateTransition,
  StatusCondition,
  StatusView,
} from './types';

/** Per-service memory the workflow keeps between passes (and across continue-as-new). */
export interface ServiceMemory {
  /** Generation and desired digest at which Flux last confirmed Ready. */
  deployedGeneration?: number;
  deployedHash?: string;
  /** When a Deployed service started to look in-progress again without a spec change. */
  unsettledSince?: number;
}
export type Memory = Record<string, ServiceMemory>;

export interface StatusInput {
  obs: Observation;
  memory: Memory;
  now: string;
  nowMs: number;
  /** Apply rejections by the API server, per service key (bad input). */
  applyErrors: Record<string, PlanError>;
  /** How long a Deployed service may look in-progress on an unchanged spec before we say Provisioning. */
  flapToleranceMs: number;
  /** Self-healing outlook of failed services: the next automatic retry, or that it stopped. */
  healing?: Record<string, HealOutlook>;
}

/** The failure message, followed by what happens next on its own (kcm users see only status). */
export function withHealOutlook(message: string, h: HealOutlook | undefined): string {
  if (!h) return message;
  if (h.exhausted)
    return `${message} [failed ${h.failures} times in a row; automatic retries stopped (maxConsecutiveFailures ${h.exhausted.max}): change the spec or run ksm-flux retry]`;
  if (h.nextRetryAt) return `${message} [failed ${h.failures} time(s); next automatic retry at ${h.nextRetryAt}]`;
  return message;
}

export interface StatusOutput {
  status: StatusView;
  memory: Memory;
  transitions: StateTransition[];
}

const bySvcKey = (a: { namespace: string; name: string }, b: { namespace: string; name: string }) =>
  a.namespace === b.namespace ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.namespace < b.namespace ? -1 : 1;

/**
 * Ready exactly as kcm reads it: only `Deployed` counts (kcm's ServicesInReadyState, `status.deployed`, and the
 * dependency and upgrade gates all say so). A helmAction Uninstall service that reached `Deleted` is therefore
 * not ready: counting it would make us say 2/2 while the ClusterDeployment says 1/2 (see README).
 */
export function isReadyEntry(e: ServiceStatusEntry): boolean {
  return e.state === 'Deployed';
}

export function serviceVerdict(
  svc: ServiceObservation,
  obs: Observation,
  applyErrors: Record<string, PlanError>,
  prev?: ServiceState,
): FluxVerdict {
  if (svc.planError) return { state: 'Failed', message: svc.planError.message, confirmed: false };
  const applyErr = applyErrors[svc.key];
  if (applyErr) return { state: 'Failed', message: applyErr.message, confirmed: false };
  if (svc.awaiting) {
    // Nothing applied yet: Pending. An object applied earlier keeps running as it is: report what Flux says.
    if (!svc.flux) return { state: 'Pending', message: svc.awaiting.message, confirmed: false };
    const v = fluxVerdict(svc.flux);
    return { ...v, confirmed: false, message: v.message || svc.awaiting.message };
  }
  if (svc.uninstall) {
    // Paused: the uninstall waits for the annotation to go; the release is still there as it was.
    if (svc.flux && !svc.flux.deleting && obs.paused)
      return {
        state: prev ?? 'Pending',
        message: 'paused: the release is uninstalled once the pause annotation is removed',
        confirmed: false,
      };
    return svc.flux
      ? {
          state: 'Deleting',
          message: 'helmAction Uninstall: waiting for Flux to uninstall the release',
          confirmed: false,
        }
      : { state: 'Deleted', message: '', confirmed: true };
  }
  const c = svc.conflict;
  if (c && !c.winner && c.foreign?.length) {
    const by = c.foreign.map((f) => `ServiceSet ${f.namespace}/${f.name} (provider ${f.provider})`).join(', ');
    return {
      state: 'Failed',
      message: `release ${svc.namespace}/${svc.name} on this cluster is also deployed by ${by}: a release has one owner, so ksm-flux leaves it to the other provider until that ServiceSet stops deploying it`,
      confirmed: false,
    };
  }
  if (c && !c.winner && c.owner) {
    return {
      state: 'Failed',
      message: `release ${svc.namespace}/${svc.name} is owned by ServiceSet ${c.owner.namespace}/${c.owner.name} (priority ${c.owner.priority}, this ServiceSet ${obs.providerConfig.priority})`,
      confirmed: false,
    };
  }
  if (c?.winner && c.heldBy.length && !svc.flux) {
    const by = c.heldBy.map((r) => `${r.kind} ${r.namespace}/${r.name}`).join(', ');
    return {
      state: 'Pending',
      message: `waiting for ${by} to hand over release ${svc.namespace}/${svc.name}`,
      confirmed: false,
    };
  }
  const flux = svc.flux;
  if (!flux)
    return { state: 'Provisioning', message: `creating ${svc.desired?.ref.kind ?? 'Flux object'}`, confirmed: false };
  if (flux.deleting) return { state: 'Deleting', message: '', confirmed: false };
  // Suspended (or about to be: paused) — Flux does nothing, so what it did last still stands.
  if (flux.suspended || obs.paused) return { state: prev ?? 'Pending', message: 'suspended', confirmed: false };
  if (svc.desired && flux.appliedHash !== svc.desired.hash) {
    return { state: 'Provisioning', message: `applying changes to ${flux.kind} ${flux.name}`, confirmed: false };
  }
  return fluxVerdict(flux);
}

export function computeStatus(input: StatusInput): StatusOutput {
  const { obs, now, nowMs } = input;
  const memory: Memory = {};
  const prevByKey = new Map(obs.status.services.map((e) => [`${e.namespace}/${e.name}`, e]));
  const transitions: StateTransition[] = [];

  // SMP not ready or suspended: only provider and cluster move (kcm contract §1.2 step 7).
  if (!obs.provider.ready || obs.provider.suspended) {
    return {
      status: {
        ...obs.status,
        cluster: obs.cluster,
        provider: { ready: obs.provider.ready, suspended: obs.provider.suspended },
      },
      memory: input.memory,
      transitions,
    };
  }

  const entries: ServiceStatusEntry[] = [];
  // Services whose Flux object no controller has picked up (fluxState.ts unclaimedVerdict): kcm's status entry
  // carries a message only for Failed, so the FluxObjectsApplied condition is where the ServiceSet names them.
  const unclaimed: string[] = [];
  for (const svc of obs.services) {
    const prev = prevByKey.get(svc.key);
    const mem: ServiceMemory = { ...(input.memory[svc.key] ?? {}) };
    let v: FluxVerdict;
    if (obs.deleting) v = { state: 'Deleting', message: '', confirmed: false };
    else v = serviceVerdict(svc, obs, input.applyErrors, prev?.state);

    let held = false;
    if (v.confirmed && svc.flux && svc.desired) {
      mem.deployedGeneration = svc.flux.generation;
      mem.deployedHash = svc.desired.hash;
      delete mem.unsettledSince;
    } else if (
      v.state === 'Provisioning' &&
      prev?.state === 'Deployed' &&
      svc.flux &&
      svc.desired &&
      mem.deployedGeneration === svc.flux.generation &&
      mem.deployedHash === svc.desired.hash &&
      svc.flux.appliedHash === svc.desired.hash
    ) {
      // Flux flips Reconciling/Ready=Unknown on every periodic run of an unchanged spec: hold Deployed a while.
      mem.unsettledSince ??= nowMs;
      if (nowMs - mem.unsettledSince < input.flapToleranceMs) {
        v = { state: 'Deployed', message: '', confirmed: false };
        held = true;
      }
    } else {
      delete mem.unsettledSince;
    }
    memory[svc.key] = mem;
    if (v.state === 'Pending' && !svc.awaiting && v.message.startsWith('NoController:'))
      unclaimed.push(`${svc.key}: ${v.message}`);

    const entry: ServiceStatusEntry = {
      name: svc.name,
      namespace: svc.namespace,
      template: svc.template,
      type: svc.type,
      state: v.state,
      lastStateTransitionTime: prev && prev.state === v.state ? prev.lastStateTransitionTime : now,
    };
    // kcm gates dependants and upgrades on status.version: stamp it only when Flux confirmed this spec.
    let version = prev?.template === svc.template ? prev.version : undefined;
    // Confirmation needs a desired digest: without one (invalid config) the old object proves nothing new.
    const confirmedSpec = v.confirmed && !held && (!!svc.desired || svc.uninstall);
    if (v.state === 'Deployed' && confirmedSpec) version = svc.specVersion || version;
    else if (!prev && svc.type !== 'Helm') version = svc.specVersion || undefined;
    if (version) entry.version = version;
    if (v.state === 'Failed' && v.message) {
      // The outlook goes last and the Flux message is cut first: "next retry at" must survive truncation.
      const outlook = withHealOutlook('', input.healing?.[svc.key]);
      entry.failureMessage = truncate(v.message, 4096 - outlook.length) + outlook;
    }
    const deployedHash = v.confirmed && svc.desired ? svc.desired.hash : prev?.lastDeployedHash;
    if (deployedHash) entry.lastDeployedHash = deployedHash;
    entries.push(entry);
    if (!prev || prev.state !== v.state)
      transitions.push({
        key: svc.key,
        ...(prev ? { from: prev.state } : {}),
        to: v.state,
        ...(v.message ? { message: v.message } : {}),
      });
  }
  entries.sort(bySvcKey);

  const ready = entries.filter(isReadyEntry).length;
  const total = obs.services.length;
  const planErrors = obs.services.filter((s) => s.planError).map((s) => `${s.key}: ${s.planError!.message}`);
  const applyErrs = Object.entries(input.applyErrors).map(([k, e]) => `${k}: ${e.message}`);
  const awaited = [
    ...obs.services.filter((s) => s.awaiting).map((s) => `${s.key}: ${s.awaiting!.message}`),
    ...unclaimed,
  ];

  const conds: Omit<StatusCondition, 'lastTransitionTime'>[] = [
    {
      type: CONDITION.servicesInReadyState,
      status: ready === total ? 'True' : 'False',
      reason: REASON.servicesInReadyState,
      message: `${ready}/${total}`,
    },
    obs.providerConfig.valid
      ? {
          type: CONDITION.providerConfigValid,
          status: 'True',
          reason: REASON.providerConfigValid,
          message: obs.providerConfig.unsupported?.length
            ? `provider config is valid; these keys have no effect in ksm-flux (the rest applies): ${obs.providerConfig.unsupported.join('; ')}`
            : 'provider config is valid',
        }
      : {
          type: CONDITION.providerConfigValid,
          status: 'False',
          reason: REASON.providerConfigInvalid,
          message: obs.providerConfig.error ?? 'invalid',
        },
  ];
  if (!obs.providerConfig.valid) {
    conds.push({
      type: CONDITION.fluxObjectsApplied,
      status: 'False',
      reason: REASON.providerConfigInvalid,
      message: 'nothing applied: provider config is invalid',
    });
  } else if (planErrors.length) {
    conds.push({
      type: CONDITION.fluxObjectsApplied,
      status: 'False',
      reason: REASON.buildFailed,
      // What waits is named too: the condition is the one place that says it for every service.
      message: truncate([...planErrors, ...awaited].join('; '), 8192),
    });
  } else if (applyErrs.length) {
    conds.push({
      type: CONDITION.fluxObjectsApplied,
      status: 'False',
      reason: REASON.applyFailed,
      message: truncate([...applyErrs, ...awaited].join('; '), 8192),
    });
  } else if (awaited.length) {
    conds.push({
      type: CONDITION.fluxObjectsApplied,
      status: 'False',
      reason: REASON.waiting,
      message: truncate(awaited.join('; '), 8192),
    });
  } else {
    conds.push({
      type: CONDITION.fluxObjectsApplied,
      status: 'True',
      reason: REASON.applied,
      message: 'Flux objects are up to date',
    });
  }
  if (obs.paused)
    conds.push({
      type: CONDITION.paused,
      status: 'True',
      reason: REASON.paused,
      message:
        'the ServiceSet is paused: Flux objects are suspended; nothing is uninstalled or deleted until the annotation is removed',
    });

  return {
    status: {
      deployed: entries.length === total && ready === total,
      cluster: obs.cluster,
      provider: { ready: obs.provider.ready, suspended: obs.provider.suspended },
      services: entries,
      conditions: mergeConditions(obs.status.conditions, conds, now, obs.generation),
    },
    memory,
    transitions,
  };
}

const OWNED_CONDITIONS: string[] = Object.values(CONDITION);

/** Our conditions replace their previous versions (time moves only when status does); others are kept. */
export function mergeConditions(
  prev: StatusCondition[],
  next: Omit<StatusCondition, 'lastTransitionTime'>[],
  now: string,
  generation: number,
): StatusCondition[] {
  const out: StatusCondition[] = prev.filter((c) => !OWNED_CONDITIONS.includes(c.type));
  for (const c of next) {
    const old = prev.find((p) => p.type === c.type);
    out.push({
      ...c,
      observedGeneration: generation,
      lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now,
    });
  }
  return out;
}

/** The Paused condition of a paused ServiceSet being deleted: nothing is uninstalled until it is resumed. */
export const PAUSED_DELETION_MESSAGE =
  'the ServiceSet is being deleted while paused: nothing is uninstalled until the pause annotation is removed';

/** Status for a ServiceSet being deleted: every service Deleting (and, when paused, why nothing moves). */
export function deletingStatus(
  obs: Observation,
  now: string,
  opts: { pausedDeletion?: boolean } = {},
): { status: StatusView; transitions: StateTransition[] } {
  const transitions: StateTransition[] = [];
  const conditions = opts.pausedDeletion
    ? [
        ...obs.status.conditions.filter((c) => c.type !== CONDITION.paused),
        ...mergeConditions(
          obs.status.conditions,
          [{ type: CONDITION.paused, status: 'True', reason: REASON.deletionPaused, message: PAUSED_DELETION_MESSAGE }],
          now,
          obs.generation,
        ).filter((c) => c.type === CONDITION.paused),
      ]
    : obs.status.conditions;
  const services = obs.status.services.map((e) => {
    if (e.state === 'Deleting') return e;
    transitions.push({ key: `${e.namespace}/${e.name}`, from: e.state, to: 'Deleting' });
    const { failureMessage: _f, ...rest } = e;
    return { ...rest, state: 'Deleting' as const, lastStateTransitionTime: now };
  });
  return { status: { ...obs.status, services, deployed: false, conditions }, transitions };
}

/** Semantic equality of the status we own, so that a quiescent ServiceSet causes no writes. */
export function statusEqual(a: StatusView, b: StatusView): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
