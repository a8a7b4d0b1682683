// Whole workflow histories for tests that look inside them: every run of a workflow (following continue-as-new
// back to the first run), every payload in them wherever it sits (inputs, results, signals, updates, memo, search
// attributes, failures, heartbeats), and the text a reader of the stored history could see.
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;

/**
 * Every run's history, first run first: the latest run, then each run it continued from. Reads histories only
 * (describe would decode the memo, which a reader without the codec keys cannot).
 */
export async function allRuns(client: Client, workflowId: string): Promise<{ runId?: string; history: History }[]> {
  const out: { runId?: string; history: History }[] = [];
  let runId: string | undefined;
  do {
    const history: History = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    out.unshift({ ...(runId ? { runId } : {}), history });
    const started: temporal.api.history.v1.IWorkflowExecutionStartedEventAttributes | null | undefined =
      history.events?.[0]?.workflowExecutionStartedEventAttributes;
    runId = started?.continuedExecutionRunId || undefined;
  } while (runId);
  return out;
}

export interface FoundPayload {
  /** Where it sits, e.g. events[3].activityTaskCompletedEventAttributes.result.payloads[0]. */
  path: string;
  eventType: string;
  payload: Payload;
}

const isPayload = (v: unknown): v is Payload =>
  !!v && typeof v === 'object' && 'metadata' in v && (v as Payload).data instanceof Uint8Array;

/** Every payload of a history, with where it was found. */
export function payloadsOf(history: History): FoundPayload[] {
  const out: FoundPayload[] = [];
  const walk = (v: unknown, path: string, eventType: string) => {
    if (v instanceof Uint8Array || v === null || typeof v !== 'object') return;
    if (isPayload(v)) {
      out.push({ path, eventType, payload: v });
      return;
    }
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${path}[${i}]`, eventType));
    for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k, eventType);
  };
  (history.events ?? []).forEach((e, i) => {
    const type = Object.keys(e).find((k) => k.endsWith('EventAttributes')) ?? 'unknown';
    walk(e, `events[${i}]`, type);
  });
  return out;
}

/** Every string and byte string (as UTF-8) anywhere in a value, joined. */
export function rawText(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(rawText).join('\n');
  if (v && typeof v === 'object') return Object.values(v).map(rawText).join('\n');
  return '';
}

/** Forms a marker could take in stored bytes: as is, and base64 at each of the three alignments. */
export function markerForms(marker: string): string[] {
  const forms = [marker];
  for (const pad of ['', 'x', 'xx']) {
    const b = Buffer.from(pad + marker).toString('base64');
    // Drop the characters that depend on what precedes or follows the marker.
    const skip = Math.ceil((pad.length * 4) / 3);
    forms.push(b.slice(skip, b.length - 4));
  }
  return forms.filter((f) => f.length >= 8);
}
