// Flux controllers against the local control plane (issue: end to end with real Flux): source-, kustomize- and
// helm-controller as plain processes with KUBECONFIG pointing at the local kube-apiserver, no leader election,
// every namespace watched, metrics/health (and source-controller's artifact server) on free loopback ports.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePorts, startDetached, stop, waitUntil, type Started } from './proc';
import { toolPaths } from './versions';

const controllers = ['source-controller', 'kustomize-controller', 'helm-controller'] as const;
type Controller = (typeof controllers)[number];

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

export async function startFlux(dir: string, kubeconfig: string): Promise<Started[]> {
  const fluxDir = toolPaths().fluxDir;
  for (const c of controllers) {
    if (!fs.existsSync(path.join(fluxDir, c))) {
      throw new Error(`${c} is not built (${path.join(fluxDir, c)}); run \`scripts/build-tools.sh flux\``);
    }
  }
  const storage = path.join(dir, 'flux-storage');
  fs.mkdirSync(storage, { recursive: true });
  const ports = await freePorts(1 + 2 * controllers.length);
  const nextPort = () => {
    const p = ports.shift();
    if (p === undefined) throw new Error('out of free ports');
    return p;
  };
  const storagePort = nextPort();
  const loopback = (p: number) => `127.0.0.1:${p}`;
  // The controllers have no --kubeconfig flag: controller-runtime reads KUBECONFIG. Remote kubeConfig secrets of
  // HelmReleases/Kustomizations may carry inline tokens and client certificates by default; exec plugins and
  // insecure TLS stay off (--insecure-kubeconfig-exec/-tls). No feature gate is needed: all default off.
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  const common = [
    '--enable-leader-election=false',
    '--watch-all-namespaces=true',
    '--log-level=info',
    '--requeue-dependency=5s',
  ];
  const extra: Record<Controller, string[]> = {
    'source-controller': [
      `--storage-path=${storage}`,
      `--storage-addr=${loopback(storagePort)}`,
      `--storage-adv-addr=${loopback(storagePort)}`,
    ],
    'kustomize-controller': ['--concurrent=4'],
    'helm-controller': ['--concurrent=4'],
  };

  const started: { proc: Started; health: number }[] = [];
  try {
    for (const c of controllers) {
      const [metrics, health] = [nextPort(), nextPort()];
      const args = [`--metrics-addr=${loopback(metrics)}`, `--health-addr=${loopback(health)}`, ...common, ...extra[c]];
      started.push({ proc: startDetached(dir, c, path.join(fluxDir, c), args, env), health });
    }
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
