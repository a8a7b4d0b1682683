// Messages of the ServiceSet workflow: shared by the workflow, the watcher and the CLI. Workflow-safe.
import { defineQuery, defineSignal, defineUpdate, type Sinks } from '@temporalio/workflow';
import type { ServiceState } from './constants';
import type { HealMemory } from './decide';
import type { Memory } from './status';
import type { Rejections } from './rejections';
import type { ServiceSetRef } from './types';

/** The watcher saw a change to the ServiceSet or one of its objects; carries no state (level-triggered). */
export interface ChangedSignal {
  kind: string;
  resourceVersion?: string;
}
export const changedSignal = defineSignal<[ChangedSignal]>('changed');

/** Manual retry (Temporal Web UI, `temporal workflow signal`, or `ksm-flux retry`). */
export interface RetrySignal {
  reason?: string;
}
export const retrySignal = defineSignal<[RetrySignal?]>('retry');

export interface RetryOutcome {
  requestedAt: string;
  pass: number;
  services: ServiceLiveState[];
  lastError?: string;
}
/** The same as the retry signal, but the caller waits for the pass it causes and gets its outcome. */
export const retryUpdate = defineUpdate<RetryOutcome, [RetrySignal]>('retryNow');

export interface ServiceLiveState {
  key: string;
  state: ServiceState;
  message?: string;
  version?: string;
  flux?: string;
  /** Failed, and retried automatically at this time (self-healing). */
  nextRetryAt?: string;
  /** Failed this many times in a row on the current input. */
  failures?: number;
}

export interface Counters {
  passes: number;
  signals: number;
  retries: number;
  applies: number;
  statusWrites: number;
  activityErrors: number;
  continuedAsNew: number;
}

export interface LiveState {
  ref: ServiceSetRef;
  phase: 'Starting' | 'Reconciling' | 'Waiting' | 'NotOwned' | 'ProviderNotReady' | 'Deleting' | 'Done';
  owned: boolean;
  lastPassAt?: string;
  nextPollMs?: number;
  services: ServiceLiveState[];
  deployed: boolean;
  lastError?: string;
  counters: Counters;
}
export const stateQuery = defineQuery<LiveState>('state');

/** Polling and deadlines; every one is a workflow input so tests run fast without time skipping. */
export interface Timing {
  /** Safety-net poll when nothing is in progress. */
  quiescentPollMs: number;
  /** First poll after a change; doubles while work is in progress, up to activePollMaxMs. */
  activePollMinMs: number;
  activePollMaxMs: number;
  /** How long a Deployed service may look in-progress on an unchanged spec before we report it. */
  flapToleranceMs: number;
  /** How long deletion waits for Flux before orphaning (provider config deletionTimeout overrides). */
  deletionTimeoutMs: number;
  /** After orphaning, how long Flux gets to drop its finalizer before we remove it. */
  finalizerGraceMs: number;
  /** Passes per run before continue-as-new (the server's suggestion also triggers it). */
  maxPassesPerRun: number;
  /** First automatic retry of a Flux object that gave up (Stalled); doubles per failure up to healBackoffMaxMs. */
  healBackoffMinMs: number;
  healBackoffMaxMs: number;
}

/** The defaults, here and for the worker's settings (src/config.ts takes its defaults from these). */
export const defaultTiming: Timing = {
  quiescentPollMs: 60 * 60_000,
  activePollMinMs: 15_000,
  activePollMaxMs: 60_000,
  flapToleranceMs: 90_000,
  deletionTimeoutMs: 10 * 60_000,
  finalizerGraceMs: 2 * 60_000,
  maxPassesPerRun: 1000,
  healBackoffMinMs: 30_000,
  healBackoffMaxMs: 10 * 60_000,
};

/** State carried across continue-as-new. */
export interface Carried {
  memory: Memory;
  rejected: Rejections;
  counters: Counters;
  retryPending: boolean;
  deletionStartedAt?: number;
  /** What the state query showed, so the new run answers it before its first pass. */
  services?: ServiceLiveState[];
  deployed?: boolean;
  /** Self-healing budget per service (src/workflow/decide decideHealing). */
  heal?: HealMemory;
  /** The kubeconfig Secret version last seen (src/workflow/kubeconfigRotation). */
  kubeconfigSeen?: string;
}

export interface ServiceSetWorkflowInput {
  ref: ServiceSetRef;
  timing?: Partial<Timing>;
  carried?: Carried;
}

/** Metrics the workflow reports to its worker (sinks do no I/O in workflow code and are skipped on replay). */
export interface MetricsSinks extends Sinks {
  metrics: {
    pass(p: {
      durationMs: number;
      outcome: 'ok' | 'error' | 'deleting';
      states: Partial<Record<ServiceState, number>>;
      statusWritten: boolean;
    }): void;
    done(): void;
  };
}
