// `ksm-flux list`: the ServiceSet workflows that match a state, cluster, namespace or provider, found by a Temporal
// visibility query over their search attributes (src/workflow/searchAttributes), each with its Web UI link.
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { Config } from '../config';
import { fromAttributes, listQuery, type ListFilter } from '../workflow/searchAttributes';
import { connectClient } from '../temporalConn';
import { table } from './ops';

export const WORKFLOW_TYPE = 'serviceSetWorkflow';

export interface ListRow {
  serviceSet: string;
  cluster: string;
  provider: string;
  state: string;
  failed: number | undefined;
  workflowId: string;
  runId: string;
  status: string;
  /** The workflow in the Web UI (its current run), when the UI's address is configured. */
  link?: string;
}

export interface ListResult {
  query: string;
  rows: ListRow[];
  /** The same filter as a Web UI workflow list, when the UI's address is configured. */
  uiListLink?: string;
}

export function workflowLink(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

function rowOf(e: WorkflowExecutionInfo, cfg: Config): ListRow {
  const v = fromAttributes((k) => e.typedSearchAttributes.get(k));
  return {
    serviceSet: v.namespace && v.name ? `${v.namespace}/${v.name}` : '-',
    cluster: v.cluster ?? '-',
    provider: v.provider ?? '-',
    state: v.state ?? '-',
    failed: v.failed,
    workflowId: e.workflowId,
    runId: e.runId,
    status: e.status.name,
    ...(cfg.temporalUiUrl ? { link: workflowLink(cfg.temporalUiUrl, cfg.temporalNamespace, e.workflowId) } : {}),
  };
}

/** Runs the query (with an open client: tests poll it while visibility catches up). */
export async function queryServiceSets(client: Client, cfg: Config, f: ListFilter): Promise<ListResult> {
  const query = listQuery(f, { workflowType: WORKFLOW_TYPE, taskQueue: cfg.taskQueue });
  const rows: ListRow[] = [];
  for await (const e of client.workflow.list({ query })) rows.push(rowOf(e, cfg));
  rows.sort((a, b) => (a.serviceSet < b.serviceSet ? -1 : a.serviceSet > b.serviceSet ? 1 : 0));
  return {
    query,
    rows,
    ...(cfg.temporalUiUrl
      ? {
          uiListLink: `${cfg.temporalUiUrl}/namespaces/${encodeURIComponent(cfg.temporalNamespace)}/workflows?query=${encodeURIComponent(query)}`,
        }
      : {}),
  };
}

export function formatList(r: ListResult, o: { all?: boolean } = {}): string {
  const head = ['SERVICESET', 'CLUSTER', 'PROVIDER', 'STATE', 'FAILED', ...(o.all ? ['WORKFLOW STATUS'] : []), 'LINK'];
  const lines = [
    table([
      head,
      ...r.rows.map((x) => [
        x.serviceSet,
        x.cluster,
        x.provider,
        x.state,
        x.failed === undefined ? '-' : String(x.failed),
        ...(o.all ? [x.status] : []),
        // Without the UI's address, the id is what `temporal workflow describe -w` takes.
        x.link ?? x.workflowId,
      ]),
    ]),
    `${r.rows.length} ServiceSet workflow(s) matching ${r.query}`,
  ];
  if (r.uiListLink) lines.push(`In the Web UI: ${r.uiListLink}`);
  return lines.join('\n');
}

export async function list(
  cfg: Config,
  f: ListFilter,
  o: { json?: boolean; out?: (s: string) => void } = {},
): Promise<ListResult> {
  const out = o.out ?? ((s: string) => process.stdout.write(`${s}\n`));
  // Checked before connecting: a bad filter is a usage error, whatever the server.
  listQuery(f, { workflowType: WORKFLOW_TYPE, taskQueue: cfg.taskQueue });
  const client = await connectClient(cfg);
  try {
    const r = await queryServiceSets(client, cfg, f);
    out(o.json ? JSON.stringify(r, null, 2) : formatList(r, { all: !!f.all }));
    return r;
  } finally {
    await client.connection.close();
  }
}
