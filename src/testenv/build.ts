// `ksm-flux testenv build`: runs scripts/build-tools.sh, which builds from Go module sources into the
// version-keyed cache and skips whatever is already there.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { locateModule } from '../values/render';
import { toolPaths } from './versions';

/** `render` is the values renderer (WebAssembly, scripts/build-render.sh); the rest come from build-tools.sh. */
export type BuildTarget = 'k8s' | 'etcd' | 'temporal' | 'crds' | 'flux' | 'helm' | 'temporal-server' | 'kcm' | 'render';
export const baseTargets: BuildTarget[] = ['crds', 'etcd', 'k8s', 'temporal', 'render'];
/** What each phase of the test suite runs against (test/run.ts, test/all.ts). */
export const suiteTargets = {
  /**
   * temporal-server: test/integration/temporal-postgres.test.ts runs the adapter on the production server; helm:
   * the chart, RBAC, codec and external-Temporal tests render the chart.
   */
  integration: [...baseTargets, 'temporal-server', 'helm'] as BuildTarget[],
  /** The Flux controllers, helm for the chart repositories, and kcm (the demo's e2e test runs the real kcm too). */
  e2e: [...baseTargets, 'flux', 'helm', 'kcm'] as BuildTarget[],
};

function renderBuilt(): boolean {
  try {
    locateModule();
    return true;
  } catch {
    return false;
  }
}

const repoRoot = path.resolve(__dirname, '..', '..');

export function missingTargets(targets: BuildTarget[]): BuildTarget[] {
  const t = toolPaths();
  const present: Record<BuildTarget, () => boolean> = {
    k8s: () => [t.kubeApiserver, t.kubeControllerManager, t.kubectl].every((f) => fs.existsSync(f)),
    etcd: () => fs.existsSync(t.etcd),
    temporal: () => fs.existsSync(t.temporal),
    crds: () => fs.existsSync(path.join(t.crdDir, '.complete')),
    flux: () =>
      ['helm-controller', 'kustomize-controller', 'source-controller'].every((b) =>
        fs.existsSync(path.join(t.fluxDir, b)),
      ),
    helm: () => fs.existsSync(t.helm),
    'temporal-server': () =>
      ['temporal-server', 'temporal-sql-tool', 'temporal-ui-server'].every((b) =>
        fs.existsSync(path.join(t.temporalServerDir, b)),
      ),
    kcm: () => fs.existsSync(t.kcmManager) && fs.existsSync(path.join(t.kcmCrdDir, '.complete')),
    render: renderBuilt,
  };
  return targets.filter((x) => !present[x]());
}

/** Builds the given targets (all base targets by default); resolves when everything is in the cache. */
export async function build(targets: BuildTarget[] = baseTargets): Promise<void> {
  const tools = targets.filter((t) => t !== 'render');
  if (tools.length) await runScript('build-tools.sh', tools);
  if (targets.includes('render')) await runScript('build-render.sh', []);
  const still = missingTargets(targets);
  if (still.length) throw new Error(`build finished but ${still.join(', ')} is still missing from the cache`);
}

/**
 * Runs scripts/build-tools.sh for the given tools in the background, its output to `logFile`: `nice` 19, so that
 * it compiles only on what the foreground leaves idle; `fetchOnly` downloads their modules and stops. Resolves to
 * the exit code.
 */
export function buildInBackground(
  targets: BuildTarget[],
  logFile: string,
  opts: { fetchOnly?: boolean } = {},
): Promise<number> {
  const tools = targets.filter((t) => t !== 'render');
  const args = [
    path.join(repoRoot, 'scripts', 'build-tools.sh'),
    ...(opts.fetchOnly ? ['--fetch-only'] : []),
    ...tools,
  ];
  const out = fs.openSync(logFile, 'a');
  const child = spawn('nice', ['-n', '19', 'bash', ...args], { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  return new Promise((resolve) => {
    child.on('error', () => resolve(1));
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

function runScript(name: string, args: string[]): Promise<void> {
  const script = path.join(repoRoot, 'scripts', name);
  return new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${name} ${args.join(' ')} exited ${code}`)),
    );
  });
}

/** Builds only what is missing; prints nothing when all is cached. */
export async function ensureBuilt(targets: BuildTarget[] = baseTargets): Promise<void> {
  const missing = missingTargets(targets);
  if (missing.length) await build(missing);
}
