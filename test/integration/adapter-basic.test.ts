// The main scenario on the real control plane: a ServiceSet for our SMP becomes a HelmRelease and a
// Kustomization; Flux's conditions (written through the real API, as Flux would) become truthful status.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { FINALIZER, WORKFLOW_ID_ANNOTATION, workflowIdFor } from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import { stateQuery } from '../../src/workflow/defs';
import { startTestAdapter, type TestAdapter } from '../support/adapter';
import {
  createHelmTemplate,
  createKubeconfigSecret,
  createKustomizeTemplate,
  createNamespace,
  createServiceSet,
  createSmp,
  eventsWith,
  eventually,
  getServiceSet,
  setFluxStatus,
  sleep,
  testEnv,
  uniqueName,
} from '../support/env';

describe('adapter: ServiceSet → Flux objects → status', () => {
  const { kube } = testEnv();
  const ns = uniqueName('basic');
  let adapter: TestAdapter;
  let smpName: string;
  let labels: Record<string, string>;

  before(async () => {
    adapter = await startTestAdapter();
    smpName = uniqueName('smp');
    labels = { 'ksm.k0rdent.mirantis.com/adapter': adapter.cfg.adapterName };
    await createNamespace(kube, ns);
    await createSmp(kube, {
      name: smpName,
      adapterName: adapter.cfg.adapterName,
      adapterNamespace: adapter.cfg.adapterNamespace,
    });
    await createHelmTemplate(kube, ns, 'nginx-1-0-0');
    await createHelmTemplate(kube, ns, 'nginx-1-1-0');
    await createKustomizeTemplate(kube, ns, 'app-ks');
    await createKubeconfigSecret(kube, ns, 'cluster1');
  });
  after(async () => adapter?.stop());

  it('adds the finalizer, creates the Flux objects, and reports Deployed once Flux is Ready', async () => {
    const ss = await createServiceSet(kube, {
      namespace: ns,
      name: 'cd1',
      provider: smpName,
      labels,
      services: [
        { name: 'nginx', namespace: 'web', template: 'nginx-1-0-0', values: 'replicaCount: 2\n', version: '1.0.0' },
        { name: 'app', namespace: 'apps', template: 'app-ks', version: 'app-ks' },
      ],
    });
    const uid = ss.metadata.uid!;
    const got = await eventually('finalizer and workflow annotation', async () => {
      const o = await getServiceSet(kube, ns, 'cd1');
      return (
        o.metadata.finalizers?.includes(FINALIZER) &&
        o.metadata.annotations?.[WORKFLOW_ID_ANNOTATION] === workflowIdFor(uid) &&
        o
      );
    });
    assert.ok(got);

    const hrName = fluxObjectName('cd1', 'web', 'nginx');
    const ksName = fluxObjectName('cd1', 'apps', 'app');
    const hr: any = await eventually('HelmRelease', () =>
      kube.get(paths.flux({ kind: 'HelmRelease', namespace: ns, name: hrName })),
    );
    assert.equal(hr.spec.releaseName, 'nginx');
    assert.equal(hr.spec.targetNamespace, 'web');
    assert.equal(hr.spec.storageNamespace, 'web');
    assert.deepEqual(hr.spec.chartRef, {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'HelmChart',
      name: 'nginx-1-0-0',
      namespace: ns,
    });
    assert.deepEqual(hr.spec.kubeConfig, { secretRef: { name: 'cluster1-kubeconfig', key: 'value' } });
    assert.deepEqual(hr.spec.values, { replicaCount: 2 });
    assert.equal(hr.metadata.ownerReferences[0].uid, uid);
    assert.equal(hr.metadata.ownerReferences[0].controller, true);
    const ks: any = await eventually('Kustomization', () =>
      kube.get(paths.flux({ kind: 'Kustomization', namespace: ns, name: ksName })),
    );
    assert.equal(ks.spec.targetNamespace, 'apps');
    assert.equal(ks.spec.path, './deploy');
    assert.deepEqual(ks.spec.kubeConfig, { secretRef: { name: 'cluster1-kubeconfig', key: 'value' } });

    const provisioning: any = await eventually('status with Provisioning services', async () => {
      const o = await getServiceSet(kube, ns, 'cd1');
      return o.status?.services?.length === 2 && o;
    });
    assert.equal(provisioning.status.deployed, false);
    assert.deepEqual(provisioning.status.cluster, {
      apiVersion: 'k0rdent.mirantis.com/v1beta1',
      kind: 'ClusterDeployment',
      name: 'cluster1',
      namespace: ns,
    });
    assert.deepEqual(provisioning.status.provider, { ready: true, suspended: false });
    const helmEntry = provisioning.status.services.find((s: any) => s.name === 'nginx');
    assert.equal(helmEntry.type, 'Helm');
    assert.equal(helmEntry.version, undefined, 'Helm version is not stamped before Flux confirms');
    assert.equal(provisioning.status.services.find((s: any) => s.name === 'app').type, 'Kustomize');
    const cond = provisioning.status.conditions.find((c: any) => c.type === 'ServicesInReadyState');
    assert.equal(cond.message, '0/2');
    assert.equal(cond.status, 'False');

    await setFluxStatus(
      kube,
      { kind: 'HelmRelease', namespace: ns, name: hrName },
      { ready: 'True', reason: 'InstallSucceeded', message: 'Helm install succeeded' },
    );
    await setFluxStatus(
      kube,
      { kind: 'Kustomization', namespace: ns, name: ksName },
      { ready: 'True', reason: 'ReconciliationSucceeded', message: 'Applied revision: main@sha1:abc' },
    );
    const deployed: any = await eventually('deployed', async () => {
      const o = await getServiceSet(kube, ns, 'cd1');
      return o.status?.deployed === true && o;
    });
    const nginx = deployed.status.services.find((s: any) => s.name === 'nginx');
    assert.equal(nginx.state, 'Deployed');
    assert.equal(nginx.version, '1.0.0');
    assert.equal(deployed.status.conditions.find((c: any) => c.type === 'ServicesInReadyState').message, '2/2');
    assert.deepEqual(
      deployed.status.services.map((s: any) => `${s.namespace}/${s.name}`),
      ['apps/app', 'web/nginx'],
      'entries sorted by namespace/name',
    );
    const evs = await eventsWith(
      kube,
      ns,
      'a Deployed event',
      (e) => e.reason === 'ServiceDeployed' && e.regarding.name === 'cd1' && /web\/nginx/.test(e.note),
    );
    assert.ok(
      evs.some((e) => e.reason === 'ServiceProvisioning'),
      'a Provisioning event',
    );
  });

  it('writes nothing while quiescent; its safety-net pass reads the caches, not the API', async () => {
    const client = adapter.worker!.client;
    const cache = adapter.worker!.cache.stats;
    const connection = await Connection.connect({ address: testEnv().temporalAddress });
    try {
      const uid = (await getServiceSet(kube, ns, 'cd1')).metadata.uid!;
      const h = new Client({ connection, namespace: testEnv().temporalNamespace }).workflow.getHandle(
        workflowIdFor(uid),
      );
      // A window without signals, so that every pass in it was the poll's (an event still in flight from the
      // test before may start one more event-driven pass, which reads the API: then look again).
      for (let attempt = 1; ; attempt++) {
        const before = { ...client.stats.byVerb };
        const hits = cache.hits;
        const s0 = (await h.query(stateQuery)).counters;
        const o1 = await getServiceSet(kube, ns, 'cd1');
        await sleep(7000); // longer than the quiescent poll (5 s, +20% jitter): at least one pass runs
        const o2 = await getServiceSet(kube, ns, 'cd1');
        const s1 = (await h.query(stateQuery)).counters;
        const after = client.stats.byVerb;
        for (const verb of ['patch', 'create', 'update', 'delete'] as const) {
          assert.equal(after[verb] ?? 0, before[verb] ?? 0, `no ${verb} requests while quiescent`);
        }
        assert.equal(o2.metadata.resourceVersion, o1.metadata.resourceVersion, 'the ServiceSet did not change');
        assert.ok(s1.passes > s0.passes, 'the safety-net poll still observed');
        // A signal counted just before the window may start its (API-reading) pass inside it: look again. Every
        // window holds a safety-net pass, so one that read the API fails all three.
        const read = (v: 'get' | 'list') => (after[v] ?? 0) !== (before[v] ?? 0);
        if ((s1.signals !== s0.signals || read('get') || read('list')) && attempt < 3) continue;
        assert.equal(s1.signals, s0.signals, 'a window without events');
        for (const verb of ['get', 'list'] as const) {
          assert.equal(after[verb] ?? 0, before[verb] ?? 0, `no ${verb} requests by the safety-net pass`);
        }
        assert.ok(cache.hits > hits, "it read the worker's informer caches");
        break;
      }
    } finally {
      await connection.close();
    }
  });

  it('keeps Deployed through a periodic Flux Reconciling flap, then reports a real failure at once', async () => {
    const ksName = fluxObjectName('cd1', 'apps', 'app');
    const t0 = (await getServiceSet(kube, ns, 'cd1')).status.services.find(
      (s: any) => s.name === 'app',
    ).lastStateTransitionTime;
    await setFluxStatus(
      kube,
      { kind: 'Kustomization', namespace: ns, name: ksName },
      { ready: 'Unknown', reason: 'Progressing', message: 'Reconciliation in progress', reconciling: true },
    );
    await sleep(1500);
    let o = await getServiceSet(kube, ns, 'cd1');
    assert.equal(
      o.status.services.find((s: any) => s.name === 'app').state,
      'Deployed',
      'held within the flap tolerance',
    );
    await setFluxStatus(
      kube,
      { kind: 'Kustomization', namespace: ns, name: ksName },
      { ready: 'True', reason: 'ReconciliationSucceeded' },
    );
    await sleep(1000);
    o = await getServiceSet(kube, ns, 'cd1');
    const app = o.status.services.find((s: any) => s.name === 'app');
    assert.equal(app.state, 'Deployed');
    assert.equal(app.lastStateTransitionTime, t0, 'lastStateTransitionTime did not move');

    await setFluxStatus(
      kube,
      { kind: 'Kustomization', namespace: ns, name: ksName },
      {
        ready: 'False',
        reason: 'ReconciliationFailed',
        message: 'Deployment/apps/app dry-run failed: field is immutable',
      },
    );
    const failed: any = await eventually(
      'Failed with the Flux message',
      async () => {
        const x = await getServiceSet(kube, ns, 'cd1');
        const e = x.status.services.find((s: any) => s.name === 'app');
        return e.state === 'Failed' && e;
      },
      10_000,
    );
    assert.match(failed.failureMessage, /ReconciliationFailed: Deployment\/apps\/app dry-run failed/);
    assert.notEqual(failed.lastStateTransitionTime, t0);
    await eventsWith(kube, ns, 'a ServiceFailed Warning', (e) => e.reason === 'ServiceFailed' && e.type === 'Warning');
  });

  it('upgrades: a new template and version are applied, and the version is stamped only when Flux confirms', async () => {
    const hrName = fluxObjectName('cd1', 'web', 'nginx');
    const ss = await getServiceSet(kube, ns, 'cd1');
    const services = ss.spec.services.map((s: any) =>
      s.name === 'nginx' ? { ...s, template: 'nginx-1-1-0', version: '1.1.0' } : s,
    );
    await kube.mergePatch(paths.serviceSet(ns, 'cd1'), { spec: { services } });
    const hr: any = await eventually('HelmRelease moved to the new chart', async () => {
      const o: any = await kube.get(paths.flux({ kind: 'HelmRelease', namespace: ns, name: hrName }));
      return o?.spec.chartRef.name === 'nginx-1-1-0' && o;
    });
    assert.ok(hr.metadata.generation > 1);
    const mid: any = await eventually('Provisioning with the old version', async () => {
      const o = await getServiceSet(kube, ns, 'cd1');
      const e = o.status.services.find((s: any) => s.name === 'nginx');
      return e.state === 'Provisioning' && e;
    });
    assert.equal(mid.version, undefined, 'the template changed: the old version no longer describes it');
    await setFluxStatus(
      kube,
      { kind: 'HelmRelease', namespace: ns, name: hrName },
      { ready: 'True', reason: 'UpgradeSucceeded' },
    );
    await eventually('Deployed 1.1.0', async () => {
      const o = await getServiceSet(kube, ns, 'cd1');
      const e = o.status.services.find((s: any) => s.name === 'nginx');
      return e.state === 'Deployed' && e.version === '1.1.0';
    });
  });

  it('removes the Flux object of a service dropped from the spec', async () => {
    const ksName = fluxObjectName('cd1', 'apps', 'app');
    const ss = await getServiceSet(kube, ns, 'cd1');
    await kube.mergePatch(paths.serviceSet(ns, 'cd1'), {
      spec: { services: ss.spec.services.filter((s: any) => s.name !== 'app') },
    });
    await eventually(
      'Kustomization deleted',
      async () => !(await kube.get(paths.flux({ kind: 'Kustomization', namespace: ns, name: ksName }))),
    );
    await eventually('status entry dropped', async () => {
      const o = await getServiceSet(kube, ns, 'cd1');
      return (
        o.status.services.length === 1 &&
        o.status.conditions.find((c: any) => c.type === 'ServicesInReadyState').message === '1/1'
      );
    });
  });
});
