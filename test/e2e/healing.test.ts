// End to end with the real Flux controllers and a real target cluster: behaviour kcm users rely on.
// - Failures heal: a chart that fails while a ConfigMap it needs is missing makes helm-controller give up
//   (Stalled, RetriesExceeded — kcm#2358); once the ConfigMap exists, the workflow's automatic retry deploys it
//   with no human action.
// - Pause freezes what Flux does: a service removed while paused stays installed on the target; when the pause
//   annotation goes, helm-controller really uninstalls it (nothing orphaned).
// - A cluster being deleted: its services are let go at once (suspended, so helm-controller skips the uninstall)
//   instead of uninstalling from, or waiting out the deletion timeout on, a cluster that is going away.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PAUSED_ANNOTATION, REQUESTED_AT_ANNOTATION, RESET_AT_ANNOTATION } from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
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
  type TargetCluster,
} from '../../src/testenv/target';
import { startTestAdapter, type TestAdapter } from '../support/adapter';
import {
  createNamespace,
  createServiceSet,
  createSmp,
  eventually,
  getServiceSet,
  sleep,
  testEnv,
  uniqueName,
} from '../support/env';

const CHARTS = path.resolve(__dirname, '..', 'fixtures', 'charts');
const SCENARIO_TIMEOUT = 8 * 60_000;

describe('end to end: self-healing, pause and a cluster going away, with real Flux', () => {
  const { kube } = testEnv();
  const workDir = path.join(process.env.KSM_FLUX_TESTENV_DIR ?? os.tmpdir(), `e2e-heal-${process.pid}`);
  let target: TargetCluster;
  let repo: HelmRepoServer;
  let adapter: TestAdapter;
  let smp: string;
  const since = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

  async function clusterNamespace(prefix: string, charts: { template: string; chart: string }[]): Promise<string> {
    const ns = uniqueName(prefix);
    await createNamespace(kube, ns);
    await createTargetKubeconfigSecret(kube, ns, 'workload', target);
    await createHelmRepository(kube, ns, 'charts', repo.url);
    await Promise.all(
      charts.map((c) =>
        createChartTemplate(kube, ns, { name: c.template, chart: c.chart, version: '1.0.0', repository: 'charts' }),
      ),
    );
    return ns;
  }

  async function entry(ns: string, ss: string, name: string): Promise<any> {
    return (await getServiceSet(kube, ns, ss))?.status?.services?.find((s: any) => s.name === name);
  }

  async function waitFor<T>(ns: string, what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 180_000) {
    try {
      return await eventually(what, fn, timeoutMs, 500);
    } catch (e) {
      const hrs = (await kube.list(paths.helmReleases(ns))).items.map((o) => `${o.metadata.name}: ${readyMessage(o)}`);
      (e as Error).message += `\n--- HelmReleases in ${ns} ---\n${hrs.join('\n')}`;
      throw e;
    }
  }

  before(async () => {
    [target, repo] = await Promise.all([startTarget('heal'), startHelmRepo(path.join(workDir, 'helm-repo'))]);
    await repo.publish(path.join(CHARTS, 'needs-config'), '1.0.0');
    await repo.publish(path.join(CHARTS, 'e2e-app'), '1.0.0');
    // A first automatic retry after 5 s (production: 30 s), doubling up to 20 s.
    adapter = await startTestAdapter({ 'heal-backoff-min': '5s', 'heal-backoff-max': '20s', 'deletion-timeout': '5m' });
    smp = uniqueName('smp-heal');
    await createSmp(kube, {
      name: smp,
      adapterName: adapter.cfg.adapterName,
      adapterNamespace: adapter.cfg.adapterNamespace,
      selector: {},
    });
  });

  after(async () => {
    await adapter?.stop();
    await repo?.close();
    await target?.stop();
  });

  it(
    'a chart failing while a ConfigMap it needs is missing: Stalled, then Deployed by the automatic retry once it exists',
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const t0 = Date.now();
      const ns = await clusterNamespace('e2e-heal', [{ template: 'needs-config-1-0-0', chart: 'needs-config' }]);
      await createTargetNamespace(target, 'e2e-heal');
      await createServiceSet(kube, {
        namespace: ns,
        name: 'heal',
        provider: smp,
        cluster: 'workload',
        config: { interval: '1m', deletionTimeout: '5m' },
        services: [{ name: 'gated', namespace: 'e2e-heal', template: 'needs-config-1-0-0', version: '1.0.0' }],
      });
      const hrRef = { kind: 'HelmRelease' as const, namespace: ns, name: fluxObjectName('heal', 'e2e-heal', 'gated') };
      // helm-controller: install fails on the target (the missing ConfigMap), remediation, retries, gives up.
      const stalled: any = await waitFor(ns, 'HelmRelease Stalled', async () => {
        const o: any = await kube.get(paths.flux(hrRef));
        return (o?.status?.conditions ?? []).some((c: any) => c.type === 'Stalled' && c.status === 'True') && o;
      });
      const cond = (type: string) => stalled.status.conditions.find((c: any) => c.type === type);
      t.diagnostic(
        `helm-controller gave up after ${since(t0)}: Stalled ${cond('Stalled').reason}: ${cond('Stalled').message}`,
      );
      const failed = await waitFor(ns, 'Failed with the next automatic retry', async () => {
        const e = await entry(ns, 'heal', 'gated');
        return e?.state === 'Failed' && /next automatic retry at/.test(e.failureMessage ?? '') && e;
      });
      t.diagnostic(`status: ${failed.failureMessage}`);
      assert.match(failed.failureMessage, /precondition needs-config-gate is missing!/);

      // The precondition appears on the target. Nobody touches ksm-flux or Flux.
      const t1 = Date.now();
      await target.kube.create('/api/v1/namespaces/e2e-heal/configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'needs-config-gate', namespace: 'e2e-heal' },
        data: { value: 'open' },
      });
      const deployed = await waitFor(ns, 'Deployed with no human action', async () => {
        const e = await entry(ns, 'heal', 'gated');
        return e?.state === 'Deployed' && e;
      });
      t.diagnostic(`Deployed ${since(t1)} after the ConfigMap appeared (${since(t0)} in all)`);
      assert.equal(deployed.version, '1.0.0');
      assert.equal(deployed.failureMessage, undefined);
      const hr: any = await kube.get(paths.flux(hrRef));
      const a = hr.metadata.annotations ?? {};
      assert.ok(a[REQUESTED_AT_ANNOTATION], 'the workflow re-drove the HelmRelease');
      assert.equal(a[RESET_AT_ANNOTATION], a[REQUESTED_AT_ANNOTATION], 'with a reset of its retry counters');
      assert.equal(hr.status.lastHandledReconcileAt, a[REQUESTED_AT_ANNOTATION], 'helm-controller handled it');
      const cm: any = await target.kube.get(targetPaths.configMap('e2e-heal', 'gated-config'));
      assert.deepEqual(cm?.data, { gate: 'open' });
      const records = await helmReleaseRecords(target, 'e2e-heal', 'gated');
      assert.equal(records.at(-1)?.status, 'deployed');

      await kube.delete(paths.serviceSet(ns, 'heal'));
      await waitFor(ns, 'gone', async () => !(await getServiceSet(kube, ns, 'heal')));
    },
  );

  it(
    'pause: a service removed while paused stays installed; unpaused, helm-controller uninstalls it',
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const t0 = Date.now();
      const ns = await clusterNamespace('e2e-pause', [{ template: 'e2e-app-1-0-0', chart: 'e2e-app' }]);
      const svc = (name: string) => ({ name, namespace: 'e2e-pause', template: 'e2e-app-1-0-0', version: '1.0.0' });
      await createServiceSet(kube, {
        namespace: ns,
        name: 'paused',
        provider: smp,
        cluster: 'workload',
        config: { interval: '1m', deletionTimeout: '5m' },
        services: [svc('keep'), svc('drop')],
      });
      await waitFor(ns, 'deployed', async () => (await getServiceSet(kube, ns, 'paused'))?.status?.deployed === true);
      t.diagnostic(`both Deployed after ${since(t0)}`);
      await kube.mergePatch(paths.serviceSet(ns, 'paused'), { metadata: { annotations: { [PAUSED_ANNOTATION]: '' } } });
      const dropRef = {
        kind: 'HelmRelease' as const,
        namespace: ns,
        name: fluxObjectName('paused', 'e2e-pause', 'drop'),
      };
      await waitFor(
        ns,
        'suspended',
        async () => ((await kube.get(paths.flux(dropRef))) as any)?.spec?.suspend === true,
      );
      await kube.mergePatch(paths.serviceSet(ns, 'paused'), { spec: { services: [svc('keep')] } });
      await waitFor(
        ns,
        'the change is recorded',
        async () => (await getServiceSet(kube, ns, 'paused'))?.status?.services?.length === 1,
      );
      await sleep(3000);
      assert.ok(await kube.get(paths.flux(dropRef)), 'the HelmRelease of the removed service stays while paused');
      assert.deepEqual(
        (await helmReleaseRecords(target, 'e2e-pause', 'drop')).map((r) => r.status),
        ['deployed'],
        'and its release stays on the target',
      );

      const t1 = Date.now();
      await kube.mergePatch(paths.serviceSet(ns, 'paused'), {
        metadata: { annotations: { [PAUSED_ANNOTATION]: null } },
      });
      await waitFor(ns, 'HelmRelease gone', async () => !(await kube.get(paths.flux(dropRef))));
      t.diagnostic(`uninstalled ${since(t1)} after the pause ended`);
      assert.deepEqual(await helmReleaseRecords(target, 'e2e-pause', 'drop'), [], 'really uninstalled, not orphaned');
      assert.equal(await target.kube.get(targetPaths.configMap('e2e-pause', 'drop-config')), undefined);
      assert.deepEqual(
        (await helmReleaseRecords(target, 'e2e-pause', 'keep')).map((r) => r.status),
        ['deployed'],
        'the kept service is untouched',
      );
      await kube.delete(paths.serviceSet(ns, 'paused'));
      await waitFor(ns, 'gone', async () => !(await getServiceSet(kube, ns, 'paused')));
    },
  );

  it(
    'a cluster being deleted: its services are let go at once (helm-controller skips the uninstall), with an Event',
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const ns = await clusterNamespace('e2e-going', [{ template: 'e2e-app-1-0-0', chart: 'e2e-app' }]);
      // The ClusterDeployment whose deletion kcm has started (a finalizer keeps it while the cluster goes).
      const cdPath = `/apis/k0rdent.mirantis.com/v1beta1/namespaces/${ns}/clusterdeployments`;
      await kube.create(cdPath, {
        apiVersion: 'k0rdent.mirantis.com/v1beta1',
        kind: 'ClusterDeployment',
        metadata: { name: 'workload', namespace: ns, finalizers: ['test.ksm-flux/hold'] },
        spec: { template: 'some-cluster-template' },
      });
      await createServiceSet(kube, {
        namespace: ns,
        name: 'going',
        provider: smp,
        cluster: 'workload',
        config: { interval: '1m', deletionTimeout: '5m' },
        services: [{ name: 'left', namespace: 'e2e-going', template: 'e2e-app-1-0-0', version: '1.0.0' }],
      });
      await waitFor(ns, 'deployed', async () => (await getServiceSet(kube, ns, 'going'))?.status?.deployed === true);
      const t0 = Date.now();
      await kube.delete(`${cdPath}/workload`);
      await kube.delete(paths.serviceSet(ns, 'going'));
      await waitFor(ns, 'ServiceSet gone', async () => !(await getServiceSet(kube, ns, 'going')), 60_000);
      t.diagnostic(`ServiceSet gone ${since(t0)} after the cluster's deletion began (deletion timeout: 5m)`);
      assert.deepEqual(
        (await helmReleaseRecords(target, 'e2e-going', 'left')).map((r) => r.status),
        ['deployed'],
        'no uninstall was attempted on a cluster that is going away',
      );
      const ev = await eventually('ClusterGoingAway event', async () =>
        (await kube.list(paths.events(ns))).items.find(
          (e: any) => e.reason === 'ClusterGoingAway' && e.regarding?.name === 'going',
        ),
      );
      assert.match((ev as any).note, new RegExp(`ClusterDeployment ${ns}/workload is being deleted`));
      await kube.mergePatch(`${cdPath}/workload`, { metadata: { finalizers: null } });
    },
  );
});
