// A loopback git smart-HTTP server for end-to-end tests: a Node http server that hands every request to
// `git http-backend` (CGI, GIT_PROJECT_ROOT + GIT_HTTP_EXPORT_ALL, read-only), and Kustomize ServiceTemplates as
// kcm leaves them: a real GitRepository (source-controller clones it over HTTP) and `status.sourceStatus`.
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { K0RDENT_API_VERSION, SOURCE_API_VERSION } from '../workflow/constants';
import type { KubeClient } from '../kube/client';
import { paths } from '../kube/paths';
import { SOURCE_LABELS, listenOnLoopback, sourcePaths, waitForArtifact } from './helmRepo';

const run = promisify(execFile);

export interface GitServer {
  /** Base URL; a repository `x` is cloned from `${url}/x.git`. */
  url: string;
  root: string;
  /** Creates bare repository `name.git` whose branch main holds one commit of srcDir; returns its clone URL. */
  createRepo(name: string, srcDir: string): Promise<string>;
  /** Commits the content of srcDir as the next commit on main. */
  commit(name: string, srcDir: string, message: string): Promise<void>;
  /** Requests served (method + path + status), for debugging. */
  log: string[];
  close(): Promise<void>;
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'ksm-flux e2e',
  GIT_AUTHOR_EMAIL: 'e2e@ksm-flux.invalid',
  GIT_COMMITTER_NAME: 'ksm-flux e2e',
  GIT_COMMITTER_EMAIL: 'e2e@ksm-flux.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

/** Splits CGI output into its header block and the start of the body. */
function splitCgi(buf: Buffer): { head: string; body: Buffer } | undefined {
  for (const sep of ['\r\n\r\n', '\n\n']) {
    const i = buf.indexOf(sep);
    if (i >= 0) return { head: buf.subarray(0, i).toString('latin1'), body: buf.subarray(i + sep.length) };
  }
  return undefined;
}

export async function startGitServer(root: string): Promise<GitServer> {
  fs.mkdirSync(root, { recursive: true });
  const backend = path.join(execFileSync('git', ['--exec-path'], { encoding: 'utf8' }).trim(), 'git-http-backend');
  if (!fs.existsSync(backend)) throw new Error(`git http-backend not found at ${backend}`);
  const log: string[] = [];

  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://git');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      ...GIT_ENV,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
      SERVER_SOFTWARE: 'ksm-flux-e2e',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(u.pathname),
      QUERY_STRING: u.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      REMOTE_USER: '',
      ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
      ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
      ...(req.headers['git-protocol'] ? { HTTP_GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
    };
    const child = spawn(backend, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let pending: Buffer = Buffer.alloc(0);
    let headersSent = false;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersSent) {
        res.write(chunk);
        return;
      }
      pending = Buffer.concat([pending, chunk]);
      const cgi = splitCgi(pending);
      if (!cgi) return;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of cgi.head.split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]) || 200;
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      headersSent = true;
      log.push(`${req.method} ${u.pathname}${u.search} ${status}`);
      if (cgi.body.length) res.write(cgi.body);
    });
    child.on('close', (code) => {
      if (!headersSent) {
        log.push(`${req.method} ${u.pathname}${u.search} 500 (exit ${code}: ${stderr.trim()})`);
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`git http-backend failed: ${stderr}`);
        return;
      }
      res.end();
    });
    child.stdin.on('error', () => undefined); // the backend may exit before reading everything
    req.pipe(child.stdin);
  });
  const url = await listenOnLoopback(server, 'git server');

  /** Commits srcDir's files straight into the bare repository (own index; no work-tree copy). */
  const commit = async (name: string, srcDir: string, message: string) => {
    const gitDir = path.join(root, `${name}.git`);
    const env = { ...process.env, ...GIT_ENV, GIT_DIR: gitDir, GIT_WORK_TREE: srcDir };
    const index = path.join(root, `${name}.index`);
    await run('git', ['add', '--all', '.'], { env: { ...env, GIT_INDEX_FILE: index }, cwd: srcDir });
    await run('git', ['commit', '--quiet', '--message', message], {
      env: { ...env, GIT_INDEX_FILE: index },
      cwd: srcDir,
    });
  };

  return {
    url,
    root,
    log,
    async createRepo(name, srcDir) {
      const gitDir = path.join(root, `${name}.git`);
      await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', gitDir], {
        env: { ...process.env, ...GIT_ENV },
      });
      await commit(name, srcDir, `${name}: initial content`);
      return `${url}/${name}.git`;
    },
    commit,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A GitRepository on branch main (source-controller clones it over smart HTTP). */
export async function createGitRepository(kube: KubeClient, ns: string, name: string, url: string): Promise<void> {
  await kube.create(sourcePaths.gitRepository(ns), {
    apiVersion: SOURCE_API_VERSION,
    kind: 'GitRepository',
    metadata: { name, namespace: ns, labels: { ...SOURCE_LABELS } },
    spec: { url, interval: '30s', timeout: '20s', ref: { branch: 'main' } },
  });
}

/**
 * A Kustomize ServiceTemplate with `spec.kustomize.localSourceRef` (GitRepository), reconciled the way kcm's
 * ServiceTemplate controller does it: once the source is Ready, `status.valid` and `status.sourceStatus`.
 */
export async function createKustomizeTemplate(
  kube: KubeClient,
  ns: string,
  o: { name: string; gitRepository: string; path: string },
): Promise<void> {
  await createGitSourcedTemplate(kube, ns, o, {
    kustomize: {
      deploymentType: 'Remote',
      localSourceRef: { kind: 'GitRepository', name: o.gitRepository },
      path: o.path,
    },
  });
}

/**
 * A Helm ServiceTemplate whose chart comes from a GitRepository (`spec.helm.chartSource.localSourceRef`), as kcm
 * leaves it once the source is Ready: `status.valid` and `status.sourceStatus`. The HelmRelease then carries a
 * `spec.chart` template, from which helm-controller generates the HelmChart.
 */
export async function createGitChartTemplate(
  kube: KubeClient,
  ns: string,
  o: { name: string; gitRepository: string; path: string },
): Promise<void> {
  await createGitSourcedTemplate(kube, ns, o, {
    helm: {
      chartSource: {
        deploymentType: 'Remote',
        localSourceRef: { kind: 'GitRepository', name: o.gitRepository },
        path: o.path,
      },
    },
  });
}

/** A ServiceTemplate with the given spec, whose status kcm fills once its GitRepository source is Ready. */
async function createGitSourcedTemplate(
  kube: KubeClient,
  ns: string,
  o: { name: string; gitRepository: string },
  spec: Record<string, unknown>,
): Promise<void> {
  const template = await kube.create(paths.serviceTemplates(ns), {
    apiVersion: K0RDENT_API_VERSION,
    kind: 'ServiceTemplate',
    metadata: { name: o.name, namespace: ns },
    spec,
  });
  const src = await waitForArtifact(
    kube,
    'GitRepository',
    ns,
    o.gitRepository,
    sourcePaths.gitRepository(ns, o.gitRepository),
  );
  await kube.mergePatch(`${paths.serviceTemplate(ns, o.name)}/status`, {
    status: {
      valid: true,
      sourceStatus: {
        kind: 'GitRepository',
        name: o.gitRepository,
        namespace: ns,
        observedGeneration: src.metadata.generation ?? 1,
      },
      observedGeneration: template.metadata.generation ?? 1,
    },
  });
}
