// A second Kubernetes control plane that plays a k0rdent workload ("target") cluster in end-to-end tests: its
// own etcd, kube-apiserver and kube-controller-manager (namespace + garbage collection), no kubelet. Its
// kubeconfig (server 127.0.0.1, CA, static admin token) goes into the management cluster as Secret
// `<cluster>-kubeconfig`, key `value`, exactly where kcm's ClusterDeployment leaves it for the adapter and Flux.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { KubeClient, type KubeObject } from '../kube/client';
import { kubeconfigYaml, kubeGet, startKubePlane, type KubePlane } from './kube';
import { startDetached, stop, waitUntil, type Started } from './proc';

/** Written beside every target plane so test/run.ts can stop its processes if a test process dies early. */
export const TARGET_PROCS_FILE = 'procs.json';

export interface TargetCluster {
  name: string;
  dir: string;
  server: string;
  /** The kubeconfig kcm would put into `<cluster>-kubeconfig` (key `value`). */
  kubeconfig: string;
  /** The CA its kubeconfigs trust (the API server's self-signed serving certificate). */
  caPem: string;
  /** Admin client of the target's API server. */
  kube: KubeClient;
  procs: Started[];
  /** Kills every process of the plane (the cluster is gone from one moment to the next). */
  kill(): Promise<void>;
  /** Stops only its API server (etcd keeps the data): the cluster is unreachable until `startApiServer`. */
  stopApiServer(): Promise<void>;
  /** Starts the API server again, on the same address with the same serving certificate and tokens. */
  startApiServer(): Promise<void>;
  /** Stops the plane (idempotent) and closes the client. */
  stop(): Promise<void>;
}

/** Root for target planes: inside the run's testenv directory (removed by `testenv down`), else a temp dir. */
function targetsRoot(): string {
  const base = process.env.KSM_FLUX_TESTENV_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ksm-flux-e2e-'));
  return path.join(base, 'targets');
}

/** A second control plane playing a workload cluster (in ROOT/targets, default: the testenv's dir). */
export async function startTarget(name: string, root?: string): Promise<TargetCluster> {
  const dir = path.join(root ? path.join(root, 'targets') : targetsRoot(), `${name}-${process.pid}`);
  fs.mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  const plane: KubePlane = await startKubePlane(dir, { controllerManager: true, prefix: name });
  fs.writeFileSync(path.join(dir, TARGET_PROCS_FILE), JSON.stringify(plane.procs, null, 2));
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(plane.kubeconfig);
  const kube = new KubeClient(kc);
  const kubeconfig = kubeconfigYaml({ server: plane.server, token: plane.token, caPem: plane.caPem }, name);
  let stopped = false;
  const halt = async () => {
    if (stopped) return;
    stopped = true;
    // Clients of etcd first: controller manager, apiserver, then etcd.
    for (const p of [...plane.procs].reverse()) await stop(p, 3000);
    fs.rmSync(path.join(dir, TARGET_PROCS_FILE), { force: true });
  };
  const apiIndex = plane.procs.findIndex((p) => p.name.endsWith('kube-apiserver'));
  let apiArgs: string[] | undefined;
  const stopApiServer = async () => {
    const p = plane.procs[apiIndex]!;
    // Its exact command line, to start it again the same way (port, cert dir, token file, etcd prefix).
    apiArgs = fs.readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(1);
    await stop(p, 5000);
  };
  const startApiServer = async () => {
    if (!apiArgs) throw new Error(`target ${name}: the API server was not stopped`);
    const old = plane.procs[apiIndex]!;
    const p = startDetached(dir, old.name, old.bin, apiArgs);
    plane.procs[apiIndex] = p;
    fs.writeFileSync(path.join(dir, TARGET_PROCS_FILE), JSON.stringify(plane.procs, null, 2));
    const ep = { server: plane.server, token: plane.token, caPem: plane.caPem };
    await waitUntil(`${old.name} /readyz`, async () => (await kubeGet(ep, '/readyz'))[0] === 200, {
      timeoutMs: 90_000,
      intervalMs: 150,
      proc: p,
    });
  };
  process.stderr.write(`[testenv] target cluster ${name} up at ${plane.server} in ${Date.now() - t0} ms\n`);
  return {
    name,
    dir,
    server: plane.server,
    caPem: plane.caPem,
    kubeconfig,
    kube,
    procs: plane.procs,
    kill: halt,
    stopApiServer,
    startApiServer,
    async stop() {
      await halt();
      kube.close();
    },
  };
}

/** Secret `<cluster>-kubeconfig` (key `value`) in the management namespace, as kcm/CAPI create it. */
export async function createTargetKubeconfigSecret(
  mgmt: KubeClient,
  namespace: string,
  cluster: string,
  target: TargetCluster,
): Promise<void> {
  await mgmt.create(`/api/v1/namespaces/${namespace}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `${cluster}-kubeconfig`, namespace, labels: { 'cluster.x-k8s.io/cluster-name': cluster } },
    type: 'cluster.x-k8s.io/secret',
    stringData: { value: target.kubeconfig },
  });
}

export async function createTargetNamespace(target: TargetCluster, name: string): Promise<void> {
  await target.kube.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

export const targetPaths = {
  configMap: (ns: string, name: string) => `/api/v1/namespaces/${ns}/configmaps/${name}`,
  secret: (ns: string, name: string) => `/api/v1/namespaces/${ns}/secrets/${name}`,
  service: (ns: string, name: string) => `/api/v1/namespaces/${ns}/services/${name}`,
  secrets: (ns: string) => `/api/v1/namespaces/${ns}/secrets`,
};

export interface HelmReleaseRecord {
  name: string;
  revision: number;
  /** Helm's release status label: deployed, superseded, failed, uninstalling, pending-*. */
  status: string;
}

/** The Helm release records (storage Secrets `sh.helm.release.v1.<name>.v<N>`) of a release on the target. */
export async function helmReleaseRecords(
  target: TargetCluster,
  namespace: string,
  release: string,
): Promise<HelmReleaseRecord[]> {
  const list = await target.kube.list(targetPaths.secrets(namespace), `owner=helm,name=${release}`);
  return list.items
    .map((s: KubeObject) => {
      const labels = (s.metadata.labels ?? {}) as Record<string, string>;
      return { name: s.metadata.name, revision: Number(labels.version ?? 0), status: labels.status ?? '' };
    })
    .sort((a, b) => a.revision - b.revision);
}

/**
 * A kubeconfig for the target with the token of a new cluster-admin ServiceAccount `name` (kube-system): a
 * credential that can be rotated and revoked (delete the ServiceAccount) without restarting anything.
 */
export async function serviceAccountKubeconfig(target: TargetCluster, name: string): Promise<string> {
  await target.kube.create('/api/v1/namespaces/kube-system/serviceaccounts', {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace: 'kube-system' },
  });
  await target.kube.create('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name, namespace: 'kube-system' }],
  });
  const tr = await target.kube.create<{ status: { token: string } }>(
    `/api/v1/namespaces/kube-system/serviceaccounts/${name}/token`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  );
  return kubeconfigYaml({ server: target.server, token: tr.status.token, caPem: target.caPem }, target.name);
}
