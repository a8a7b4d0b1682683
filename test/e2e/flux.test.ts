// End to end with real Flux controllers (source-, helm- and kustomize-controller built from source, started by
// `test/run.ts --e2e`) and real target clusters (extra etcd + kube-apiserver + kube-controller-manager each).
// Every scenario is driven only the way kcm drives an adapter: ServiceSets, and ServiceTemplates whose status
// names a real HelmChart (from a loopback Helm repository) or a real GitRepository (from a loopback git
// smart-HTTP server). What happened is checked where it happens: objects and Helm release records on the target
// API server, Flux objects on the management cluster, and the ServiceSet status kcm reads.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  FINALIZER,
  LABEL_RELEASE_KEY,
  LABEL_SERVICESET_UID,
  REQUESTED_AT_ANNOTATION,
} from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import type { KubeObject } from '../../src/kube/client';
import { paths } from '../../src/kube/paths';
import { freePort } from '../../src/testenv/proc';
import { startTestAdapter, type TestAdapter } from '../support/adapter';
import {
  createNamespace,
  createServiceSet,
  createSmp,
  events,
  eventually,
  getServiceSet,
  sleep,
  testEnv,
  uniqueName,
  type SvcSpec,
} from '../support/env';
import {
  createGitRepository,
  createKustomizeTemplate,
  startGitServer,
  type GitServer,
} from '../../src/testenv/gitServer';
import {
  createChartTemplate,
  createHelmRepository,
  readyMessage,
  startHelmRepo,
  type HelmRepoServer,
} from '../../src/testenv/helmRepo';
import {
  createTargetKubeconfigSecret,
  createTargetNamespace,
  helmReleaseRecords,
  startTarget,
  targetPaths,
  type HelmReleaseRecord,
  type TargetCluster,
} from '../../src/testenv/target';

const fixturesDir = path.resolve(__dirname, '..', 'fixtures');
const CHART_DIR = path.join(fixturesDir, 'charts', 'e2e-app');
const MANIFESTS_DIR = path.join(fixturesDir, 'kustomize', 'e2e-manifests');
const BIN = path.resolve(__dirname, '..', '..', 'bin', 'ksm-flux');
/** Flux intervals suited to a slow 2-core box; deletion waits long enough for a real uninstall. */
const CONFIG = { interval: '1m', deletionTimeout: '5m' };
const T1 = 'e2e-app-1-0-0';
const T2 = 'e2e-app-1-1-0';
const KS_TEMPLATE = 'e2e-manifests';
const SCENARIO_TIMEOUT = 10 * 60_000;
/** Flux interval of the "apps" ServiceSet: short enough to see periodic reconciles within the steady-state check. */
const APPS_INTERVAL = '10s';

const labelsOf = (o: KubeObject | undefined) => (o?.metadata.labels ?? {}) as Record<string, string>;

type ServiceEntry = { name: string; namespace: string; state: string; version?: string; failureMessage?: string };

describe('end to end with real Flux controllers and a real target cluster', () => {
  const { kube } = testEnv();
  const workDir = path.join(process.env.KSM_FLUX_TESTENV_DIR ?? os.tmpdir(), `e2e-work-${process.pid}`);
  let target: TargetCluster;
  let doomed: TargetCluster | undefined;
  let repo: HelmRepoServer;
  let git: GitServer;
  let gitUrl: string;
  let adapter: TestAdapter;
  let healthPort: number;
  let smp: string;

  // ---------------------------------------------------------------------------------------------------------
  // helpers

  /** A management namespace laid out as kcm leaves it: templates' sources and the cluster's kubeconfig Secret. */
  async function clusterNamespace(
    prefix: string,
    o: { cluster: string; target: TargetCluster; charts?: string[]; kustomize?: boolean },
  ): Promise<string> {
    const ns = uniqueName(prefix);
    await createNamespace(kube, ns);
    await createTargetKubeconfigSecret(kube, ns, o.cluster, o.target);
    await createHelmRepository(kube, ns, 'e2e-charts', repo.url);
    const jobs: Promise<void>[] = (o.charts ?? []).map((t) =>
      createChartTemplate(kube, ns, {
        name: t,
        chart: 'e2e-app',
        version: t === T2 ? '1.1.0' : '1.0.0',
        repository: 'e2e-charts',
      }),
    );
    if (o.kustomize) {
      await createGitRepository(kube, ns, 'e2e-manifests-src', gitUrl);
      jobs.push(
        createKustomizeTemplate(kube, ns, { name: KS_TEMPLATE, gitRepository: 'e2e-manifests-src', path: './deploy' }),
      );
    }
    await Promise.all(jobs);
    return ns;
  }

  function helmService(name: string, namespace: string, template: string, values: string): SvcSpec {
    return { name, namespace, template, version: template === T2 ? '1.1.0' : '1.0.0', values };
  }

  async function createSS(
    ns: string,
    name: string,
    cluster: string,
    services: SvcSpec[],
    config: Record<string, unknown> = CONFIG,
  ): Promise<KubeObject> {
    return createServiceSet(kube, { namespace: ns, name, provider: smp, cluster, config, services });
  }

  async function setServices(ns: string, name: string, services: SvcSpec[]): Promise<void> {
    await kube.mergePatch(paths.serviceSet(ns, name), { spec: { services } });
  }

  async function serviceEntry(ns: string, ss: string, key: string): Promise<ServiceEntry | undefined> {
    const o = await getServiceSet(kube, ns, ss);
    return ((o?.status?.services ?? []) as ServiceEntry[]).find((s) => `${s.namespace}/${s.name}` === key);
  }

  /** What Flux and the adapter say in NS, for failure messages. */
  async function fluxDebug(ns: string): Promise<string> {
    const out: string[] = [];
    try {
      for (const o of (await kube.list(paths.helmReleases(ns))).items)
        out.push(`HelmRelease ${o.metadata.name}: ${readyMessage(o)}`);
      for (const o of (await kube.list(paths.kustomizations(ns))).items)
        out.push(`Kustomization ${o.metadata.name}: ${readyMessage(o)}`);
      for (const o of (await kube.list(paths.serviceSets(ns))).items as any[])
        out.push(
          `ServiceSet ${o.metadata.name}: ${JSON.stringify(
            (o.status?.services ?? []).map((s: ServiceEntry) => [s.name, s.state, s.version, s.failureMessage]),
          )}`,
        );
    } catch (e) {
      out.push(`(debug listing failed: ${(e as Error).message})`);
    }
    return out.join('\n');
  }

  /** eventually(), with the Flux and ServiceSet state of NS in the failure message. */
  async function waitFor<T>(ns: string, what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 180_000) {
    try {
      return await eventually(what, fn, timeoutMs, 500);
    } catch (e) {
      (e as Error).message += `\n--- state of ${ns} ---\n${await fluxDebug(ns)}`;
      throw e;
    }
  }

  async function waitService(
    ns: string,
    ss: string,
    key: string,
    pred: (e: ServiceEntry) => boolean,
    what: string,
    timeoutMs = 180_000,
  ): Promise<ServiceEntry> {
    return waitFor(
      ns,
      `${ss} ${key}: ${what}`,
      async () => {
        const e = await serviceEntry(ns, ss, key);
        return e && pred(e) ? e : undefined;
      },
      timeoutMs,
    );
  }

  async function waitDeployed(ns: string, ss: string, timeoutMs = 180_000): Promise<any> {
    return waitFor(
      ns,
      `ServiceSet ${ns}/${ss} deployed`,
      async () => {
        const o = await getServiceSet(kube, ns, ss);
        const svcs = (o?.status?.services ?? []) as ServiceEntry[];
        return o?.status?.deployed === true && svcs.every((s) => s.state === 'Deployed') ? o : undefined;
      },
      timeoutMs,
    );
  }

  async function waitGone(ns: string, ss: string, timeoutMs = 180_000): Promise<void> {
    await waitFor(ns, `ServiceSet ${ns}/${ss} gone`, async () => !(await getServiceSet(kube, ns, ss)), timeoutMs);
  }

  const targetGet = (t: TargetCluster, p: string) => t.kube.get(p);
  const configData = async (t: TargetCluster, ns: string, name: string) =>
    ((await targetGet(t, targetPaths.configMap(ns, name))) as { data?: Record<string, string> } | undefined)?.data;

  function ksmFlux(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = testEnv();
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          KUBECONFIG: env.kubeconfig,
          TEMPORAL_ADDRESS: env.temporalAddress,
          TEMPORAL_NAMESPACE: env.temporalNamespace,
          LOG_LEVEL: 'warn',
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  function httpStatus(url: string): Promise<number> {
    return new Promise((resolve) => {
      const req = http.get(url, { timeout: 3000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
      req.on('timeout', () => req.destroy());
    });
  }

  const since = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

  /** Samples one service's status entry every 200 ms and keeps each change of (state, version). */
  function serviceTimeline(ns: string, ss: string, key: string) {
    const seen: TimelineEntry[] = [];
    const t0 = Date.now();
    let running = true;
    const sample = async () => {
      const e = await serviceEntry(ns, ss, key).catch(() => undefined);
      const last = seen.at(-1);
      const state = e?.state ?? '-';
      if (!last || last.state !== state || last.version !== e?.version || last.message !== e?.failureMessage)
        seen.push({
          at: Date.now() - t0,
          state,
          ...(e?.version ? { version: e.version } : {}),
          ...(e?.failureMessage ? { message: e.failureMessage } : {}),
        });
    };
    const loop = (async () => {
      while (running) {
        await sample();
        await sleep(200);
      }
    })();
    return {
      /** Stops sampling after one last sample (so the timeline ends with what the caller just saw). */
      async stop(): Promise<TimelineEntry[]> {
        running = false;
        await loop;
        await sample();
        return seen;
      },
    };
  }

  // ---------------------------------------------------------------------------------------------------------

  before(async () => {
    const t0 = Date.now();
    [target, repo, git] = await Promise.all([
      startTarget('target'),
      startHelmRepo(path.join(workDir, 'helm-repo')),
      startGitServer(path.join(workDir, 'git')),
    ]);
    await repo.publish(CHART_DIR, '1.0.0');
    await repo.publish(CHART_DIR, '1.1.0');
    gitUrl = await git.createRepo('e2e-manifests', MANIFESTS_DIR);
    healthPort = await freePort();
    adapter = await startTestAdapter({
      // Small deletion deadlines: the dead-target scenario relies on them; every other ServiceSet sets
      // provider.config.deletionTimeout so that a real uninstall on a slow box is never cut short.
      'deletion-timeout': '20s',
      'finalizer-grace': '10s',
      // Kustomizations go Ready=Unknown at every periodic run: hold Deployed through that as in production.
      'flap-tolerance': '20s',
      'health-addr': `127.0.0.1:${healthPort}`,
    });
    smp = uniqueName('smp-e2e');
    await createSmp(kube, {
      name: smp,
      adapterName: adapter.cfg.adapterName,
      adapterNamespace: adapter.cfg.adapterNamespace,
      selector: {},
    });
    process.stderr.write(`[e2e] setup (target cluster, helm repository, git server, adapter) in ${since(t0)}\n`);
  });

  after(async () => {
    await adapter?.stop();
    await Promise.all([repo?.close(), git?.close()]);
    await Promise.all([target?.stop(), doomed?.stop()]);
  });

  // ---------------------------------------------------------------------------------------------------------
  // One ServiceSet "apps" goes through install (Helm, then Kustomize added), upgrade and deletion.

  let appsNs: string;
  let appsUid: string;

  it(
    'Helm: a chart from a HelmRepository is installed on the target; the ServiceSet is Deployed with its version',
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const t0 = Date.now();
      appsNs = await clusterNamespace('e2e-apps', { cluster: 'workload', target, charts: [T1, T2], kustomize: true });
      t.diagnostic(`templates ready (HelmCharts and GitRepository have artifacts) after ${since(t0)}`);
      // A short Flux interval, so that the steady-state scenario sees Flux's periodic runs.
      const ss = await createSS(
        appsNs,
        'apps',
        'workload',
        [helmService('app', 'e2e-apps', T1, 'greeting: hello from apps\n')],
        { ...CONFIG, interval: APPS_INTERVAL },
      );
      appsUid = ss.metadata.uid!;
      const e = await waitService(
        appsNs,
        'apps',
        'e2e-apps/app',
        (s) => s.state === 'Deployed' && !!s.version,
        'Deployed with a version',
      );
      t.diagnostic(`Deployed after ${since(t0)}`);
      assert.equal(e.version, '1.0.0');
      const o = await waitDeployed(appsNs, 'apps');
      assert.match(o.status.conditions.find((c: any) => c.type === 'ServicesInReadyState').message, /^1\/1$/);

      // What we wrote to Flux: a HelmRelease on the management cluster pointing at the target's kubeconfig.
      const hr: any = await kube.get(
        paths.flux({ kind: 'HelmRelease', namespace: appsNs, name: fluxObjectName('apps', 'e2e-apps', 'app') }),
      );
      assert.deepEqual(hr.spec.chartRef, {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'HelmChart',
        name: T1,
        namespace: appsNs,
      });
      assert.deepEqual(hr.spec.kubeConfig, { secretRef: { name: 'workload-kubeconfig', key: 'value' } });
      assert.equal(hr.metadata.labels[LABEL_SERVICESET_UID], appsUid);

      // What helm-controller did on the target.
      const data = await configData(target, 'e2e-apps', 'app-config');
      assert.deepEqual(data, { greeting: 'hello from apps', chartVersion: '1.0.0' });
      assert.ok(
        await targetGet(target, targetPaths.secret('e2e-apps', 'app-secret')),
        'Secret app-secret on the target',
      );
      const svc: any = await targetGet(target, targetPaths.service('e2e-apps', 'app'));
      assert.ok(svc?.spec?.clusterIP, 'Service app with a cluster IP on the target');
      const cm: any = await targetGet(target, targetPaths.configMap('e2e-apps', 'app-config'));
      assert.equal(cm.metadata.labels['helm.toolkit.fluxcd.io/name'], hr.metadata.name, 'stamped by helm-controller');
      const records = await helmReleaseRecords(target, 'e2e-apps', 'app');
      assert.deepEqual(records, [{ name: 'sh.helm.release.v1.app.v1', revision: 1, status: 'deployed' }]);
    },
  );

  it(
    'Kustomize: manifests from a git server are applied on the target by a Kustomization',
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const t0 = Date.now();
      // kustomize-controller never creates the target namespace: the cluster's owner does.
      await createTargetNamespace(target, 'e2e-kustomize');
      await setServices(appsNs, 'apps', [
        helmService('app', 'e2e-apps', T1, 'greeting: hello from apps\n'),
        { name: 'manifests', namespace: 'e2e-kustomize', template: KS_TEMPLATE, version: 'main' },
      ]);
      await waitService(appsNs, 'apps', 'e2e-kustomize/manifests', (s) => s.state === 'Deployed', 'Deployed');
      const o = await waitDeployed(appsNs, 'apps');
      t.diagnostic(`Deployed after ${since(t0)}`);
      assert.equal(o.status.conditions.find((c: any) => c.type === 'ServicesInReadyState').message, '2/2');

      const ks: any = await kube.get(
        paths.flux({
          kind: 'Kustomization',
          namespace: appsNs,
          name: fluxObjectName('apps', 'e2e-kustomize', 'manifests'),
        }),
      );
      assert.deepEqual(ks.spec.sourceRef, { kind: 'GitRepository', name: 'e2e-manifests-src', namespace: appsNs });
      assert.equal(ks.spec.targetNamespace, 'e2e-kustomize');
      assert.match(ks.status.lastAppliedRevision, /^main@sha1:[0-9a-f]{40}$/);

      assert.deepEqual(await configData(target, 'e2e-kustomize', 'kustomized-config'), { source: 'git' });
      const svc: any = await targetGet(target, targetPaths.service('e2e-kustomize', 'kustomized'));
      assert.equal(svc?.metadata?.labels?.['kustomize.toolkit.fluxcd.io/name'], ks.metadata.name);
      // The Helm service is untouched by the spec change.
      assert.equal((await helmReleaseRecords(target, 'e2e-apps', 'app')).length, 1);
    },
  );

  it(
    "Steady state: Deployed holds through Flux's periodic reconciles (a Kustomization's Ready flips at each run)",
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const t0 = Date.now();
      const ksRef = {
        kind: 'Kustomization' as const,
        namespace: appsNs,
        name: fluxObjectName('apps', 'e2e-kustomize', 'manifests'),
      };
      const readyOf = async () =>
        ((await kube.get(paths.flux(ksRef))) as any)?.status?.conditions?.find((c: any) => c.type === 'Ready');
      const before = await readyOf();
      const entriesBefore = (await getServiceSet(kube, appsNs, 'apps')).status.services as any[];
      const timelines = [
        serviceTimeline(appsNs, 'apps', 'e2e-apps/app'),
        serviceTimeline(appsNs, 'apps', 'e2e-kustomize/manifests'),
      ];
      // kustomize-controller marks Ready=Unknown "Reconciliation in progress" at the start of every periodic run,
      // then Ready=True again: each run moves Ready's lastTransitionTime. Wait for two runs.
      const flips: string[] = [];
      await waitFor(
        appsNs,
        'two periodic Kustomization runs',
        async () => {
          const r = await readyOf();
          const last = flips.at(-1) ?? before.lastTransitionTime;
          if (r?.status === 'True' && r.lastTransitionTime !== last) flips.push(r.lastTransitionTime);
          return flips.length >= 2;
        },
        90_000,
      );
      await sleep(2000); // the adapter sees the last run too
      const seen = await Promise.all(timelines.map((x) => x.stop()));
      t.diagnostic(`Kustomization Ready moved at ${flips.join(', ')} (interval ${APPS_INTERVAL}); ${since(t0)}`);
      t.diagnostic(`status: app ${timelineText(seen[0]!)}; manifests ${timelineText(seen[1]!)}`);
      for (const s of seen) assert.deepEqual([...new Set(s.map((x) => x.state))], ['Deployed'], timelineText(s));
      const entriesAfter = (await getServiceSet(kube, appsNs, 'apps')).status.services as any[];
      assert.deepEqual(
        entriesAfter.map((e) => [e.name, e.state, e.lastStateTransitionTime]),
        entriesBefore.map((e) => [e.name, e.state, e.lastStateTransitionTime]),
        'no state transition was recorded',
      );
    },
  );

  it(
    'Upgrade: a new chart version (new template) and new values upgrade the release on the target',
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const t0 = Date.now();
      const timeline = serviceTimeline(appsNs, 'apps', 'e2e-apps/app');
      await setServices(appsNs, 'apps', [
        helmService('app', 'e2e-apps', T2, 'greeting: hello again\n'),
        { name: 'manifests', namespace: 'e2e-kustomize', template: KS_TEMPLATE, version: 'main' },
      ]);
      const e = await waitService(
        appsNs,
        'apps',
        'e2e-apps/app',
        (s) => s.state === 'Deployed' && s.version === '1.1.0',
        'Deployed at 1.1.0',
      );
      t.diagnostic(`Deployed 1.1.0 after ${since(t0)}`);
      assert.equal(e.version, '1.1.0');
      const seen = await timeline.stop();
      t.diagnostic(`status of e2e-apps/app: ${timelineText(seen)}`);
      // kcm gates on status.version: it must never announce 1.1.0 before Flux confirmed the upgrade.
      const firstNew = seen.find((x) => x.version === '1.1.0');
      assert.equal(firstNew?.state, 'Deployed', timelineText(seen));
      assert.ok(!seen.some((x) => x.state === 'Failed'), timelineText(seen));
      await waitDeployed(appsNs, 'apps');

      assert.deepEqual(await configData(target, 'e2e-apps', 'app-config'), {
        greeting: 'hello again',
        chartVersion: '1.1.0',
      });
      const records = await helmReleaseRecords(target, 'e2e-apps', 'app');
      assert.deepEqual(
        records.map((r) => [r.revision, r.status]),
        [
          [1, 'superseded'],
          [2, 'deployed'],
        ],
        'revision 2 is the upgrade',
      );
      const hr: any = await kube.get(
        paths.flux({ kind: 'HelmRelease', namespace: appsNs, name: fluxObjectName('apps', 'e2e-apps', 'app') }),
      );
      assert.equal(hr.spec.chartRef.name, T2);
      const last = hr.status.history?.[0];
      assert.equal(last?.chartVersion, '1.1.0');
      assert.equal(last?.version, 2);
    },
  );

  it(
    'Deletion: the release is uninstalled and the Kustomization pruned on the target, then the ServiceSet goes',
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const t0 = Date.now();
      await kube.delete(paths.serviceSet(appsNs, 'apps'));
      await waitFor(appsNs, 'services Deleting', async () => {
        const o = await getServiceSet(kube, appsNs, 'apps');
        return !o || (o.status?.services ?? []).every((s: ServiceEntry) => s.state === 'Deleting');
      });
      await waitGone(appsNs, 'apps');
      t.diagnostic(`ServiceSet gone after ${since(t0)}`);

      // Nothing of ours is left on the management cluster…
      assert.equal((await kube.list(paths.helmReleases(appsNs), `${LABEL_SERVICESET_UID}=${appsUid}`)).items.length, 0);
      assert.equal(
        (await kube.list(paths.kustomizations(appsNs), `${LABEL_SERVICESET_UID}=${appsUid}`)).items.length,
        0,
      );
      // …and Flux removed everything from the target before letting go (we waited for it).
      assert.equal(await targetGet(target, targetPaths.configMap('e2e-apps', 'app-config')), undefined);
      assert.equal(await targetGet(target, targetPaths.secret('e2e-apps', 'app-secret')), undefined);
      assert.equal(await targetGet(target, targetPaths.service('e2e-apps', 'app')), undefined);
      assert.deepEqual(await helmReleaseRecords(target, 'e2e-apps', 'app'), [], 'release records uninstalled');
      await eventually(
        'Kustomization objects pruned on the target',
        async () =>
          !(await targetGet(target, targetPaths.configMap('e2e-kustomize', 'kustomized-config'))) &&
          !(await targetGet(target, targetPaths.service('e2e-kustomize', 'kustomized'))),
        15_000,
      );
      // A real uninstall, not the deadline path.
      const evs = (await events(kube, appsNs)).filter((e) => e.regarding.name === 'apps');
      assert.ok(!evs.some((e) => e.reason === 'FluxObjectsOrphaned'), JSON.stringify(evs.map((e) => e.reason)));
    },
  );

  // ---------------------------------------------------------------------------------------------------------

  it(
    "Failure and retry: helm-controller's install error is the service's failureMessage; fixed values + `ksm-flux retry` deploy it",
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const t0 = Date.now();
      const ns = await clusterNamespace('e2e-flaky', { cluster: 'workload', target, charts: [T1] });
      await createSS(ns, 'flaky', 'workload', [helmService('flaky', 'e2e-flaky', T1, 'broken: true\n')]);
      const failing = serviceTimeline(ns, 'flaky', 'e2e-flaky/flaky');
      const failed = await waitService(
        ns,
        'flaky',
        'e2e-flaky/flaky',
        (s) => s.state === 'Failed' && !!s.failureMessage,
        'Failed',
      );
      t.diagnostic(`Failed after ${since(t0)}: ${failed.failureMessage}`);
      const hrRef = {
        kind: 'HelmRelease' as const,
        namespace: ns,
        name: fluxObjectName('flaky', 'e2e-flaky', 'flaky'),
      };
      // atomic (kcm's default) means install remediation: helm-controller retries, uninstalls each failed attempt
      // and finally gives up (Stalled RetriesExceeded). The service stays Failed with the cause all along.
      const stalled = await waitFor(ns, 'HelmRelease Stalled (retries exhausted)', async () => {
        const o: any = await kube.get(paths.flux(hrRef));
        const c = (o?.status?.conditions ?? []).find((x: any) => x.type === 'Stalled');
        return c?.status === 'True' ? o : undefined;
      });
      const cond = (type: string) => stalled.status.conditions.find((c: any) => c.type === type);
      t.diagnostic(
        `HelmRelease gave up after ${since(t0)}: ${['Ready', 'Released', 'Remediated', 'Stalled']
          .map((c) => `${c}=${cond(c)?.status}/${cond(c)?.reason}`)
          .join(' ')}`,
      );
      assert.equal(cond('Ready').status, 'False');
      assert.match(cond('Released').message, /not a valid key!/);
      await sleep(3000); // let the adapter observe the stalled HelmRelease
      const seen = await failing.stop();
      t.diagnostic(`status of e2e-flaky/flaky while failing: ${timelineText(seen, true)}`);
      assert.equal(seen.at(-1)?.state, 'Failed');
      for (const x of seen.filter((e) => e.state === 'Failed')) {
        // helm-controller's own words (the failed action), carrying the target API server's refusal.
        assert.match(x.message ?? '', /Helm install failed for release e2e-flaky\/flaky/, timelineText(seen, true));
        assert.match(x.message ?? '', /not a valid key!/, timelineText(seen, true));
      }
      assert.ok(!seen.some((e) => e.state === 'Deployed'), timelineText(seen, true));
      assert.equal(await targetGet(target, targetPaths.configMap('e2e-flaky', 'flaky-config')), undefined);
      const ss = await getServiceSet(kube, ns, 'flaky');
      assert.equal(ss.status.deployed, false);

      // Fix the input, then ask for a retry the way an operator would.
      const t1 = Date.now();
      const timeline = serviceTimeline(ns, 'flaky', 'e2e-flaky/flaky');
      await setServices(ns, 'flaky', [helmService('flaky', 'e2e-flaky', T1, 'broken: false\ngreeting: fixed\n')]);
      const tCli = Date.now();
      const r = await ksmFlux([
        'retry',
        `${ns}/flaky`,
        '--task-queue',
        adapter.cfg.taskQueue,
        '--adapter-name',
        adapter.cfg.adapterName,
        '--adapter-namespace',
        adapter.cfg.adapterNamespace,
      ]);
      assert.equal(r.code, 0, `ksm-flux retry failed: ${r.stderr}`);
      t.diagnostic(`\`ksm-flux retry\` took ${since(tCli)}: ${r.stdout.split('\n')[0]}`);
      assert.match(r.stdout, new RegExp(`retried ServiceSet ${ns}/flaky \\(workflow ksm-flux/${ss.metadata.uid}`));
      assert.match(r.stdout, /e2e-flaky\/flaky\s+\w+/);
      const annotated: any = await kube.get(paths.flux(hrRef));
      assert.ok(annotated.metadata.annotations?.[REQUESTED_AT_ANNOTATION], 'the retry asked Flux to reconcile');

      const e = await waitService(
        ns,
        'flaky',
        'e2e-flaky/flaky',
        (s) => s.state === 'Deployed' && s.version === '1.0.0',
        'Deployed',
      );
      t.diagnostic(`Deployed ${since(t1)} after the fix`);
      t.diagnostic(`status of e2e-flaky/flaky after the fix: ${timelineText(await timeline.stop())}`);
      assert.equal(e.failureMessage, undefined);
      assert.deepEqual(await configData(target, 'e2e-flaky', 'flaky-config'), {
        greeting: 'fixed',
        chartVersion: '1.0.0',
      });
      const records = await helmReleaseRecords(target, 'e2e-flaky', 'flaky');
      assert.equal(records.at(-1)?.status, 'deployed');

      await kube.delete(paths.serviceSet(ns, 'flaky'));
      await waitGone(ns, 'flaky');
      assert.deepEqual(await helmReleaseRecords(target, 'e2e-flaky', 'flaky'), []);
    },
  );

  // ---------------------------------------------------------------------------------------------------------

  it(
    "Conflict: only the winner's release is on the target; when the winner goes the loser takes over without an uninstall",
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const t0 = Date.now();
      const ns = await clusterNamespace('e2e-conflict', { cluster: 'workload', target, charts: [T1] });
      const relNs = 'e2e-shared';
      const first = await createSS(ns, 'first', 'workload', [
        helmService('shared', relNs, T1, 'greeting: from first\n'),
      ]);
      await waitDeployed(ns, 'first');
      t.diagnostic(`first Deployed after ${since(t0)}`);
      await sleep(1100); // creationTimestamp has 1 s resolution: second is strictly younger
      const second = await createSS(ns, 'second', 'workload', [
        helmService('shared', relNs, T1, 'greeting: from second\n'),
      ]);
      const lost = await waitService(ns, 'second', `${relNs}/shared`, (s) => s.state === 'Failed', 'Failed (lost)');
      assert.match(lost.failureMessage!, new RegExp(`owned by ServiceSet ${ns}/first`));

      // For a while: only first's HelmRelease exists, and the release on the target is first's.
      const rk = labelsOf(
        await kube.get(
          paths.flux({ kind: 'HelmRelease', namespace: ns, name: fluxObjectName('first', relNs, 'shared') }),
        ),
      )[LABEL_RELEASE_KEY];
      for (let i = 0; i < 10; i++) {
        const hrs = (await kube.list(paths.helmReleases(ns), `${LABEL_RELEASE_KEY}=${rk}`)).items;
        assert.deepEqual(
          hrs.map((h) => labelsOf(h)[LABEL_SERVICESET_UID]),
          [first.metadata.uid],
          'only the winner has a HelmRelease',
        );
        assert.equal((await configData(target, relNs, 'shared-config'))?.greeting, 'from first');
        await sleep(500);
      }
      assert.deepEqual(
        (await helmReleaseRecords(target, relNs, 'shared')).map((r) => r.revision),
        [1],
        'the loser never touched the release',
      );

      // Hand-over: delete the winner and watch the target the whole time.
      const monitor = watchRelease(target, relNs, 'shared', 'shared-config');
      const timeline = serviceTimeline(ns, 'second', `${relNs}/shared`);
      const t1 = Date.now();
      await kube.delete(paths.serviceSet(ns, 'first'));
      await waitGone(ns, 'first');
      const e = await waitService(
        ns,
        'second',
        `${relNs}/shared`,
        (s) => s.state === 'Deployed' && s.version === '1.0.0',
        'Deployed (took over)',
      );
      t.diagnostic(`second took over ${since(t1)} after first was deleted`);
      await waitFor(
        ns,
        "second's values on the target",
        async () => (await configData(target, relNs, 'shared-config'))?.greeting === 'from second',
      );
      const samples = await monitor.stop();
      t.diagnostic(`status of second's ${relNs}/shared during the hand-over: ${timelineText(await timeline.stop())}`);
      t.diagnostic(`${samples.length} samples of the target during the hand-over`);
      assert.equal(e.failureMessage, undefined);

      const ok = samples.filter((s) => !s.error);
      assert.ok(
        ok.length >= 5,
        `enough samples of the target during the hand-over (${ok.length}; ${samples.length - ok.length} errors)`,
      );
      let maxRev = 0;
      for (const s of ok) {
        assert.ok(s.configMap, `the ConfigMap never disappears from the target (at +${s.at} ms)`);
        const revs = s.records.map((r) => r.revision);
        assert.ok(revs.length > 0, `the release never has no record (at +${s.at} ms)`);
        assert.ok(revs.includes(1) || Math.max(...revs) >= 2, `v1 does not vanish before v2 exists (at +${s.at} ms)`);
        assert.ok(
          !s.records.some((r) => /uninstall/.test(r.status)),
          `never uninstalling (at +${s.at} ms: ${JSON.stringify(s.records)})`,
        );
        assert.ok(Math.max(...revs) >= maxRev, 'revisions only grow');
        maxRev = Math.max(...revs);
      }
      const records = await helmReleaseRecords(target, relNs, 'shared');
      assert.deepEqual(
        records.map((r) => [r.revision, r.status]),
        [
          [1, 'superseded'],
          [2, 'deployed'],
        ],
        'the history continues: revision 2 upgraded revision 1',
      );
      const hrs = (await kube.list(paths.helmReleases(ns), `${LABEL_RELEASE_KEY}=${rk}`)).items;
      assert.deepEqual(
        hrs.map((h) => labelsOf(h)[LABEL_SERVICESET_UID]),
        [second.metadata.uid],
      );

      await kube.delete(paths.serviceSet(ns, 'second'));
      await waitGone(ns, 'second');
      assert.deepEqual(await helmReleaseRecords(target, relNs, 'shared'), [], 'the last owner uninstalls it');
    },
  );

  // ---------------------------------------------------------------------------------------------------------

  it(
    'Dead target: deleting a ServiceSet whose cluster is gone completes (orphan + Warning); the adapter stays healthy',
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const t0 = Date.now();
      doomed = await startTarget('doomed');
      t.diagnostic(`doomed target cluster up after ${since(t0)}`);
      const ns = await clusterNamespace('e2e-doomed', {
        cluster: 'doomed',
        target: doomed,
        charts: [T1],
        kustomize: true,
      });
      await createTargetNamespace(doomed, 'e2e-doomed-ks');
      // No deletionTimeout in provider.config: the adapter's small --deletion-timeout/--finalizer-grace apply.
      await createServiceSet(kube, {
        namespace: ns,
        name: 'doomed',
        provider: smp,
        cluster: 'doomed',
        config: { interval: '1m' },
        services: [
          helmService('victim', 'e2e-doomed', T1, 'greeting: soon gone\n'),
          { name: 'victim-manifests', namespace: 'e2e-doomed-ks', template: KS_TEMPLATE, version: 'main' },
        ],
      });
      await waitDeployed(ns, 'doomed');
      t.diagnostic(`Deployed on the doomed cluster after ${since(t0)}`);
      assert.equal((await configData(doomed, 'e2e-doomed', 'victim-config'))?.greeting, 'soon gone');
      assert.deepEqual(await configData(doomed, 'e2e-doomed-ks', 'kustomized-config'), { source: 'git' });

      await doomed.kill();
      const t1 = Date.now();
      await kube.delete(paths.serviceSet(ns, 'doomed'));
      await waitGone(ns, 'doomed', 240_000);
      const took = Date.now() - t1;
      t.diagnostic(`ServiceSet on the dead cluster gone ${since(t1)} after its deletion`);
      assert.ok(took >= 20_000, `the adapter first gave Flux its deletion timeout (took ${took} ms)`);
      assert.equal((await kube.list(paths.helmReleases(ns))).items.length, 0);
      assert.equal((await kube.list(paths.kustomizations(ns))).items.length, 0);
      const evs = (await events(kube, ns)).filter((e) => e.regarding.name === 'doomed');
      const orphaned = evs.find((e) => e.reason === 'FluxObjectsOrphaned');
      assert.ok(orphaned, `a FluxObjectsOrphaned event: ${JSON.stringify(evs.map((e) => e.reason))}`);
      assert.equal(orphaned.type, 'Warning');
      assert.match(orphaned.note, /Helm release e2e-doomed\/victim on cluster of Secret doomed-kubeconfig/);

      // The adapter is healthy and still reconciles ServiceSets on live clusters.
      assert.equal(await httpStatus(`http://127.0.0.1:${healthPort}/readyz`), 200, 'adapter /readyz');
      assert.equal(adapter.worker?.worker.getState(), 'RUNNING');
      const t2 = Date.now();
      const live = await clusterNamespace('e2e-alive', { cluster: 'workload', target, charts: [T1] });
      await createSS(live, 'alive', 'workload', [helmService('alive', 'e2e-alive', T1, 'greeting: still here\n')]);
      await waitDeployed(live, 'alive');
      t.diagnostic(`a new ServiceSet on the live cluster Deployed ${since(t2)} after creation`);
      assert.equal((await configData(target, 'e2e-alive', 'alive-config'))?.greeting, 'still here');
      await kube.delete(paths.serviceSet(live, 'alive'));
      await waitGone(live, 'alive');
      assert.deepEqual(await helmReleaseRecords(target, 'e2e-alive', 'alive'), []);
      const leftover = await getServiceSet(kube, live, 'alive');
      assert.ok(!leftover || !(leftover.metadata.finalizers ?? []).includes(FINALIZER));
    },
  );
});

interface TimelineEntry {
  at: number;
  state: string;
  version?: string;
  message?: string;
}

function timelineText(seen: TimelineEntry[], messages = false): string {
  return seen
    .map(
      (x) =>
        `+${(x.at / 1000).toFixed(1)}s ${x.state}${x.version ? `(${x.version})` : ''}${
          messages && x.message ? ` [${x.message.slice(0, 140)}]` : ''
        }`,
    )
    .join(' → ');
}

interface ReleaseSample {
  at: number;
  configMap: boolean;
  records: HelmReleaseRecord[];
  error?: string;
}

/** Samples a release's ConfigMap and Helm records on the target every ~150 ms until stopped. */
function watchRelease(target: TargetCluster, ns: string, release: string, configMap: string) {
  const samples: ReleaseSample[] = [];
  const t0 = Date.now();
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const [cm, records] = await Promise.all([
          target.kube.get(targetPaths.configMap(ns, configMap)),
          helmReleaseRecords(target, ns, release),
        ]);
        samples.push({ at: Date.now() - t0, configMap: !!cm, records });
      } catch (e) {
        samples.push({ at: Date.now() - t0, configMap: false, records: [], error: (e as Error).message });
      }
      await sleep(150);
    }
  })();
  return {
    async stop(): Promise<ReleaseSample[]> {
      running = false;
      await loop;
      return samples;
    },
  };
}
