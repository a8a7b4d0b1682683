// The two Flux topologies end to end (issue 9, point 2). The testenv runs Flux the way kcm's chart does (kcm mode):
// helm- and source-controller with --watch-label-selector=k0rdent.mirantis.com/managed=true, and the filtered
// kustomize-controller charts/ksm-flux ships. Who reconciled an object is read from each controller process's own
// /metrics: Flux records gotk_reconcile_duration_seconds{kind,name,namespace} for every reconcile it runs.
//
//   kcm mode: Helm from a HelmChart, Helm from a Git-sourced chart (helm-controller generates the HelmChart, which
//   kcm's filtered source-controller must see) and Kustomize all reach Deployed.
//   standalone mode: with a second, unfiltered helm-controller beside kcm's filtered one, each HelmRelease of a
//   standalone-mode adapter is reconciled by exactly one of them (a kcm-labelled control object by both, so the
//   probe can fail); a Kustomization no kustomize-controller watches becomes Pending, named, and doctor finds it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LABEL_MANAGED, PAUSED_ANNOTATION } from '../../src/workflow/constants';
import { runChecks } from '../../src/commands/doctor';
import { fluxObjectName } from '../../src/plan/names';
import type { KubeObject } from '../../src/kube/client';
import { paths } from '../../src/kube/paths';
import { fluxEndpoints, startFluxControllers } from '../../src/testenv/fluxModes';
import {
  createGitChartTemplate,
  createGitRepository,
  createKustomizeTemplate,
  startGitServer,
  type GitServer,
} from '../../src/testenv/gitServer';
import {
  createChartTemplate,
  createHelmRepository,
  readyMessage,
  sourcePaths,
  startHelmRepo,
  type HelmRepoServer,
} from '../../src/testenv/helmRepo';
import { stop, type Started } from '../../src/testenv/proc';
import {
  TARGET_PROCS_FILE,
  createTargetKubeconfigSecret,
  createTargetNamespace,
  helmReleaseRecords,
  startTarget,
  targetPaths,
  type TargetCluster,
} from '../../src/testenv/target';
import { startTestAdapter, type TestAdapter } from '../support/adapter';
import {
  createNamespace,
  createServiceSet,
  createSmp,
  events,
  eventually,
  getServiceSet,
  testEnv,
  uniqueName,
  type SvcSpec,
} from '../support/env';

const fixturesDir = path.resolve(__dirname, '..', 'fixtures');
const CHART_DIR = path.join(fixturesDir, 'charts', 'e2e-app');
const MANIFESTS_DIR = path.join(fixturesDir, 'kustomize', 'e2e-manifests');
const CONFIG = { interval: '1m', deletionTimeout: '5m' };
const T1 = 'e2e-app-1-0-0';
const GIT_CHART = 'e2e-app-git';
const KS_TEMPLATE = 'e2e-manifests';
const SCENARIO_TIMEOUT = 10 * 60_000;

type ServiceEntry = { name: string; namespace: string; state: string; version?: string; failureMessage?: string };
const labelsOf = (o: KubeObject | undefined) => (o?.metadata.labels ?? {}) as Record<string, string>;
const since = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
  });
}

/** How many reconciles of KIND NS/NAME the controller process PROC ran (0 if it never saw the object). */
async function reconciles(proc: string, kind: string, ns: string, name: string): Promise<number> {
  const ep = fluxEndpoints(process.env.KSM_FLUX_TESTENV_DIR!)[proc];
  assert.ok(ep, `metrics address of ${proc} (flux-endpoints.json)`);
  const text = await httpGet(`http://${ep.metrics}/metrics`);
  for (const line of text.split('\n')) {
    const m = /^gotk_reconcile_duration_seconds_count\{([^}]*)\} (\d+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (labels.kind === kind && labels.namespace === ns && labels.name === name) return Number(m[2]);
  }
  return 0;
}

describe("Flux modes: kcm's label-filtered Flux and a standalone Flux", () => {
  const { kube } = testEnv();
  const dir = process.env.KSM_FLUX_TESTENV_DIR ?? os.tmpdir();
  const workDir = path.join(dir, `modes-work-${process.pid}`);
  let target: TargetCluster;
  let repo: HelmRepoServer;
  let git: GitServer;
  let manifestsUrl: string;
  let chartUrl: string;
  let kcmAdapter: TestAdapter;
  let soloAdapter: TestAdapter;
  let kcmSmp: string;
  let soloSmp: string;

  async function serviceEntry(ns: string, ss: string, key: string): Promise<ServiceEntry | undefined> {
    const o = await getServiceSet(kube, ns, ss);
    return ((o?.status?.services ?? []) as ServiceEntry[]).find((s) => `${s.namespace}/${s.name}` === key);
  }

  async function fluxDebug(ns: string): Promise<string> {
    const out: string[] = [];
    for (const o of (await kube.list(paths.helmReleases(ns)).catch(() => ({ items: [] }))).items)
      out.push(`HelmRelease ${o.metadata.name}: ${readyMessage(o)}`);
    for (const o of (await kube.list(paths.kustomizations(ns)).catch(() => ({ items: [] }))).items)
      out.push(`Kustomization ${o.metadata.name}: ${readyMessage(o)}`);
    for (const o of (await kube.list(sourcePaths.helmChart(ns)).catch(() => ({ items: [] }))).items)
      out.push(`HelmChart ${o.metadata.name}: ${readyMessage(o)}`);
    for (const o of (await kube.list(paths.serviceSets(ns)).catch(() => ({ items: [] }))).items as any[])
      out.push(`ServiceSet ${o.metadata.name}: ${JSON.stringify(o.status?.services ?? [])}`);
    return out.join('\n');
  }

  async function waitFor<T>(ns: string, what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 180_000) {
    try {
      return await eventually(what, fn, timeoutMs, 500);
    } catch (e) {
      (e as Error).message += `\n--- state of ${ns} ---\n${await fluxDebug(ns)}`;
      throw e;
    }
  }

  const waitService = (ns: string, ss: string, key: string, pred: (e: ServiceEntry) => boolean, what: string) =>
    waitFor(ns, `${ss} ${key}: ${what}`, async () => {
      const e = await serviceEntry(ns, ss, key);
      return e && pred(e) ? e : undefined;
    });

  const waitGone = (ns: string, ss: string) =>
    waitFor(ns, `ServiceSet ${ns}/${ss} gone`, async () => !(await getServiceSet(kube, ns, ss)));

  const configData = async (ns: string, name: string) =>
    (await target.kube.get<{ data?: Record<string, string> } & KubeObject>(targetPaths.configMap(ns, name)))?.data;

  /** A management namespace as kcm leaves it: the cluster's kubeconfig Secret and the templates' sources. */
  async function clusterNamespace(prefix: string, o: { gitChart?: boolean }): Promise<string> {
    const ns = uniqueName(prefix);
    await createNamespace(kube, ns);
    await createTargetKubeconfigSecret(kube, ns, 'workload', target);
    await createHelmRepository(kube, ns, 'e2e-charts', repo.url);
    await createGitRepository(kube, ns, 'e2e-manifests-src', manifestsUrl);
    const jobs = [
      createChartTemplate(kube, ns, { name: T1, chart: 'e2e-app', version: '1.0.0', repository: 'e2e-charts' }),
      createKustomizeTemplate(kube, ns, { name: KS_TEMPLATE, gitRepository: 'e2e-manifests-src', path: './deploy' }),
    ];
    if (o.gitChart) {
      await createGitRepository(kube, ns, 'e2e-chart-src', chartUrl);
      jobs.push(
        createGitChartTemplate(kube, ns, { name: GIT_CHART, gitRepository: 'e2e-chart-src', path: 'charts/e2e-app' }),
      );
    }
    await Promise.all(jobs);
    return ns;
  }

  const helmSvc = (name: string, namespace: string, template: string, values: string): SvcSpec => ({
    name,
    namespace,
    template,
    version: template === T1 ? '1.0.0' : template,
    values,
  });
  const ksSvc = (name: string, namespace: string): SvcSpec => ({
    name,
    namespace,
    template: KS_TEMPLATE,
    version: 'main',
  });

  before(async () => {
    const t0 = Date.now();
    [target, repo, git] = await Promise.all([
      startTarget('modes-target'),
      startHelmRepo(path.join(workDir, 'helm-repo')),
      startGitServer(path.join(workDir, 'git')),
    ]);
    await repo.publish(CHART_DIR, '1.0.0');
    manifestsUrl = await git.createRepo('e2e-manifests', MANIFESTS_DIR);
    // A chart in a git repository, below charts/ as charts usually live there.
    const chartRepoDir = path.join(workDir, 'chart-repo');
    fs.cpSync(CHART_DIR, path.join(chartRepoDir, 'charts', 'e2e-app'), { recursive: true });
    chartUrl = await git.createRepo('e2e-chart', chartRepoDir);
    [kcmAdapter, soloAdapter] = await Promise.all([
      startTestAdapter({ 'flux-mode': 'kcm', 'flap-tolerance': '20s' }),
      startTestAdapter({ 'flux-mode': 'standalone', 'flap-tolerance': '20s' }),
    ]);
    kcmSmp = uniqueName('smp-kcm');
    soloSmp = uniqueName('smp-solo');
    for (const [name, a] of [
      [kcmSmp, kcmAdapter],
      [soloSmp, soloAdapter],
    ] as const)
      await createSmp(kube, {
        name,
        adapterName: a.cfg.adapterName,
        adapterNamespace: a.cfg.adapterNamespace,
        selector: {},
      });
    process.stderr.write(`[e2e] flux modes setup in ${since(t0)}\n`);
  });

  after(async () => {
    await Promise.all([kcmAdapter?.stop(), soloAdapter?.stop()]);
    await Promise.all([repo?.close(), git?.close()]);
    await target?.stop();
  });

  it(
    'kcm mode: Helm from a HelmChart, Helm from a Git-sourced chart and Kustomize reach Deployed through the label-filtered controllers',
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const t0 = Date.now();
      const ns = await clusterNamespace('modes-kcm', { gitChart: true });
      t.diagnostic(`sources and templates ready after ${since(t0)}`);
      await createTargetNamespace(target, 'modes-ks');
      await createServiceSet(kube, {
        namespace: ns,
        name: 'kcm',
        provider: kcmSmp,
        cluster: 'workload',
        config: CONFIG,
        services: [
          helmSvc('from-chart', 'modes-kcm', T1, 'greeting: from a HelmChart\n'),
          helmSvc('from-git', 'modes-kcm', GIT_CHART, 'greeting: from git\n'),
          ksSvc('manifests', 'modes-ks'),
        ],
      });
      for (const key of ['modes-kcm/from-chart', 'modes-kcm/from-git', 'modes-ks/manifests'])
        await waitService(ns, 'kcm', key, (s) => s.state === 'Deployed', 'Deployed');
      t.diagnostic(`all three Deployed after ${since(t0)}`);

      // What the filtered controllers needed to see: the label on each object we wrote ...
      const hrName = (svc: string) => fluxObjectName('kcm', 'modes-kcm', svc);
      const ksName = fluxObjectName('kcm', 'modes-ks', 'manifests');
      const fromGit: any = await kube.get(paths.flux({ kind: 'HelmRelease', namespace: ns, name: hrName('from-git') }));
      for (const o of [
        await kube.get(paths.flux({ kind: 'HelmRelease', namespace: ns, name: hrName('from-chart') })),
        fromGit,
        await kube.get(paths.flux({ kind: 'Kustomization', namespace: ns, name: ksName })),
      ])
        assert.equal(labelsOf(o)[LABEL_MANAGED], 'true', `${o?.kind} ${o?.metadata.name} carries the watch label`);
      // ... and on the HelmChart helm-controller generated from the Git chart, which kcm's source-controller built.
      assert.deepEqual(fromGit.spec.chart.metadata, { labels: { [LABEL_MANAGED]: 'true' } });
      assert.equal(fromGit.status.helmChart, `${ns}/${ns}-${hrName('from-git')}`);
      const chart = await kube.get(sourcePaths.helmChart(ns, `${ns}-${hrName('from-git')}`));
      assert.equal(labelsOf(chart)[LABEL_MANAGED], 'true');
      assert.ok((chart?.status as { artifact?: unknown })?.artifact, 'the generated HelmChart has an artifact');

      // On the target.
      assert.deepEqual(await configData('modes-kcm', 'from-chart-config'), {
        greeting: 'from a HelmChart',
        chartVersion: '1.0.0',
      });
      // reconcileStrategy Revision: Flux versions a Git chart as <chart version>+<commit>.
      const fromGitData = await configData('modes-kcm', 'from-git-config');
      assert.equal(fromGitData?.greeting, 'from git');
      assert.match(fromGitData?.chartVersion ?? '', /^1\.0\.0\+[0-9a-f]{12}$/);
      assert.deepEqual(await configData('modes-ks', 'kustomized-config'), { source: 'git' });

      // Reconciled by the testenv's controllers, which run with kcm's arguments.
      assert.ok((await reconciles('helm-controller', 'HelmRelease', ns, hrName('from-git'))) > 0);
      assert.ok((await reconciles('source-controller', 'HelmChart', ns, `${ns}-${hrName('from-git')}`)) > 0);
      assert.ok((await reconciles('kustomize-controller', 'Kustomization', ns, ksName)) > 0);

      await kube.delete(paths.serviceSet(ns, 'kcm'));
      await waitGone(ns, 'kcm');
      assert.deepEqual(await helmReleaseRecords(target, 'modes-kcm', 'from-git'), []);
      t.diagnostic(`uninstalled and gone after ${since(t0)}`);
    },
  );

  it(
    'standalone mode: beside an unfiltered helm-controller no object is reconciled by both; no kustomize-controller → Pending, named',
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const t0 = Date.now();
      // A standalone Flux's helm-controller (unfiltered) next to kcm's filtered one. Recorded like a target
      // cluster's processes so that the test runner stops it even if this test dies.
      const procs: Started[] = await startFluxControllers(dir, testEnv().kubeconfig, {
        mode: 'standalone',
        controllers: ['helm-controller'],
        namePrefix: 'standalone-',
      });
      const procsDir = path.join(dir, 'targets', 'standalone-flux');
      fs.mkdirSync(procsDir, { recursive: true });
      fs.writeFileSync(path.join(procsDir, TARGET_PROCS_FILE), JSON.stringify(procs));
      try {
        const ns = await clusterNamespace('modes-solo', {});
        await createTargetNamespace(target, 'modes-unclaimed');
        t.diagnostic(`standalone helm-controller and templates ready after ${since(t0)}`);
        await createServiceSet(kube, {
          namespace: ns,
          name: 'solo',
          provider: soloSmp,
          cluster: 'workload',
          config: CONFIG,
          services: [
            helmSvc('solo', 'modes-solo', T1, 'greeting: standalone\n'),
            ksSvc('unclaimed', 'modes-unclaimed'),
          ],
        });
        // Control: a kcm-mode object (labelled) beside it, paused so that no helm-controller installs anything.
        await createServiceSet(kube, {
          namespace: ns,
          name: 'control',
          provider: kcmSmp,
          cluster: 'workload',
          config: CONFIG,
          annotations: { [PAUSED_ANNOTATION]: 'true' },
          services: [helmSvc('control', 'modes-control', T1, 'greeting: never installed\n')],
        });

        await waitService(ns, 'solo', 'modes-solo/solo', (s) => s.state === 'Deployed', 'Deployed');
        t.diagnostic(`standalone-mode Helm service Deployed after ${since(t0)}`);
        assert.deepEqual(await configData('modes-solo', 'solo-config'), {
          greeting: 'standalone',
          chartVersion: '1.0.0',
        });
        const solo = fluxObjectName('solo', 'modes-solo', 'solo');
        const control = fluxObjectName('control', 'modes-control', 'control');
        assert.equal(
          labelsOf(await kube.get(paths.flux({ kind: 'HelmRelease', namespace: ns, name: solo })))[LABEL_MANAGED],
          undefined,
        );
        await waitFor(
          ns,
          'both helm-controllers saw the labelled control HelmRelease',
          async () =>
            (await reconciles('helm-controller', 'HelmRelease', ns, control)) > 0 &&
            (await reconciles('standalone-helm-controller', 'HelmRelease', ns, control)) > 0,
        );
        // The standalone-mode HelmRelease: reconciled by the standalone helm-controller only, also after its
        // periodic runs and after the controllers had every chance to see it.
        const counts = {
          standalone: await reconciles('standalone-helm-controller', 'HelmRelease', ns, solo),
          kcm: await reconciles('helm-controller', 'HelmRelease', ns, solo),
        };
        t.diagnostic(`reconciles of ${solo}: ${JSON.stringify(counts)}`);
        assert.ok(counts.standalone > 0, 'the standalone helm-controller reconciled it');
        assert.equal(counts.kcm, 0, "kcm's filtered helm-controller never reconciled it");

        // No kustomize-controller watches an unlabelled Kustomization: Pending after the bound, saying why.
        const e = await waitService(ns, 'solo', 'modes-unclaimed/unclaimed', (s) => s.state === 'Pending', 'Pending');
        t.diagnostic(`Kustomize service Pending after ${since(t0)}`);
        assert.equal(e.failureMessage, undefined, 'not a failure');
        const ks = fluxObjectName('solo', 'modes-unclaimed', 'unclaimed');
        assert.equal(await reconciles('kustomize-controller', 'Kustomization', ns, ks), 0);
        const ev = await waitFor(ns, 'a ServicePending event naming the missing controller', async () =>
          (await events(kube, ns)).find(
            (x) => x.reason === 'ServicePending' && /modes-unclaimed\/unclaimed/.test(x.note),
          ),
        );
        assert.match(ev.note, /NoController: no kustomize-controller has picked up Kustomization .* within 60s/);
        // The ServiceSet itself says it too (kcm copies no message of a Pending entry): its FluxObjectsApplied condition.
        const applied = (await getServiceSet(kube, ns, 'solo')).status.conditions.find(
          (c: any) => c.type === 'FluxObjectsApplied',
        );
        assert.equal(applied?.reason, 'FluxObjectsWaiting', JSON.stringify(applied));
        assert.match(applied.message, /modes-unclaimed\/unclaimed: NoController: no kustomize-controller/);
        // doctor finds it too (this SMP names no provisioners: the evidence is the Kustomization itself).
        const checks = await runChecks(soloAdapter.cfg, { smp: soloSmp });
        const kc = checks.find((c) => c.name.startsWith('flux kustomize-controller'));
        assert.equal(kc?.ok, false, JSON.stringify(kc));
        assert.match(kc.detail, new RegExp(`Kustomization ${ns}/${ks} never picked up`));
        assert.match(kc.name, /standalone mode/);

        for (const ss of ['solo', 'control']) await kube.delete(paths.serviceSet(ns, ss));
        // Deleting a paused ServiceSet waits for the pause to be lifted (README "Pause"): lift it.
        await kube.mergePatch(paths.serviceSet(ns, 'control'), {
          metadata: { annotations: { [PAUSED_ANNOTATION]: null } },
        });
        await Promise.all([waitGone(ns, 'solo'), waitGone(ns, 'control')]);
        assert.deepEqual(
          await helmReleaseRecords(target, 'modes-solo', 'solo'),
          [],
          'uninstalled by the standalone Flux',
        );
        t.diagnostic(`gone after ${since(t0)}`);
      } finally {
        await Promise.all(procs.map((p) => stop(p)));
      }
    },
  );
});
