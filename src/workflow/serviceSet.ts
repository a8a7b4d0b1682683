// One durable workflow per ServiceSet: wait for a signal, a retry or the next poll → observe → decide →
// act → write status, until the ServiceSet is gone. Deterministic: only @temporalio/workflow and pure
// modules; every Kubernetes call is an activity.
import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  type RetryPolicy,
  proxyLocalActivities,
  proxySinks,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ServiceState } from './constants';
import type { Activities } from './activities';
import {
  decideDeletion,
  decideHealing,
  decidePass,
  leftoversToDelete,
  type HealDecision,
  type HealMemory,
} from './decide';
import { deletionEdgeEvents, driftEvents, edgeEvents, transitionEvents } from './events';
import { decideKubeconfigRotation, healAfterRotation } from './kubeconfigRotation';
import { changedPairs, workflowSearchAttributes } from './searchAttributes';
import { computeStatus, deletingStatus, statusEqual } from './status';
import type { Observation, ServiceSetRef, StatusView } from './types';
import {
  changedSignal,
  defaultTiming,
  retrySignal,
  retryUpdate,
  stateQuery,
  type Carried,
  type Counters,
  type LiveState,
  type MetricsSinks,
  type RetryOutcome,
  type ServiceSetWorkflowInput,
  type ServiceLiveState,
} from './defs';

/**
 * Patch for kcm-aligned behaviour (issue 10): pause freezes deletions, a cluster going away is let go at once,
 * a paused deletion waits, and failed Flux objects are re-driven with backoff. Histories recorded before it
 * (test/replay: lifecycle*, continue-as-new*) replay the old decisions.
 */
export const KCM_BEHAVIOUR_PATCH = 'kcm-behaviour-1';

/**
 * Patch for the search attributes (src/workflow/searchAttributes): upserted after a pass when they changed. Histories
 * recorded before it (every test/replay history up to lifecycle-4 and healing-1) carry no upserts.
 */
export const SEARCH_ATTRIBUTES_PATCH = 'search-attributes-1';

/**
 * Patch for speed and idle cost (issue 12): every Kubernetes call of a pass is a local activity (one marker
 * event each, run by this worker inside the workflow task, instead of three events and a task round trip per
 * activity), the finalizer is added and the pass goes on with the same observation, timer-driven passes read
 * the worker's informer caches, and the safety-net poll is jittered. Histories recorded before it replay
 * with activities.
 */
export const FAST_PASS_PATCH = 'fast-pass-1';

/** Activity types whose failures are bad input: retrying cannot help. */
export const NON_RETRYABLE = ['InvalidServiceSet', 'FluxObjectRejected'];

const retry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 5,
  nonRetryableErrorTypes: NON_RETRYABLE,
};

const remote = proxyActivities<Activities>({
  startToCloseTimeout: '60s',
  // Activities heartbeat while they run: a task lost with a stopping worker is retried after 15 s, not 60 s.
  heartbeatTimeout: '15s',
  retry,
});

// Short Kubernetes calls run in the worker that runs the workflow task: no task queue round trip, no activity
// task events. A worker lost mid-call loses the workflow task with it; the next worker replays and calls again
// (every activity is idempotent). The retries (about 15 s in all) stay below the local retry threshold, so they
// back off inside the worker too.
const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '60s',
  scheduleToCloseTimeout: '5m',
  retry,
});

const { metrics } = proxySinks<MetricsSinks>();

const freshCounters = (): Counters => ({
  passes: 0,
  signals: 0,
  retries: 0,
  applies: 0,
  statusWrites: 0,
  activityErrors: 0,
  continuedAsNew: 0,
});

function errorText(e: unknown): string {
  if (e instanceof ActivityFailure && e.cause) return `${e.activityType}: ${e.cause.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}

export async function serviceSetWorkflow(input: ServiceSetWorkflowInput): Promise<void> {
  const ref: ServiceSetRef = input.ref;
  const timing = { ...defaultTiming, ...(input.timing ?? {}) };
  const carried: Carried = input.carried ?? {
    memory: {},
    rejected: {},
    counters: freshCounters(),
    retryPending: false,
  };
  const counters = carried.counters;
  let memory = carried.memory;
  const rejected = carried.rejected;
  let deletionStartedAt = carried.deletionStartedAt;
  let orphanedAt = carried.orphanedAt;
  let healMemory: HealMemory = carried.heal ?? {};
  let kubeconfigSeen = carried.kubeconfigSeen;

  let dirty = true;
  let retryPending = carried.retryPending;
  let retryEpoch = 0; // bumped by each retry request
  let completedEpoch = 0; // the epoch the last finished pass had seen
  let lastOutcome: RetryOutcome | undefined;

  const live: LiveState = {
    ref,
    phase: 'Starting',
    owned: false,
    services: carried.services ?? [],
    deployed: carried.deployed ?? false,
    counters,
  };

  setHandler(changedSignal, () => {
    dirty = true;
    counters.signals++;
  });
  const requestRetry = () => {
    retryPending = true;
    dirty = true;
    counters.retries++;
    return ++retryEpoch;
  };
  setHandler(retrySignal, () => void requestRetry());
  setHandler(retryUpdate, async () => {
    const epoch = requestRetry();
    await condition(() => completedEpoch >= epoch || live.phase === 'Done');
    return lastOutcome ?? { requestedAt: new Date().toISOString(), pass: counters.passes, services: live.services };
  });
  setHandler(stateQuery, () => live);

  let activeDelay = timing.activePollMinMs;
  let passesThisRun = 0;
  /** Cluster and provider as the last observation named them (for the search attributes). */
  let seen: { cluster: string; provider: string } | undefined;

  /** Keeps the workflow findable by its state in the Web UI and `ksm-flux list`: upserts only what changed. */
  const reportSearchAttributes = () => {
    const v = workflowSearchAttributes({ ref, phase: live.phase, ...seen, services: live.services });
    if (!v || !patched(SEARCH_ATTRIBUTES_PATCH)) return;
    const current = workflowInfo().typedSearchAttributes;
    const changed = changedPairs((k) => current.get(k), v);
    if (changed.length) upsertSearchAttributes(changed);
  };

  const publish = (status: StatusView, obs: Observation, heal?: HealDecision) => {
    live.services = status.services.map((e): ServiceLiveState => {
      const key = `${e.namespace}/${e.name}`;
      const svc = obs.services.find((s) => s.key === key);
      const f = svc?.flux ?? svc?.desired?.ref;
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
    live.deployed = status.deployed;
  };

  const writeStatusIfChanged = async (
    kube: typeof remote,
    obs: Observation,
    status: StatusView,
    events: ReturnType<typeof transitionEvents>,
  ) => {
    if (statusEqual(obs.status, status) && !events.length) return false;
    const r = await kube.writeStatus(ref, status, events);
    if (r.written) counters.statusWrites++;
    return r.written;
  };

  /** One pass. Returns 'done' when the workflow should end, else the delay before the next pass. */
  const pass = async (
    retry: boolean,
    now: Date,
    fromTimer: boolean,
  ): Promise<{ done: true } | { done: false; nextDelay: number; wrote: boolean; deleting: boolean }> => {
    const nowIso = now.toISOString();
    // Checked every pass: a run replaying an old history decides the old way, then switches once it is live.
    const legacy = !patched(KCM_BEHAVIOUR_PATCH);
    const fast = patched(FAST_PASS_PATCH);
    const kube = fast ? local : remote;
    // Only a pass no event asked for reads the caches: an event-driven pass may follow our own write, which a
    // cache may not have seen yet. The watcher's events carry the changes; the timer is the safety net.
    let obs = await (fast && fromTimer ? kube.observe(ref, { cached: true }) : kube.observe(ref));
    seen = { cluster: obs.cluster.name, provider: obs.provider.name };
    counters.passes++;
    passesThisRun++;
    live.lastPassAt = nowIso;
    live.owned = obs.owned;
    if (!obs.found) {
      // Deleted without our finalizer (someone removed it): delete what is left, as its deletion would have.
      const leftovers = leftoversToDelete(obs);
      if (leftovers.length) {
        log.warn('ServiceSet deleted without our finalizer; deleting its Flux objects', {
          serviceSet: `${ref.namespace}/${ref.name}`,
          objects: leftovers.map((o) => `${o.kind}/${o.name}`),
        });
        await kube.deleteFluxObjects(ref, leftovers, { suspendFirst: false, reason: 'ServiceSet deleted' });
      }
      log.info('ServiceSet is gone; workflow ends', { serviceSet: `${ref.namespace}/${ref.name}` });
      return { done: true };
    }

    if (obs.deleting) {
      if (!obs.hasFinalizer) return { done: true }; // not ours to finalize
      live.phase = 'Deleting';
      deletionStartedAt ??= now.getTime();
      const timeoutMs =
        obs.providerConfig.deletionTimeoutMs !== undefined
          ? obs.providerConfig.deletionTimeoutMs
          : timing.deletionTimeoutMs;
      const step = decideDeletion(obs, now.getTime() - deletionStartedAt, timeoutMs, timing.finalizerGraceMs, {
        legacy,
      });
      const d = deletingStatus(obs, nowIso, { pausedDeletion: !!step.paused });
      publish(d.status, obs);
      const wrote = await writeStatusIfChanged(kube, obs, d.status, [
        ...transitionEvents(ref.uid, d.transitions, nowIso, d.status),
        ...deletionEdgeEvents(ref.uid, obs.status, d.status, nowIso),
      ]);
      if (step.paused) {
        // Nothing happens while paused; the deadline counts from the resume (the annotation's removal wakes us).
        deletionStartedAt = undefined;
        return { done: false, nextDelay: timing.quiescentPollMs, wrote, deleting: true };
      }
      if (step.done) {
        await kube.removeFinalizer(ref);
        log.info('finalized ServiceSet', { serviceSet: `${ref.namespace}/${ref.name}` });
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
        orphanedAt ??= now.getTime();
      }
      if (step.stripFinalizer.length) await kube.stripFluxFinalizers(ref, step.stripFinalizer);
      const nextDelay = activeDelay;
      activeDelay = Math.min(activeDelay * 2, timing.activePollMaxMs);
      return { done: false, nextDelay, wrote, deleting: true };
    }

    if (!obs.owned) {
      live.phase = 'NotOwned';
      live.lastError = obs.notOwnedReason;
      // Nothing of ours here: end; the watcher starts a new run if that changes. With our finalizer
      // we stay, so that a later deletion is finalized.
      if (!obs.hasFinalizer) return { done: true };
      return { done: false, nextDelay: timing.quiescentPollMs, wrote: false, deleting: false };
    }

    let plan = decidePass(obs, { retry, rejected, legacy });
    if (plan.addFinalizer) {
      await kube.addFinalizer(ref);
      if (!fast) {
        dirty = true; // go straight on with a fresh observation
        return { done: false, nextDelay: 0, wrote: false, deleting: false };
      }
      // The finalizer is all that changed: go on deciding with the same observation.
      obs = { ...obs, hasFinalizer: true };
      plan = decidePass(obs, { retry, rejected, legacy });
    }
    if (retry) for (const k of Object.keys(rejected)) delete rejected[k];
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
      counters.applies += results.filter((r) => r.ok).length;
      for (const r of results) {
        if (r.ok) delete rejected[r.key];
        else if (r.error) rejected[r.key] = { ...r.error, ...(r.hash ? { hash: r.hash } : {}) };
      }
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
        healMemory,
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
      healMemory = heal.memory;
      if (heal.retry.length) {
        log.info('re-driving failed Flux objects', {
          serviceSet: `${ref.namespace}/${ref.name}`,
          objects: heal.retry.map((r) => r.name),
        });
        await kube.requestReconcile(ref, heal.retry, nowIso);
        acted = true;
      }
    }
    // A rotated kubeconfig Secret: Flux uses it on its next reconcile; ask for that reconcile now.
    const rotation = decideKubeconfigRotation(obs, kubeconfigSeen);
    kubeconfigSeen = rotation.seen;
    if (rotation.reconcile.length) {
      log.info('kubeconfig Secret rotated; requesting Flux reconcile', {
        serviceSet: `${ref.namespace}/${ref.name}`,
        objects: rotation.reconcile.map((r) => r.name),
      });
      await kube.requestReconcile(ref, rotation.reconcile, nowIso);
      healMemory = healAfterRotation(healMemory, rotation.keys, nowIso);
      acted = true;
    }
    // A rejection only stands for the input it was made for.
    for (const [k, e] of Object.entries(rejected)) {
      const svc = obs.services.find((s) => s.key === k);
      if (!svc || (e.hash !== undefined && svc.desired?.hash !== e.hash)) delete rejected[k];
    }

    const out = computeStatus({
      obs,
      memory,
      now: nowIso,
      nowMs: now.getTime(),
      applyErrors: rejected,
      flapToleranceMs: timing.flapToleranceMs,
      ...(heal ? { healing: heal.outlook } : {}),
    });
    memory = out.memory;
    const events = [
      ...transitionEvents(ref.uid, out.transitions, nowIso, out.status),
      ...edgeEvents(ref.uid, obs, obs.status, out.status, nowIso),
      ...driftEvents(ref.uid, obs, plan.apply, nowIso),
    ];
    const wrote = await writeStatusIfChanged(kube, obs, out.status, events);
    publish(out.status, obs, heal);
    const providerOk = obs.provider.ready && !obs.provider.suspended;
    live.phase = providerOk ? 'Waiting' : 'ProviderNotReady';
    live.lastError = undefined;

    // Poll fast while something is in progress (backing off), slowly when settled; SMP changes wake us anyway.
    const settled = !providerOk || out.status.services.every((e) => e.state === 'Deployed' || e.state === 'Deleted');
    if (acted || wrote) activeDelay = timing.activePollMinMs;
    // Jittered, so that ServiceSets created together do not poll together for ever.
    let nextDelay = fast ? Math.round(timing.quiescentPollMs * (1 + 0.2 * Math.random())) : timing.quiescentPollMs;
    if (!settled) {
      nextDelay = activeDelay;
      activeDelay = Math.min(activeDelay * 2, timing.activePollMaxMs);
    } else {
      activeDelay = timing.activePollMinMs;
    }
    // A Deployed verdict held through a Flux flap must be re-checked when the tolerance runs out.
    if (Object.values(memory).some((m) => m.unsettledSince !== undefined))
      nextDelay = Math.min(nextDelay, timing.flapToleranceMs);
    // Wake for the next automatic retry exactly when it is due.
    if (heal?.wakeInMs !== undefined) nextDelay = Math.min(nextDelay, Math.max(0, heal.wakeInMs));
    return { done: false, nextDelay, wrote, deleting: false };
  };

  let fromTimer = false; // the pass about to run was started by the poll timer alone
  for (;;) {
    dirty = false;
    const epochAtStart = retryEpoch;
    const retry = retryPending;
    retryPending = false;
    const now = new Date();
    live.phase = 'Reconciling';
    let nextDelay: number;
    try {
      const r = await pass(retry, now, fromTimer && !retry);
      if (r.done) {
        live.phase = 'Done';
        completedEpoch = epochAtStart;
        metrics.done();
        return;
      }
      nextDelay = r.nextDelay;
      lastOutcome = {
        requestedAt: now.toISOString(),
        pass: counters.passes,
        services: live.services,
        ...(live.lastError ? { lastError: live.lastError } : {}),
      };
      metrics.pass({
        durationMs: Date.now() - now.getTime(),
        outcome: r.deleting ? 'deleting' : 'ok',
        states: stateCounts(live.services),
        statusWritten: r.wrote,
      });
    } catch (e) {
      if (!(e instanceof ActivityFailure)) throw e;
      // Activities already retried with backoff; keep the workflow alive, report, and try again later.
      counters.activityErrors++;
      live.lastError = errorText(e);
      live.phase = 'Waiting';
      log.warn('reconcile pass failed; will retry', {
        serviceSet: `${ref.namespace}/${ref.name}`,
        error: live.lastError,
      });
      nextDelay = activeDelay;
      activeDelay = Math.min(activeDelay * 2, timing.activePollMaxMs);
      lastOutcome = {
        requestedAt: now.toISOString(),
        pass: counters.passes,
        services: live.services,
        lastError: live.lastError,
      };
      metrics.pass({
        durationMs: Date.now() - now.getTime(),
        outcome: 'error',
        states: stateCounts(live.services),
        statusWritten: false,
      });
    }
    reportSearchAttributes();
    completedEpoch = epochAtStart;

    // Not while a retry update waits for a pass: it would wait for ever on a run that has stopped passing.
    const rollOver = () =>
      (workflowInfo().continueAsNewSuggested || passesThisRun >= timing.maxPassesPerRun) &&
      retryEpoch <= completedEpoch;
    const rollOverNow = async () => {
      await condition(allHandlersFinished);
      counters.continuedAsNew++;
      await continueAsNew<typeof serviceSetWorkflow>({
        ref,
        ...(input.timing ? { timing: input.timing } : {}),
        carried: {
          memory,
          rejected,
          counters,
          retryPending,
          deletionStartedAt,
          orphanedAt,
          services: live.services,
          deployed: live.deployed,
          ...(Object.keys(healMemory).length ? { heal: healMemory } : {}),
          ...(kubeconfigSeen ? { kubeconfigSeen } : {}),
        },
      });
    };
    // With local activities (fast-pass-1) the decision waits for the next wake-up: read right after a pass,
    // continueAsNewSuggested belongs to whichever activation resolved the last local activity, and a replay
    // resolves local activities from their markers in an earlier activation than the live run did (CI saw a replay
    // fail: "No command scheduled for event WorkflowExecutionContinuedAsNew"). A wake-up is a timer or a message,
    // the same activation live and on replay; it is also a short task, so no message arrives while a pass runs
    // in it (the server would refuse the continue-as-new and drop updates in flight).
    const fastPath = patched(FAST_PASS_PATCH);
    if (!fastPath && rollOver()) await rollOverNow();
    live.nextPollMs = dirty || retryPending ? 0 : nextDelay;
    fromTimer = false;
    if (!dirty && !retryPending) {
      fromTimer = !(await condition(() => dirty || retryPending, nextDelay));
      if (fastPath && rollOver()) await rollOverNow();
    }
  }
}

function stateCounts(services: ServiceLiveState[]): Partial<Record<ServiceState, number>> {
  const out: Partial<Record<ServiceState, number>> = {};
  for (const s of services) out[s.state] = (out[s.state] ?? 0) + 1;
  return out;
}
