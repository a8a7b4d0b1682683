// Renders charts/ksm-flux with its default values into deploy/ksm-flux.yaml with the real `helm template`
// (the helm binary built into the tool cache). test/integration/chart.test.ts checks the file is current.
//
//   npx tsx scripts/render-deploy.ts           write deploy/ksm-flux.yaml
//   npx tsx scripts/render-deploy.ts --check   exit 1 if it differs from a fresh rendering
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as prettier from 'prettier';
import YAML from 'yaml';
import { ensureBuilt } from '../src/testenv/build';
import { toolPaths } from '../src/testenv/versions';

export const repoRoot = path.resolve(__dirname, '..');
export const chartDir = path.join(repoRoot, 'charts', 'ksm-flux');
export const deployFile = path.join(repoRoot, 'deploy', 'ksm-flux.yaml');
/** The release name and namespace of the default rendering. */
export const defaultRelease = { name: 'ksm-flux', namespace: 'ksm-flux' };

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the cached helm binary with a private, empty helm home (no user repositories or plugins). */
export function helm(args: string[]): Promise<HelmResult> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ksm-flux-helm-'));
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    HELM_CACHE_HOME: path.join(home, 'cache'),
    HELM_CONFIG_HOME: path.join(home, 'config'),
    HELM_DATA_HOME: path.join(home, 'data'),
  };
  return new Promise((resolve, reject) => {
    execFile(toolPaths().helm, args, { env, cwd: repoRoot, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      fs.rmSync(home, { recursive: true, force: true });
      if (err && typeof err.code !== 'number') {
        reject(new Error(`cannot run ${toolPaths().helm}: ${err.message}`));
        return;
      }
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

export interface TemplateOptions {
  release?: string;
  namespace?: string;
  /** --set key=value pairs. */
  set?: Record<string, string | number | boolean>;
  /** Also render crds/ (the Kustomization CRD kcm's chart does not install), as `helm install` would apply it. */
  includeCrds?: boolean;
}

/** `helm template` of the chart; rejects with helm's message when rendering fails. */
export async function helmTemplate(opts: TemplateOptions = {}): Promise<string> {
  const args = [
    'template',
    opts.release ?? defaultRelease.name,
    chartDir,
    '--namespace',
    opts.namespace ?? defaultRelease.namespace,
  ];
  for (const [k, v] of Object.entries(opts.set ?? {})) args.push('--set', `${k}=${String(v)}`);
  if (opts.includeCrds) args.push('--include-crds');
  const r = await helm(args);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** A rendered Kubernetes object. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** The objects of a multi-document rendering (empty documents dropped). */
export function parseManifests(text: string): Manifest[] {
  return YAML.parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`invalid YAML in the rendering: ${d.errors[0]!.message}`);
      return d.toJS() as Manifest | null;
    })
    .filter((o): o is Manifest => !!o);
}

/** REST resource of each kind the chart renders (plural, namespaced). */
const chartKinds: Record<string, { plural: string; namespaced: boolean }> = {
  'v1/ServiceAccount': { plural: 'serviceaccounts', namespaced: true },
  'v1/Service': { plural: 'services', namespaced: true },
  'v1/ConfigMap': { plural: 'configmaps', namespaced: true },
  'apps/v1/Deployment': { plural: 'deployments', namespaced: true },
  'rbac.authorization.k8s.io/v1/ClusterRole': { plural: 'clusterroles', namespaced: false },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { plural: 'clusterrolebindings', namespaced: false },
  'rbac.authorization.k8s.io/v1/Role': { plural: 'roles', namespaced: true },
  'rbac.authorization.k8s.io/v1/RoleBinding': { plural: 'rolebindings', namespaced: true },
  'k0rdent.mirantis.com/v1beta1/StateManagementProvider': { plural: 'statemanagementproviders', namespaced: false },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': { plural: 'customresourcedefinitions', namespaced: false },
};

/** The REST path of a rendered object (for server-side apply in the tests). */
export function manifestPath(o: Manifest): string {
  const k = chartKinds[`${o.apiVersion}/${o.kind}`];
  if (!k) throw new Error(`no REST mapping for ${o.apiVersion} ${o.kind}`);
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  if (k.namespaced && !o.metadata.namespace) throw new Error(`${o.kind} ${o.metadata.name} has no namespace`);
  const ns = k.namespaced ? `/namespaces/${encodeURIComponent(o.metadata.namespace!)}` : '';
  return `${base}${ns}/${k.plural}/${encodeURIComponent(o.metadata.name)}`;
}

const header = [
  '# Generated from charts/ksm-flux with its default values (release ksm-flux, namespace ksm-flux, kcm Flux mode,',
  "# with the chart's crds/: the Kustomization CRD kcm does not install) by `npx tsx scripts/render-deploy.ts`; do",
  '# not edit. Install: create the namespace, then apply this file:',
  '#   kubectl create namespace ksm-flux && kubectl apply --server-side -f deploy/ksm-flux.yaml',
  '',
].join('\n');

/** What deploy/ksm-flux.yaml must contain: the header and the default rendering, formatted as the repo's YAML. */
export async function renderDeploy(): Promise<string> {
  const rendered = await helmTemplate({ includeCrds: true });
  const config = (await prettier.resolveConfig(deployFile)) ?? {};
  return prettier.format(header + rendered, { ...config, parser: 'yaml' });
}

async function main(): Promise<number> {
  await ensureBuilt(['helm']);
  const text = await renderDeploy();
  const current = fs.existsSync(deployFile) ? fs.readFileSync(deployFile, 'utf8') : '';
  if (process.argv.includes('--check')) {
    if (current === text) return 0;
    process.stderr.write(`${path.relative(repoRoot, deployFile)} is stale: run npx tsx scripts/render-deploy.ts\n`);
    return 1;
  }
  fs.mkdirSync(path.dirname(deployFile), { recursive: true });
  fs.writeFileSync(deployFile, text);
  process.stdout.write(
    `${path.relative(repoRoot, deployFile)} ${current === text ? 'unchanged' : 'written'} (${text.split('\n').length} lines)\n`,
  );
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
