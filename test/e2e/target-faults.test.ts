// End to end with the real Flux controllers and a real target cluster: faults of the target (issue 13, point 6).
// - The target's API server is down while a service is installed: the service is Failed or Provisioning — never
//   Deployed — while it is down, and becomes Deployed by itself once it is back.
// - The kubeconfig Secret is rotated (a new ServiceAccount token; the old one revoked): Flux's next reconcile
//   comes at once (not at the 1 h interval) and uses the new credentials.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REQUESTED_AT_ANNOTATION } from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import {
  createChartTemplate,
  createHelmRepository,
  readyMessage,
  startHelmRepo,
  type HelmRepoServer,
} from '../../src/testenv/helmRepo';
import { kubeGet } from '../../src/testenv/kube';
import {
  createTargetKubeconfigSecret,
  helmReleaseRecords,
  serviceAccountKubeconfig,
  startTarget,
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
const SCENARIO_TIMEOUT = 4 * 60_000;

describe('end to end: target cluster faults, with real Flux', () => {
  const { kube } = testEnv();
  const workDir = path.join(process.env.KSM_FLUX_TESTENV_DIR ?? os.tmpdir(), `e2e-target-faults-${process.pid}`);
  let target: TargetCluster;
  let repo: HelmRepoServer;
  let adapter: TestAdapter;
  let smp: string;
  const since = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

  async function clusterNamespace(prefix: string, kubeconfig?: string): Promise<string> {
    const ns = uniqueName(prefix);
    await createNamespace(kube, ns);
    if (kubeconfig)
      await kube.create(`/api/v1/namespaces/${ns}/secrets`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'workload-kubeconfig', namespace: ns },
        stringData: { value: kubeconfig },
      });
    else await createTargetKubeconfigSecret(kube, ns, 'workload', target);
    await createHelmRepository(kube, ns, 'charts', repo.url);
    await createChartTemplate(kube, ns, {
      name: 'e2e-app-1-0-0',
      chart: 'e2e-app',
      version: '1.0.0',
      repository: 'charts',
    });
    return ns;
  }

  const entry = async (ns: string, ss: string) => (await getServiceSet(kube, ns, ss))?.status?.services?.[0];

  async function waitFor<T>(ns: string, what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 120_000) {
    try {
      return await eventually(what, fn, timeoutMs, 250);
    } catch (e) {
      const hrs = (await kube.list(paths.helmReleases(ns))).items.map((o) => `${o.metadata.name}: ${readyMessage(o)}`);
      (e as Error).message += `\n--- HelmReleases in ${ns} ---\n${hrs.join('\n')}`;
      throw e;
    }
  }

  before(async () => {
    [target, repo] = await Promise.all([startTarget('faults'), startHelmRepo(path.join(workDir, 'helm-repo'))]);
    await repo.publish(path.join(CHARTS, 'e2e-app'), '1.0.0');
    adapter = await startTestAdapter({ 'heal-backoff-min': '3s', 'heal-backoff-max': '10s' });
    smp = uniqueName('smp-faults');
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
    'target API server down during the install: Failed/Provisioning (never Deployed), Deployed by itself once it is back',
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const ns = await clusterNamespace('e2e-down');
      await target.stopApiServer();
      const t0 = Date.now();
      await createServiceSet(kube, {
        namespace: ns,
        name: 'down',
        provider: smp,
        cluster: 'workload',
        config: { interval: '1h' },
        services: [{ name: 'during', namespace: 'e2e-down', template: 'e2e-app-1-0-0', version: '1.0.0' }],
      });
      // While it is down: sample what we report. It must say the truth (not Deployed) and end up saying why.
      const seen = new Map<string, string>();
      while (Date.now() - t0 < 20_000) {
        const e = await entry(ns, 'down');
        if (e?.state) seen.set(e.state, e.failureMessage ?? seen.get(e.state) ?? '');
        assert.notEqual(e?.state, 'Deployed', 'never Deployed while the target is down');
        await sleep(250);
      }
      t.diagnostic(
        `states while down: ${[...seen].map(([s, m]) => `${s}${m ? ` (${m.slice(0, 160)})` : ''}`).join('; ')}`,
      );
      const last = await entry(ns, 'down');
      assert.ok(['Failed', 'Provisioning'].includes(last?.state), `Failed or Provisioning at the end: ${last?.state}`);
      if (last.state === 'Failed') assert.ok(last.failureMessage, 'Failed says why');
      const hr: any = await kube.get(
        paths.flux({ kind: 'HelmRelease', namespace: ns, name: fluxObjectName('down', 'e2e-down', 'during') }),
      );
      t.diagnostic(`HelmRelease while down: ${readyMessage(hr)}`);

      const t1 = Date.now();
      await target.startApiServer();
      t.diagnostic(`target API server back after ${since(t0)}`);
      await waitFor(ns, 'Deployed by itself', async () => (await entry(ns, 'down'))?.state === 'Deployed');
      t.diagnostic(`Deployed ${since(t1)} after the target API server came back`);
      assert.deepEqual(
        (await helmReleaseRecords(target, 'e2e-down', 'during')).map((r) => r.status),
        ['deployed'],
        'installed once, on the target',
      );
      await kube.delete(paths.serviceSet(ns, 'down'));
      await waitFor(ns, 'gone', async () => !(await getServiceSet(kube, ns, 'down')));
    },
  );

  it(
    'kubeconfig Secret rotated (old token revoked): Flux reconciles at once with the new credentials',
    { timeout: SCENARIO_TIMEOUT },
    async (t) => {
      const ns = await clusterNamespace('e2e-rotate', await serviceAccountKubeconfig(target, 'flux-1'));
      await createServiceSet(kube, {
        namespace: ns,
        name: 'rotated',
        provider: smp,
        cluster: 'workload',
        config: { interval: '1h' },
        services: [{ name: 'creds', namespace: 'e2e-rotate', template: 'e2e-app-1-0-0', version: '1.0.0' }],
      });
      const t0 = Date.now();
      await waitFor(ns, 'Deployed', async () => (await entry(ns, 'rotated'))?.state === 'Deployed');
      t.diagnostic(`Deployed with the first credentials after ${since(t0)}`);
      const hrRef = {
        kind: 'HelmRelease' as const,
        namespace: ns,
        name: fluxObjectName('rotated', 'e2e-rotate', 'creds'),
      };

      // Rotate: a new ServiceAccount token into the Secret, then revoke the old one.
      const oldToken = /token: (\S+)/.exec(
        Buffer.from(
          ((await kube.get(`/api/v1/namespaces/${ns}/secrets/workload-kubeconfig`)) as any).data.value,
          'base64',
        ).toString(),
      )![1]!;
      const t1 = Date.now();
      await kube.mergePatch(`/api/v1/namespaces/${ns}/secrets/workload-kubeconfig`, {
        stringData: { value: await serviceAccountKubeconfig(target, 'flux-2') },
      });
      await target.kube.delete('/api/v1/namespaces/kube-system/serviceaccounts/flux-1');
      await eventually(
        'old token revoked',
        async () =>
          (await kubeGet({ server: target.server, token: oldToken, caPem: target.caPem }, '/api/v1/namespaces'))[0] ===
          401,
      );

      // The workflow asks Flux to reconcile; helm-controller handles it, talking to the target with the new token.
      const handled: any = await waitFor(
        ns,
        'reconcile requested and handled successfully',
        async () => {
          const o: any = await kube.get(paths.flux(hrRef));
          const at = o?.metadata.annotations?.[REQUESTED_AT_ANNOTATION];
          const ready = (o?.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
          return (
            at && Date.parse(at) >= t1 - 1000 && o.status.lastHandledReconcileAt === at && ready?.status === 'True' && o
          );
        },
        45_000,
      );
      t.diagnostic(
        `reconciled with the rotated Secret ${since(t1)} after the rotation (interval: 1h): ${readyMessage(handled)}`,
      );
      assert.equal((await entry(ns, 'rotated'))?.state, 'Deployed');
      // Flux's own writes (status, finalizer, handled annotations) are never taken for drift: we do not fight it.
      const drift = (await kube.list(paths.events(ns))).items.filter((e: any) => e.reason === 'FluxObjectDrift');
      assert.deepEqual(drift, [], 'no drift reported against the real helm-controller');
      const managers = ((handled.metadata.managedFields ?? []) as { manager: string; fieldsV1?: object }[])
        .filter((m) => JSON.stringify(m.fieldsV1 ?? {}).includes('"f:spec"'))
        .map((m) => m.manager);
      assert.deepEqual(
        managers.filter((m) => !['ksm-flux', 'ksm-flux-control'].includes(m)),
        [],
        `only ksm-flux owns spec fields (${managers.join(', ')})`,
      );
      assert.deepEqual(
        (await helmReleaseRecords(target, 'e2e-rotate', 'creds')).map((r) => r.status),
        ['deployed'],
        'nothing reinstalled',
      );
      await kube.delete(paths.serviceSet(ns, 'rotated'));
      await waitFor(ns, 'gone', async () => !(await getServiceSet(kube, ns, 'rotated')));
    },
  );
});
