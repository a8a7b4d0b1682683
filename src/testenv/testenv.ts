// `ksm-flux testenv up|down|env`: one local control plane (etcd, kube-apiserver, kube-controller-manager,
// Temporal dev server with Web UI) in a state directory, with the upstream CRDs installed.
import fs from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Connection } from '@temporalio/client';
import { ensureBuilt, type BuildTarget } from './build';
import type { FluxMode } from '../workflow/fluxMode';
import { KubeClient } from '../kube/client';
import { installCrds } from './crds';
import { kubeGet, startControllerManager, startKubePlane } from './kube';
import { isOurs, stop, waitUntil, type Started } from './proc';
import { ensurePostgresInstalled } from './postgres';
import { startTemporal, type TemporalEndpoint } from './temporal';
import { startTemporalServer, type TemporalServerEndpoint } from './temporalServer';
import { toolPaths } from './versions';

export const defaultDir = '.testenv';

export interface TestenvState {
  dir: string;
  kubeconfig: string;
  server: string;
  token: string;
  temporalAddress: string;
  temporalNamespace: string;
  temporalUiUrl: string;
  procs: Started[];
  flux?: boolean;
  /** Which Temporal runs: the CLI dev server (SQLite; the default) or the production server on PostgreSQL. */
  temporalBackend?: TemporalBackend;
  /** Directories outside DIR that `down` removes after stopping the processes. */
  cleanupDirs?: string[];
  /** Which Flux the controllers imitate (src/testenv/fluxModes.ts); set with flux. */
  fluxMode?: FluxMode;
  /** The real kcm controller manager runs (with its CRDs and installation objects). */
  kcm?: boolean;
  /** Milliseconds from the start of `up` until kcm's ClusterDeployment/MultiClusterService controllers ran. */
  kcmControllersMs?: number;
}

export type TemporalBackend = 'dev' | 'postgres';

export interface UpOptions {
  dir?: string;
  flux?: boolean;
  /** kcm (default: kcm's label-filtered Flux plus our filtered kustomize-controller) or standalone (unfiltered). */
  fluxMode?: FluxMode;
  /** Also the real kcm controller manager (implies flux: a k0rdent install runs Flux). */
  kcm?: boolean;
  /** Extra arguments for the Temporal dev server (e.g. dynamic config). */
  temporalArgs?: string[];
  temporal?: TemporalBackend;
  quiet?: boolean;
}

const stateFile = (dir: string) => path.join(dir, 'state.json');
const envFile = (dir: string) => path.join(dir, 'env');

export function readState(dir = defaultDir): TestenvState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(path.resolve(dir)), 'utf8')) as TestenvState;
  } catch {
    return undefined;
  }
}

export function envLines(s: TestenvState): string {
  return [
    `KUBECONFIG=${s.kubeconfig}`,
    `TEMPORAL_ADDRESS=${s.temporalAddress}`,
    `TEMPORAL_NAMESPACE=${s.temporalNamespace}`,
    `TEMPORAL_UI_URL=${s.temporalUiUrl}`,
    `KSM_FLUX_TESTENV_DIR=${s.dir}`,
    '',
  ].join('\n');
}

/** The environment a child process needs to use the control plane. */
export function envOf(s: TestenvState): Record<string, string> {
  return Object.fromEntries(
    envLines(s)
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

export async function isUp(s: TestenvState): Promise<boolean> {
  if (!s.procs.every(isOurs)) return false;
  try {
    return (
      (
        await kubeGet(
          { server: s.server, token: s.token, caPem: fs.readFileSync(path.join(s.dir, 'ca.crt'), 'utf8') },
          '/readyz',
        )
      )[0] === 200
    );
  } catch {
    return false;
  }
}

export function kubeConfigFor(s: TestenvState): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(s.kubeconfig);
  return kc;
}

export async function up(opts: UpOptions = {}): Promise<TestenvState> {
  const dir = path.resolve(opts.dir ?? defaultDir);
  const say = (m: string) => opts.quiet || process.stderr.write(`[testenv] ${m}\n`);
  const existing = readState(dir);
  const backend = opts.temporal ?? 'dev';
  const fluxMode = opts.fluxMode ?? 'kcm';
  // kcm runs with kcm's own (label-filtered) Flux.
  if (opts.kcm && fluxMode !== 'kcm')
    throw new Error('--kcm runs Flux in kcm mode; --flux-mode standalone does not go with it');
  const flux = !!opts.flux || !!opts.kcm;
  if (
    existing &&
    (await isUp(existing)) &&
    (!flux || (existing.flux && (existing.fluxMode ?? 'kcm') === fluxMode)) &&
    (!opts.kcm || existing.kcm) &&
    (existing.temporalBackend ?? 'dev') === backend
  ) {
    say(`already up in ${dir}`);
    return existing;
  }
  if (existing) await down({ dir, quiet: true });
  const targets: BuildTarget[] = [
    'crds',
    'etcd',
    'k8s',
    'temporal',
    'render',
    ...(flux ? (['flux'] as BuildTarget[]) : []),
    ...(opts.kcm ? (['kcm'] as BuildTarget[]) : []),
  ];
  if (backend === 'postgres') targets.push('temporal-server');
  await ensureBuilt(targets);
  if (backend === 'postgres') await ensurePostgresInstalled(say);

  const t0 = Date.now();
  fs.mkdirSync(dir, { recursive: true });
  const procs: Started[] = [];
  const save = (partial: Partial<TestenvState>) =>
    fs.writeFileSync(stateFile(dir), JSON.stringify({ dir, procs, ...partial }, null, 2), { mode: 0o600 });
  let temporalP: Promise<TemporalEndpoint | TemporalServerEndpoint> | undefined;
  const temporalProcs = (t: TemporalEndpoint | TemporalServerEndpoint) => ('procs' in t ? t.procs : [t.proc]);
  let kcmReady: Promise<number | Error> | undefined;
  let client: KubeClient | undefined;
  try {
    // Temporal starts in parallel with Kubernetes: it is the slowest part to come up.
    temporalP =
      backend === 'postgres'
        ? startTemporalServer(dir, { extraArgs: opts.temporalArgs, say })
        : startTemporal(dir, { extraArgs: opts.temporalArgs });
    const kube = await startKubePlane(dir, { controllerManager: false });
    procs.push(...kube.procs);
    save({});
    fs.writeFileSync(path.join(dir, 'ca.crt'), kube.caPem);
    say(`kube-apiserver ready at ${kube.server} (${Date.now() - t0} ms)`);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kube.kubeconfig);
    client = new KubeClient(kc);
    const crds = await installCrds(client, toolPaths().crdDir);
    if (opts.kcm) crds.push(...(await kcmMod().installKcmCrds(client)));
    say(`${crds.length} CRDs established and discoverable (${Date.now() - t0} ms)`);
    // k0rdent's system namespace: where an adapter's identity and Lease live by default.
    await ensureNamespace(kc, 'kcm-system');
    // After the CRDs: the garbage collector discovers resources at start and only every 30 s after.
    procs.push(await startControllerManager(dir, kube.kubeconfig));
    save({});
    if (opts.kcm) {
      // kcm takes the longest to get going (its installation is reconciled in steps): start it now and wait for
      // it last. Errors are kept as values so that the promise never rejects unobserved.
      const { launchKcm, installKcm } = kcmMod();
      const kcmProc = launchKcm(dir, kube.kubeconfig);
      procs.push(kcmProc);
      save({});
      kcmReady = installKcm(client, kcmProc, { startedAt: t0, say }).catch((e: unknown) =>
        e instanceof Error ? e : new Error(String(e)),
      );
    } else {
      client.close();
    }
    const temporal = await temporalP;
    procs.push(...temporalProcs(temporal));
    save({});
    await waitTemporal(temporal.address, temporal.namespace);
    say(`Temporal (${backend}) ready at ${temporal.address}, Web UI ${temporal.uiUrl} (${Date.now() - t0} ms)`);
    const state: TestenvState = {
      dir,
      kubeconfig: kube.kubeconfig,
      server: kube.server,
      token: kube.token,
      temporalAddress: temporal.address,
      temporalNamespace: temporal.namespace,
      temporalUiUrl: temporal.uiUrl,
      procs,
      temporalBackend: backend,
      cleanupDirs: 'cleanupDirs' in temporal ? temporal.cleanupDirs : [],
    };
    if (flux) {
      const { startFlux } = require('./flux') as typeof import('./flux');
      procs.push(...(await startFlux(dir, kube.kubeconfig, fluxMode)));
      save({});
      state.flux = true;
      state.fluxMode = fluxMode;
      say(`Flux controllers running, ${fluxMode} mode (${Date.now() - t0} ms)`);
    }
    if (kcmReady) {
      const r = await kcmReady;
      client.close();
      if (r instanceof Error) throw r;
      state.kcm = true;
      state.kcmControllersMs = r;
      say(`kcm's ClusterDeployment and MultiClusterService controllers running ${r} ms after up started`);
    }
    fs.writeFileSync(stateFile(dir), JSON.stringify(state, null, 2), { mode: 0o600 });
    fs.writeFileSync(envFile(dir), envLines(state));
    say(`up in ${Date.now() - t0} ms; env in ${envFile(dir)}`);
    return state;
  } catch (e) {
    // Temporal starts in parallel: wait for it to settle so its process is stopped too.
    const t = await temporalP?.catch(() => undefined);
    if (t && !procs.includes(t.proc)) procs.push(...temporalProcs(t));
    await Promise.all(procs.map((p) => stop(p)));
    // kcm's installer ends once its process is gone (it never rejects).
    if (kcmReady) await kcmReady;
    client?.close();
    throw e;
  }
}

const kcmMod = () => require('./kcm') as typeof import('./kcm');

async function waitTemporal(address: string, namespace: string): Promise<void> {
  await waitUntil(
    `Temporal namespace ${namespace}`,
    async () => {
      const conn = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        await conn.workflowService.describeNamespace({ namespace });
        return true;
      } finally {
        await conn.close();
      }
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

export async function down(opts: { dir?: string; quiet?: boolean } = {}): Promise<void> {
  const dir = path.resolve(opts.dir ?? defaultDir);
  const s = readState(dir);
  if (s) {
    // Reverse start order: clients of the apiserver first, etcd last.
    for (const p of [...s.procs].reverse()) await stop(p);
    for (const d of s.cleanupDirs ?? []) fs.rmSync(d, { recursive: true, force: true });
    if (!opts.quiet) process.stderr.write(`[testenv] stopped ${s.procs.length} processes\n`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

export function envText(dir = defaultDir): string {
  const s = readState(dir);
  if (!s) throw new Error(`no control plane in ${path.resolve(dir)}; run \`ksm-flux testenv up\``);
  return envLines(s);
}

async function ensureNamespace(kc: k8s.KubeConfig, name: string): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  try {
    await core.createNamespace({ body: { metadata: { name } } });
  } catch (e) {
    if ((e as { code?: number }).code !== 409) throw e;
  }
}
