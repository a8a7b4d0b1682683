// Types that cross the workflow/activity boundary (Temporal payloads). They stay small and never carry
// Secret contents, values or rendered manifests: only references, digests and observed Flux conditions.
import type { ServiceState, ServiceType } from './constants';
import type { Drift } from './drift';

export interface ServiceSetRef {
  uid: string;
  namespace: string;
  name: string;
}

export interface FluxRef {
  kind: 'HelmRelease' | 'Kustomization';
  namespace: string;
  name: string;
}

export interface ObservedCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** A HelmRelease or Kustomization as the observe activity saw it. */
export interface FluxObservation extends FluxRef {
  uid: string;
  generation: number;
  observedGeneration: number;
  lastAttemptedGeneration?: number;
  deleting: boolean;
  suspended: boolean;
  /** Flux's finalizer still on the object. */
  fluxFinalizer: boolean;
  appliedHash: string;
  conditions: ObservedCondition[];
  lastHandledReconcileAt?: string;
  /**
   * Set only while no Flux controller has ever touched the object (no Flux finalizer, no condition, no observed
   * generation): how long it has existed then, at observation time. See fluxState.ts `unclaimedVerdict`.
   */
  unclaimedForMs?: number;
  /** Owning ServiceSet uid (label), for objects found by label. */
  ownerUid: string;
  serviceKey: string;
  releaseKey?: string;
}

export interface PlanError {
  /** A stable name for the kind of bad input, e.g. TemplateNotFound, InvalidValues. */
  reason: string;
  message: string;
  /** An input that is not there yet (e.g. a valuesFrom ConfigMap): wait for it, do not fail. */
  pending?: boolean;
}

export interface ConflictInfo {
  /** This ServiceSet owns the release. */
  winner: boolean;
  /** The ServiceSet that owns the release, when we are not it. */
  owner?: { namespace: string; name: string; priority: number };
  /** Flux objects of other ServiceSets that still hold the release (the winner waits for them). */
  heldBy: FluxRef[];
  /** Other ServiceSets that want this release and would take it over when we let go. */
  waiting: { namespace: string; name: string }[];
  /** ServiceSets of another provider that deploy this release too: we never fight over it (we let go). */
  foreign?: { namespace: string; name: string; provider: string }[];
}

/** What the observe activity read about one service: facts, no judgement. */
export interface ServiceFacts {
  key: string;
  name: string;
  namespace: string;
  template: string;
  type: ServiceType;
  specVersion: string;
  uninstall: boolean;
  /** Our Flux object for this service, as it is. */
  flux?: FluxObservation;
}

/**
 * What the observe activity concluded about one service from the facts and the inputs it read (the planner,
 * the drift check, the release-conflict rule). Decided there because the inputs (rendered values, templates,
 * other ServiceSets) never enter the workflow.
 */
export interface ServiceVerdicts {
  /** Bad input: the service fails until the input changes (or waits, when `pending`). */
  planError?: PlanError;
  /** An input that is not there yet (kubeconfig Secret, template being validated): wait, do not fail. */
  awaiting?: PlanError;
  /** What we would write, by reference and digest. */
  desired?: { ref: FluxRef; hash: string };
  /** Someone else changed our Flux object (src/workflow/drift.ts): the pass applies the plan again. */
  drift?: Drift;
  conflict?: ConflictInfo;
}

export interface ServiceObservation extends ServiceFacts, ServiceVerdicts {}

export interface StatusCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ServiceStatusEntry {
  name: string;
  namespace: string;
  template: string;
  type: ServiceType;
  state: ServiceState;
  version?: string;
  failureMessage?: string;
  lastDeployedHash?: string;
  lastStateTransitionTime: string;
}

export interface ClusterRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** The part of ServiceSet.status ksm-flux owns. */
export interface StatusView {
  deployed: boolean;
  cluster?: ClusterRef;
  provider?: { ready: boolean; suspended: boolean };
  services: ServiceStatusEntry[];
  conditions: StatusCondition[];
}

/** What the observe activity read about the ServiceSet and its surroundings: facts, no judgement. */
export interface ObservationFacts {
  /** False when the ServiceSet is gone (or was recreated under another uid). */
  found: boolean;
  generation: number;
  deleting: boolean;
  hasFinalizer: boolean;
  paused: boolean;
  provider: { name: string; found: boolean; ready: boolean; suspended: boolean };
  cluster: ClusterRef;
  providerConfig: {
    valid: boolean;
    error?: string;
    priority: number;
    deletionTimeoutMs?: number;
    maxConsecutiveFailures?: number;
    /** Sveltos keys set to something ksm-flux does not do, each with the nearest alternative (config still applies). */
    unsupported?: string[];
  };
  target: {
    selfManagement: boolean;
    kubeconfigSecret?: string;
    kubeconfigSecretFound: boolean;
    /** uid/resourceVersion of the kubeconfig Secret (no content): changes when it is rotated or replaced. */
    kubeconfigVersion?: string;
    /** The ClusterDeployment has a deletionTimestamp (read only while the ServiceSet is being deleted). */
    clusterDeleting?: boolean;
  };
  /**
   * Only when the ServiceSet is gone (found false): Flux objects still labelled with its uid — it was deleted
   * without our finalizer (someone removed it), and nothing else may clean them up (no garbage collector).
   */
  leftovers?: FluxRef[];
  status: StatusView;
  /** A whole-ServiceSet input problem that stops all applies (e.g. unparsable object). */
  invalid?: string;
}

/** What the observe activity concluded about the ServiceSet as a whole. */
export interface ObservationVerdicts {
  /** Our StateManagementProvider names us and its selector matches the ServiceSet (src/ownership/). */
  owned: boolean;
  /** Why not owned (for the query and logs). */
  notOwnedReason?: string;
}

/** One observation: the facts, and per service the facts with the verdicts on them. */
export interface Observation extends ObservationFacts, ObservationVerdicts {
  services: ServiceObservation[];
  /** Our Flux objects that no longer belong to a spec service. */
  stray: StrayObject[];
}

export interface StrayObject {
  /** Fact: the object as it is. */
  flux: FluxObservation;
  /** Verdict: another ServiceSet wants this release; suspend before deleting so Flux does not uninstall it. */
  handOver: boolean;
}

export interface ApplyResult {
  key: string;
  ok: boolean;
  ref?: FluxRef;
  hash?: string;
  error?: PlanError;
}

export interface StateTransition {
  key: string;
  from?: ServiceState;
  to: ServiceState;
  message?: string;
}

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
  /** Makes the event idempotent across activity retries. */
  dedupKey: string;
}
