// One reconcile pass of the ServiceSet workflow: observe, then the pass for what the observation found — gone,
// being deleted, not ours, or ours — each deciding with pure functions and acting through activities. Everything
// a pass changes for the next one is in the run's state (RunState); nothing here waits for a message.
import { log, patched, type ActivityInterfaceFor } from '@temporalio/workflow';
import type { Activities } from './activities';
import {
  decideDeletion,
  decideHealing,
  decidePass,
  leftoversToDelete,
  type HealDecision,
  type HealMemory,
} from './decide';
import type { Counters, LiveState, Timing } from './defs';
import { clockAfterStep, deletionClock, deletionTimeoutMs } from './deletionClock';
import { deletionEdgeEvents, driftEvents, edgeEvents, transitionEvents } from './events';
import { decideKubeconfigRotation, healAfterRotation } from './kubeconfigRotation';
import { serviceLiveStates } from './liveState';
import { FAST_PASS_PATCH, KCM_BEHAVIOUR_PATCH } from './patches';
import { backOff, isSettled, quiescentDelay, scheduleAfterOwnedPass } from './pollSchedule';
import { afterRetry, standing, withApplyResults, type Rejections } from './rejections';
import { computeStatus, deletingStatus, statusEqual, type Memory } from './status';
import type { EventSpec, Observation, ServiceSetRef, StatusView } from './types';

export type Kube = ActivityInterfaceFor<Activities>;

/** What one pass leaves for the next (and what continue-as-new carries). */
export interface RunState {
  memory: Memory;
  rejected: Rejections;
  deletionStartedAt?: number;
  heal: HealMemory;
  kubeconfigSeen?: string;
  /** The active poll's next delay (pollSchedule). */
  activeDelay: number;
  /** Cluster and provider as the last observation named them (for the search attributes). */
  seen?: { cluster: string; provider: string };
}

export interface Run {
  ref: ServiceSetRef;
  timing: Timing;
  state: RunState;
  live: LiveState;
  counters: Counters;
  /** Passes of this run that got as far as an observation (continue-as-new counts them). */
  passesThisRun: number;
}

/** How the workflow goes on after a pass. */
export type PassResult =
  | { done: true }
  | {
      done: false;
      nextDelay: number;
      wrote: boolean;
      deleting: boolean;
      /** Start the next pass at once, with a fresh observation. */
      again?: boolean;
    };

/** How this pass talks to Kubernetes and which recorded behaviour it keeps (patches). */
interface Mode {
  kube: Kube;
  legacy: boolean;
  fast: boolean;
}

const serviceSetName = (ref: ServiceSetRef) => `${ref.namespace}/${ref.name}`;

/** One pass. `local` and `remote` are the same activities as local and as ordinary activities. */
export async function runPass(
  run: Run,
  activities: { local: Kube; remote: Kube },
  retry: boolean,
  now: Date,
  fromTimer: boolean,
): Promise<PassResult> {
  // Checked every pass: a run replaying an old history decides the old way, then switches once it is live.
  const legacy = !patched(KCM_BEHAVIOUR_PATCH);
  const fast = patched(FAST_PASS_PATCH);
  const mode: Mode = { kube: fast ? activities.local : activities.remote, legacy, fast };
  // Only a pass no event asked for reads the caches: an event-driven pass may follow our own write, which a
  // cache may not have seen yet. The watcher's events carry the changes; the timer is the safety net.
  const obs = await (fast && fromTimer ? mode.kube.observe(run.ref, { cached: true }) : mode.kube.observe(run.ref));
  run.state.seen = { cluster: obs.cluster.name, provider: obs.provider.name };
  run.counters.passes++;
  run.passesThisRun++;
  run.live.lastPassAt = now.toISOString();
  run.live.owned = obs.owned;
  if (!obs.found) return vanishedPass(run, mode, obs);
  if (obs.deleting) return deletionPass(run, mode, obs, now);
  if (!obs.owned) return notOwnedPass(run, obs);
  return ownedPass(run, mode, obs, retry, now);
}

/** Deleted without our finalizer (someone removed it): delete what is left, as its deletion would have. */
async function vanishedPass(run: Run, { kube }: Mode, obs: Observation): Promise<PassResult> {
  const leftovers = leftoversToDelete(obs);
  if (leftovers.length) {
    log.warn('ServiceSet deleted without our finalizer; deleting its Flux objects', {
      serviceSet: serviceSetName(run.ref),
      objects: leftovers.map((o) => `${o.kind}/${o.name}`),
    });
    await kube.deleteFluxObjects(run.ref, leftovers, { suspendFirst: false, reason: 'ServiceSet deleted' });
  }
  log.info('ServiceSet is gone; workflow ends', { serviceSet: serviceSetName(run.ref) });
  return { done: true };
}

/** Nothing of ours here: end (the watcher starts a new run if that changes); with our finalizer, stay to finalize. */
function notOwnedPass(run: Run, obs: Observation): PassResult {
  run.live.phase = 'NotOwned';
  run.live.lastError = obs.notOwnedReason;
  if (!obs.hasFinalizer) return { done: true };
  return { done: false, nextDelay: run.timing.quiescentPollMs, wrote: false, deleting: false };
}

async function writeStatusIfChanged(
  run: Run,
  kube: Kube,
  obs: Observation,
  status: StatusView,
  events: EventSpec[],
): Promise<boolean> {
  if (statusEqual(obs.status, status) && !events.length) return false;
  const r = await kube.writeStatus(run.ref, status, events);
  if (r.written) run.counters.statusWrites++;
  return r.written;
}

function publish(run: Run, status: StatusView, obs: Observation, heal?: HealDecision): void {
  run.live.services = serviceLiveStates(status, obs, heal);
  run.live.deployed = status.deployed;
}

async function deletionPass(run: Run, { kube, legacy }: Mode, obs: Observation, now: Date): Promise<PassResult> {
  if (!obs.hasFinalizer) return { done: true }; // not ours to finalize
  const { ref, timing, state } = run;
  const nowIso = now.toISOString();
  run.live.phase = 'Deleting';
  const clock = deletionClock(state.deletionStartedAt, now.getTime());
  state.deletionStartedAt = clock.startedAt;
  const step = decideDeletion(
    obs,
    clock.elapsedMs,
    deletionTimeoutMs(obs.providerConfig, timing.deletionTimeoutMs),
    timing.finalizerGraceMs,
    { legacy },
  );
  const d = deletingStatus(obs, nowIso, { pausedDeletion: !!step.paused });
  publish(run, d.status, obs);
  const wrote = await writeStatusIfChanged(run, kube, obs, d.status, [
    ...transitionEvents(ref.uid, d.transitions, nowIso, d.status),
    ...deletionEdgeEvents(ref.uid, obs.status, d.status, nowIso),
  ]);
  state.deletionStartedAt = clockAfterStep(clock.startedAt, step);
  // Nothing happens while paused; the annotation's removal wakes us.
  if (step.paused) return { done: false, nextDelay: timing.quiescentPollMs, wrote, deleting: true };
  if (step.done) {
    await kube.removeFinalizer(ref);
    log.info('finalized ServiceSet', { serviceSet: serviceSetName(ref) });
    return { done: true };
  }
  if (step.suspendFirst.length)
    await kube.deleteFluxObjects(ref, step.suspendFirst, {
      suspendFirst: true,
      reason: 'deletion',
      ...(step.clusterGoing ? { clusterGoing: step.clusterGoing } : {}),
    });
  if (step.del.length) await kube.deleteFluxObjects(ref, step.del, { suspendFirst: false, reason: 'deletion' });
  if (step.orphan.length) {
    await kube.orphanFluxObjects(ref, step.orphan, step.clusterGoing);
  }
  if (step.stripFinalizer.length) await kube.stripFluxFinalizers(ref, step.stripFinalizer);
  const b = backOff(state.activeDelay, timing);
  state.activeDelay = b.activeDelay;
  return { done: false, nextDelay: b.delay, wrote, deleting: true };
}

async function ownedPass(
  run: Run,
  { kube, legacy, fast }: Mode,
  observed: Observation,
  retry: boolean,
  now: Date,
): Promise<PassResult> {
  const { ref, timing, state } = run;
  const nowIso = now.toISOString();
  let obs = observed;
  let plan = decidePass(obs, { retry, rejected: state.rejected, legacy });
  if (plan.addFinalizer) {
    await kube.addFinalizer(ref);
    // Before fast-pass-1 the pass started over with a fresh observation.
    if (!fast) return { done: false, nextDelay: 0, wrote: false, deleting: false, again: true };
    // The finalizer is all that changed: go on deciding with the same observation.
    obs = { ...obs, hasFinalizer: true };
    plan = decidePass(obs, { retry, rejected: state.rejected, legacy });
  }
  state.rejected = afterRetry(state.rejected, retry);
  let acted = false;
  if (plan.handOver.length) {
    await kube.deleteFluxObjects(ref, plan.handOver, { suspendFirst: true, reason: 'hand-over' });
    acted = true;
  }
  if (plan.remove.length) {
    await kube.deleteFluxObjects(ref, plan.remove, { suspendFirst: false, reason: 'service removed' });
    acted = true;
  }
  if (plan.apply.length) {
    const results = await kube.applyServices(ref, plan.apply);
    run.counters.applies += results.filter((r) => r.ok).length;
    state.rejected = withApplyResults(state.rejected, results);
    acted = true;
  }
  if (plan.reconcileRequest.length) {
    await kube.requestReconcile(ref, plan.reconcileRequest, nowIso);
    acted = true;
  }
  // Self-healing: re-drive what Flux gave up on, with backoff, while the input is unchanged.
  let heal: HealDecision | undefined;
  if (!legacy) {
    heal = decideHealing(
      obs,
      state.heal,
      { ms: now.getTime(), iso: nowIso },
      {
        minBackoffMs: timing.healBackoffMinMs,
        maxBackoffMs: timing.healBackoffMaxMs,
        ...(obs.providerConfig.maxConsecutiveFailures !== undefined
          ? { maxConsecutiveFailures: obs.providerConfig.maxConsecutiveFailures }
          : {}),
      },
      { manualRetry: retry },
    );
    state.heal = heal.memory;
    if (heal.retry.length) {
      log.info('re-driving failed Flux objects', {
        serviceSet: serviceSetName(ref),
        objects: heal.retry.map((r) => r.name),
      });
      await kube.requestReconcile(ref, heal.retry, nowIso);
      acted = true;
    }
  }
  // A rotated kubeconfig Secret: Flux uses it on its next reconcile; ask for that reconcile now.
  const rotation = decideKubeconfigRotation(obs, state.kubeconfigSeen);
  state.kubeconfigSeen = rotation.seen;
  if (rotation.reconcile.length) {
    log.info('kubeconfig Secret rotated; requesting Flux reconcile', {
      serviceSet: serviceSetName(ref),
      objects: rotation.reconcile.map((r) => r.name),
    });
    await kube.requestReconcile(ref, rotation.reconcile, nowIso);
    state.heal = healAfterRotation(state.heal, rotation.keys, nowIso);
    acted = true;
  }
  state.rejected = standing(state.rejected, obs);

  const out = computeStatus({
    obs,
    memory: state.memory,
    now: nowIso,
    nowMs: now.getTime(),
    applyErrors: state.rejected,
    flapToleranceMs: timing.flapToleranceMs,
    ...(heal ? { healing: heal.outlook } : {}),
  });
  state.memory = out.memory;
  const wrote = await writeStatusIfChanged(run, kube, obs, out.status, [
    ...transitionEvents(ref.uid, out.transitions, nowIso, out.status),
    ...edgeEvents(ref.uid, obs, obs.status, out.status, nowIso),
    ...driftEvents(ref.uid, obs, plan.apply, nowIso),
  ]);
  publish(run, out.status, obs, heal);
  const providerOk = obs.provider.ready && !obs.provider.suspended;
  run.live.phase = providerOk ? 'Waiting' : 'ProviderNotReady';
  run.live.lastError = undefined;

  const next = scheduleAfterOwnedPass(
    state.activeDelay,
    {
      changed: acted || wrote,
      settled: isSettled(
        providerOk,
        out.status.services.map((e) => e.state),
      ),
      quiescentMs: quiescentDelay(timing, fast ? Math.random() : undefined),
      flapPending: Object.values(state.memory).some((m) => m.unsettledSince !== undefined),
      ...(heal?.wakeInMs !== undefined ? { healWakeInMs: heal.wakeInMs } : {}),
    },
    timing,
  );
  state.activeDelay = next.activeDelay;
  return { done: false, nextDelay: next.nextDelay, wrote, deleting: false };
}
