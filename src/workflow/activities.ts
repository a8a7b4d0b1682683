// The activities the ServiceSet workflow calls. The workflow imports this file for types only.
import type { ApplyResult, EventSpec, FluxRef, Observation, ServiceSetRef, StatusView } from './types';

export interface ObserveOptions {
  /**
   * Read from the worker's informer caches where they hold the object (a timer-driven safety-net pass): no API
   * reads for a settled ServiceSet. Never right after our own writes, which a cache may not have seen yet.
   */
  cached?: boolean;
}

export interface Activities {
  /** Reads the ServiceSet, its SMP, templates, Flux objects and contenders; plans every service (digests only). */
  observe(ref: ServiceSetRef, opts?: ObserveOptions): Promise<Observation>;
  addFinalizer(ref: ServiceSetRef): Promise<void>;
  /** Server-side applies the planned Flux objects of the given services (re-planned from fresh reads). */
  applyServices(ref: ServiceSetRef, keys: string[]): Promise<ApplyResult[]>;
  /** Deletes Flux objects; with suspendFirst, suspends them first so Flux skips uninstall/prune. */
  deleteFluxObjects(
    ref: ServiceSetRef,
    objects: FluxRef[],
    /** clusterGoing: why the target is going away (an Event says the objects were let go, not uninstalled). */
    opts: { suspendFirst: boolean; reason: string; clusterGoing?: string },
  ): Promise<void>;
  /**
   * Suspends objects stuck in deletion (Kustomization also deletionPolicy Orphan) and reports what was left;
   * clusterGoing says why that happened at once rather than after the deletion timeout.
   */
  orphanFluxObjects(ref: ServiceSetRef, objects: FluxRef[], clusterGoing?: string): Promise<void>;
  /** Last resort after orphaning: removes Flux's finalizer so deletion cannot hang. */
  stripFluxFinalizers(ref: ServiceSetRef, objects: FluxRef[]): Promise<void>;
  /** Sets reconcile.fluxcd.io/requestedAt (+ resetAt/forceAt on HelmReleases). */
  requestReconcile(ref: ServiceSetRef, objects: FluxRef[], at: string): Promise<void>;
  /** Writes status (when it differs from what is stored) and records the events. */
  writeStatus(ref: ServiceSetRef, status: StatusView, events: EventSpec[]): Promise<{ written: boolean }>;
  removeFinalizer(ref: ServiceSetRef): Promise<void>;
}
