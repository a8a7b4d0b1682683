// `ksm-flux run | watcher | worker`: the long-running processes.
import crypto from 'node:crypto';
import os from 'node:os';
import type { Client } from '@temporalio/client';
import { timingOf, type Config } from '../config';
import { startHttpServer } from '../httpServer';
import { KubeClient } from '../kube/client';
import type { Logger } from '../log';
import { hooks, m } from '../metrics';
import { ensureSearchAttributes } from '../searchAttributeRegistry';
import { closeClient, connectClient } from '../temporalConn';
import { LeaderElector } from '../watcher/leader';
import { Watcher } from '../watcher/watcher';
import { installRuntime, startWorker, type WorkerHandle } from '../worker';
import { parseDuration } from '../util/duration';
import { describeError } from '../util/errorCause';

export type Mode = 'run' | 'watcher' | 'worker';

/** A Temporal round trip with a deadline; the pending check is kept so shutdown can wait for it. */
let pendingCheck: Promise<unknown> | undefined;
async function temporalReachable(client: Client): Promise<string | undefined> {
  const call = client.connection.withDeadline(Date.now() + 3000, () =>
    client.connection.workflowService.getSystemInfo({}),
  );
  pendingCheck = call.catch(() => undefined);
  try {
    await call;
    return undefined;
  } catch (e) {
    return `Temporal unreachable: ${describeError(e).error}`;
  }
}

export interface AdapterHandle {
  watcher?: () => Watcher | undefined;
  elector?: LeaderElector;
  worker?: WorkerHandle;
  stop(): Promise<void>;
}

/** Starts the adapter in-process (also used by integration tests, exactly as `ksm-flux run` does). */
export async function startAdapter(mode: Mode, cfg: Config, logger: Logger): Promise<AdapterHandle> {
  const temporalMetrics =
    cfg.metricsAddr !== '0' && cfg.temporalMetricsAddr !== '0' ? cfg.temporalMetricsAddr : undefined;
  installRuntime(logger, temporalMetrics);
  const handle: AdapterHandle = { stop: async () => undefined };
  const stops: (() => Promise<void>)[] = [];

  // Before any workflow starts with them or upserts them (src/searchAttributeRegistry).
  const admin = await connectClient(cfg);
  try {
    await ensureSearchAttributes(admin, cfg.temporalNamespace, logger);
  } finally {
    await admin.connection.close();
  }

  let worker: WorkerHandle | undefined;
  if (mode !== 'watcher') {
    worker = await startWorker(cfg, logger);
    handle.worker = worker;
    stops.push(() => worker!.stop());
  }

  let temporal: Client | undefined;
  let current: Watcher | undefined;
  let elector: LeaderElector | undefined;
  if (mode !== 'worker') {
    temporal = await connectClient(cfg);
    const kube = KubeClient.fromDefault(cfg.kubeconfig);
    kube.onRequest = (verb, _p, status) => m.kubeRequests.inc({ verb, code: String(status) });
    const wlog = logger.child({ component: 'watcher' });
    const timing = timingOf(cfg);
    const newWatcher = () =>
      new Watcher(
        kube,
        temporal!,
        {
          identity: { name: cfg.adapterName, namespace: cfg.adapterNamespace },
          taskQueue: cfg.taskQueue,
          timing,
          signalConcurrency: cfg.signalConcurrency,
        },
        wlog,
        // One process, one cache: in `run` the watcher reads the worker's informers instead of watching the same
        // resources a second time (only ConfigMaps, which the worker does not read from a cache, are its own).
        worker?.informers,
      );
    const startWatching = async () => {
      current = newWatcher();
      m.leader.set(1);
      await current.start();
    };
    const stopWatching = () => {
      current?.stop();
      current = undefined;
      m.leader.set(0);
    };
    if (cfg.leaderElection) {
      elector = new LeaderElector(
        kube,
        {
          namespace: cfg.adapterNamespace,
          name: cfg.leaseName,
          identity: `${os.hostname()}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`,
          leaseDurationMs: parseDuration(cfg.leaseDuration)!,
          onStartedLeading: () =>
            void startWatching().catch((e) => wlog.error(describeError(e), 'watcher failed to start')),
          onStoppedLeading: stopWatching,
        },
        wlog,
      );
      elector.start();
      stops.push(() => elector!.stop());
    } else {
      await startWatching();
      stops.push(async () => stopWatching());
    }
    hooks.watchRestarts = () => current?.restartCounts() ?? {};
    stops.push(async () => {
      hooks.watchRestarts = undefined;
      // Stop sending, then let the signals in flight and a readiness check still retrying (≤ 3 s) end before the
      // channel closes: a gRPC retry firing on a closed channel would throw (src/temporalConn closeClient).
      const w = current;
      stopWatching();
      kube.close();
      await closeClient(temporal!, Promise.all([pendingCheck, w?.idle()]));
    });
    handle.watcher = () => current;
    handle.elector = elector;
  }

  const server = await startHttpServer(
    {
      addr: cfg.healthAddr === cfg.metricsAddr ? cfg.metricsAddr : cfg.healthAddr,
      metrics: cfg.healthAddr === cfg.metricsAddr,
      ...(temporalMetrics ? { temporalMetricsUrl: `http://${temporalMetrics}/metrics` } : {}),
      health: { process: () => undefined },
      ready: {
        ...(worker
          ? {
              worker: () =>
                worker.worker.getState() === 'RUNNING' ? undefined : `worker is ${worker.worker.getState()}`,
            }
          : {}),
        ...(temporal ? { temporal: () => temporalReachable(temporal) } : {}),
        ...(mode !== 'worker'
          ? {
              informers: () => {
                if (elector && !elector.isLeader) return undefined; // a standby replica is ready to take over
                return current?.synced ? undefined : 'informers not synced';
              },
            }
          : {}),
      },
    },
    logger,
  );
  const metricsServer =
    cfg.metricsAddr !== cfg.healthAddr
      ? await startHttpServer(
          {
            addr: cfg.metricsAddr,
            metrics: true,
            ...(temporalMetrics ? { temporalMetricsUrl: `http://${temporalMetrics}/metrics` } : {}),
          },
          logger,
        )
      : undefined;

  handle.stop = async () => {
    for (const s of stops.reverse()) await s().catch((e) => logger.warn(describeError(e), 'shutdown step failed'));
    server?.close();
    metricsServer?.close();
  };
  return handle;
}

/** Runs until SIGINT/SIGTERM or until the worker stops by itself. */
export async function runAdapter(mode: Mode, cfg: Config, logger: Logger): Promise<void> {
  const h = await startAdapter(mode, cfg, logger);
  logger.info(
    {
      mode,
      adapter: `${cfg.adapterNamespace}/${cfg.adapterName}`,
      temporal: cfg.temporalAddress,
      taskQueue: cfg.taskQueue,
    },
    'ksm-flux started',
  );
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      logger.info({ signal: sig }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    void h.worker?.done.then(resolve, (e) => {
      logger.error(describeError(e), 'worker stopped');
      resolve();
    });
  });
  await h.stop();
}
