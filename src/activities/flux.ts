// Activities that write Flux objects: server-side apply of planned objects, suspend/delete (hand-over and
// deletion), orphaning what Flux cannot finish, and reconcile requests for manual retries.
import { ApplicationFailure } from '@temporalio/activity';
import {
  FLUX_FINALIZER,
  FORCE_AT_ANNOTATION,
  REQUESTED_AT_ANNOTATION,
  RESET_AT_ANNOTATION,
} from '../workflow/constants';
import { ServiceSet, parseObject } from '../api/k0rdent';
import { FIELD_MANAGER, SIDE_FIELD_MANAGER, foreignAdditions, jsonPointer } from '../workflow/drift';
import { serviceKey } from '../plan/plan';
import { serviceSetPlanner, templateReader } from '../plan/planServiceSet';
import type { ApplyResult, FluxRef, ServiceSetRef } from '../workflow/types';
import { KubeError, type KubeObject } from '../kube/client';
import { paths } from '../kube/paths';
import { m } from '../metrics';
import type { Deps } from './deps';
import { recordEvent, refLog } from './serviceSet';
import { activityCallKey } from './callKey';

export { FIELD_MANAGER };
/** Suspensions and reconcile requests use their own manager so our next apply does not take them back. */
const SIDE_MANAGER = SIDE_FIELD_MANAGER;
/** Flux objects one applyServices call writes at once. */
const APPLY_CONCURRENCY = 8;

async function loadServiceSet(deps: Deps, ref: ServiceSetRef): Promise<ServiceSet | undefined> {
  const raw = await deps.client.get(paths.serviceSet(ref.namespace, ref.name));
  if (!raw || raw.metadata.uid !== ref.uid) return undefined;
  try {
    return parseObject(ServiceSet, raw, `ServiceSet ${ref.namespace}/${ref.name}`);
  } catch (e) {
    throw ApplicationFailure.nonRetryable((e as Error).message, 'InvalidServiceSet');
  }
}

export async function applyServices(deps: Deps, ref: ServiceSetRef, keys: string[]): Promise<ApplyResult[]> {
  const ss = await loadServiceSet(deps, ref);
  if (!ss || ss.metadata.deletionTimestamp) return [];
  // The observation that chose these keys checked the kubeconfig Secret; the plan is made afresh from the API.
  const planner = serviceSetPlanner(ss, {
    templateOf: templateReader(deps.client),
    values: deps.client,
    fluxMode: deps.fluxMode,
  });
  if (!planner.ok)
    return keys.map((key) => ({
      key,
      ok: false,
      error: { reason: 'ProviderConfigInvalid', message: planner.configError },
    }));
  const applyOne = async (key: string): Promise<ApplyResult | undefined> => {
    const svc = (ss.spec.services ?? []).find((s) => serviceKey(s) === key);
    if (!svc) return undefined; // removed since the observation; the next pass cleans up
    const row = await planner.plan(svc);
    // An input went away since the observation (or the service is uninstalled now): the next pass decides.
    if (row.awaiting || row.planError?.pending || row.uninstall) return undefined;
    if (row.planError) {
      m.applyErrors.inc({ reason: row.planError.reason });
      return { key, ok: false, error: row.planError };
    }
    const plan = row.planned!;
    const fref: FluxRef = {
      kind: plan.object.kind,
      namespace: plan.object.metadata.namespace,
      name: plan.object.metadata.name,
    };
    try {
      const applied = await deps.client.apply(paths.flux(fref), plan.object, FIELD_MANAGER);
      await removeForeignAdditions(deps, ref, fref, plan.object, applied);
      m.applies.inc({ kind: fref.kind });
      deps.logger.info(
        {
          ...refLog(ref),
          service: key,
          object: `${fref.kind}/${fref.name}`,
          hash: plan.hash,
        },
        'applied Flux object',
      );
      return { key, ok: true, ref: fref, hash: plan.hash };
    } catch (e) {
      if (e instanceof KubeError && e.invalid) {
        // The API server refused what we built (schema/CEL): bad input, not worth retrying as is.
        m.applyErrors.inc({ reason: 'FluxObjectRejected' });
        return {
          key,
          ok: false,
          ref: fref,
          hash: plan.hash,
          error: { reason: 'FluxObjectRejected', message: e.message },
        };
      }
      throw e;
    }
  };
  // A few applies at a time: hundreds of services applied one by one on a loaded API server can outlast the
  // activity's start-to-close timeout, and every retry starts over (test/integration/hostile.test.ts covers it).
  const results: (ApplyResult | undefined)[] = new Array(keys.length);
  let next = 0;
  const lane = async () => {
    while (next < keys.length) {
      const i = next++;
      results[i] = await applyOne(keys[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(APPLY_CONCURRENCY, keys.length) }, lane));
  return results.filter((r): r is ApplyResult => r !== undefined);
}

/**
 * Spec fields another field manager added to our object (e.g. `suspend: true`, an extra values key) survive a
 * server-side apply, which only drops fields we own: remove them (src/workflow/drift.ts). Each on its own, so one
 * that went meanwhile does not stop the others; the next pass checks again.
 */
async function removeForeignAdditions(
  deps: Deps,
  ref: ServiceSetRef,
  fref: FluxRef,
  planned: Parameters<typeof foreignAdditions>[0],
  live: KubeObject,
): Promise<void> {
  const added = foreignAdditions(planned, live);
  for (const segs of added) {
    try {
      await deps.client.jsonPatch(paths.flux(fref), [{ op: 'remove', path: jsonPointer(segs) }], SIDE_MANAGER);
    } catch (e) {
      if (e instanceof KubeError && (e.notFound || e.invalid)) continue;
      throw e;
    }
  }
  if (added.length)
    deps.logger.info(
      { ...refLog(ref), object: `${fref.kind}/${fref.name}`, removed: added.map((p) => p.join('.')) },
      'removed fields another manager added to our Flux object',
    );
}

async function suspend(deps: Deps, r: FluxRef, orphan: boolean): Promise<boolean> {
  const patch: Record<string, unknown> = {
    spec: { suspend: true, ...(orphan && r.kind === 'Kustomization' ? { deletionPolicy: 'Orphan' } : {}) },
  };
  try {
    await deps.client.mergePatch(paths.flux(r), patch, SIDE_MANAGER);
    return true;
  } catch (e) {
    if (e instanceof KubeError && e.notFound) return false;
    throw e;
  }
}

/** Clears spec.suspend if set; false when the object is gone. */
async function resume(deps: Deps, r: FluxRef): Promise<boolean> {
  const o = await deps.client.get(paths.flux(r));
  if (!o) return false;
  if ((o.spec as { suspend?: boolean } | undefined)?.suspend !== true) return true;
  try {
    await deps.client.mergePatch(paths.flux(r), { spec: { suspend: false } }, SIDE_MANAGER);
    return true;
  } catch (e) {
    if (e instanceof KubeError && e.notFound) return false;
    throw e;
  }
}

export async function deleteFluxObjects(
  deps: Deps,
  ref: ServiceSetRef,
  objects: FluxRef[],
  opts: { suspendFirst: boolean; reason: string; clusterGoing?: string },
): Promise<void> {
  for (const r of objects) {
    if (opts.suspendFirst && !(await suspend(deps, r, opts.reason === 'deletion'))) continue;
    // A normal removal means uninstall/prune; Flux skips both for a suspended object (it was suspended while
    // the ServiceSet was paused), which would leave the release orphaned: resume it first.
    if (!opts.suspendFirst && !(await resume(deps, r))) continue;
    await deps.client.delete(paths.flux(r));
    deps.logger.info(
      {
        ...refLog(ref),
        object: `${r.kind}/${r.name}`,
        suspendFirst: opts.suspendFirst,
        reason: opts.reason,
      },
      'deleted Flux object',
    );
  }
  if (opts.clusterGoing && objects.length) {
    await recordEvent(deps, ref, {
      type: 'Warning',
      reason: 'ClusterGoingAway',
      action: 'Finalize',
      note: `${opts.clusterGoing}: let go of ${objects.map((o) => `${o.kind} ${o.name}`).join(', ')} without uninstalling (suspended, then deleted)`,
      dedupKey: `going-${activityCallKey()}`,
    });
  }
  if (opts.reason === 'hand-over' && objects.length) {
    await recordEvent(deps, ref, {
      type: 'Normal',
      reason: 'ReleaseHandedOver',
      action: 'HandOver',
      note: `handed over ${objects.map((o) => `${o.kind} ${o.name}`).join(', ')} without uninstalling: another ServiceSet owns the release`,
      dedupKey: `handover-${activityCallKey()}`,
    });
  }
}

function describeLeftovers(objs: KubeObject[]): string {
  return objs
    .map((o) => {
      const spec = (o.spec ?? {}) as {
        releaseName?: string;
        targetNamespace?: string;
        path?: string;
        kubeConfig?: { secretRef?: { name?: string } };
      };
      const target = spec.kubeConfig?.secretRef?.name
        ? `cluster of Secret ${spec.kubeConfig.secretRef.name}`
        : 'the management cluster';
      return o.kind === 'HelmRelease'
        ? `Helm release ${spec.targetNamespace}/${spec.releaseName} on ${target}`
        : `objects of Kustomization ${o.metadata.name} (path ${spec.path ?? './'}) on ${target}`;
    })
    .join('; ');
}

export async function orphanFluxObjects(
  deps: Deps,
  ref: ServiceSetRef,
  objects: FluxRef[],
  /** Set when the target cluster is going away: why we let go at once instead of after the deadline. */
  clusterGoing?: string,
): Promise<void> {
  const left: KubeObject[] = [];
  for (const r of objects) {
    const o = await deps.client.get(paths.flux(r));
    if (!o) continue;
    if (await suspend(deps, r, true)) left.push(o);
  }
  if (!left.length) return;
  const why = clusterGoing
    ? `${clusterGoing}: not waiting for an uninstall there`
    : 'Flux could not finish uninstalling in time';
  const note = `${why}; suspended so deletion can complete. Left on the target: ${describeLeftovers(left)}`;
  deps.logger.warn({ ...refLog(ref), objects: objects.map((o) => o.name) }, note);
  await recordEvent(deps, ref, {
    type: 'Warning',
    reason: 'FluxObjectsOrphaned',
    action: 'Finalize',
    note,
    dedupKey: `orphan-${activityCallKey()}`,
  });
}

export async function stripFluxFinalizers(deps: Deps, ref: ServiceSetRef, objects: FluxRef[]): Promise<void> {
  const done: string[] = [];
  for (const r of objects) {
    const o = await deps.client.get(paths.flux(r));
    const fins = (o?.metadata.finalizers as string[] | undefined) ?? [];
    const i = fins.indexOf(FLUX_FINALIZER);
    if (!o || i < 0) continue;
    try {
      await deps.client.jsonPatch(paths.flux(r), [
        { op: 'test', path: `/metadata/finalizers/${i}`, value: FLUX_FINALIZER },
        { op: 'remove', path: `/metadata/finalizers/${i}` },
      ]);
      done.push(`${r.kind} ${r.name}`);
    } catch (e) {
      if (e instanceof KubeError && (e.notFound || e.invalid)) continue; // gone or changed: the next pass decides again
      throw e;
    }
  }
  if (done.length) {
    await recordEvent(deps, ref, {
      type: 'Warning',
      reason: 'FluxFinalizerRemoved',
      action: 'Finalize',
      note: `Flux did not release ${done.join(', ')} after it was suspended; removed ${FLUX_FINALIZER} so deletion can complete`,
      dedupKey: `strip-${activityCallKey()}`,
    });
  }
}

export async function requestReconcile(deps: Deps, ref: ServiceSetRef, objects: FluxRef[], at: string): Promise<void> {
  for (const r of objects) {
    const o = await deps.client.get(paths.flux(r));
    if (!o) continue;
    const ready = (
      (o.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []
    ).find((c) => c.type === 'Ready');
    const annotations: Record<string, string> = { [REQUESTED_AT_ANNOTATION]: at };
    if (r.kind === 'HelmRelease') {
      // resetAt clears the failure counters of a Stalled release; forceAt forces one more install/upgrade.
      annotations[RESET_AT_ANNOTATION] = at;
      if (ready?.status !== 'True') annotations[FORCE_AT_ANNOTATION] = at;
    }
    try {
      await deps.client.mergePatch(paths.flux(r), { metadata: { annotations } }, SIDE_MANAGER);
    } catch (e) {
      if (!(e instanceof KubeError && e.notFound)) throw e;
    }
  }
  deps.logger.info({ ...refLog(ref), objects: objects.map((o) => o.name), at }, 'requested Flux reconcile');
}
