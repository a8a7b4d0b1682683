// One durable workflow per ServiceSet: wait for a signal, a retry or the next poll → a pass (observe → decide →
// act → write status, src/workflow/pass.ts) → until the ServiceSet is gone. This file is the orchestration: the
// messages it answers, the loop, and continue-as-new. Deterministic: only @temporalio/workflow and the pure
// modules of this folder; every Kubernetes call is an activity.
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
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from './activities';
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
} from './defs';
import { passOutcome, stateCounts, workflowDetails } from './liveState';
import { runPass, type Run } from './pass';
import { FAST_PASS_PATCH, SEARCH_ATTRIBUTES_PATCH } from './patches';
import { backOff } from './pollSchedule';
import { changedPairs, workflowSearchAttributes } from './searchAttributes';

export { FAST_PASS_PATCH, KCM_BEHAVIOUR_PATCH, SEARCH_ATTRIBUTES_PATCH } from './patches';

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
  // Activities heartbeat while they run: a task lost with a stopping worker is retried soon, not after the
  // start-to-close timeout.
  heartbeatTimeout: '15s',
  retry,
});

// Short Kubernetes calls run in the worker that runs the workflow task: no task queue round trip, no activity
// task events. A worker lost mid-call loses the workflow task with it; the next worker replays and calls again
// (every activity is idempotent). The retries stay below the local retry threshold, so they back off inside
// the worker too.
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
  const ref = input.ref;
  const timing = { ...defaultTiming, ...(input.timing ?? {}) };
  const carried: Carried = input.carried ?? {
    memory: {},
    rejected: {},
    counters: freshCounters(),
    retryPending: false,
  };
  const counters = carried.counters;
  const live: LiveState = {
    ref,
    phase: 'Starting',
    owned: false,
    services: carried.services ?? [],
    deployed: carried.deployed ?? false,
    counters,
  };
  const run: Run = {
    ref,
    timing,
    counters,
    live,
    passesThisRun: 0,
    state: {
      memory: carried.memory,
      rejected: carried.rejected,
      ...(carried.deletionStartedAt !== undefined ? { deletionStartedAt: carried.deletionStartedAt } : {}),
      heal: carried.heal ?? {},
      ...(carried.kubeconfigSeen !== undefined ? { kubeconfigSeen: carried.kubeconfigSeen } : {}),
      activeDelay: timing.activePollMinMs,
    },
  };

  // What the messages change, and what the loop reads between passes.
  let dirty = true;
  let retryPending = carried.retryPending;
  let retryEpoch = 0; // bumped by each retry request
  let completedEpoch = 0; // the epoch the last finished pass had seen
  let lastOutcome: RetryOutcome | undefined;

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
  // Query-only state (no command): safe for every recorded history.
  setCurrentDetails(workflowDetails(live));

  /** Keeps the workflow findable by its state in the Web UI and `ksm-flux list`: upserts only what changed. */
  const reportSearchAttributes = () => {
    const v = workflowSearchAttributes({ ref, phase: live.phase, ...run.state.seen, services: live.services });
    if (!v || !patched(SEARCH_ATTRIBUTES_PATCH)) return;
    const current = workflowInfo().typedSearchAttributes;
    const changed = changedPairs((k) => current.get(k), v);
    if (changed.length) upsertSearchAttributes(changed);
  };

  // Not while a retry update waits for a pass: it would wait for ever on a run that has stopped passing.
  const rollOver = () =>
    (workflowInfo().continueAsNewSuggested || run.passesThisRun >= timing.maxPassesPerRun) &&
    retryEpoch <= completedEpoch;
  const rollOverNow = async () => {
    await condition(allHandlersFinished);
    counters.continuedAsNew++;
    const s = run.state;
    await continueAsNew<typeof serviceSetWorkflow>({
      ref,
      ...(input.timing ? { timing: input.timing } : {}),
      carried: {
        memory: s.memory,
        rejected: s.rejected,
        counters,
        retryPending,
        deletionStartedAt: s.deletionStartedAt,
        services: live.services,
        deployed: live.deployed,
        ...(Object.keys(s.heal).length ? { heal: s.heal } : {}),
        ...(s.kubeconfigSeen ? { kubeconfigSeen: s.kubeconfigSeen } : {}),
      },
    });
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
    let outcome: 'ok' | 'deleting' | 'error';
    let wrote = false;
    try {
      const r = await runPass(run, { local, remote }, retry, now, fromTimer && !retry);
      if (r.done) {
        live.phase = 'Done';
        completedEpoch = epochAtStart;
        metrics.done();
        return;
      }
      if (r.again) dirty = true;
      ({ nextDelay, wrote } = r);
      outcome = r.deleting ? 'deleting' : 'ok';
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
      const b = backOff(run.state.activeDelay, timing);
      nextDelay = b.delay;
      run.state.activeDelay = b.activeDelay;
      outcome = 'error';
    }
    lastOutcome = passOutcome(now.toISOString(), counters, live);
    metrics.pass({
      durationMs: Date.now() - now.getTime(),
      outcome,
      states: stateCounts(live.services),
      statusWritten: wrote,
    });
    reportSearchAttributes();
    setCurrentDetails(workflowDetails(live));
    completedEpoch = epochAtStart;

    // With local activities (fast-pass-1) the decision waits for the next wake-up: read right after a pass,
    // continueAsNewSuggested belongs to whichever activation resolved the last local activity, and a replay
    // resolves local activities from their markers in an earlier activation than the live run did (a replay
    // then fails: "No command scheduled for event WorkflowExecutionContinuedAsNew"). A wake-up is a timer or a
    // message, the same activation live and on replay; it is also a short task, so no message arrives while a
    // pass runs in it (the server would refuse the continue-as-new and drop updates in flight).
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
