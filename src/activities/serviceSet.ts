// Activities that write the ServiceSet itself: our finalizer, its status and its Events.
import crypto from 'node:crypto';
import { FINALIZER, K0RDENT_API_VERSION, WORKFLOW_ID_ANNOTATION, workflowIdFor } from '../workflow/constants';
import type { EventSpec, ServiceSetRef, StatusView } from '../workflow/types';
import { KubeError } from '../kube/client';
import { paths } from '../kube/paths';
import type { Deps } from './deps';
import { describeError } from '../util/errorCause';

/** Log fields of every line about a ServiceSet: namespace/name and its workflow id. */
export function refLog(ref: ServiceSetRef) {
  return { serviceSet: `${ref.namespace}/${ref.name}`, workflowId: workflowIdFor(ref.uid) };
}
const ctx = refLog;

async function current(deps: Deps, ref: ServiceSetRef) {
  const o = await deps.client.get(paths.serviceSet(ref.namespace, ref.name));
  return o && o.metadata.uid === ref.uid ? o : undefined;
}

/** Adds our finalizer (and the workflow-id annotation) before any other work. */
export async function addFinalizer(deps: Deps, ref: ServiceSetRef): Promise<void> {
  const o = await current(deps, ref);
  if (!o || o.metadata.deletionTimestamp) return;
  const fins = (o.metadata.finalizers as string[] | undefined) ?? [];
  const id = workflowIdFor(ref.uid);
  const annotations = o.metadata.annotations as Record<string, string> | undefined;
  const ops: unknown[] = [];
  if (annotations?.[WORKFLOW_ID_ANNOTATION] !== id) {
    ops.push(
      annotations
        ? {
            op: 'add',
            path: `/metadata/annotations/${WORKFLOW_ID_ANNOTATION.replace(/~/g, '~0').replace(/\//g, '~1')}`,
            value: id,
          }
        : { op: 'add', path: '/metadata/annotations', value: { [WORKFLOW_ID_ANNOTATION]: id } },
    );
  }
  if (!fins.includes(FINALIZER)) {
    // Guarded by a test of the current list: never drop a finalizer someone else added meanwhile.
    ops.push(
      ...(fins.length
        ? [
            { op: 'test', path: '/metadata/finalizers', value: fins },
            { op: 'add', path: '/metadata/finalizers/-', value: FINALIZER },
          ]
        : [{ op: 'add', path: '/metadata/finalizers', value: [FINALIZER] }]),
    );
  }
  if (!ops.length) return;
  // One write for both: one watch event instead of two.
  await deps.client.jsonPatch(paths.serviceSet(ref.namespace, ref.name), [
    { op: 'test', path: '/metadata/uid', value: ref.uid },
    ...ops,
  ]);
  deps.logger.info(ctx(ref), 'added finalizer');
}

export async function removeFinalizer(deps: Deps, ref: ServiceSetRef): Promise<void> {
  const o = await current(deps, ref);
  if (!o) return;
  const fins = (o.metadata.finalizers as string[] | undefined) ?? [];
  const i = fins.indexOf(FINALIZER);
  if (i < 0) return;
  await deps.client.jsonPatch(paths.serviceSet(ref.namespace, ref.name), [
    { op: 'test', path: '/metadata/uid', value: ref.uid },
    { op: 'test', path: `/metadata/finalizers/${i}`, value: FINALIZER },
    { op: 'remove', path: `/metadata/finalizers/${i}` },
  ]);
  deps.logger.info(ctx(ref), 'removed finalizer');
}

/** Writes status (merge patch of the status subresource) and then the events of the pass. */
export async function writeStatus(
  deps: Deps,
  ref: ServiceSetRef,
  status: StatusView,
  events: EventSpec[],
): Promise<{ written: boolean }> {
  let written = false;
  try {
    await deps.client.mergePatch(paths.serviceSetStatus(ref.namespace, ref.name), { status });
    written = true;
  } catch (e) {
    if (e instanceof KubeError && e.notFound) return { written: false };
    throw e;
  }
  await Promise.all(events.map((ev) => recordEvent(deps, ref, ev)));
  deps.logger.debug(
    {
      ...ctx(ref),
      deployed: status.deployed,
      services: status.services.map((s) => `${s.namespace}/${s.name}=${s.state}`),
    },
    'wrote status',
  );
  return { written };
}

function microTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Records an events.k8s.io/v1 Event regarding the ServiceSet; its name is derived from dedupKey, so a retried activity records it once. */
export async function recordEvent(deps: Deps, ref: ServiceSetRef, ev: EventSpec): Promise<void> {
  const suffix = crypto.createHash('sha256').update(`${ref.uid}|${ev.dedupKey}`).digest('hex').slice(0, 16);
  const name = `${ref.name.slice(0, 200)}.${suffix}`;
  const body = {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name, namespace: ref.namespace, labels: { 'app.kubernetes.io/managed-by': 'ksm-flux' } },
    eventTime: microTime(),
    reportingController: 'k0rdent.mirantis.com/ksm-flux',
    reportingInstance: deps.instance.slice(0, 128),
    action: ev.action,
    reason: ev.reason,
    note: ev.note.slice(0, 1024),
    type: ev.type,
    regarding: {
      apiVersion: K0RDENT_API_VERSION,
      kind: 'ServiceSet',
      name: ref.name,
      namespace: ref.namespace,
      uid: ref.uid,
    },
  };
  try {
    await deps.client.create(paths.events(ref.namespace), body);
  } catch (e) {
    if (e instanceof KubeError && e.conflict) return; // already recorded by an earlier attempt
    // Events are best effort: never fail a reconcile because one could not be recorded.
    deps.logger.warn({ ...ctx(ref), reason: ev.reason, ...describeError(e) }, 'could not record event');
  }
}
