// The Temporal worker: runs ServiceSet workflows and the activities that talk to Kubernetes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runtime, Worker, type InjectedSinks, type LogLevel, type LogMetadata } from '@temporalio/worker';
import { createActivities } from './activities';
import { ownershipChecker, serviceSetSource, type Deps } from './activities/deps';
import { dataConverterOf } from './codec/dataConverter';
import type { Config } from './config';
import { LABEL_MANAGED_BY, LABEL_SERVICESET_UID, MANAGED_BY } from './workflow/constants';
import { CachedReader } from './kube/cache';
import { KubeClient } from './kube/client';
import { Informer } from './kube/informer';
import { paths } from './kube/paths';
import type { Logger } from './log';
import { m, reportServiceStates } from './metrics';
import { connectWorker } from './temporalConn';
import type { MetricsSinks } from './workflow/defs';
import type { SharedInformers } from './watcher/watcher';
import { describeError } from './util/errorCause';

let runtimeInstalled = false;

/** Routes the Temporal SDK's own logs into our JSON logger (once per process). */
export function installRuntime(logger: Logger, prometheusAddr?: string): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const sdk = logger.child({ component: 'temporal' });
  const level: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
    TRACE: 'trace',
    DEBUG: 'debug',
    INFO: 'info',
    WARN: 'warn',
    ERROR: 'error',
  };
  Runtime.install({
    // Our commands handle SIGINT/SIGTERM themselves (graceful stop of everything they started).
    shutdownSignals: [],
    logger: {
      log: (l: LogLevel, message: string, meta?: LogMetadata) => sdk[level[l]](meta ?? {}, message),
      trace: (message: string, meta?: LogMetadata) => sdk.trace(meta ?? {}, message),
      debug: (message: string, meta?: LogMetadata) => sdk.debug(meta ?? {}, message),
      info: (message: string, meta?: LogMetadata) => sdk.info(meta ?? {}, message),
      warn: (message: string, meta?: LogMetadata) => sdk.warn(meta ?? {}, message),
      error: (message: string, meta?: LogMetadata) => sdk.error(meta ?? {}, message),
    },
    ...(prometheusAddr ? { telemetryOptions: { metrics: { prometheus: { bindAddress: prometheusAddr } } } } : {}),
  });
}

/** The prebuilt workflow bundle in images; the TypeScript sources in a checkout. */
export function workflowSource(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  if (process.env.KSM_FLUX_WORKFLOW_BUNDLE)
    return { workflowBundle: { codePath: process.env.KSM_FLUX_WORKFLOW_BUNDLE } };
  const bundle = path.resolve(__dirname, '..', 'workflow-bundle.js');
  if (fs.existsSync(bundle) && !process.env.KSM_FLUX_WORKFLOWS_FROM_SOURCE)
    return { workflowBundle: { codePath: bundle } };
  return { workflowsPath: require.resolve('./workflow') };
}

export function metricsSinks(): InjectedSinks<MetricsSinks> {
  return {
    metrics: {
      pass: {
        fn: (info, p) => {
          m.reconciles.inc({ outcome: p.outcome });
          m.reconcileDuration.observe(p.durationMs / 1000);
          if (p.statusWritten) m.statusWrites.inc();
          reportServiceStates(info.workflowId, p.states);
        },
        callDuringReplay: false,
      },
      done: { fn: (info) => reportServiceStates(info.workflowId, undefined), callDuringReplay: false },
    },
  };
}

export interface WorkerHandle {
  worker: Worker;
  client: KubeClient;
  informer: Informer;
  /** The worker's informers, for a watcher in the same process to share (src/watcher SharedInformers). */
  informers: SharedInformers;
  /** The informer caches timer-driven passes read (see CachedReader). */
  cache: CachedReader;
  /** Resolves when the worker has stopped. */
  done: Promise<void>;
  stop(): Promise<void>;
}

export function buildDeps(
  cfg: Config,
  client: KubeClient,
  informer: Informer,
  logger: Logger,
  cache?: CachedReader,
): Deps {
  const identity = { name: cfg.adapterName, namespace: cfg.adapterNamespace };
  return {
    client,
    ...(cache ? { cache } : {}),
    identity,
    fluxMode: cfg.fluxMode,
    serviceSets: serviceSetSource(client, informer),
    isOurs: ownershipChecker(client, identity),
    logger,
    instance: `${os.hostname()}/${process.pid}`,
  };
}

export async function startWorker(
  cfg: Config,
  logger: Logger,
  opts: { workflowBundle?: { code: string } } = {},
): Promise<WorkerHandle> {
  const log = logger.child({ component: 'worker' });
  // Keys first: a bad key list stops the worker before it starts anything.
  const dataConverter = dataConverterOf(cfg);
  const client = KubeClient.fromDefault(cfg.kubeconfig);
  client.onRequest = (verb, _p, status) => m.kubeRequests.inc({ verb, code: String(status) });
  // All ServiceSets, for release-conflict checks without a LIST per pass; with the SMPs, templates, our Flux
  // objects and the Secrets' names they are what a settled ServiceSet's safety-net pass reads (no API reads).
  const watched = (
    path: string,
    name: string,
    o: { labelSelector?: string; metadataOnly?: boolean; indexLabels?: string[] } = {},
  ) =>
    new Informer(client, path, {
      name,
      ...o,
      onError: (e) => log.warn({ resource: name, ...describeError(e) }, 'watch error; relisting'),
    });
  const ours = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
  const informers = [
    watched(paths.serviceSets(), 'servicesets-worker'),
    watched(paths.smps(), 'statemanagementproviders-worker'),
    watched(paths.serviceTemplates(), 'servicetemplates-worker'),
    watched(paths.helmReleases(), 'helmreleases-worker', { labelSelector: ours, indexLabels: [LABEL_SERVICESET_UID] }),
    watched(paths.kustomizations(), 'kustomizations-worker', {
      labelSelector: ours,
      indexLabels: [LABEL_SERVICESET_UID],
    }),
    // Metadata only: whether a kubeconfig Secret exists and its version, never what it holds.
    watched(paths.secrets(), 'secrets-worker', { metadataOnly: true }),
  ];
  for (const i of informers)
    void i.start().catch((e) => log.error({ resource: i.name, ...describeError(e) }, 'informer failed'));
  const informer = informers[0]!;
  const [, smps, templates, helmReleases, kustomizations, secrets] = informers;
  const cache = new CachedReader(client, informers);
  const connection = await connectWorker(cfg);
  const worker = await Worker.create({
    connection,
    namespace: cfg.temporalNamespace,
    taskQueue: cfg.taskQueue,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : workflowSource()),
    activities: createActivities(buildDeps(cfg, client, informer, logger.child({ component: 'activity' }), cache)),
    sinks: metricsSinks(),
    ...(dataConverter ? { dataConverter } : {}),
    maxConcurrentActivityTaskExecutions: cfg.maxConcurrentActivities,
    // A pass's Kubernetes calls are local activities (src/workflow/serviceSet.ts): the same budget.
    maxConcurrentLocalActivityExecutions: cfg.maxConcurrentActivities,
    maxCachedWorkflows: cfg.maxCachedWorkflows,
    workflowThreadPoolSize: cfg.workflowThreads,
    shutdownGraceTime: '10s',
  });
  log.info(
    { taskQueue: cfg.taskQueue, temporal: cfg.temporalAddress, namespace: cfg.temporalNamespace },
    'worker started',
  );
  const done = worker.run().finally(async () => {
    for (const i of informers) i.stop();
    client.close();
    await connection.close();
  });
  return {
    worker,
    client,
    informer,
    informers: { serviceSets: informer, smps, templates, helmReleases, kustomizations, secrets },
    cache,
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
