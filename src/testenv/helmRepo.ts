// A loopback HTTP Helm repository for end-to-end tests (charts packaged by the test itself with the cached
// helm binary, index generated with `helm repo index`), and Helm ServiceTemplates as kcm's template controller
// leaves them: a real HelmRepository, a real HelmChart named after the template in the template namespace, and
// `status.chartRef` naming that HelmChart once source-controller has an artifact for it.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { K0RDENT_API_VERSION, LABEL_MANAGED, SOURCE_API_VERSION } from '../workflow/constants';
import type { KubeClient, KubeObject } from '../kube/client';
import { paths } from '../kube/paths';
import { toolPaths } from './versions';
import { pollFor as eventually } from './proc';

const run = promisify(execFile);

export const sourcePaths = {
  helmRepository: (ns: string, name?: string) =>
    `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/helmrepositories${name ? `/${name}` : ''}`,
  helmChart: (ns: string, name?: string) =>
    `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/helmcharts${name ? `/${name}` : ''}`,
  gitRepository: (ns: string, name?: string) =>
    `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/gitrepositories${name ? `/${name}` : ''}`,
};

export interface HelmRepoServer {
  /** Base URL of the repository (index.yaml and the chart archives live under it). */
  url: string;
  dir: string;
  /** Packages a chart directory at `version` (chart and app version) and re-indexes the repository. */
  publish(chartDir: string, version: string): Promise<string>;
  close(): Promise<void>;
}

export async function startHelmRepo(dir: string): Promise<HelmRepoServer> {
  const charts = path.join(dir, 'charts');
  const helmHome = path.join(dir, 'helm-home');
  fs.mkdirSync(charts, { recursive: true });
  fs.mkdirSync(helmHome, { recursive: true });
  // Keep helm away from the user's config, cache and plugins.
  const env = {
    ...process.env,
    HELM_CONFIG_HOME: path.join(helmHome, 'config'),
    HELM_CACHE_HOME: path.join(helmHome, 'cache'),
    HELM_DATA_HOME: path.join(helmHome, 'data'),
  };
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url ?? '/', 'http://repo').pathname).replace(/^\/+/, '');
    const file = path.join(charts, name);
    const ok =
      (req.method === 'GET' || req.method === 'HEAD') &&
      /^[A-Za-z0-9._-]+\.(tgz|yaml)$/.test(name) &&
      fs.existsSync(file);
    if (!ok) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const body = fs.readFileSync(file);
    res.writeHead(200, {
      'content-type': name.endsWith('.yaml') ? 'application/x-yaml' : 'application/gzip',
      'content-length': body.length,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  const url = await listenOnLoopback(server, 'helm repository');
  const helm = toolPaths().helm;
  return {
    url,
    dir: charts,
    async publish(chartDir, version) {
      const { stdout } = await run(
        helm,
        ['package', chartDir, '--version', version, '--app-version', version, '--destination', charts],
        { env },
      );
      await run(helm, ['repo', 'index', charts, '--url', url], { env });
      return stdout.trim();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Cond = { type: string; status: string; reason?: string; message?: string };
const conditionsOf = (o: KubeObject | undefined): Cond[] =>
  (o?.status as { conditions?: Cond[] } | undefined)?.conditions ?? [];
export const isReady = (o: KubeObject | undefined) =>
  conditionsOf(o).some((c) => c.type === 'Ready' && c.status === 'True');
export const readyMessage = (o: KubeObject | undefined) => {
  const c = conditionsOf(o).find((x) => x.type === 'Ready');
  return c ? `${c.status} ${c.reason}: ${c.message}` : 'no Ready condition';
};

/** Waits until source-controller has an artifact for a source object; on timeout the error adds its Ready condition. */
export async function waitForArtifact(
  kube: KubeClient,
  kind: string,
  ns: string,
  name: string,
  objectPath: string,
): Promise<KubeObject> {
  return eventually(
    `${kind} ${ns}/${name} has an artifact (source-controller)`,
    async () => {
      const o = await kube.get(objectPath);
      return isReady(o) && (o!.status as { artifact?: unknown }).artifact ? o : undefined;
    },
    120_000,
    500,
  ).catch(async (e: Error) => {
    throw new Error(`${e.message}; ${kind} Ready: ${readyMessage(await kube.get(objectPath))}`);
  });
}

/**
 * Labels of the source objects the tests create, as kcm labels the sources it creates: kcm's source-controller
 * (and so the testenv's, in kcm mode) only sees sources carrying them. A standalone Flux ignores them.
 */
export const SOURCE_LABELS = { [LABEL_MANAGED]: 'true' } as const;

/** A HelmRepository (source-controller fetches its index.yaml); a short interval suits a slow test box. */
export async function createHelmRepository(kube: KubeClient, ns: string, name: string, url: string): Promise<void> {
  await kube.create(sourcePaths.helmRepository(ns), {
    apiVersion: SOURCE_API_VERSION,
    kind: 'HelmRepository',
    metadata: { name, namespace: ns, labels: { ...SOURCE_LABELS } },
    spec: { url, interval: '30s', timeout: '20s' },
  });
}

export interface ChartTemplateOptions {
  /** ServiceTemplate (and HelmChart) name. */
  name: string;
  chart: string;
  version: string;
  /** HelmRepository in the template namespace. */
  repository: string;
  helmOptions?: Record<string, unknown>;
}

/**
 * A Helm ServiceTemplate with `spec.helm.chartSpec`, reconciled the way kcm's template controller does it:
 * HelmChart `<template>` in the template namespace (managed label, controller ownerRef to the template); once
 * source-controller has fetched the chart, `status.valid`, `status.chartRef` {kind HelmChart, name, namespace}
 * and `status.chartVersion`.
 */
export async function createChartTemplate(kube: KubeClient, ns: string, o: ChartTemplateOptions): Promise<void> {
  const chartSpec = {
    chart: o.chart,
    version: o.version,
    interval: '30s',
    sourceRef: { kind: 'HelmRepository', name: o.repository },
  };
  const template = await kube.create(paths.serviceTemplates(ns), {
    apiVersion: K0RDENT_API_VERSION,
    kind: 'ServiceTemplate',
    metadata: { name: o.name, namespace: ns },
    spec: { helm: { chartSpec }, ...(o.helmOptions ? { helmOptions: o.helmOptions } : {}) },
  });
  await kube.create(sourcePaths.helmChart(ns), {
    apiVersion: SOURCE_API_VERSION,
    kind: 'HelmChart',
    metadata: {
      name: o.name,
      namespace: ns,
      labels: { ...SOURCE_LABELS },
      ownerReferences: [
        {
          apiVersion: K0RDENT_API_VERSION,
          kind: 'ServiceTemplate',
          name: o.name,
          uid: template.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: { ...chartSpec, reconcileStrategy: 'ChartVersion' },
  });
  await waitForArtifact(kube, 'HelmChart', ns, o.name, sourcePaths.helmChart(ns, o.name));
  await kube.mergePatch(`${paths.serviceTemplate(ns, o.name)}/status`, {
    status: {
      valid: true,
      chartRef: { kind: 'HelmChart', name: o.name, namespace: ns },
      chartVersion: o.version, // kcm copies HelmChart spec.version
      description: `${o.chart} ${o.version}`,
      observedGeneration: template.metadata.generation ?? 1,
    },
  });
}

/** Starts an HTTP server on a free loopback port; returns its base URL. */
export async function listenOnLoopback(server: http.Server, what: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error(`${what}: no address`);
  return `http://127.0.0.1:${addr.port}`;
}
