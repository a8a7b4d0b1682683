// The activity implementations, bound to their dependencies. Registered by the worker.
import type { Deps } from './deps';
import { heartbeating } from './heartbeat';
import { applyServices, deleteFluxObjects, orphanFluxObjects, requestReconcile, stripFluxFinalizers } from './flux';
import { observe } from './observe';
import { addFinalizer, removeFinalizer, writeStatus } from './serviceSet';
import type { Activities } from '../workflow/activities';

export type { Activities } from '../workflow/activities';

export function createActivities(deps: Deps): Activities {
  // Every activity heartbeats while it runs (see withHeartbeat for why).
  return heartbeating<Activities>({
    observe: (ref, opts) => observe(deps, ref, opts),
    addFinalizer: (ref) => addFinalizer(deps, ref),
    applyServices: (ref, keys) => applyServices(deps, ref, keys),
    deleteFluxObjects: (ref, objects, opts) => deleteFluxObjects(deps, ref, objects, opts),
    orphanFluxObjects: (ref, objects, clusterGoing) => orphanFluxObjects(deps, ref, objects, clusterGoing),
    stripFluxFinalizers: (ref, objects) => stripFluxFinalizers(deps, ref, objects),
    requestReconcile: (ref, objects, at) => requestReconcile(deps, ref, objects, at),
    writeStatus: (ref, status, events) => writeStatus(deps, ref, status, events),
    removeFinalizer: (ref) => removeFinalizer(deps, ref),
  });
}
