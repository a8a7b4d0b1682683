// `ksm-flux retry` and `ksm-flux status`: operator commands against a running adapter.
import { WorkflowNotFoundError } from '@temporalio/client';
import { workflowIdFor } from '../workflow/constants';
import { ServiceSet, parseObject } from '../api/k0rdent';
import type { Config } from '../config';
import { KubeClient } from '../kube/client';
import { paths } from '../kube/paths';
import { connectClient } from '../temporalConn';
import {
  retrySignal,
  retryUpdate,
  stateQuery,
  type LiveState,
  type RetryOutcome,
  type ServiceLiveState,
} from '../workflow/defs';

export function parseRef(arg: string | undefined): { namespace: string; name: string } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(arg ?? '');
  if (!m) throw new Error(`expected <namespace>/<name>, got ${JSON.stringify(arg ?? '')}`);
  return { namespace: m[1]!, name: m[3]! };
}

async function loadServiceSet(cfg: Config, ns: string, name: string): Promise<ServiceSet> {
  const kube = KubeClient.fromDefault(cfg.kubeconfig);
  try {
    const raw = await kube.get(paths.serviceSet(ns, name));
    if (!raw) throw new Error(`ServiceSet ${ns}/${name} not found`);
    return parseObject(ServiceSet, raw, `ServiceSet ${ns}/${name}`);
  } finally {
    kube.close();
  }
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export async function retry(
  cfg: Config,
  arg: string | undefined,
  opts: { noWait?: boolean; out?: (s: string) => void } = {},
): Promise<RetryOutcome | undefined> {
  const out = opts.out ?? ((s: string) => process.stdout.write(`${s}\n`));
  const { namespace, name } = parseRef(arg);
  const ss = await loadServiceSet(cfg, namespace, name);
  const client = await connectClient(cfg);
  try {
    const handle = client.workflow.getHandle(workflowIdFor(ss.metadata.uid));
    if (opts.noWait) {
      await handle.signal(retrySignal, { reason: 'ksm-flux retry' });
      out(`retry signal sent to ${handle.workflowId}`);
      return undefined;
    }
    const outcome = await handle.executeUpdate(retryUpdate, { args: [{ reason: 'ksm-flux retry' }] });
    out(
      `retried ServiceSet ${namespace}/${name} (workflow ${handle.workflowId}, pass ${outcome.pass} at ${outcome.requestedAt})`,
    );
    if (outcome.lastError) out(`last error: ${outcome.lastError}`);
    out(
      table([
        ['SERVICE', 'STATE', 'VERSION', 'FLUX OBJECT', 'MESSAGE'],
        ...outcome.services.map((s) => [s.key, s.state, s.version ?? '', s.flux ?? '', s.message ?? '']),
      ]),
    );
    return outcome;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError)
      throw new Error(
        `no running workflow for ServiceSet ${namespace}/${name}: is the ksm-flux watcher running, and is the ServiceSet ours?`,
      );
    throw e;
  } finally {
    await client.connection.close();
  }
}

/** When a failed service is retried automatically (self-healing), or "-". */
function nextRetry(l: ServiceLiveState | undefined): string {
  if (!l || l.state !== 'Failed') return '';
  return l.nextRetryAt ?? (l.failures ? 'stopped' : '-');
}

export async function status(
  cfg: Config,
  arg: string | undefined,
  out: (s: string) => void = (s) => process.stdout.write(`${s}\n`),
): Promise<{ live?: LiveState; stored: ServiceSet }> {
  const { namespace, name } = parseRef(arg);
  const ss = await loadServiceSet(cfg, namespace, name);
  const workflowId = workflowIdFor(ss.metadata.uid);
  let live: LiveState | undefined;
  let liveErr = '';
  const client = await connectClient(cfg);
  try {
    live = await client.workflow.getHandle(workflowId).query(stateQuery);
  } catch (e) {
    liveErr = e instanceof WorkflowNotFoundError ? 'no running workflow' : (e as Error).message;
  } finally {
    await client.connection.close();
  }
  const st = ss.status ?? {};
  const ready = (st.conditions ?? []).find((c) => c.type === 'ServicesInReadyState');
  out(`ServiceSet ${namespace}/${name}  uid ${ss.metadata.uid}`);
  out(
    `workflow   ${workflowId}${live ? `  phase ${live.phase}${live.lastPassAt ? `  last pass ${live.lastPassAt}` : ''}` : `  (${liveErr})`}`,
  );
  out(
    `deployed   ${st.deployed ?? false}  ready ${ready?.message ?? '-'}  provider ready=${st.provider?.ready ?? '-'} suspended=${st.provider?.suspended ?? '-'}`,
  );
  if (live?.lastError) out(`last error ${live.lastError}`);
  if (live) {
    const c = live.counters;
    out(
      `counters   passes=${c.passes} signals=${c.signals} retries=${c.retries} applies=${c.applies} statusWrites=${c.statusWrites} activityErrors=${c.activityErrors} continuedAsNew=${c.continuedAsNew}`,
    );
  }
  const liveBy = new Map((live?.services ?? []).map((s) => [s.key, s]));
  const rows = [
    ['SERVICE', 'TYPE', 'STORED STATE', 'LIVE STATE', 'VERSION', 'SINCE', 'FLUX OBJECT', 'NEXT RETRY', 'MESSAGE'],
  ];
  for (const e of st.services ?? []) {
    const key = `${e.namespace}/${e.name}`;
    const l = liveBy.get(key);
    const since =
      e.lastStateTransitionTime instanceof Date
        ? e.lastStateTransitionTime.toISOString()
        : String(e.lastStateTransitionTime);
    rows.push([
      key,
      e.type,
      e.state,
      l?.state ?? '-',
      e.version ?? '',
      since,
      l?.flux ?? '',
      nextRetry(l),
      e.failureMessage ?? l?.message ?? '',
    ]);
  }
  for (const l of live?.services ?? []) {
    if (!(st.services ?? []).some((e) => `${e.namespace}/${e.name}` === l.key))
      rows.push([l.key, '', '-', l.state, l.version ?? '', '', l.flux ?? '', nextRetry(l), l.message ?? '']);
  }
  out(table(rows));
  for (const c of st.conditions ?? []) out(`condition  ${c.type}=${c.status} (${c.reason}) ${c.message ?? ''}`);
  return { ...(live ? { live } : {}), stored: ss };
}
