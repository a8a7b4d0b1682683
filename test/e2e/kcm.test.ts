// testenv: kcm
// End to end through the real k0rdent controller manager (kcm, built from source, started by `testenv up --kcm`)
// with the real Flux controllers and a target API server. Nothing here writes a ServiceSet: the test creates what
// a k0rdent user creates — ServiceTemplates, a ClusterDeployment with a serviceSpec, MultiClusterServices — and kcm
// turns them into ServiceSets for our StateManagementProvider; ksm-flux deploys them with Flux; kcm reads our
// ServiceSet status back. Every assertion about service state is made on kcm's objects (ClusterDeployment
// `status.services` and `ServicesInReadyState`, MultiClusterService `ClusterInReadyState` and
// `matchingClusters`), and what was installed is checked on the target API server.
//
// The cluster itself is not provisioned (no Cluster API runs): the ClusterDeployment's ClusterTemplate names a
// chart that does not exist, so kcm reports the template invalid — and still manages the cluster's services, as it
// does while a real cluster is being provisioned. The `<cluster>-kubeconfig` Secret that Cluster API would write
// is created by the test, pointing at the target API server.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { K0RDENT_API_VERSION } from '../../src/workflow/constants';
import type { KubeObject } from '../../src/kube/client';
import { paths } from '../../src/kube/paths';
import { readyMessage, startHelmRepo, type HelmRepoServer } from '../../src/testenv/helmRepo';
import {
  createManagedHelmRepository,
  createUnprovisionedClusterInputs,
  createValidatedServiceTemplate,
  KCM_NAMESPACE,
  kcmPaths,
} from '../../src/testenv/kcm';
import { ensureStandInDeployment } from '../../src/testenv/standIn';
import {
  createTargetKubeconfigSecret,
  helmReleaseRecords,
  startTarget,
  targetPaths,
  type TargetCluster,
} from '../../src/testenv/target';
import { startTestAdapter, type TestAdapter } from '../support/adapter';
import { createNamespace, eventsWith, eventually, sleep, testEnv, uniqueName } from '../support/env';

const CHART_DIR = path.resolve(__dirname, '..', 'fixtures', 'charts', 'e2e-app');
const SCENARIO_TIMEOUT = 10 * 60_000;
/** Provider config kcm copies verbatim into the ServiceSets: deletion waits long enough for a real uninstall. */
const CONFIG = { interval: '1m', deletionTimeout: '5m' };
const T1 = 'e2e-app-1-0-0';
const T2 = 'e2e-app-1-1-0';
const REPO = 'e2e-charts';
const SELECTOR_LABEL = 'ksm.k0rdent.mirantis.com/adapter';

type ServiceState = {
  name: string;
  namespace: string;
  template: string;
  state: string;
  version?: string;
  failureMessage?: string;
};
type Condition = { type: string; status: string; reason?: string; message?: string };

const conditionOf = (o: KubeObject | undefined, type: string): Condition | undefined =>
  ((o as { status?: { conditions?: Condition[] } } | undefined)?.status?.conditions ?? []).find((c) => c.type === type);
const servicesOf = (o: KubeObject | undefined): ServiceState[] =>
  (o as { status?: { services?: ServiceState[] } } | undefined)?.status?.services ?? [];
const brief = (svcs: ServiceState[]) =>
  svcs.map((s) => `${s.namespace}/${s.name}=${s.state}${s.version ? `@${s.version}` : ''}`).join(', ');

describe('end to end through the real kcm: ClusterDeployment and MultiClusterService → ServiceSets → Flux', () => {
  const { kube } = testEnv();
  const workDir = path.join(process.env.KSM_FLUX_TESTENV_DIR ?? os.tmpdir(), `e2e-kcm-${process.pid}`);
  const group = uniqueName('grp');
  let target: TargetCluster;
  let repo: HelmRepoServer;
  let adapter: TestAdapter;
  let smp: string;
  let ns: string;
  const CD = 'workload';
  let appNs: string;

  const since = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

  const helmRepository = (namespace: string) => createManagedHelmRepository(kube, namespace, REPO, repo.url);
  const serviceTemplate = (namespace: string, name: string, version: string) =>
    createValidatedServiceTemplate(kube, namespace, { name, chart: 'e2e-app', version, repository: REPO });

  const getCD = () => kube.get(kcmPaths.clusterDeployment(ns, CD));

  /** kcm's view of the cluster's services, with the ServiceSets' own in the failure message. */
  async function waitCD(what: string, pred: (cd: KubeObject) => boolean, timeoutMs = 240_000): Promise<KubeObject> {
    try {
      return await eventually(
        `ClusterDeployment ${ns}/${CD}: ${what}`,
        async () => {
          const cd = await getCD();
          return cd && pred(cd) ? cd : undefined;
        },
        timeoutMs,
        500,
      );
    } catch (e) {
      const cd = await getCD().catch(() => undefined);
      const sets = (await kube.list(paths.serviceSets(ns)).catch(() => ({ items: [] as KubeObject[] }))).items;
      (e as Error).message +=
        `\n--- ClusterDeployment: services [${brief(servicesOf(cd))}], ServicesInReadyState ${JSON.stringify(conditionOf(cd, 'ServicesInReadyState'))}` +
        sets.map((s) => `\n--- ServiceSet ${s.metadata.name}: ${brief(servicesOf(s))}`).join('') +
        (await kube.list(paths.helmReleases(ns)).catch(() => ({ items: [] as KubeObject[] }))).items
          .map((h) => `\n--- HelmRelease ${h.metadata.name}: ${readyMessage(h)}`)
          .join('');
      throw e;
    }
  }

  const svc = (cd: KubeObject, name: string) => servicesOf(cd).find((s) => s.name === name);

  async function setServices(services: unknown[]): Promise<void> {
    await kube.mergePatch(kcmPaths.clusterDeployment(ns, CD), { spec: { serviceSpec: { services } } });
  }

  // ---------------------------------------------------------------------------------------------------------

  before(async () => {
    const t0 = Date.now();
    [target, repo] = await Promise.all([startTarget('kcm-target'), startHelmRepo(path.join(workDir, 'helm-repo'))]);
    await repo.publish(CHART_DIR, '1.0.0');
    await repo.publish(CHART_DIR, '1.1.0');
    adapter = await startTestAdapter({
      'deletion-timeout': '60s',
      'finalizer-grace': '10s',
      'flap-tolerance': '20s',
    });
    // kcm owns the SMP's status: its SMP controller GETs the adapter object named in spec.adapter. The adapter
    // runs in this test process; a Deployment object stands for it.
    await ensureStandInDeployment(
      kube,
      adapter.cfg.adapterNamespace,
      adapter.cfg.adapterName,
      `ksm-flux adapter in the e2e test process (pid ${process.pid})`,
    );
    smp = uniqueName('smp-kcm');
    await kube.create(paths.smps(), {
      apiVersion: K0RDENT_API_VERSION,
      kind: 'StateManagementProvider',
      metadata: { name: smp },
      spec: {
        adapter: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: adapter.cfg.adapterName,
          namespace: adapter.cfg.adapterNamespace,
          readinessRule: 'has(self.status) && has(self.status.availableReplicas) && self.status.availableReplicas >= 1',
        },
        provisioner: [],
        provisionerCRDs: [{ group: 'helm.toolkit.fluxcd.io', version: 'v2', resources: ['helmreleases'] }],
        selector: { matchLabels: { [SELECTOR_LABEL]: adapter.cfg.adapterName } },
        suspend: false,
      },
    });
    await eventually(
      `StateManagementProvider ${smp} ready (written by kcm)`,
      async () => (await kube.get<{ status?: { ready?: boolean } }>(paths.smp(smp)))?.status?.ready === true,
      120_000,
      500,
    );

    // The cluster's namespace: templates, a ClusterTemplate and a Credential as kcm expects them.
    ns = uniqueName('e2e-kcm');
    appNs = `${ns}-apps`;
    await createNamespace(kube, ns);
    await helmRepository(ns);
    await helmRepository(KCM_NAMESPACE);
    const templates = Promise.all([
      serviceTemplate(ns, T1, '1.0.0'),
      serviceTemplate(ns, T2, '1.1.0'),
      // A MultiClusterService's templates are validated in the system namespace and resolved in the cluster's.
      serviceTemplate(KCM_NAMESPACE, T1, '1.0.0'),
    ]);
    await createUnprovisionedClusterInputs(kube, ns, {
      clusterTemplate: 'workload-cluster',
      credential: 'workload-credential',
    });
    await templates;
    process.stderr.write(`[e2e kcm] setup (target, repository, adapter, SMP ready, templates valid) in ${since(t0)}\n`);
  });

  after(async () => {
    await adapter?.stop();
    await repo?.close();
    await target?.stop();
  });

  // ---------------------------------------------------------------------------------------------------------

  it(
    "ClusterDeployment: services wait for the kubeconfig Secret, then deploy; kcm shows Deployed with versions, and Failed with Flux's message",
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const t0 = Date.now();
      await kube.create(kcmPaths.clusterDeployments(ns), {
        apiVersion: K0RDENT_API_VERSION,
        kind: 'ClusterDeployment',
        metadata: { name: CD, namespace: ns, labels: { 'e2e.ksm-flux/group': group } },
        spec: {
          template: 'workload-cluster',
          credential: 'workload-credential',
          serviceSpec: {
            provider: { name: smp, config: CONFIG },
            services: [
              { name: 'app', namespace: appNs, template: T1, values: 'greeting: hello through kcm\n' },
              // The chart's `broken` value adds a ConfigMap key the target API server refuses.
              { name: 'broken', namespace: appNs, template: T1, values: 'broken: true\n' },
            ],
          },
        },
      });

      // kcm creates the cluster's ServiceSet right away, before the cluster (and its kubeconfig) exists.
      const ss = await eventually<KubeObject>(
        `ServiceSet ${ns}/${CD} created by kcm`,
        async () => kube.get(paths.serviceSet(ns, CD)),
        120_000,
        500,
      );
      t.diagnostic(`kcm created ServiceSet ${ns}/${CD} after ${since(t0)}`);
      const spec = (
        ss as unknown as { spec: { provider: { name: string; config: unknown }; services: any[]; cluster: string } }
      ).spec;
      assert.equal(spec.cluster, CD);
      assert.equal(spec.provider.name, smp);
      assert.deepEqual(spec.provider.config, CONFIG);
      assert.deepEqual(
        spec.services.map((s) => [s.name, s.template, s.version]),
        [
          ['app', T1, '1.0.0'],
          ['broken', T1, '1.0.0'],
        ],
      );
      const meta = ss.metadata as { labels?: Record<string, string>; ownerReferences?: { kind: string }[] };
      assert.equal(meta.labels?.[SELECTOR_LABEL], adapter.cfg.adapterName, "label from the SMP's selector");
      assert.equal(meta.ownerReferences?.[0]?.kind, 'ClusterDeployment');

      // Without the kubeconfig Secret nothing can be deployed; kcm shows our per-service state meanwhile.
      const waiting = await waitCD('both services reported while the kubeconfig Secret is missing', (cd) =>
        ['app', 'broken'].every((n) => !!svc(cd, n)),
      );
      await sleep(5000); // a few adapter passes: nothing turns Deployed without a cluster to deploy to
      const stillWaiting = (await getCD())!;
      t.diagnostic(`without kubeconfig: [${brief(servicesOf(waiting))}] → [${brief(servicesOf(stillWaiting))}]`);
      // Not there yet is waiting, not a failure: kcm shows both services Pending (the broken one included — its
      // values are only tried once there is a cluster to install on).
      for (const cd of [waiting, stillWaiting])
        assert.deepEqual(
          servicesOf(cd).map((s) => s.state),
          ['Pending', 'Pending'],
          brief(servicesOf(cd)),
        );
      assert.equal(conditionOf(stillWaiting, 'ServicesInReadyState')?.message, '0/2');

      // Cluster API would write this Secret once the cluster is up.
      const t1 = Date.now();
      await createTargetKubeconfigSecret(kube, ns, CD, target);
      const cd = await waitCD(
        'app Deployed@1.0.0 and broken Failed',
        (o) => svc(o, 'app')?.state === 'Deployed' && svc(o, 'broken')?.state === 'Failed',
      );
      t.diagnostic(`app Deployed and broken Failed ${since(t1)} after the kubeconfig Secret`);
      assert.equal(svc(cd, 'app')!.version, '1.0.0');
      assert.match(svc(cd, 'broken')!.failureMessage ?? '', /Helm install failed for release/);
      const ready = conditionOf(cd, 'ServicesInReadyState');
      assert.equal(ready?.message, '1/2');
      assert.equal(ready?.status, 'False');

      // What helm-controller did on the target.
      const data = (
        await target.kube.get<{ data?: Record<string, string> }>(targetPaths.configMap(appNs, 'app-config'))
      )?.data;
      assert.deepEqual(data, { greeting: 'hello through kcm', chartVersion: '1.0.0' });
    },
  );

  it(
    'ClusterDeployment: a new template version upgrades the release, and a service that dependsOn it is added by kcm only once it is Deployed',
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const t0 = Date.now();
      // Sample the ServiceSet kcm writes: when does `dep` appear, and what state is `app` in at that moment?
      const seen: string[] = [];
      let depAdded: { app?: ServiceState } | undefined;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const ss = await kube.get(paths.serviceSet(ns, CD)).catch(() => undefined);
          const names = ((ss as { spec?: { services?: { name: string }[] } } | undefined)?.spec?.services ?? []).map(
            (s) => s.name,
          );
          const line = `${names.join('+')} | ${brief(servicesOf(ss))}`;
          if (seen.at(-1) !== line) seen.push(`${since(t0)} ${line}`);
          if (!depAdded && names.includes('dep')) depAdded = { app: servicesOf(ss).find((s) => s.name === 'app') };
          await sleep(250);
        }
      })();
      try {
        await setServices([
          { name: 'app', namespace: appNs, template: T2, values: 'greeting: hello through kcm\n' },
          {
            name: 'dep',
            namespace: appNs,
            template: T1,
            values: 'greeting: depends on app\n',
            dependsOn: [{ name: 'app', namespace: appNs }],
          },
        ]);
        const cd = await waitCD(
          'app Deployed@1.1.0, dep Deployed@1.0.0, broken gone',
          (o) =>
            svc(o, 'app')?.state === 'Deployed' &&
            svc(o, 'app')?.version === '1.1.0' &&
            svc(o, 'dep')?.state === 'Deployed' &&
            !svc(o, 'broken'),
        );
        t.diagnostic(`upgraded and dependent deployed after ${since(t0)}`);
        assert.equal(svc(cd, 'dep')!.version, '1.0.0');
        assert.equal(conditionOf(cd, 'ServicesInReadyState')?.message, '2/2');
      } finally {
        sampling = false;
        await sampler;
      }
      t.diagnostic(`ServiceSet spec | status over time:\n${seen.join('\n')}`);
      // kcm added `dep` only once `app` was Deployed at the new version.
      assert.equal(depAdded?.app?.state, 'Deployed', seen.join('\n'));
      assert.equal(depAdded?.app?.version, '1.1.0', seen.join('\n'));

      // On the target: app upgraded in place (revision 2, chart 1.1.0), dep installed after that upgrade.
      const app = await helmReleaseRecords(target, appNs, 'app');
      assert.deepEqual(
        app.map((r) => [r.revision, r.status]),
        [
          [1, 'superseded'],
          [2, 'deployed'],
        ],
      );
      const data = (
        await target.kube.get<{ data?: Record<string, string> }>(targetPaths.configMap(appNs, 'app-config'))
      )?.data;
      assert.equal(data?.chartVersion, '1.1.0');
      const created = async (name: string) =>
        Date.parse((await target.kube.get(targetPaths.secret(appNs, name)))?.metadata.creationTimestamp as string);
      assert.ok(
        (await created('sh.helm.release.v1.dep.v1')) >= (await created('sh.helm.release.v1.app.v2')),
        'dep was installed after app was upgraded',
      );
      // The failing service was removed from the ClusterDeployment: its failed release is gone from the target.
      await eventually(
        'no Helm release records of broken on the target',
        async () => (await helmReleaseRecords(target, appNs, 'broken')).length === 0,
        60_000,
        500,
      );
    },
  );

  it(
    'MultiClusterService for the cluster and for the management cluster: kcm shows them ready; deleting them uninstalls; deleting the ClusterDeployment removes everything from the management cluster',
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const t0 = Date.now();
      const mcs = uniqueName('mcs');
      const selfMcs = uniqueName('mcs-self');
      const mcsNs = `${ns}-mcs`;
      const selfNs = `${ns}-self`;
      await kube.create(kcmPaths.multiClusterServices(), {
        apiVersion: K0RDENT_API_VERSION,
        kind: 'MultiClusterService',
        metadata: { name: mcs },
        spec: {
          clusterSelector: { matchLabels: { 'e2e.ksm-flux/group': group } },
          serviceSpec: {
            provider: { name: smp, config: CONFIG },
            services: [
              { name: 'extra', namespace: mcsNs, template: T1, values: 'greeting: from a MultiClusterService\n' },
            ],
          },
        },
      });
      await kube.create(kcmPaths.multiClusterServices(), {
        apiVersion: K0RDENT_API_VERSION,
        kind: 'MultiClusterService',
        metadata: { name: selfMcs },
        spec: {
          serviceSpec: {
            provider: { name: smp, selfManagement: true, config: CONFIG },
            services: [
              { name: 'mgmt', namespace: selfNs, template: T1, values: 'greeting: on the management cluster\n' },
            ],
          },
        },
      });
      const mcsReady = (name: string) =>
        eventually(
          `MultiClusterService ${name}: ClusterInReadyState 1/1 and one deployed matching cluster`,
          async () => {
            const o = await kube.get(kcmPaths.multiClusterService(name));
            const c = conditionOf(o, 'ClusterInReadyState');
            const matching = (o as { status?: { matchingClusters?: { deployed?: boolean }[] } } | undefined)?.status
              ?.matchingClusters;
            return c?.status === 'True' && c.message === '1/1' && matching?.length === 1 && matching[0]!.deployed
              ? o
              : undefined;
          },
          240_000,
          500,
        );
      const [m, s] = await Promise.all([mcsReady(mcs), mcsReady(selfMcs)]);
      t.diagnostic(`both MultiClusterServices ready after ${since(t0)}`);
      const matching = (o: KubeObject) =>
        (o as unknown as { status: { matchingClusters: Record<string, unknown>[] } }).status.matchingClusters[0]!;
      assert.equal(matching(m).name, CD);
      assert.equal(matching(m).namespace, ns);
      t.diagnostic(`self-management matching cluster: ${JSON.stringify(matching(s))}`);

      // The MCS's ServiceSet belongs to the cluster: kcm counts its service in the ClusterDeployment too.
      const cd = await waitCD('extra Deployed too', (o) => svc(o, 'extra')?.state === 'Deployed');
      assert.equal(conditionOf(cd, 'ServicesInReadyState')?.message, '3/3');
      const sets = (await kube.list(paths.serviceSets(ns))).items.map((o) => o.metadata.name).sort();
      assert.equal(sets.length, 2, sets.join(','));
      const mgmtSets = (await kube.list(paths.serviceSets(KCM_NAMESPACE))).items.filter(
        (o) => (o as { spec?: { multiClusterService?: string } }).spec?.multiClusterService === selfMcs,
      );
      assert.equal(mgmtSets.length, 1);
      assert.match(mgmtSets[0]!.metadata.name, /^management-/);
      assert.equal(
        (await target.kube.get<{ data?: Record<string, string> }>(targetPaths.configMap(mcsNs, 'extra-config')))?.data
          ?.greeting,
        'from a MultiClusterService',
      );
      assert.equal(
        (await kube.get<{ data?: Record<string, string> }>(targetPaths.configMap(selfNs, 'mgmt-config')))?.data
          ?.greeting,
        'on the management cluster',
      );

      // Deleting the MultiClusterServices: kcm deletes their ServiceSets, ksm-flux uninstalls, then they go.
      const t1 = Date.now();
      await kube.delete(kcmPaths.multiClusterService(mcs));
      await kube.delete(kcmPaths.multiClusterService(selfMcs));
      await eventually(
        'both MultiClusterServices and their ServiceSets gone',
        async () =>
          !(await kube.get(kcmPaths.multiClusterService(mcs))) &&
          !(await kube.get(kcmPaths.multiClusterService(selfMcs))) &&
          (await kube.list(paths.serviceSets(ns))).items.length === 1 &&
          !(await kube.get(paths.serviceSet(KCM_NAMESPACE, mgmtSets[0]!.metadata.name))),
        300_000,
        500,
      );
      t.diagnostic(`MultiClusterServices gone ${since(t1)} after their deletion`);
      assert.deepEqual(await helmReleaseRecords(target, mcsNs, 'extra'), [], 'extra uninstalled from the target');
      assert.equal(await target.kube.get(targetPaths.configMap(mcsNs, 'extra-config')), undefined);
      assert.equal(await kube.get(targetPaths.configMap(selfNs, 'mgmt-config')), undefined, 'mgmt uninstalled');
      const after = await waitCD('extra no longer reported', (o) => !svc(o, 'extra'));
      assert.equal(conditionOf(after, 'ServicesInReadyState')?.message, '2/2');

      // Deleting the ClusterDeployment deletes the cluster itself (Cluster API would tear it down): kcm deletes its
      // ServiceSet and ksm-flux lets its Flux objects go at once instead of uninstalling from a cluster that is
      // going away (README: "A cluster being deleted"); then kcm lets the ClusterDeployment go.
      const t2 = Date.now();
      await kube.delete(kcmPaths.clusterDeployment(ns, CD));
      await eventually(
        'ClusterDeployment and its ServiceSets gone',
        async () => !(await getCD()) && (await kube.list(paths.serviceSets(ns))).items.length === 0,
        300_000,
        500,
      );
      t.diagnostic(`ClusterDeployment gone ${since(t2)} after its deletion`);
      const goingAway = await eventsWith(
        kube,
        ns,
        'ClusterGoingAway Event on the cluster ServiceSet',
        (e) => e.reason === 'ClusterGoingAway' && e.regarding.name === CD,
      );
      assert.match(
        goingAway.find((e) => e.reason === 'ClusterGoingAway' && e.regarding.name === CD)!.note,
        new RegExp(`ClusterDeployment ${ns}/${CD} is being deleted`),
      );
      // No real cluster is deleted here: the target API server still holds the releases, untouched (no uninstall).
      for (const name of ['app', 'dep'])
        assert.equal((await helmReleaseRecords(target, appNs, name)).at(-1)?.status, 'deployed', `${name} left as is`);
      assert.deepEqual((await kube.list(paths.helmReleases(ns))).items, [], 'no HelmRelease left');
      assert.deepEqual(
        (await kube.list(paths.helmReleases(KCM_NAMESPACE))).items
          .map((h) => h.metadata.name)
          .filter((n) => !['kcm', 'capi', 'projectsveltos'].includes(n)),
        [],
        "no HelmRelease left in kcm-system besides kcm's own",
      );
    },
  );
});
