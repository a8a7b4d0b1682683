// Finalization: services go Deleting, Flux objects are deleted and awaited; when Flux cannot finish
// (target gone, uninstall failing past the deadline, Flux not running) we suspend/orphan, warn, and
// still complete. Flux's finalizer is played by the test, through the real API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FINALIZER, FLUX_FINALIZER } from '../../src/api/constants';
import { fluxObjectName } from '../../src/core/names';
import { paths } from '../../src/kube/paths';
import type { KubeObject } from '../../src/kube/client';
import { stage, startTestAdapter, type TestAdapter } from '../support/adapter';
import {
  createServiceSet,
  events,
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
});
