// Finalization: services go Deleting, Flux objects are deleted and awaited; when Flux cannot finish
// (target gone, uninstall failing past the deadline, Flux not running) we suspend/orphan, warn, and
// still complete. Flux's finalizer is played by the test, through the real API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FINALIZER, FLUX_FINALIZER } from '../../src/workflow/constants';
import { fluxObjectName } from '../../src/plan/names';
import { paths } from '../../src/kube/paths';
import type { KubeObject } from '../../src/kube/client';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import {
  createKubeconfigSecret,
  createServiceSet,
  events,
  eventsWith,
  eventually,
  getServiceSet,
  setFluxStatus,
  sleep,
  testEnv,
  uniqueName,
} from '../support/env';

describe('deletion', () => {
  const { kube } = testEnv();
  const ns = uniqueName('del');
  let adapter: TestAdapter;
  let smp: string;
  const hrRef = (ss: string, svc: string) => ({
    kind: 'HelmRelease' as const,
    namespace: ns,
    name: fluxObjectName(ss, 'web', svc),
  });
  const ksRef = (ss: string, svc: string) => ({
    kind: 'Kustomization' as const,
    namespace: ns,
    name: fluxObjectName(ss, 'web', svc),
  });

  /** Flux adds its finalizer on the first reconcile. */
  async function fluxTakesOver(ref: { kind: 'HelmRelease' | 'Kustomization'; namespace: string; name: string }) {
    await eventually(`${ref.kind} ${ref.name}`, () => kube.get(paths.flux(ref)));
    await kube.mergePatch(paths.flux(ref), { metadata: { finalizers: [FLUX_FINALIZER] } });
    await setFluxStatus(kube, ref, {
      ready: 'True',
      reason: ref.kind === 'HelmRelease' ? 'InstallSucceeded' : 'ReconciliationSucceeded',
    });
  }
  async function fluxReleases(ref: { kind: 'HelmRelease' | 'Kustomization'; namespace: string; name: string }) {
    await kube.mergePatch(paths.flux(ref), { metadata: { finalizers: null } });
  }
  const gone = (ss: string) =>
    eventually(`ServiceSet ${ss} gone`, async () => !(await getServiceSet(kube, ns, ss)), 30_000);

  before(async () => {
    adapter = await startTestAdapter();
    smp = await stage(adapter, ns, { helm: ['chart'], kustomize: ['ks'], clusters: ['cluster1', 'doomed'] });
  });
  after(async () => adapter?.stop());

  it('marks services Deleting, deletes the Flux objects, waits for Flux, then removes the finalizer', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'normal',
      provider: smp,
      services: [{ name: 'n1', namespace: 'web', template: 'chart' }],
    });
    await fluxTakesOver(hrRef('normal', 'n1'));
    await eventually('Deployed', async () => (await getServiceSet(kube, ns, 'normal'))?.status?.deployed === true);
    await kube.delete(paths.serviceSet(ns, 'normal'));
    const deleting: any = await eventually('services Deleting', async () => {
      const o = await getServiceSet(kube, ns, 'normal');
      return o?.status?.services?.[0]?.state === 'Deleting' && o;
    });
    assert.ok(deleting.metadata.finalizers.includes(FINALIZER));
    const hr: any = await eventually('HelmRelease being deleted', async () => {
      const o: any = await kube.get(paths.flux(hrRef('normal', 'n1')));
      return o?.metadata.deletionTimestamp && o;
    });
    assert.notEqual(hr.spec.suspend, true, 'a normal deletion lets Flux uninstall (not suspended)');
    await sleep(1000);
    assert.ok(await getServiceSet(kube, ns, 'normal'), 'the ServiceSet waits while Flux uninstalls');
    await fluxReleases(hrRef('normal', 'n1'));
    await gone('normal');
  });

  it('target gone (kubeconfig Secret deleted): suspends before deleting so Flux lets go', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'orphaned-target',
      provider: smp,
      cluster: 'doomed',
      services: [{ name: 'n2', namespace: 'web', template: 'chart' }],
    });
    await fluxTakesOver(hrRef('orphaned-target', 'n2'));
    await kube.delete(paths.secret(ns, 'doomed-kubeconfig'));
    await kube.delete(paths.serviceSet(ns, 'orphaned-target'));
    const hr: any = await eventually('HelmRelease suspended and deleting', async () => {
      const o: any = await kube.get(paths.flux(hrRef('orphaned-target', 'n2')));
      return o?.metadata.deletionTimestamp && o;
    });
    assert.equal(hr.spec.suspend, true, 'suspended before deletion');
    await fluxReleases(hrRef('orphaned-target', 'n2')); // Flux skips the uninstall of a suspended release
    await gone('orphaned-target');
  });

  it('uninstall failing past the deadline: orphans (suspend + Orphan), warns naming what was left, completes', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'stuck',
      provider: smp,
      services: [
        { name: 'n3', namespace: 'web', template: 'chart' },
        { name: 'k3', namespace: 'web', template: 'ks' },
      ],
    });
    await fluxTakesOver(hrRef('stuck', 'n3'));
    await fluxTakesOver(ksRef('stuck', 'k3'));
    await kube.delete(paths.serviceSet(ns, 'stuck'));
    // Flux keeps failing to uninstall (the target is unreachable): the finalizer stays.
    await setFluxStatus(kube, hrRef('stuck', 'n3'), {
      ready: 'False',
      reason: 'UninstallFailed',
      message: 'Kubernetes cluster unreachable',
    });
    const t0 = Date.now();
    const [hr, ks] = (await eventually(
      'both suspended after the deadline',
      async () => {
        const h: any = await kube.get(paths.flux(hrRef('stuck', 'n3')));
        const k: any = await kube.get(paths.flux(ksRef('stuck', 'k3')));
        return h?.spec.suspend === true && k?.spec.suspend === true && [h, k];
      },
      20_000,
    )) as KubeObject[];
    assert.ok(Date.now() - t0 >= 3000, 'not before the deletion timeout');
    assert.equal((ks as any).spec.deletionPolicy, 'Orphan');
    assert.ok(hr);
    const ev = await eventually('FluxObjectsOrphaned warning', async () =>
      (await events(kube, ns)).find((e) => e.reason === 'FluxObjectsOrphaned' && e.regarding.name === 'stuck'),
    );
    assert.equal(ev.type, 'Warning');
    assert.match(ev.note, /Helm release web\/n3 on cluster of Secret cluster1-kubeconfig/);
    assert.match(ev.note, /Kustomization/);
    await fluxReleases(hrRef('stuck', 'n3'));
    await fluxReleases(ksRef('stuck', 'k3'));
    await gone('stuck');
  });

  it('Flux not running at all: after orphaning and a grace period its finalizer is removed; deletion never hangs', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'noflux',
      provider: smp,
      services: [{ name: 'n4', namespace: 'web', template: 'chart' }],
    });
    await fluxTakesOver(hrRef('noflux', 'n4'));
    await kube.delete(paths.serviceSet(ns, 'noflux'));
    await gone('noflux');
    const evs = await events(kube, ns);
    assert.ok(
      evs.some((e) => e.reason === 'FluxFinalizerRemoved' && e.regarding.name === 'noflux' && e.type === 'Warning'),
    );
    assert.equal(await kube.get(paths.flux(hrRef('noflux', 'n4'))), undefined);
  });

  it('a ServiceSet without Flux objects is finalized at once', async () => {
    await createServiceSet(kube, { namespace: ns, name: 'empty', provider: smp, services: [] });
    await eventually('finalizer added', async () =>
      (await getServiceSet(kube, ns, 'empty'))?.metadata.finalizers?.includes(FINALIZER),
    );
    await eventually(
      'vacuously deployed',
      async () => (await getServiceSet(kube, ns, 'empty'))?.status?.deployed === true,
    );
    await kube.delete(paths.serviceSet(ns, 'empty'));
    await gone('empty');
  });

  it('helmAction Uninstall removes the release and reports Deleted, not ready, as kcm counts it (1/2)', async () => {
    await createServiceSet(kube, {
      namespace: ns,
      name: 'uninst',
      provider: smp,
      services: [
        { name: 'n5', namespace: 'web', template: 'chart' },
        { name: 'n6', namespace: 'web', template: 'chart' },
      ],
    });
    await fluxTakesOver(hrRef('uninst', 'n5'));
    await fluxTakesOver(hrRef('uninst', 'n6'));
    await eventually('deployed', async () => (await getServiceSet(kube, ns, 'uninst'))?.status?.deployed === true);
    const o = await getServiceSet(kube, ns, 'uninst');
    await kube.mergePatch(paths.serviceSet(ns, 'uninst'), {
      spec: { services: [{ ...o.spec.services[0], helmAction: 'Uninstall' }, o.spec.services[1]] },
    });
    const state = async (name: string) =>
      (await getServiceSet(kube, ns, 'uninst')).status.services.find((s: any) => s.name === name)?.state;
    await eventually('Deleting while Flux uninstalls', async () => (await state('n5')) === 'Deleting');
    await fluxReleases(hrRef('uninst', 'n5'));
    const x = await eventually('Deleted', async () => {
      const s = await getServiceSet(kube, ns, 'uninst');
      return s.status.services.find((e: any) => e.name === 'n5')?.state === 'Deleted' && s;
    });
    // kcm counts only Deployed: the ClusterDeployment would say 1/2, and so do we.
    assert.equal(x.status.deployed, false);
    const sirs = x.status.conditions.find((c: any) => c.type === 'ServicesInReadyState');
    assert.equal(sirs.message, '1/2');
    assert.equal(sirs.status, 'False');
    assert.equal(await state('n6'), 'Deployed');
  });

  it('cluster being deleted (ClusterDeployment deletionTimestamp): let go at once with an Event, not after the deletion timeout', async () => {
    // A ClusterDeployment that stays "being deleted" (a finalizer holds it), as while kcm tears the cluster down.
    const cdPath = `/apis/k0rdent.mirantis.com/v1beta1/namespaces/${ns}/clusterdeployments`;
    await kube.create(cdPath, {
      apiVersion: 'k0rdent.mirantis.com/v1beta1',
      kind: 'ClusterDeployment',
      metadata: { name: 'dying', namespace: ns, finalizers: ['test.ksm-flux/hold'] },
      spec: { template: 'some-cluster-template' },
    });
    await createKubeconfigSecret(kube, ns, 'dying');
    // A deletion timeout far beyond the test: only "the cluster is going away" can explain a quick let-go.
    const config = { deletionTimeout: '10m' };
    // Two releases (one release in two ServiceSets would be a conflict).
    for (const [name, svc] of [
      ['mid-uninstall', 'n7'],
      ['fresh', 'n8'],
    ] as const)
      await createServiceSet(kube, {
        namespace: ns,
        name,
        provider: smp,
        cluster: 'dying',
        config,
        services: [{ name: svc, namespace: 'web', template: 'chart' }],
      });
    await fluxTakesOver(hrRef('mid-uninstall', 'n7'));
    await fluxTakesOver(hrRef('fresh', 'n8'));

    // An uninstall already under way (Flux holds its finalizer: the cluster does not answer any more)…
    await kube.delete(paths.serviceSet(ns, 'mid-uninstall'));
    await eventually('uninstall under way', async () => {
      const o: any = await kube.get(paths.flux(hrRef('mid-uninstall', 'n7')));
      return o?.metadata.deletionTimestamp && o.spec.suspend !== true;
    });
    // …then the cluster's deletion starts.
    await kube.delete(`${cdPath}/dying`);
    const t0 = Date.now();
    await eventually(
      'suspended (let go) at once',
      async () => ((await kube.get(paths.flux(hrRef('mid-uninstall', 'n7')))) as any)?.spec?.suspend === true,
      20_000,
    );
    assert.ok(Date.now() - t0 < 20_000);
    const orphaned = await eventsWith(
      kube,
      ns,
      'FluxObjectsOrphaned naming the cluster',
      (e) => e.reason === 'FluxObjectsOrphaned' && e.regarding.name === 'mid-uninstall',
    );
    assert.match(
      orphaned.find((e) => e.reason === 'FluxObjectsOrphaned' && e.regarding.name === 'mid-uninstall')!.note,
      new RegExp(`ClusterDeployment ${ns}/dying is being deleted`),
    );
    await fluxReleases(hrRef('mid-uninstall', 'n7')); // Flux lets go of a suspended object without uninstalling
    await gone('mid-uninstall');

    // A ServiceSet deleted while its cluster is going: suspended before deletion, never an uninstall attempt.
    await kube.delete(paths.serviceSet(ns, 'fresh'));
    const hr: any = await eventually('deleting', async () => {
      const o: any = await kube.get(paths.flux(hrRef('fresh', 'n8')));
      return o?.metadata.deletionTimestamp && o;
    });
    assert.equal(hr.spec.suspend, true, 'suspended before it was deleted');
    const evs = await eventsWith(
      kube,
      ns,
      'ClusterGoingAway',
      (e) => e.reason === 'ClusterGoingAway' && e.regarding.name === 'fresh',
    );
    assert.match(evs.find((e) => e.reason === 'ClusterGoingAway')!.note, /without uninstalling/);
    await fluxReleases(hrRef('fresh', 'n8'));
    await gone('fresh');
    await kube.mergePatch(`${cdPath}/dying`, { metadata: { finalizers: null } });
  });
});
