// The Flux controllers of the local control plane, started the way a real installation starts them.
//
// kcm mode (default): kcm's chart (templates/provider/kcm, k0rdent/kcm at 8373a24) runs helm-controller and
// source-controller from the flux2 subchart (fluxcd-community chart 2.19.x) with kcm's values: notification,
// image and kustomize controllers off, and `--watch-label-selector=k0rdent.mirantis.com/managed=true` appended to
// both. The kustomize-controller is the one charts/ksm-flux ships for Kustomize/Resources services, filtered the
// same way. standalone mode: a separate Flux installation (`flux install`): the same controllers, unfiltered.
//
// A pod's arguments are kept verbatim except where a plain process must differ from a pod: leader election
// (controller-runtime reads its namespace from the in-cluster service-account file, which a process does not
// have; one replica needs no election), and the listen/storage addresses (free loopback ports, a directory of the
// state dir instead of the /data volume and the in-cluster Service name).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { KCM_WATCH_LABEL_SELECTOR, type FluxMode } from '../workflow/fluxMode';
import { freePorts, startDetached, stop, waitUntil, type Started } from './proc';
import { toolPaths } from './versions';

export const FLUX_CONTROLLERS = ['source-controller', 'kustomize-controller', 'helm-controller'] as const;
export type FluxControllerName = (typeof FLUX_CONTROLLERS)[number];

const WATCH_LABEL = `--watch-label-selector=${KCM_WATCH_LABEL_SELECTOR}`;

/** What every flux2-chart Deployment passes (chart values: watchAllNamespaces true, logLevel info). */
const FLUX2_CHART_COMMON = [
  '--watch-all-namespaces=true',
  '--log-level=info',
  '--log-encoding=json',
  '--enable-leader-election',
];

/** kcm's Flux Deployments' arguments, as its chart renders them (flux2 subchart + kcm's `additionalArgs`). */
export const KCM_CHART_ARGS = {
  'helm-controller': [...FLUX2_CHART_COMMON, WATCH_LABEL],
  'source-controller': [
    ...FLUX2_CHART_COMMON,
    '--storage-path=/data',
    '--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.cluster.local.',
    WATCH_LABEL,
  ],
} as const;

/** The kustomize-controller charts/ksm-flux ships for kcm mode (test/integration/chart.test.ts compares). */
export const CHART_KUSTOMIZE_CONTROLLER_ARGS = [...FLUX2_CHART_COMMON, WATCH_LABEL] as const;

/** A pod's arguments for CONTROLLER in MODE (before they are turned into a local process's). */
export function podArgs(mode: FluxMode, controller: FluxControllerName): string[] {
  const kcm: Record<FluxControllerName, readonly string[]> = {
    'helm-controller': KCM_CHART_ARGS['helm-controller'],
    'source-controller': KCM_CHART_ARGS['source-controller'],
    'kustomize-controller': CHART_KUSTOMIZE_CONTROLLER_ARGS,
  };
  const args = [...kcm[controller]];
  // A standalone Flux is the same set of controllers with nothing filtered.
  return mode === 'kcm' ? args : args.filter((a) => a !== WATCH_LABEL);
}

export interface Placement {
  metricsAddr: string;
  healthAddr: string;
  /** source-controller only. */
  storage?: { path: string; addr: string };
}

const flagName = (a: string) => a.replace(/^--/, '').split('=')[0]!;

/** The pod's arguments for a local process: only the placement flags change (see the header). */
export function processArgs(pod: string[], p: Placement): string[] {
  const replaced: Record<string, string | undefined> = {
    'enable-leader-election': '--enable-leader-election=false',
    'storage-path': p.storage && `--storage-path=${p.storage.path}`,
    'storage-adv-addr': p.storage && `--storage-adv-addr=${p.storage.addr}`,
  };
  const out = pod.map((a) => replaced[flagName(a)] ?? a);
  out.push(`--metrics-addr=${p.metricsAddr}`, `--health-addr=${p.healthAddr}`);
  if (p.storage) out.push(`--storage-addr=${p.storage.addr}`);
  return out;
}

function readyz(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/readyz', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

/** Where each started controller serves /metrics and /readyz: DIR/flux-endpoints.json, by process name. */
export type FluxEndpoints = Record<string, { metrics: string; health: string }>;
const endpointsFile = (dir: string) => path.join(dir, 'flux-endpoints.json');

export function fluxEndpoints(dir: string): FluxEndpoints {
  try {
    return JSON.parse(fs.readFileSync(endpointsFile(dir), 'utf8')) as FluxEndpoints;
  } catch {
    return {};
  }
}

export interface StartFluxOptions {
  mode?: FluxMode;
  /** Which controllers (default all three). */
  controllers?: readonly FluxControllerName[];
  /** Log/process name prefix, for a second instance beside the usual one (e.g. "standalone-"). */
  namePrefix?: string;
}

/** Starts the Flux controllers as processes with KUBECONFIG pointing at the local kube-apiserver. */
export async function startFluxControllers(
  dir: string,
  kubeconfig: string,
  opts: StartFluxOptions = {},
): Promise<Started[]> {
  const mode = opts.mode ?? 'kcm';
  const controllers = opts.controllers ?? FLUX_CONTROLLERS;
  const prefix = opts.namePrefix ?? '';
  const fluxDir = toolPaths().fluxDir;
  for (const c of controllers) {
    if (!fs.existsSync(path.join(fluxDir, c))) {
      throw new Error(`${c} is not built (${path.join(fluxDir, c)}); run \`scripts/build-tools.sh flux\``);
    }
  }
  const ports = await freePorts(1 + 2 * controllers.length);
  const nextPort = () => {
    const p = ports.shift();
    if (p === undefined) throw new Error('out of free ports');
    return p;
  };
  const loopback = (p: number) => `127.0.0.1:${p}`;
  // The controllers have no --kubeconfig flag: controller-runtime reads KUBECONFIG. Remote kubeConfig secrets of
  // HelmReleases/Kustomizations may carry inline tokens and client certificates by default; exec plugins and
  // insecure TLS stay off (--insecure-kubeconfig-exec/-tls).
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  const started: { proc: Started; health: number }[] = [];
  const endpoints = fluxEndpoints(dir);
  try {
    for (const c of controllers) {
      const health = nextPort();
      const placement: Placement = { metricsAddr: loopback(nextPort()), healthAddr: loopback(health) };
      if (c === 'source-controller') {
        const storage = path.join(dir, `${prefix}flux-storage`);
        fs.mkdirSync(storage, { recursive: true });
        placement.storage = { path: storage, addr: loopback(nextPort()) };
      }
      const args = processArgs(podArgs(mode, c), placement);
      started.push({ proc: startDetached(dir, `${prefix}${c}`, path.join(fluxDir, c), args, env), health });
      endpoints[`${prefix}${c}`] = { metrics: placement.metricsAddr, health: placement.healthAddr };
    }
    fs.writeFileSync(endpointsFile(dir), JSON.stringify(endpoints, null, 2));
    await Promise.all(
      started.map(({ proc, health }) =>
        waitUntil(`${proc.name} /readyz on ${loopback(health)}`, () => readyz(health), {
          timeoutMs: 60_000,
          intervalMs: 200,
          proc,
        }),
      ),
    );
  } catch (e) {
    await Promise.all(started.map(({ proc }) => stop(proc)));
    throw e;
  }
  return started.map(({ proc }) => proc);
}
