// etcd + kube-apiserver (+ kube-controller-manager): a real Kubernetes control plane without a kubelet.
// Flags follow controller-runtime's envtest; auth is a static admin token, authorization is RBAC.
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { freePorts, startDetached, stop, waitUntil, type Started } from './proc';
import { toolPaths } from './versions';

export interface KubeEndpoint {
  server: string;
  token: string;
  caPem: string;
  kubeconfig: string;
}

export interface KubePlane extends KubeEndpoint {
  procs: Started[];
}

export function kubeconfigYaml(ep: Omit<KubeEndpoint, 'kubeconfig'>, name = 'ksm-flux-testenv'): string {
  const ca = Buffer.from(ep.caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${ep.server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    '- name: admin',
    '  user:',
    `    token: ${ep.token}`,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    '    user: admin',
    `current-context: ${name}`,
    '',
  ].join('\n');
}

/** GET against the apiserver with the admin token; resolves to [status, body]. */
export function kubeGet(ep: { server: string; token: string; caPem: string }, p: string): Promise<[number, string]> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${ep.server}${p}`,
      { method: 'GET', ca: ep.caPem, headers: { authorization: `Bearer ${ep.token}` }, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve([res.statusCode ?? 0, body]));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function httpGetOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const mod = url.startsWith('https') ? https : require('node:http');
    const req = mod.get(
      url,
      { rejectUnauthorized: false, timeout: 2000 },
      (res: import('node:http').IncomingMessage) => {
        res.resume();
        resolve((res.statusCode ?? 0) < 500 && (res.statusCode ?? 0) >= 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

export async function startEtcd(dir: string, name = 'etcd'): Promise<{ url: string; proc: Started }> {
  const [client, peer] = await freePorts(2);
  const data = path.join(dir, `${name}-data`);
  fs.mkdirSync(data, { recursive: true });
  const url = `http://127.0.0.1:${client}`;
  const proc = startDetached(dir, name, toolPaths().etcd, [
    '--name',
    name,
    '--data-dir',
    data,
    '--listen-client-urls',
    url,
    '--advertise-client-urls',
    url,
    '--listen-peer-urls',
    `http://127.0.0.1:${peer}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${peer}`,
    '--initial-cluster',
    `${name}=http://127.0.0.1:${peer}`,
    '--unsafe-no-fsync',
    '--log-level',
    'warn',
  ]);
  await waitUntil(`${name} /health`, () => httpGetOk(`${url}/health`), { timeoutMs: 30_000, proc });
  return { url, proc };
}

export async function startApiServer(
  dir: string,
  etcdUrl: string,
  name = 'kube-apiserver',
): Promise<KubeEndpoint & { proc: Started }> {
  const [port] = await freePorts(1);
  const pki = path.join(dir, `${name}-pki`);
  fs.mkdirSync(pki, { recursive: true });
  const token = crypto.randomBytes(24).toString('hex');
  const tokens = path.join(dir, `${name}-tokens.csv`);
  fs.writeFileSync(tokens, `${token},admin,admin,"system:masters"\n`, { mode: 0o600 });
  const saKey = path.join(dir, `${name}-sa.key`);
  if (!fs.existsSync(saKey)) {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    fs.writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  const server = `https://127.0.0.1:${port}`;
  const proc = startDetached(dir, name, toolPaths().kubeApiserver, [
    `--etcd-servers=${etcdUrl}`,
    `--etcd-prefix=/${name}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${pki}`,
    `--token-auth-file=${tokens}`,
    '--authorization-mode=RBAC',
    `--service-account-issuer=${server}`,
    `--service-account-key-file=${saKey}`,
    `--service-account-signing-key-file=${saKey}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    '--disable-admission-plugins=ServiceAccount',
    '--allow-privileged=true',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    '--event-ttl=1h',
  ]);
  // The apiserver writes its self-signed serving cert (leaf + CA) into --cert-dir on start.
  const crt = path.join(pki, 'apiserver.crt');
  await waitUntil(`${name} serving cert`, async () => fs.existsSync(crt) && fs.statSync(crt).size > 0, {
    timeoutMs: 60_000,
    proc,
  });
  const caPem = fs.readFileSync(crt, 'utf8');
  const ep = { server, token, caPem };
  await waitUntil(`${name} /readyz`, async () => (await kubeGet(ep, '/readyz'))[0] === 200, {
    timeoutMs: 90_000,
    intervalMs: 150,
    proc,
  });
  await waitUntil(
    `${name} default namespace`,
    async () => (await kubeGet(ep, '/api/v1/namespaces/default'))[0] === 200,
    {
      timeoutMs: 30_000,
      proc,
    },
  );
  const kubeconfig = path.join(dir, `${name === 'kube-apiserver' ? '' : `${name}-`}kubeconfig`);
  fs.writeFileSync(kubeconfig, kubeconfigYaml(ep), { mode: 0o600 });
  return { ...ep, kubeconfig, proc };
}

export async function startControllerManager(
  dir: string,
  kubeconfig: string,
  name = 'kube-controller-manager',
): Promise<Started> {
  const [port] = await freePorts(1);
  const proc = startDetached(dir, name, toolPaths().kubeControllerManager, [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--controllers=garbagecollector,namespace,serviceaccount',
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    '--concurrent-gc-syncs=5',
  ]);
  await waitUntil(`${name} /healthz`, () => httpGetOk(`https://127.0.0.1:${port}/healthz`), {
    timeoutMs: 60_000,
    proc,
  });
  return proc;
}

/** A whole control plane in DIR: its own etcd, an apiserver and optionally a controller manager. */
export async function startKubePlane(
  dir: string,
  opts: { controllerManager: boolean; prefix?: string },
): Promise<KubePlane> {
  const prefix = opts.prefix ? `${opts.prefix}-` : '';
  const etcd = await startEtcd(dir, `${prefix}etcd`);
  const procs = [etcd.proc];
  try {
    const api = await startApiServer(dir, etcd.url, `${prefix}kube-apiserver`);
    procs.push(api.proc);
    if (opts.controllerManager)
      procs.push(await startControllerManager(dir, api.kubeconfig, `${prefix}kube-controller-manager`));
    return { server: api.server, token: api.token, caPem: api.caPem, kubeconfig: api.kubeconfig, procs };
  } catch (e) {
    // Nothing is left running behind an error.
    for (const p of [...procs].reverse()) await stop(p);
    throw e;
  }
}
