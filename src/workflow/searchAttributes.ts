// Search attributes of ServiceSet workflows: what an operator filters on in the Temporal Web UI, `temporal workflow
// list` and `ksm-flux list` to find the workflow of a cluster or of a failing service among thousands. The names,
// their types, the values computed from a ServiceSet's state, and the visibility queries over them. Pure and
// workflow-safe (the workflow upserts them; the watcher sets the first values at start).
import { defineSearchAttributeKey, type SearchAttributePair, type SearchAttributeType } from '@temporalio/common';
// The key type is not re-exported from the package root.
import type { SearchAttributeKey } from '@temporalio/common/lib/search-attributes';
import type { ServiceState } from './constants';

export const SA = {
  namespace: defineSearchAttributeKey('KsmServiceSetNamespace', 'KEYWORD'),
  name: defineSearchAttributeKey('KsmServiceSetName', 'KEYWORD'),
  cluster: defineSearchAttributeKey('KsmCluster', 'KEYWORD'),
  provider: defineSearchAttributeKey('KsmProvider', 'KEYWORD'),
  state: defineSearchAttributeKey('KsmState', 'KEYWORD'),
  failed: defineSearchAttributeKey('KsmFailedServices', 'INT'),
} as const;

/**
 * Every attribute with the type name the Temporal CLI takes (`temporal server start-dev --search-attribute
 * KsmState=Keyword`, `temporal operator search-attribute create --name KsmState --type Keyword`). Five Keywords
 * and one Int fit the SQL visibility stores (PostgreSQL, MySQL, SQLite: 10 Keyword and 3 Int columns per namespace).
 */
export const SEARCH_ATTRIBUTES: readonly { key: SearchAttributeKey<SearchAttributeType>; cliType: string }[] =
  Object.values(SA).map((key) => ({ key, cliType: key.type === 'INT' ? 'Int' : 'Keyword' }));

/** `--search-attribute Name=Type` flags for `temporal server start-dev`. */
export function devServerSearchAttributeFlags(): string[] {
  return SEARCH_ATTRIBUTES.flatMap((a) => ['--search-attribute', `${a.key.name}=${a.cliType}`]);
}

/**
 * The state of a ServiceSet as a whole. Being deleted wins; otherwise it is the state of its least advanced
 * service in the order Failed < Pending < Provisioning < Deployed, where a helmAction Uninstall in progress
 * (Deleting) counts as Provisioning (work under way) and one that finished (Deleted) as Deployed (its desired end
 * state). No services: Deployed (nothing to do). So `KsmState = 'Failed'` finds every ServiceSet with at least one
 * failed service, and `Deployed` means every service is.
 */
export const AGGREGATE_STATES = ['Deployed', 'Provisioning', 'Pending', 'Failed', 'Deleting'] as const;
export type AggregateState = (typeof AGGREGATE_STATES)[number];

const RANK: Record<ServiceState, { rank: number; as: AggregateState }> = {
  Failed: { rank: 0, as: 'Failed' },
  Pending: { rank: 1, as: 'Pending' },
  Provisioning: { rank: 2, as: 'Provisioning' },
  Deleting: { rank: 2, as: 'Provisioning' },
  Deployed: { rank: 3, as: 'Deployed' },
  Deleted: { rank: 3, as: 'Deployed' },
};

export function aggregateState(states: readonly ServiceState[], deleting: boolean): AggregateState {
  if (deleting) return 'Deleting';
  let worst: { rank: number; as: AggregateState } = { rank: 3, as: 'Deployed' };
  for (const s of states) if (RANK[s].rank < worst.rank) worst = RANK[s];
  return worst.as;
}

export interface SearchAttributeValues {
  namespace: string;
  name: string;
  cluster: string;
  provider: string;
  state: AggregateState;
  failed: number;
}

/** Where the workflow stands after a pass (its LiveState phase) and what it knows then. */
export interface WorkflowView {
  ref: { namespace: string; name: string };
  phase: string;
  /** From the pass's observation; undefined when the pass did not get that far. */
  cluster?: string;
  provider?: string;
  services: readonly { state: ServiceState }[];
}

/**
 * The values after a pass, or undefined when the pass reached no verdict (it only added the finalizer, the
 * ServiceSet is not ours, or the observation failed): the attributes then keep what they said.
 */
export function workflowSearchAttributes(v: WorkflowView): SearchAttributeValues | undefined {
  const verdict = v.phase === 'Waiting' || v.phase === 'ProviderNotReady' || v.phase === 'Deleting';
  if (!verdict || v.cluster === undefined || v.provider === undefined) return undefined;
  const states = v.services.map((s) => s.state);
  return {
    namespace: v.ref.namespace,
    name: v.ref.name,
    cluster: v.cluster,
    provider: v.provider,
    state: aggregateState(states, v.phase === 'Deleting'),
    failed: states.filter((s) => s === 'Failed').length,
  };
}

/** What the watcher knows when it starts a workflow: the ServiceSet's spec and its stored status. */
export interface StoredView {
  ref: { namespace: string; name: string };
  cluster: string;
  provider: string;
  deleting: boolean;
  specServices: number;
  /** States in the stored status; undefined or empty when no status was written yet. */
  storedStates?: readonly ServiceState[];
}

/** First values, set at start so a new run is findable before its first pass; the workflow corrects them. */
export function startSearchAttributes(v: StoredView): SearchAttributeValues {
  const states = v.storedStates ?? [];
  const state: AggregateState =
    !v.deleting && !states.length && v.specServices > 0 ? 'Pending' : aggregateState(states, v.deleting);
  return {
    namespace: v.ref.namespace,
    name: v.ref.name,
    cluster: v.cluster,
    provider: v.provider,
    state,
    failed: states.filter((s) => s === 'Failed').length,
  };
}

export function toPairs(v: SearchAttributeValues): SearchAttributePair[] {
  return [
    { key: SA.namespace, value: v.namespace },
    { key: SA.name, value: v.name },
    { key: SA.cluster, value: v.cluster },
    { key: SA.provider, value: v.provider },
    { key: SA.state, value: v.state },
    { key: SA.failed, value: v.failed },
  ];
}

/** The pairs whose value differs from the current one (`current` reads a key, e.g. TypedSearchAttributes.get). */
export function changedPairs(
  current: (key: SearchAttributeKey<SearchAttributeType>) => unknown,
  v: SearchAttributeValues,
): SearchAttributePair[] {
  return toPairs(v).filter((p) => current(p.key) !== p.value);
}

/** Reads the values back from a listed execution's attributes (missing ones are undefined). */
export function fromAttributes(get: (key: SearchAttributeKey<SearchAttributeType>) => unknown): {
  [K in keyof SearchAttributeValues]?: SearchAttributeValues[K];
} {
  const str = (k: SearchAttributeKey<'KEYWORD'>) => {
    const x = get(k);
    return typeof x === 'string' ? x : undefined;
  };
  const failed = get(SA.failed);
  const state = str(SA.state);
  return {
    namespace: str(SA.namespace),
    name: str(SA.name),
    cluster: str(SA.cluster),
    provider: str(SA.provider),
    state: AGGREGATE_STATES.find((s) => s === state),
    failed: typeof failed === 'number' ? failed : typeof failed === 'bigint' ? Number(failed) : undefined,
  };
}

export class ListFilterError extends Error {}

export interface ListFilter {
  /** Case-insensitive; one of AGGREGATE_STATES. */
  state?: string;
  cluster?: string;
  /** The ServiceSet's namespace. */
  namespace?: string;
  provider?: string;
  /** Also workflows that ended (ServiceSets that are gone); default only running ones. */
  all?: boolean;
}

const NAME = /^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;

/**
 * The visibility query of `ksm-flux list`: our workflow type on our task queue, with the filters given. Values are
 * checked (Kubernetes names, known states) before they are quoted, so a filter cannot change the query's shape.
 */
export function listQuery(f: ListFilter, o: { workflowType: string; taskQueue: string }): string {
  for (const v of [o.workflowType, o.taskQueue])
    if (/['"\\]/.test(v)) throw new ListFilterError(`cannot query for ${JSON.stringify(v)}: it contains a quote`);
  const parts = [`WorkflowType = '${o.workflowType}'`, `TaskQueue = '${o.taskQueue}'`];
  if (!f.all) parts.push(`ExecutionStatus = 'Running'`);
  if (f.state !== undefined) {
    const s = AGGREGATE_STATES.find((x) => x.toLowerCase() === f.state!.toLowerCase());
    if (!s) throw new ListFilterError(`--state: expected one of ${AGGREGATE_STATES.join(', ')}, got ${f.state}`);
    parts.push(`${SA.state.name} = '${s}'`);
  }
  for (const [flag, key, value] of [
    ['cluster', SA.cluster, f.cluster],
    ['namespace', SA.namespace, f.namespace],
    ['provider', SA.provider, f.provider],
  ] as const) {
    if (value === undefined) continue;
    if (!NAME.test(value)) throw new ListFilterError(`--${flag}: expected a Kubernetes name, got ${value}`);
    parts.push(`${key.name} = '${value}'`);
  }
  return parts.join(' AND ');
}
