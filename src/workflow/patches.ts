// The workflow's patch ids (`patched()`): each marks a change of the command sequence, so that histories recorded
// before it replay the old way (test/replay/histories).

/**
 * kcm-aligned behaviour: pause freezes deletions, a cluster going away is let go at once, a paused deletion
 * waits, and failed Flux objects are re-driven with backoff. Histories recorded before it (test/replay:
 * lifecycle*, continue-as-new*) replay the old decisions.
 */
export const KCM_BEHAVIOUR_PATCH = 'kcm-behaviour-1';

/**
 * The search attributes (src/workflow/searchAttributes): upserted after a pass when they changed. Histories
 * recorded before it (every test/replay history up to lifecycle-4 and healing-1) carry no upserts.
 */
export const SEARCH_ATTRIBUTES_PATCH = 'search-attributes-1';

/**
 * Speed and idle cost: every Kubernetes call of a pass is a local activity (one marker event each, run by this
 * worker inside the workflow task, instead of three events and a task round trip per activity), the finalizer is
 * added and the pass goes on with the same observation, timer-driven passes read the worker's informer caches,
 * and the safety-net poll is jittered. Histories recorded before it replay with activities.
 */
export const FAST_PASS_PATCH = 'fast-pass-1';
