// Values with real Flux: a Go template in values rendered with the cluster object, a valuesFrom ConfigMap read
// by Flux per data key, and an edit of that ConfigMap redeployed promptly (Flux alone would wait for its
// interval): the release on the target has the new value, at the next revision.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestAdapter, type TestAdapter } from '../support/adapter';
import { createCapiCluster, installCapiClusterCrd } from '../support/capi';
import {
  createNamespace,
  createServiceSet,
  createSmp,
  eventually,
  getServiceSet,
  testEnv,
  uniqueName,
} from '../support/env';
import {
  createChartTemplate,
  createHelmRepository,
  startHelmRepo,
  type HelmRepoServer,
} from '../../src/testenv/helmRepo';
import {
  createTargetKubeconfigSecret,
  helmReleaseRecords,
  startTarget,
  targetPaths,
  type TargetCluster,
} from '../../src/testenv/target';

const CHART_DIR = path.resolve(__dirname, '..', 'fixtures', 'charts', 'e2e-app');
const T1 = 'e2e-app-1-0-0';
const SCENARIO_TIMEOUT = 10 * 60_000;

describe('values end to end (real Flux, real target cluster)', () => {
  const { kube } = testEnv();
  const workDir = path.join(process.env.KSM_FLUX_TESTENV_DIR ?? os.tmpdir(), `e2e-values-${process.pid}`);
  let target: TargetCluster;
  let repo: HelmRepoServer;
  let adapter: TestAdapter;
  let ns: string;

  const configData = async (name: string) =>
    (await target.kube.get<{ data?: Record<string, string> }>(targetPaths.configMap('e2e-values', name)))?.data;
  const setCm = (greeting: string) =>
    kube.apply(
      `/api/v1/namespaces/${ns}/configmaps/app-values`,
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'app-values', namespace: ns },
        data: { 'values.yaml': `greeting: ${greeting}\n` },
      },
      'test',
    );

  before(async () => {
    [target, repo] = await Promise.all([startTarget('values-target'), startHelmRepo(path.join(workDir, 'helm-repo'))]);
    await repo.publish(CHART_DIR, '1.0.0');
    await installCapiClusterCrd(kube);
    adapter = await startTestAdapter();
    ns = uniqueName('e2e-vals');
    await createNamespace(kube, ns);
    await createTargetKubeconfigSecret(kube, ns, 'workload', target);
    await createHelmRepository(kube, ns, 'e2e-charts', repo.url);
    await createChartTemplate(kube, ns, { name: T1, chart: 'e2e-app', version: '1.0.0', repository: 'e2e-charts' });
    await createCapiCluster(kube, ns, 'workload', { env: 'e2e' });
  });
  after(async () => {
    await adapter?.stop();
    await repo?.close();
    await target?.stop();
  });

  it(
    'templated values and a valuesFrom ConfigMap reach the release; editing the ConfigMap redeploys it promptly (revision +1)',
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const smp = uniqueName('smp-vals');
      await createSmp(kube, {
        name: smp,
        adapterName: adapter.cfg.adapterName,
        adapterNamespace: adapter.cfg.adapterNamespace,
        selector: {},
      });
      await setCm('v1');
      // A long Flux interval: only our reconcile request can make Flux re-read the ConfigMap within the test.
      await createServiceSet(kube, {
        namespace: ns,
        name: 'vals',
        provider: smp,
        cluster: 'workload',
        config: { interval: '1h', deletionTimeout: '5m' },
        services: [
          {
            name: 'app',
            namespace: 'e2e-values',
            template: T1,
            version: '1.0.0',
            values: 'cluster: "{{ .Cluster.metadata.name }}-{{ index .Cluster.metadata.labels "env" }}"\n',
            valuesFrom: [{ kind: 'ConfigMap', name: 'app-values' }],
          },
        ],
      });
      await eventually(
        'Deployed',
        async () => (await getServiceSet(kube, ns, 'vals'))?.status?.services?.[0]?.state === 'Deployed',
        240_000,
        500,
      );
      const d1 = await configData('app-config');
      assert.equal(d1?.greeting, 'v1', 'valuesFrom ConfigMap key values.yaml reached the chart');
      assert.equal(d1?.cluster, 'workload-e2e', 'the Go template was rendered with the CAPI Cluster');
      const r1 = await helmReleaseRecords(target, 'e2e-values', 'app');
      assert.deepEqual(
        r1.map((r) => [r.revision, r.status]),
        [[1, 'deployed']],
      );

      const t0 = Date.now();
      await setCm('v2');
      await eventually(
        'the target ConfigMap has the new value',
        async () => (await configData('app-config'))?.greeting === 'v2',
        120_000,
        250,
      );
      t.diagnostic(
        `ConfigMap edit → new value on the target in ${((Date.now() - t0) / 1000).toFixed(1)} s (Flux interval 1h)`,
      );
      const r2 = await eventually('revision 2 deployed', async () => {
        const r = await helmReleaseRecords(target, 'e2e-values', 'app');
        return r.some((x) => x.revision === 2 && x.status === 'deployed') && r;
      });
      assert.deepEqual(r2.map((r) => r.revision).sort(), [1, 2], 'exactly one new revision');
      await eventually(
        'Deployed again',
        async () => (await getServiceSet(kube, ns, 'vals'))?.status?.services?.[0]?.state === 'Deployed',
      );
    },
  );
});
